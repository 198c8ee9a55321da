"""One exception root for the harness, and the exit codes the command line promises."""

EXIT_PASS = 0  # every scenario passed (skips are listed, not failures)
EXIT_FAIL = 1  # at least one scenario failed its bounds
EXIT_BAD_INPUT = 2  # usage, scenario file, target spec
EXIT_INFRA = 3  # target unreachable or a scenario errored, and none failed
EXIT_INTERNAL = 4  # a bug in the harness itself (details in a traceback file)


class HarnessError(Exception):
    """Root of every error the harness raises on purpose; carries its exit code."""

    exit_code = EXIT_INFRA


class BadInput(HarnessError):
    """The user's input is wrong: a scenario file, a target spec, an option."""

    exit_code = EXIT_BAD_INPUT


class InfraError(HarnessError):
    """The environment is not fit to run: no root, no samba, unreachable target."""

    exit_code = EXIT_INFRA


class TargetUnavailable(InfraError):
    """The target cannot exist here at all (e.g. no docker engine): tests skip, runs exit 3."""


class ProbeTimeout(HarnessError):
    """A probe operation ran past its per-operation timeout."""


def one_line(text: object) -> str:
    """``text`` as one printable line: control characters (a newline inside a quoted TOML
    key, an escape sequence in a target string) are shown escaped, never emitted."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
