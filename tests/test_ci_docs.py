"""The commands docs/ci.md shows are run here, against a copy of a shipped scenario as `logs/`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLES

DOC = ROOT / "docs" / "ci.md"
COMMAND = re.compile(r"imsdiag scan logs/[^'\n`]*")


def doc_commands() -> list[str]:
    return [m.group(0).split("  #")[0].strip() for m in COMMAND.finditer(DOC.read_text(encoding="utf-8"))]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLES / "q178436-site-connector", tmp_path / "logs")
    return tmp_path


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The documented command line, with `imsdiag` run from this checkout's interpreter.
    exe = f'"{sys.executable}" -m imsdiag'
    return subprocess.run(
        ["bash", "-c", command.replace("imsdiag scan", f"{exe} scan", 1)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cwd / "cache")},
        check=False,
    )


def test_the_doc_shows_every_ci_use() -> None:
    cmds = doc_commands()
    for needle in ("--format github", "--format sarif", "--format junit", "--format text", "--baseline"):
        assert any(needle in c for c in cmds), needle


@pytest.mark.parametrize("command", [c for c in doc_commands() if "baseline" not in c])
def test_documented_command_runs(workdir: Path, command: str) -> None:
    r = shell(command, workdir)
    tolerant = "|| test $? -eq 1" in command
    # A loop is in the logs: the run fails (1) unless the command itself accepts exit 1.
    assert r.returncode == (0 if tolerant else 1), r.stderr
    if "-o imsdiag.sarif" in command:
        assert json.loads((workdir / "imsdiag.sarif").read_text())["version"] == "2.1.0"
    if "-o imsdiag-junit.xml" in command:
        assert (workdir / "imsdiag-junit.xml").read_text().startswith("<?xml")
    if "--format github" in command:
        assert "::error file=logs/" in r.stdout


def test_documented_baseline_flow(workdir: Path) -> None:
    write, use = [c for c in doc_commands() if "baseline" in c]
    assert shell(write, workdir).returncode == 1  # the known loop is still a finding when recorded
    assert shell(use, workdir).returncode == 0  # later runs: the known loop no longer fails the build
