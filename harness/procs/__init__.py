"""The client processes a run forks and drives: a worker (one prober, a healthy client or the
victim), a pool (many sessions in one process) and the canary (the host's own scheduling lag)."""
