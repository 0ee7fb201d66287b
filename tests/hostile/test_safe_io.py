"""Safe by default: `-o`/baseline writes never replace what they must not, config/baseline reads never hang."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import imsdiag.engine
from imsdiag.cli import main
from imsdiag.config import load_config
from imsdiag.engine import scan
from imsdiag.errors import ConfigError
from imsdiag.models import Severity
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile, discover

from ..conftest import SAMPLES

Q = SAMPLES / "q178436-site-connector"
RELAY = Q / "relay" / "maillog"
RELAY_LINES = 130
MESSAGE = SAMPLES / "exim-hop-limit" / "bounce-bob.eml"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="making device nodes needs root")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in process: (exit code, stdout, stderr)."""
    code: object = 0
    try:
        main(list(args))  # returns normally on exit code 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return (code if isinstance(code, int) else 0), out.out, out.err


def _one_error_line(err: str, *expected: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("imsdiag: error: "), err
    for text in expected:
        assert text in lines[0], err
    return lines[0]


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    return thread, box


def _read_fifo(path: Path) -> tuple[threading.Thread, list[object]]:
    """A reader on the FIFO (so a writer's open does not wait forever); its box gets everything read."""

    def read() -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    return _in_thread(read)


def _release_fifo_reader(path: Path) -> None:
    """Unblock a reader still waiting for a writer (the test failed before writing)."""
    with contextlib.suppress(OSError):  # no reader left waiting: nothing to release
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A private copy of the looping sample, so a write over an input could only harm the copy."""
    dest = tmp_path / "logs"
    shutil.copytree(Q, dest)
    return dest


# --- writes: -o, --write-baseline, explain -o -------------------------------------------------------


def test_report_to_a_fifo_is_written_in_place(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    ino = fifo.stat().st_ino
    reader, box = _read_fifo(fifo)
    try:
        code, out, _ = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "json", "-o", str(fifo))
    finally:
        reader.join(30)
        _release_fifo_reader(fifo)
    assert code == 1 and out == ""
    doc = json.loads(box[0])  # type: ignore[arg-type]
    assert any(f["rule_id"] == "Q178436" for f in doc["findings"])
    st = os.lstat(fifo)
    assert stat.S_ISFIFO(st.st_mode) and st.st_ino == ino  # still the same FIFO, not a file renamed over it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "report.fifo"]  # no temporary file either


def test_baseline_to_a_fifo_is_written_in_place(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "baseline.fifo"
    os.mkfifo(fifo)
    reader, box = _read_fifo(fifo)
    try:
        code, _, err = _run(capsys, "scan", str(logs), "--no-index", "-f", "text", "--write-baseline", str(fifo))
    finally:
        reader.join(30)
        _release_fifo_reader(fifo)
    assert code == 1
    assert json.loads(box[0])["findings"]  # type: ignore[arg-type]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert f"finding(s) to baseline {fifo}" in err


def test_report_to_dev_fd_reaches_the_pipe(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`-o /dev/fd/N` (and so `-o /dev/stdout`) writes into the open pipe, never a file made from the link."""
    read_end, write_end = os.pipe()
    chunks: list[bytes] = []

    def drain() -> None:
        while data := os.read(read_end, 1 << 16):
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code, out, err = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "json", "-o", f"/dev/fd/{write_end}")
    finally:
        os.close(write_end)
        reader.join(30)
        os.close(read_end)
    assert code == 1 and out == "", err
    assert json.loads(b"".join(chunks))["findings"]


