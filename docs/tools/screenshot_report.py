"""Make the picture of report.html that the README and the docs show (docs/pages/img/report.png).

Runs one scenario against the embedded Samba with the project's own command, then has
Debian's chromium (headless) screenshot the top of the page it wrote. Needs root and what
`.ci/setup` installs (samba, chromium, .venv). Usage, from the repository root:

    .venv/bin/python docs/tools/screenshot_report.py [--scenario rst] [--out PATH]

Exits 0 when the picture was written, 1 when the run or the browser failed (their output is
printed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "pages" / "img" / "report.png"
RUN_TIMEOUT_S = 180.0
BROWSER_TIMEOUT_S = 60.0
# The page's summary, the first scenario's timeline and the start of its tables.
WINDOW = "1100,1400"
# Headless flags that work as root on a machine with no network (no sandbox, no GPU, nothing
# fetched in the background), with a profile of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def run_scenario(scenario: str, report_dir: Path) -> Path:
    command = [
        str(ROOT / ".venv" / "bin" / "nbt-harness"),
        "run",
        scenario,
        "--report-dir",
        str(report_dir),
        "--quiet",
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    sys.stdout.write(done.stdout)
    page = report_dir / "report.html"
    if done.returncode not in (0, 1) or not page.is_file():
        sys.stderr.write(done.stderr)
        raise SystemExit(f"screenshot: nbt-harness run {scenario} exited {done.returncode}")
    return page


def screenshot(page: Path, out: Path, profile: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        raise SystemExit("screenshot: no chromium on PATH (apt-get install chromium)")
    command = [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW}",
        f"--screenshot={out}",
        page.as_uri(),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )
    if done.returncode != 0 or not out.is_file():
        sys.stderr.write(done.stderr[-2000:])
        raise SystemExit(f"screenshot: chromium exited {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="rst", help="shipped scenario to run (default: rst)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNG goes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nbth-docs-") as tmp:
        page = run_scenario(args.scenario, Path(tmp) / "report")
        shot = Path(tmp) / "report.png"
        screenshot(page, shot, Path(tmp) / "profile")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, args.out)
    print(f"screenshot: wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
