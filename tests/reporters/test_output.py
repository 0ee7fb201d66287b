"""Atomic report writing: the whole file or the old one, never half of it."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import TextIO

import pytest

from imsdiag.errors import InputError
from imsdiag.output import atomic_write_text, write_report
from imsdiag.reporters.base import Reporter
from imsdiag.reporters.text import TextReporter
from imsdiag.result import ScanResult

from .conftest import OPTIONS


class _Exploding(Reporter):
    name = "exploding"
    description = "writes half a report, then fails"

    def report(self, result: ScanResult, out: TextIO) -> None:
        out.write("half a rep")
        raise RuntimeError("boom")


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    atomic_write_text(target, "first\n")
    atomic_write_text(target, "second ✓\n")
    assert target.read_text(encoding="utf-8") == "second ✓\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]  # no temporary file left behind


def test_atomic_write_keeps_mode_of_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_atomic_write_failure_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old report", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "new \ud800 report")  # a lone surrogate cannot be encoded
    assert target.read_text(encoding="utf-8") == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_write_report_to_file_and_stdout(tmp_path: Path, result: ScanResult) -> None:
    target = tmp_path / "out.txt"
    stdout = io.StringIO()
    write_report(TextReporter(OPTIONS), result, target, stdout)
    assert stdout.getvalue() == ""
    assert target.read_text(encoding="utf-8").count("\n") == 3
    write_report(TextReporter(OPTIONS), result, None, stdout)
    assert stdout.getvalue() == target.read_text(encoding="utf-8")
    dash = io.StringIO()
    write_report(TextReporter(OPTIONS), result, "-", dash)
    assert dash.getvalue() == stdout.getvalue()


def test_write_report_failing_reporter_leaves_no_file(tmp_path: Path, result: ScanResult) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="boom"):
        write_report(_Exploding(), result, target, io.StringIO())
    assert not target.exists()


def test_write_report_unwritable_path_is_input_error(tmp_path: Path, result: ScanResult) -> None:
    target = tmp_path / "missing-dir" / "out.txt"
    with pytest.raises(InputError, match=r"cannot write report to .*missing-dir/out.txt"):
        write_report(TextReporter(OPTIONS), result, target, io.StringIO())