def test_symlink_loop_is_refused(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    code, _, err = _run(capsys, "scan", str(logs), "--no-index", "-o", str(tmp_path / "a"))
    assert code == 3
    _one_error_line(err, "cannot write report to", "symbolic links")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def _private_null(tmp_path: Path) -> Path:
    """A device node of /dev/null's kind (1, 3) in tmp_path: writes to it are discarded, nothing shared is touched."""
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


@as_root
def test_report_and_baseline_to_a_character_device_keep_the_device(
    tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = _private_null(tmp_path)
    before = os.lstat(node)
    code, out, err = _run(
        capsys, "scan", str(logs), "--no-index", "-f", "json", "-o", str(node), "--write-baseline", str(node)
    )
    assert code == 1 and out == "", err
    after = os.lstat(node)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == os.makedev(1, 3) and after.st_ino == before.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "null"]


@as_root
def test_explain_to_a_character_device_keeps_the_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node = _private_null(tmp_path)
    msg = tmp_path / "bounce.eml"
    shutil.copy(MESSAGE, msg)
    code, out, err = _run(capsys, "explain", str(msg), "--no-index", "-o", str(node))
    assert code == 0 and out == "", err
    assert stat.S_ISCHR(os.lstat(node).st_mode) and os.lstat(node).st_rdev == os.makedev(1, 3)


def test_report_through_a_symlink_writes_the_target_and_keeps_the_link(
    tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "latest.json"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "report.json"
    link.symlink_to(Path("reports") / "latest.json")  # relative, as `ln -s` users write them
    code, _, _ = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "json", "-o", str(link))
    assert code == 1
    assert link.is_symlink() and os.readlink(link) == os.path.join("reports", "latest.json")
    assert json.loads(target.read_text())["findings"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["latest.json"]


def test_dangling_symlink_creates_its_target(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = tmp_path / "baseline.json"
    link.symlink_to(tmp_path / "made.json")
    code, _, _ = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "text", "--write-baseline", str(link))
    assert code == 1
    assert link.is_symlink() and json.loads((tmp_path / "made.json").read_text())["version"] == 1


@pytest.mark.parametrize("inside", ["relay/maillog", "imc2/Exchsrvr/Imcdata/Log/L0000001.LOG"])
def test_report_over_a_scanned_log_is_refused(
    logs: Path, capsys: pytest.CaptureFixture[str], inside: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = logs / inside
    before = victim.read_bytes()
    ino = victim.stat().st_ino
    scanned: list[ScanSettings] = []
    monkeypatch.setattr(imsdiag.engine, "scan", lambda settings, progress=None: scanned.append(settings))
    code, out, err = _run(capsys, "scan", str(logs), "--no-index", "-o", str(victim))
    assert code == 3 and out == ""
    _one_error_line(err, "refusing to write report to", "one of the scanned input files")
    assert scanned == []  # refused before the scan, not after it
    assert victim.read_bytes() == before and victim.stat().st_ino == ino


def test_write_over_an_input_file_is_refused_by_any_name(
    tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logs / "relay" / "maillog"
    before = log.read_bytes()
    hard = tmp_path / "hardlink.log"
    os.link(log, hard)
    soft = tmp_path / "softlink.log"
    soft.symlink_to(log)
    for args in (
        ["scan", str(log), "--no-index", "-o", str(log)],  # the file named itself
        ["scan", str(logs), "--no-index", "--write-baseline", str(hard)],  # another name of a file in the folder
        ["scan", str(logs), "--no-index", "-o", str(soft)],  # a link to one
        ["scan", str(hard), "--no-index", "-o", str(log)],
    ):
        code, _, err = _run(capsys, *args)
        assert code == 3, args
        _one_error_line(err, "one of the scanned input files")
    assert log.read_bytes() == before and hard.read_bytes() == before and soft.is_symlink()


def test_explain_output_over_the_message_it_explains_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msg = tmp_path / "bounce.eml"
    shutil.copy(MESSAGE, msg)
    before = msg.read_bytes()
    code, out, err = _run(capsys, "explain", str(msg), "--no-index", "-o", str(msg))
    assert code == 3 and out == ""
    _one_error_line(err, "one of the scanned input files")
    assert msg.read_bytes() == before


def test_new_report_inside_the_scanned_folder_is_allowed(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "json", "-o", str(logs / ".report.json"))
    assert code == 1 and json.loads((logs / ".report.json").read_text())["findings"]
    # Written again: the dot file is not an input of the scan (the walk skips it), so it may be replaced.
    code, _, err = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "json", "-o", str(logs / ".report.json"))
    assert code == 1, err


def test_write_over_a_directory_is_refused(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep").write_text("keep")
    for option in ("-o", "--write-baseline"):
        code, out, err = _run(capsys, "scan", str(logs), "--no-index", "-f", "json", option, str(folder))
        assert code == 3 and out == ""
        _one_error_line(err, "it is a directory")
    assert folder.is_dir() and (folder / "keep").read_text() == "keep"


def test_write_over_a_socket_is_refused(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        code, _, err = _run(capsys, "scan", str(logs), "--no-index", "-o", str(path))
    finally:
        sock.close()
    assert code == 3
    _one_error_line(err, "it is a socket")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


@as_root
def test_write_over_a_block_device_is_refused(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node = tmp_path / "blk"
    # Never opened: the refusal comes from lstat alone, so no real disk is touched.
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 250))
    code, _, err = _run(capsys, "scan", str(logs), "--no-index", "-o", str(node))
    assert code == 3
    _one_error_line(err, "it is a block device")
    assert stat.S_ISBLK(os.lstat(node).st_mode)


@pytest.mark.parametrize("option", ["-o", "--write-baseline"])
def test_read_only_file_is_never_replaced(
    tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    target = tmp_path / "kept.json"
    target.write_text("precious\n")
    target.chmod(0o444)
    ino = target.stat().st_ino
    code, out, err = _run(capsys, "scan", str(logs), "--no-index", "-f", "json", option, str(target))
    assert code == 3 and out == ""
    _one_error_line(err, "read-only")
    assert target.read_text() == "precious\n" and target.stat().st_ino == ino


def test_dash_writes_to_stdout(
    logs: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a file named "-" would appear here
    code, out, _ = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "json", "-o", "-")
    assert code == 1 and json.loads(out)["findings"]
    code, out, _ = _run(capsys, "scan", str(logs), "--no-index", "-q", "-f", "text", "--write-baseline", "-")
    assert code == 1 and '"version": 1' in out
    assert not (tmp_path / "-").exists()


# --- reads: --config, --baseline, baseline = ... ------------------------------------------------------


def _within(seconds: float, work: Callable[[], object]) -> object:
    thread, box = _in_thread(work)
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"blocked for more than {seconds}s")
    return box[0] if box else None


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    yield path
    _release_fifo_reader(path)


def _run_within(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    got = _within(30, lambda: _run(capsys, *args))
    assert isinstance(got, tuple)
    return got


def test_config_that_is_a_fifo_or_folder_is_refused_without_hanging(
    tmp_path: Path, logs: Path, fifo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run_within(capsys, "scan", str(logs), "--no-index", "--config", str(fifo))
    assert code == 3
    _one_error_line(err, "cannot read config", "it is a FIFO, not a regular file")
    code, _, err = _run_within(capsys, "scan", str(logs), "--no-index", "--config", str(tmp_path))
    assert code == 3
    _one_error_line(err, "it is a directory, not a regular file")


@as_root
def test_config_and_baseline_that_are_devices_are_refused(
    tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zero = tmp_path / "zero.toml"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # a private node of /dev/zero's kind
    code, _, err = _run_within(capsys, "scan", str(logs), "--no-index", "--config", str(zero))
    assert code == 3
    _one_error_line(err, "it is a device, not a regular file")
    code, _, err = _run_within(capsys, "scan", str(logs), "--no-index", "--baseline", str(zero))
    assert code == 3
    _one_error_line(err, "cannot read baseline", "it is a device")


def test_config_size_is_limited(tmp_path: Path, logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.toml"
    with open(big, "wb") as handle:
        handle.truncate(5 << 20)  # sparse: no disk used
    code, _, err = _run(capsys, "scan", str(logs), "--no-index", "--config", str(big))
    assert code == 3
    _one_error_line(err, "may be at most 4 MiB")


def test_config_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    (tmp_path / "imsdiag.toml").write_bytes(b"\xef\xbb\xbffail-on = 'warning'\n")
    assert load_config(None, tmp_path).fail_on is Severity.WARNING
    (tmp_path / "imsdiag.toml").unlink()
    (tmp_path / "ci.cfg").write_bytes(b"\xef\xbb\xbf[imsdiag]\nfail-on = info\n")
    assert load_config(Path("ci.cfg"), tmp_path).fail_on is Severity.INFO


def test_unknown_key_and_bad_paths_are_echoed_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "imsdiag.toml").write_text('"\\u001b]0;owned\\u0007\\u001b[31mred" = 1\n')
    with pytest.raises(ConfigError) as exc:
        load_config(None, tmp_path)
    message = str(exc.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "\\x1b]0;owned\\x07\\x1b[31mred" in message
    bad = tmp_path / "base\x1b[2Jline.json"
    bad.write_text("not json")
    code, _, err = _run(capsys, "scan", str(tmp_path), "--no-index", "--baseline", str(bad))
    assert code == 3
    _one_error_line(err, "base\\x1b[2Jline.json", "not valid JSON")
    assert "\x1b" not in err


def test_baseline_that_is_a_fifo_folder_or_too_deep_is_exit_3_before_the_scan(
    tmp_path: Path, logs: Path, fifo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned: list[ScanSettings] = []
    monkeypatch.setattr(imsdiag.engine, "scan", lambda settings, progress=None: scanned.append(settings))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(65 << 20)
    cases = [
        (["--baseline", str(fifo)], "it is a FIFO"),
        (["--baseline", str(tmp_path)], "it is a directory"),
        (["--baseline", str(deep)], "nested too deeply"),
        (["--baseline", str(big)], "may be at most 64 MiB"),
    ]
    for extra, expected in cases:
        code, _, err = _run_within(capsys, "scan", str(logs), "--no-index", *extra)
        assert code == 3, (extra, err)
        _one_error_line(err, "cannot read baseline" if "deep" not in expected else "baseline", expected)
    # The same through the config file's `baseline =`, resolved against the config's folder.
    cfg = tmp_path / "conf.toml"
    cfg.write_text(f'baseline = "{fifo.name}"\n')
    code, _, err = _run_within(capsys, "scan", str(logs), "--no-index", "--config", str(cfg))
    assert code == 3
    _one_error_line(err, "it is a FIFO")
    assert scanned == []


# --- inputs: FIFOs named on the command line, symlinks out of the folder --------------------------------


def _feed(path: str, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(path, "wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("compress", [False, True])
def test_named_fifo_is_read_like_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str], compress: bool) -> None:
    pipe = tmp_path / "zcat-output"
    os.mkfifo(pipe)
    data = RELAY.read_bytes()
    writer = _feed(str(pipe), gzip.compress(data) if compress else data)
    try:
        # The index stays on by default: a pipe must not end up in it.
        code, out, err = _run_within(capsys, "scan", str(pipe), "-f", "json", "-q")
    finally:
        _release_fifo_reader(pipe)
        writer.join(5)
    assert code == 1, err
    doc = json.loads(out)
    assert doc["findings"]
    assert [f["path"] for f in doc["files"]] == [str(pipe)]


@pytest.mark.parametrize("prefix", ["/dev/fd", "/proc/self/fd"])
def test_dev_fd_paths_are_inputs(prefix: str) -> None:
    read_end, write_end = os.pipe()
    data = gzip.compress(RELAY.read_bytes())
    writer = threading.Thread(target=lambda: (os.write(write_end, data), os.close(write_end)), daemon=True)
    writer.start()
    try:
        result = _within(30, lambda: scan(ScanSettings(paths=(f"{prefix}/{read_end}",))))
    finally:
        writer.join(5)
        os.close(read_end)
    assert result is not None
    assert result.events == RELAY_LINES  # type: ignore[attr-defined]
    assert result.findings  # type: ignore[attr-defined]


def test_pipe_whose_first_bytes_trickle_in_is_still_seen_as_gzip() -> None:
    """The compression sniff must wait for its 8 bytes: `zcat`-like writers may send the magic in pieces."""
    read_end, write_end = os.pipe()
    data = gzip.compress(RELAY.read_bytes())

    def trickle() -> None:
        for i in range(4):
            os.write(write_end, data[i : i + 1])
            time.sleep(0.05)
        os.write(write_end, data[4:])
        os.close(write_end)

    writer = threading.Thread(target=trickle, daemon=True)
    writer.start()
    try:
        result = _within(30, lambda: scan(ScanSettings(paths=(f"/dev/fd/{read_end}",))))
    finally:
        writer.join(5)
        os.close(read_end)
    assert result.events == RELAY_LINES  # type: ignore[attr-defined]


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """logs/ holding a symlink to a file outside, one to a folder outside, and one to a file inside."""
    logs = tmp_path / "logs"
    (logs / "local").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "relay").mkdir(parents=True)
    shutil.copy(RELAY, outside / "secret.log")
    shutil.copy(RELAY, outside / "relay" / "maillog")
    shutil.copy(RELAY, logs / "local" / "maillog")
    (logs / "secret.log").symlink_to(outside / "secret.log")
    (logs / "remote").symlink_to(outside / "relay")
    (logs / "again.log").symlink_to(Path("local") / "maillog")
    return logs


def test_symlinks_out_of_the_folder_are_skipped_with_a_note(linked: Path) -> None:
    result = scan(ScanSettings(paths=(str(linked),)))
    counts = dict(result.issue_counts)
    assert counts["symlink-outside"] == 2
    notes = sorted(i.location.path for i in result.issues if i.code == "symlink-outside")
    assert [Path(n).name for n in notes] == ["remote", "secret.log"]
    message = next(i.message for i in result.issues if i.code == "symlink-outside")
    assert "outside the scanned folder" in message and "--follow-links" in message
    assert sorted(Path(f.path).name for f in result.files) == ["again.log", "maillog"]  # the inside link is read


def test_follow_links_reads_them(linked: Path) -> None:
    found = list(discover([str(linked)], follow_links=True))
    files = sorted(str(f.path.relative_to(linked)) for f in found if isinstance(f, InputFile) and f.path)
    assert files == ["again.log", "local/maillog", "remote/maillog", "secret.log"]
    assert not [i for i in found if not isinstance(i, InputFile)]


def test_follow_links_option_reaches_the_walk(linked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "scan", str(linked), "--no-index", "-q", "-f", "json", "--follow-links")
    doc = json.loads(out)
    assert len(doc["files"]) == 4 and "symlink-outside" not in json.dumps(doc["parse_issues"])
    assert code == 1


def test_links_inside_a_folder_reached_through_a_symlink_are_followed(tmp_path: Path, linked: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(linked / "local")
    (linked / "local" / "copy.log").symlink_to(linked / "local" / "maillog")
    found = list(discover([str(alias)]))
    assert sorted(Path(f.path).name for f in found if isinstance(f, InputFile) and f.path) == ["copy.log", "maillog"]
    assert not [i for i in found if not isinstance(i, InputFile)]
