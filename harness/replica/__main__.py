"""``python -m harness.replica --listen ADDR --upstream ADDR ...``.

See :func:`harness.replica.cli.main`.
"""

from harness.replica.cli import main

raise SystemExit(main())
