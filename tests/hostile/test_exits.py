"""Exit behaviour: Ctrl-C stops promptly with 130, a closed pipe exits quietly, a bug prints one line (exit 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import imsdiag.engine
from imsdiag.cli import main

from ..conftest import ROOT, SAMPLES

Q = SAMPLES / "q178436-site-connector"
RELAY = Q / "relay" / "maillog"


def _popen(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "imsdiag", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ~120 MB relay log: far longer to scan than the wait this test allows after Ctrl-C."""
    path = tmp_path_factory.mktemp("big") / "maillog"
    chunk = RELAY.read_bytes() * 400
    with path.open("wb") as out:
        for _ in range(11):
            out.write(chunk)
    return path


def _interrupt_after(proc: subprocess.Popen[bytes], started: float, delay: float) -> tuple[float, bytes, bytes]:
    time.sleep(max(0.0, started + delay - time.monotonic()))
    assert proc.poll() is None, "the scan ended before it could be interrupted"
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("still running 20 s after Ctrl-C")
    return time.monotonic() - sent, out, err


def test_ctrl_c_exits_130_quietly_and_promptly(big_log: Path) -> None:
    started = time.monotonic()
    proc = _popen("scan", str(big_log), "--no-index", "-f", "json", start_new_session=True)
    _waited, out, err = _interrupt_after(proc, started, 2.0)
    assert proc.returncode == 130
    assert out == b""  # no half report
    assert err.decode().strip() == "imsdiag: interrupted"


def test_ctrl_c_with_worker_processes_is_prompt(tmp_path: Path) -> None:
    for i in range(8):
        (tmp_path / f"relay{i}").mkdir()
        (tmp_path / f"relay{i}" / "maillog").write_bytes(RELAY.read_bytes() * 600)
    started = time.monotonic()
    proc = _popen("scan", str(tmp_path), "--no-index", "-f", "json", "-j", "2", start_new_session=True)
    waited, _out, err = _interrupt_after(proc, started, 1.5)
    assert proc.returncode == 130 and b"Traceback" not in err
    assert waited < 1.0, f"took {waited:.1f}s to stop after Ctrl-C"


@pytest.fixture(scope="module")
def wide_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loop sample plus thousands of small non-log files: a report far larger than a pipe buffer."""
    root = tmp_path_factory.mktemp("wide")
    (root / "relay").mkdir()
    (root / "relay" / "maillog").write_bytes(RELAY.read_bytes())
    junk = root / "notes"
    junk.mkdir()
    for i in range(3000):
        (junk / f"note{i:04d}.txt").write_text("hello\n")
    return root


@pytest.mark.parametrize("fmt", ["json", "terminal"])
def test_broken_pipe_exits_quietly(wide_folder: Path, fmt: str) -> None:
    proc = _popen("scan", str(wide_folder), "--no-index", "-v", "-f", fmt)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(timeout=60)
    assert first.strip()
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err
    assert proc.returncode in (0, 1)


def test_internal_error_is_one_line_asking_for_a_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\x1b]0;x\x07\nsecond line")

    monkeypatch.setattr(imsdiag.engine, "scan", boom)
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(Q), "--no-index"])
    assert exc.value.code == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("imsdiag: internal error: RuntimeError: boom\\x1b]0;x\\x07\\nsecond line")
    assert "please report" in lines[0] and "--debug" in lines[0]
    assert "Traceback" not in captured.err


def test_internal_error_with_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(imsdiag.engine, "scan", boom)
    with pytest.raises(SystemExit) as exc:
        main(["--debug", "scan", str(Q), "--no-index"])
    assert exc.value.code == 4
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and 'raise RuntimeError("boom")' in err
    assert err.splitlines()[-1].startswith("imsdiag: internal error: RuntimeError: boom")
