"""A Locust crowd of SMB users as background load, beside the harness's own probes.

The split: the crowd (many users, possibly from many machines, coarse figures) runs under
Locust; the probes and the drop stay in the harness, on one clock. Importing locust
monkey-patches the importing process with gevent, so only ``master`` and ``worker`` (each run
as a process of its own) import it; ``control`` (the harness's side), ``recorder`` and
``protocol`` never do.
"""
