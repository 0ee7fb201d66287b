"""Exit codes that follow the findings whatever the reader does, bounded workers, and validated limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from imsdiag.cli import cli
from imsdiag.config import load_config
from imsdiag.errors import ConfigError
from imsdiag.explain import MAX_ID_LENGTH
from imsdiag.settings import max_jobs

from ..clirunner import cli_runner
from ..conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[2]


def _scan_into(reader: str, folder: Path, fmt: str) -> int:
    """`imsdiag scan FOLDER | READER` in a real shell pipe; the exit code of imsdiag."""
    cmd = f'"{sys.executable}" -m imsdiag scan --no-index -q -f {fmt} "{folder}" | {reader}; exit ${{PIPESTATUS[0]}}'
    return subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, timeout=120).returncode


@pytest.mark.parametrize("fmt", ["terminal", "json", "text"])
@pytest.mark.parametrize("reader", ["head -c 1 >/dev/null", "true"])
def test_a_reader_that_leaves_early_does_not_change_the_exit_code(fmt: str, reader: str) -> None:
    # The decision is made before the report is written: clean logs exit 0, a loop exits 1.
    assert _scan_into(reader, SAMPLES / "healthy", fmt) == 0
    assert _scan_into(reader, SAMPLES / "q178436-site-connector", fmt) == 1


def test_closed_stdout_is_an_output_error_not_a_crash() -> None:
    cmd = f'"{sys.executable}" -m imsdiag scan --no-index -q "{SAMPLES / "healthy"}" >&-'
    r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3
    assert r.stderr.strip() == "imsdiag: error: standard output is closed: give -o FILE to write the report"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to simulate a full disk")
def test_full_disk_on_stdout_is_exit_3_with_one_line() -> None:
    # Reading /dev/full's "disk full" on write only: nothing is written to any device.
    cmd = f'"{sys.executable}" -m imsdiag scan --no-index -q -f json "{SAMPLES / "healthy"}" > /dev/full'
    r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3
    assert r.stderr.strip() == "imsdiag: error: cannot write the report: No space left on device"


def test_jobs_are_capped_on_the_command_line_and_in_the_config(tmp_path: Path) -> None:
    r = cli_runner().invoke(cli, ["scan", "--no-index", "-j", str(max_jobs() + 1), str(SAMPLES / "healthy")])
    assert r.exit_code == 2 and f"1<=x<={max_jobs()}" in r.output
    (tmp_path / "imsdiag.toml").write_text("jobs = 100000\n")
    with pytest.raises(ConfigError, match=f"must be at most {max_jobs()}"):
        load_config(None, tmp_path)


def test_min_passes_has_the_same_bounds_in_the_config_as_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "imsdiag.toml").write_text("min-passes = 1000000000\n")
    with pytest.raises(ConfigError, match="must be at most 100000"):
        load_config(None, tmp_path)
    r = cli_runner().invoke(cli, ["scan", "--no-index", "--min-passes", "1000000000", str(SAMPLES / "healthy")])
    assert r.exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2024-01-02", "--until", "2024-01-01"],
        ["--until", "0001-01-01T00:00+14:00"],  # before year 1 in UTC: was an OverflowError, exit 4
    ],
)
def test_impossible_time_windows_are_usage_errors(args: list[str]) -> None:
    r = cli_runner().invoke(cli, ["scan", "--no-index", *args, str(SAMPLES / "healthy")])
    assert r.exit_code == 2, r.output
    assert "--since/--until" in r.output


def test_an_id_longer_than_a_path_can_be_is_an_unknown_id_not_a_crash() -> None:
    long_id = "a" * 300 + "@example.com"  # longer than a file name may be: was "File name too long", exit 4
    r = cli_runner().invoke(cli, ["explain", "--no-index", long_id, "--logs", str(SAMPLES / "healthy")])
    assert r.exit_code == 3
    r = cli_runner().invoke(
        cli, ["explain", "--no-index", "x" * (MAX_ID_LENGTH + 1), "--logs", str(SAMPLES / "healthy")]
    )
    assert r.exit_code == 3 and f"at most {MAX_ID_LENGTH:,}" in r.output


def test_explain_json_escapes_terminal_controls_like_scan_json(tmp_path: Path) -> None:
    hostile = "Delivered: \u009b31m red \u202e evil \x7f"
    msg = tmp_path / "m.eml"
    msg.write_text(
        "Message-ID: <hostile@example.com>\nFrom: <>\nTo: <a@example.com>\n"
        f"Subject: {hostile}\nDate: Mon, 15 Mar 1999 14:12:39 +0000\n\nbody\n",
        encoding="utf-8",
    )
    r = cli_runner().invoke(cli, ["explain", str(msg), "--no-index", "--format", "json"])
    assert r.exit_code == 0, r.output
    for raw in ("\u009b", "\u202e", "\x7f"):
        assert raw not in r.output
    assert "\\u009b" in r.output and "\\u202e" in r.output
    assert hostile in json.dumps(json.loads(r.output), ensure_ascii=False)  # the same string, only escaped


WORKER = textwrap.dedent(
    """
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from imsdiag.workers import worker_init

    def job(path):
        with open(path, "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(60)

    if __name__ == "__main__":
        pool = ProcessPoolExecutor(1, initializer=worker_init, initargs=(os.getpid(),))
        pool.submit(job, sys.argv[1])
        time.sleep(60)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose: it runs nothing.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_parent_killed_outright(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(WORKER)
    marker = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, str(script), str(marker)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(marker.read_text())
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)  # no cleanup code runs in the parent
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "the worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
