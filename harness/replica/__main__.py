"""``python -m harness.replica --listen ADDR --upstream ADDR ...``: see :func:`harness.replica.cli.main`."""

from harness.replica.cli import main

raise SystemExit(main())
