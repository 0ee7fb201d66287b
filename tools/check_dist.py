"""Build the sdist and the wheel and check what each carries: the wheel only `imsdiag`, the sdist what tests need."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL_TOP = {"imsdiag"}
WHEEL_NEEDS = tuple(
    f"imsdiag/reporters/templates/{name}"
    for name in ("page.html.j2", "scan.html.j2", "explain.html.j2", "finding.html.j2", "drawings.html.j2", "report.css")
)
"""Package data the HTML report reads at run time."""
SDIST_NEEDS = (
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "setup.cfg",
    "docs/imsdiag.1",
    "tests/golden",
    "sample_logs",
    "tools/loggen",
)


def main() -> int:
    """Build into a temporary folder, run `twine check`, and list what is wrong (exit 1) or say it is fine."""
    with tempfile.TemporaryDirectory(prefix="imsdiag-dist-") as out:
        subprocess.run([sys.executable, "-m", "build", "--outdir", out, str(ROOT)], check=True, capture_output=True)
        dist = sorted(Path(out).iterdir())
        subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist)], check=True)
        problems = _wheel_problems(next(p for p in dist if p.suffix == ".whl"))
        problems += _sdist_problems(next(p for p in dist if p.name.endswith(".tar.gz")))
    for p in problems:
        print(f"check_dist: {p}", file=sys.stderr)
    if not problems:
        print("check_dist: wheel holds imsdiag, its licence and man page; sdist holds the tests and what they read")
    return 1 if problems else 0


def _wheel_problems(wheel: Path) -> list[str]:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
    out = [f"wheel installs a top-level {t!r}" for t in sorted(tops - WHEEL_TOP)]
    # The .data folder may hold the man page only (installed under the environment's share/man).
    data = [n.split("/", 1)[1] for n in names if n.split("/", 1)[0].endswith(".data")]
    out += [f"wheel installs {d}" for d in data if d != "data/share/man/man1/imsdiag.1"]
    if "data/share/man/man1/imsdiag.1" not in data:
        out.append("wheel carries no man page")
    out += [f"wheel lacks {t}" for t in WHEEL_NEEDS if t not in names]
    if not any(n.endswith("/licenses/LICENSE") for n in names):
        out.append("wheel carries no LICENSE")
    return out


def _sdist_problems(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    return [f"sdist lacks {need}" for need in SDIST_NEEDS if not any(n.startswith(need) for n in names)]


if __name__ == "__main__":
    sys.exit(main())
