"""Progress on stderr: shown only on a terminal and not quiet, escaped file names, tolerant call order."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from imsdiag.progress import NullProgress, Progress, make_progress


class _TTY(io.StringIO):
    """A stderr stand-in that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def _console(buf: io.StringIO) -> Console:
    return Console(file=buf, force_terminal=True, color_system=None, width=120)


def test_quiet_gives_null_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", _TTY())
    monkeypatch.delenv("TERM", raising=False)
    assert type(make_progress(quiet=True, color="auto")) is NullProgress


def test_pipe_gives_null_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert type(make_progress(quiet=False, color="always")) is NullProgress


def test_dumb_terminal_gives_null_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", _TTY())
    monkeypatch.setenv("TERM", "dumb")
    assert type(make_progress(quiet=False, color="auto")) is NullProgress


def test_terminal_gives_a_bar_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _TTY()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setenv("TERM", "xterm")
    progress = make_progress(quiet=False, color="never")
    assert isinstance(progress, Progress)
    with progress:
        progress.start(1, 10)
        progress.file_started("imc1/L0000001.LOG")
        progress.advance(10)
        progress.file_done()
    # Transient: the bar is cleared at the end, but it was drawn on stderr, not stdout.
    assert err.getvalue() != ""


def test_bar_shows_file_counts_bytes_and_current_file() -> None:
    buf = io.StringIO()
    progress = Progress(_console(buf), transient=False)
    progress.start(total_files=2, total_bytes=2_000_000)
    progress.file_started("q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG")
    progress.advance(1_000_000)
    progress.file_done()
    progress.file_started("relay/maillog")
    progress.advance(1_000_000)
    progress.file_done()
    progress.stop()
    out = buf.getvalue()
    assert "2/2 files" in out
    assert "2.0/2.0 MB" in out
    assert "relay/maillog" in out


def test_long_file_name_keeps_its_tail() -> None:
    buf = io.StringIO()
    progress = Progress(_console(buf), transient=False)
    progress.start(total_files=1, total_bytes=100)
    progress.file_started("q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG")
    progress.stop()
    assert "\r\x1b[2K…imc1/Imcdata/Log/L0000001.LOG " in buf.getvalue()


def test_hostile_file_name_is_escaped() -> None:
    buf = io.StringIO()
    progress = Progress(_console(buf), transient=False)
    progress.start(1, 0)  # unknown size: no crash, pulsing bar
    progress.file_started("e\x1b]0;x\x07[b]y[/]")
    progress.file_done()
    progress.stop()
    out = buf.getvalue()
    assert "e\\x1b]0;x\\x07[b]y[/]" in out
    assert "\x07" not in out
    assert "\x1b]0;" not in out
    assert "1/1 files" in out


def test_calls_out_of_order_never_raise() -> None:
    buf = io.StringIO()
    progress = Progress(_console(buf), transient=False)
    progress.advance(5)
    progress.file_started("a.log")
    progress.file_done()
    progress.stop()
    assert buf.getvalue() == ""
    progress.start(1, 5)
    progress.start(1, 5)  # a second start is ignored
    progress.stop()
    progress.stop()
    progress.advance(5)


def test_null_progress_does_nothing() -> None:
    with NullProgress() as progress:
        progress.start(3, 100)
        progress.file_started("a.log")
        progress.advance(100)
        progress.file_done()
    progress.stop()


def test_a_terminal_without_a_size_gets_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    # `script` and some CI pseudo-terminals report 0 columns; a 0-wide bar would draw nothing.
    import os as _os

    from imsdiag import progress as progress_module

    monkeypatch.setattr(_os, "get_terminal_size", lambda fd: _os.terminal_size((0, 0)))
    monkeypatch.setattr(progress_module.sys.stderr, "fileno", lambda: 2, raising=False)
    assert progress_module._terminal_width() == 80
