"""Read-only scans: nothing under the scanned paths changes; only the report and the cache are written, atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

import imsdiag.reporters
from imsdiag.cli import cli, main
from imsdiag.reporters.base import Reporter
from imsdiag.result import ScanResult

from ..clirunner import cli_runner
from ..conftest import SAMPLES

Snapshot = dict[str, tuple[int, int, str]]


def _snapshot(root: Path) -> Snapshot:
    """Every entry under `root`: mode, mtime (ns) and a content hash for files."""
    out: Snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
        out[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, digest)
    return out


def _make_read_only(root: Path) -> None:
    for path in root.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    root.chmod(0o555)


def _make_writable(root: Path) -> None:
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def read_only_logs(tmp_path: Path) -> Iterator[Path]:
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLES, logs)
    _make_read_only(logs)
    yield logs
    _make_writable(logs)


def test_scan_writes_only_the_report_and_the_cache(
    tmp_path: Path, read_only_logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(work)  # a stray relative write would land here
    before_logs = _snapshot(read_only_logs)
    for run in range(2):  # the second run replays the index instead of parsing
        result = cli_runner().invoke(
            cli,
            [
                "scan",
                str(read_only_logs),
                "--index",
                str(tmp_path / "cache" / "index.sqlite"),
                "-o",
                str(tmp_path / "out" / "report.json"),
                "-f",
                "json",
                "-q",
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 1, (run, result.output)  # loops found, so every parser ran
        assert result.stdout == ""
    assert _snapshot(read_only_logs) == before_logs  # content, mode and mtime unchanged
    assert list(work.iterdir()) == []
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and "logs" not in p.parts}
    assert "out/report.json" in written
    assert {w for w in written if not w.startswith("cache/")} == {"out/report.json"}
    assert all(w.startswith("cache/index.sqlite") for w in written - {"out/report.json"})


def test_scan_of_one_read_only_file_leaves_it_alone(tmp_path: Path, read_only_logs: Path) -> None:
    log = read_only_logs / "q178436-site-connector" / "relay" / "maillog"
    before = _snapshot(log.parent)
    result = cli_runner().invoke(cli, ["scan", str(log), "--no-index", "-f", "text"], catch_exceptions=False)
    # The relay's log alone shows both hops of every pass: the loop is found (exit 1), nothing is written.
    assert result.exit_code == 1
    assert "Q178436" in result.output
    assert _snapshot(log.parent) == before


class _HalfThenFail(Reporter):
    """Writes half a report, then fails the way a bug or a Ctrl-C would."""

    name = "half"
    description = "writes half a report, then raises"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def report(self, result: ScanResult, out: TextIO) -> None:
        out.write('{"findings": [')
        raise self.error


@pytest.mark.parametrize(("error", "code"), [(RuntimeError("mid-render"), 4), (KeyboardInterrupt(), 130)])
def test_failed_render_leaves_the_old_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: BaseException, code: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    report = out / "report.json"
    report.write_text('{"old": "complete"}\n', encoding="utf-8")
    monkeypatch.setattr(imsdiag.reporters, "get_reporter", lambda name, options=None: _HalfThenFail(error))
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(SAMPLES / "q178436-site-connector"), "--no-index", "-q", "-f", "json", "-o", str(report)])
    assert exc.value.code == code
    assert report.read_text(encoding="utf-8") == '{"old": "complete"}\n'
    assert [p.name for p in out.iterdir()] == ["report.json"]  # no temporary file left either
    assert "Traceback" not in capsys.readouterr().err


def test_failed_render_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "report.json"
    monkeypatch.setattr(
        imsdiag.reporters, "get_reporter", lambda name, options=None: _HalfThenFail(KeyboardInterrupt())
    )
    with pytest.raises(SystemExit):
        main(["scan", str(SAMPLES / "q178436-site-connector"), "--no-index", "-q", "-o", str(report)])
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the write itself (after rendering): the target is the old file, the temp file is gone."""
    from imsdiag import output

    target = tmp_path / "report.txt"
    target.write_text("old\n")
    real_fsync = os.fsync

    def interrupted_fsync(fd: int) -> None:
        real_fsync(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        output.atomic_write_text(target, "new and complete\n" * 1000)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]
