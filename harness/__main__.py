import sys

from harness.cli import command

sys.exit(command())
