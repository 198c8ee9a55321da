"""``python -m harness.replica --listen ADDR --upstream ADDR ...``: see :func:`harness.replica.main`."""

from harness.replica import main

raise SystemExit(main())
