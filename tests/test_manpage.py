"""The man page is generated from the click help and kept current; shell completion offers rule ids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tools.gen_manpage import PAGE, escape, render

IMSDIAG = [sys.executable, "-m", "imsdiag"]
"""The command as this interpreter runs it (its venv's `bin` need not be on PATH)."""


def test_man_page_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), "run: python -m tools.gen_manpage"


def test_man_page_names_every_command_and_option() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for text in ('.SS "imsdiag scan [OPTIONS] PATH..."', '.SS "imsdiag explain [OPTIONS] ID"', "\\-\\-statistics"):
        assert text in page
    assert "IMSDIAG_FORMAT" in page and ".SH EXIT STATUS" not in page  # exit codes sit under each command


def test_roff_escapes() -> None:
    assert escape(".TH x\n'y\na-b\\c") == "\\&.TH x\n\\&'y\na\\-b\\ec"


@pytest.mark.skipif(shutil.which("man") is None, reason="no man(1) here")
def test_man_renders_it() -> None:
    out = subprocess.run(
        ["man", "-l", str(PAGE)], capture_output=True, text=True, env={**os.environ, "MANWIDTH": "100"}, check=True
    ).stdout
    assert "imsdiag - find and explain mail loops" in out and "--extend-select" in out


def test_shell_completion_offers_rule_ids_and_slugs() -> None:
    env = {
        **os.environ,
        "_IMSDIAG_COMPLETE": "bash_complete",
        "COMP_WORDS": "imsdiag scan --select Q178436,forw",
        "COMP_CWORD": "3",
    }
    out = subprocess.run(IMSDIAG, capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["plain,Q178436,forwarding-loop"]
    env["COMP_WORDS"] = "imsdiag scan --ignore LOOP00"
    ids = [
        line.split(",", 1)[1]
        for line in subprocess.run(IMSDIAG, capture_output=True, text=True, env=env, check=True).stdout.split()
    ]
    assert ids == [f"LOOP00{n}" for n in range(1, 8)]


def test_fish_completion_keeps_a_comma_separated_value_whole() -> None:
    # click's fish script split `plain,LOOP001,LOOP002` at every comma: fish offered nothing after `LOOP001,`.
    env = {**os.environ, "_IMSDIAG_COMPLETE": "fish_source"}
    script = subprocess.run(IMSDIAG, capture_output=True, text=True, env=env, check=True).stdout
    assert '(string split -m 1 "," $completion)' in script and '(string split "," ' not in script
    if shutil.which("fish") is None:
        return  # the script's text is checked; fish itself is not installed here
    line = "imsdiag scan --select LOOP001,LOOP00"
    # The completion script runs `imsdiag`: this interpreter's, first on PATH.
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"
    out = subprocess.run(
        ["fish", "--no-config", "-c", f"{script}\ncomplete -C '{line}'"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        check=True,
    ).stdout
    assert out.split() == [f"LOOP001,LOOP00{n}" for n in range(1, 8)]
