"""Broken files: unreadable entries, symlink loops, FIFOs, files changing while read, bad archives, encodings."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from imsdiag import streams
from imsdiag.engine import ParsedFile, parse_input, scan
from imsdiag.inputs import open_binary
from imsdiag.models import Event, ParseIssue
from imsdiag.result import ScanResult
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile
from imsdiag.streams import text_encoding_of

from ..conftest import SAMPLES

RELAY = SAMPLES / "q178436-site-connector" / "relay" / "maillog"
RELAY_LINES = 130
"""Lines (and sendmail events) in the relay sample: every encoding of it must give the same."""


def _input(path: Path) -> InputFile:
    st = path.stat()
    return InputFile(display=path.name, path=path, size=st.st_size, mtime=st.st_mtime)


def _records(path: Path) -> tuple[ParsedFile, list[Event], list[ParseIssue]]:
    pf = parse_input(_input(path), ScanSettings(paths=(str(path),)))
    recs = list(pf.records)
    return pf, [r for r in recs if isinstance(r, Event)], [r for r in recs if isinstance(r, ParseIssue)]


def _within(seconds: float, work: Callable[[], object], release: Callable[[], None]) -> object:
    """Run `work` in a thread; fail (after un-blocking it with `release`) if it takes longer than `seconds`."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        release()
        thread.join(5)
        pytest.fail(f"blocked for more than {seconds}s")
    return box[0]


def _open_fifo_writer(path: Path) -> Callable[[], None]:
    def release() -> None:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)

    return release


def _scan(folder: Path) -> ScanResult:
    return scan(ScanSettings(paths=(str(folder),)))


def test_fifo_in_the_log_folder_is_skipped_without_blocking(tmp_path: Path) -> None:
    shutil.copy(RELAY, tmp_path / "maillog")
    os.mkfifo(tmp_path / "pipe")
    result = _within(30, lambda: _scan(tmp_path), _open_fifo_writer(tmp_path / "pipe"))
    assert isinstance(result, ScanResult)
    counts = dict(result.issue_counts)
    assert counts["not-a-file"] == 1
    assert next(i for i in result.issues if i.code == "not-a-file").message == "skipped: FIFO, not a regular file"
    assert result.events == RELAY_LINES  # the scan went on


def test_fifo_swapped_in_after_discovery_is_refused_without_blocking(tmp_path: Path) -> None:
    """Between the walk and the read a log may be replaced by a FIFO: opening it must not wait for a writer."""
    log = tmp_path / "maillog"
    shutil.copy(RELAY, log)
    f = _input(log)
    log.unlink()
    os.mkfifo(log)
    pf = _within(30, lambda: parse_input(f, ScanSettings(paths=(str(log),))), _open_fifo_writer(log))
    assert isinstance(pf, ParsedFile)
    (issue,) = list(pf.records)
    assert isinstance(issue, ParseIssue) and issue.code == "unreadable-file"
    assert pf.skipped_reason == "cannot open: not a regular file"


def test_dangling_symlink_and_symlink_loop_are_reported_and_the_scan_goes_on(tmp_path: Path) -> None:
    shutil.copy(RELAY, tmp_path / "maillog")
    (tmp_path / "gone.log").symlink_to(tmp_path / "nowhere")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "back").symlink_to(tmp_path)
    result = _within(60, lambda: _scan(tmp_path), lambda: None)
    assert isinstance(result, ScanResult)
    counts = dict(result.issue_counts)
    assert counts["broken-symlink"] == 1 and counts["symlink-loop"] == 1
    broken = next(i for i in result.issues if i.code == "broken-symlink")
    assert broken.location.path.endswith("gone.log") and "No such file" in broken.message
    assert result.events == RELAY_LINES


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_unreadable_file_is_an_issue(tmp_path: Path) -> None:
    log = tmp_path / "maillog"
    shutil.copy(RELAY, log)
    log.chmod(0)
    try:
        _pf, events, issues = _records(log)
    finally:
        log.chmod(0o644)
    assert events == [] and [i.code for i in issues] == ["unreadable-file"]


def test_file_removed_after_discovery_is_an_issue(tmp_path: Path) -> None:
    log = tmp_path / "maillog"
    shutil.copy(RELAY, log)
    f = _input(log)
    log.unlink()
    pf = parse_input(f, ScanSettings(paths=(str(log),)))
    (issue,) = list(pf.records)
    assert isinstance(issue, ParseIssue) and issue.code == "unreadable-file"
    assert "No such file" in issue.message


def _big_log(path: Path, copies: int = 60) -> int:
    data = RELAY.read_bytes()
    path.write_bytes(data * copies)
    return RELAY_LINES * copies


def test_file_that_grows_while_read_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "maillog"
    lines = _big_log(log)
    pf = parse_input(_input(log), ScanSettings(paths=(str(log),)))
    first = next(pf.records)
    assert isinstance(first, Event) and first.location.line == 1
    with log.open("ab") as handle:
        handle.write(RELAY.read_bytes())
    rest = list(pf.records)
    (changed,) = [r for r in rest if isinstance(r, ParseIssue)]
    assert changed.code == "file-changed" and changed.message.startswith(
        f"file grew from {len(RELAY.read_bytes()) * 60}"
    )
    assert 1 + len(rest) - 1 >= lines  # nothing read was lost


def test_file_truncated_while_read_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "maillog"
    lines = _big_log(log)
    pf = parse_input(_input(log), ScanSettings(paths=(str(log),)))
    assert isinstance(next(pf.records), Event)
    os.truncate(log, 1000)  # logrotate's copytruncate, mid-read
    rest = list(pf.records)
    issues = [r for r in rest if isinstance(r, ParseIssue)]
    assert [i.code for i in issues] == ["file-changed"]
    assert "shrank" in issues[0].message and "to 1000 bytes" in issues[0].message
    assert len(rest) - 1 < lines  # the cut end was not invented


def test_zero_byte_file_is_a_counted_skip(tmp_path: Path) -> None:
    shutil.copy(RELAY, tmp_path / "maillog")
    (tmp_path / "empty.log").write_bytes(b"")
    result = _scan(tmp_path)
    empty = next(s for s in result.files if s.path.endswith("empty.log"))
    assert empty.format is None and empty.skipped_reason == "empty file"
    assert any("1 empty file" in n for n in result.notes)
    assert result.events == RELAY_LINES


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [("gz", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress)],
)
def test_truncated_archive_keeps_what_was_read(tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes]) -> None:
    data = RELAY.read_bytes() * 20
    packed = compress(data)
    path = tmp_path / f"maillog.{suffix}"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    pf, events, issues = _records(path)
    assert pf.compression == {"gz": "gzip"}.get(suffix, suffix)
    assert [i.code for i in issues] == ["decompress-error"]
    assert "end-of-stream" in issues[0].message or "ended" in issues[0].message
    if suffix == "gz":  # gzip streams out what it has: the lines before the cut are kept
        assert len(events) > RELAY_LINES
        assert issues[0].location.line == pf.counters["lines"]


def test_corrupt_bz2_names_the_real_error(tmp_path: Path) -> None:
    path = tmp_path / "maillog.bz2"
    path.write_bytes(b"BZh9" + bytes(range(256)) * 2)
    _pf, events, issues = _records(path)
    assert events == [] and [(i.code, i.message) for i in issues] == [
        ("decompress-error", "cannot read the start of the file: Invalid data stream")
    ]


def _bomb(path: Path, megabytes: int) -> None:
    """A small .gz of a few real lines and then one line repeated to `megabytes` MB, written streaming."""
    head = RELAY.read_bytes()[:2000]
    head = head[: head.rindex(b"\n") + 1]
    line = b"Mar 15 09:13:00 relay sendmail[3614]: NOQUEUE: connect from unknown [10.0.0.1]\n"
    block = line * ((1 << 20) // len(line))
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        out.write(packer.compress(head))
        for _ in range(megabytes):
            out.write(packer.compress(block))
        out.write(packer.flush())


def test_decompression_bomb_is_streamed_and_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "maillog.gz"
    _bomb(path, 300)
    assert path.stat().st_size < 1_500_000  # ~1 MB on disk for 300 MB of text
    # A lower floor keeps the test quick; the ratio test is the one real scans use.
    monkeypatch.setattr(streams, "EXPANSION_FLOOR", 8 << 20)
    pf, events, issues = _records(path)
    (issue,) = issues
    assert issue.code == "high-expansion"
    assert re.fullmatch(
        r"reading stopped after line \d+: \d\d MiB decompressed from \d+ bytes, over 250x "
        r"\(a decompression bomb\?\): decompress it yourself to read it all",
        issue.message,
    ), issue.message
    assert 0 < pf.counters["lines"] < 400_000  # stopped after a few MB, never read the 300
    assert events and events[0].location.line == 1  # the real lines before it still count


def test_well_compressed_small_file_is_not_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "maillog.gz"
    _bomb(path, 4)  # 4 MB of repeats: well compressed, but under the floor
    pf, _events, issues = _records(path)
    assert issues == [] and pf.counters["lines"] > 50_000


def test_nul_bytes_are_counted_once_with_the_first_line(tmp_path: Path) -> None:
    data = RELAY.read_bytes().split(b"\n")
    data[4] = data[4].replace(b"relay", b"re\x00lay", 1)
    data[9] = data[9] + b"\x00\x00"
    path = tmp_path / "maillog"
    path.write_bytes(b"\n".join(data))
    _pf, events, issues = _records(path)
    assert [(i.code, i.location.line, i.message) for i in issues] == [
        ("nul-bytes", 5, "2 line(s) held NUL bytes, shown as U+FFFD")
    ]
    assert len(events) == RELAY_LINES
    assert "\x00" not in events[9].text and events[9].text.endswith("\ufffd\ufffd")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le"])
def test_utf16_logs_are_decoded_transparently(tmp_path: Path, encoding: str) -> None:
    text = RELAY.read_text(encoding="utf-8")
    data = {
        "utf-16": text.encode("utf-16"),
        "utf-16-le-bom": b"\xff\xfe" + text.encode("utf-16-le"),
        "utf-16-be-bom": b"\xfe\xff" + text.encode("utf-16-be"),
        "utf-16-le": text.encode("utf-16-le"),  # no BOM: found by the NUL in every other byte
    }[encoding]
    path = tmp_path / "maillog"
    path.write_bytes(data)
    pf, events, issues = _records(path)
    plain = _records(RELAY)[1]
    assert pf.format == "sendmail" and issues == []
    assert [(e.location.line, e.text, e.sender, e.queue_id) for e in events] == [
        (e.location.line, e.text, e.sender, e.queue_id) for e in plain
    ]


def test_gzipped_utf16_is_decoded_too(tmp_path: Path) -> None:
    path = tmp_path / "maillog.gz"
    path.write_bytes(gzip.compress(RELAY.read_text(encoding="utf-8").encode("utf-16")))
    pf, events, _issues = _records(path)
    assert pf.compression == "gzip" and pf.format == "sendmail" and len(events) == RELAY_LINES


def test_text_encoding_of() -> None:
    assert text_encoding_of(b"\xff\xfeM\x00a\x00") == "utf-16"
    assert text_encoding_of(b"\xfe\xff\x00M\x00a") == "utf-16"
    assert text_encoding_of("Mar 15 09:12:44 relay".encode("utf-16-be")) == "utf-16-be"
    assert text_encoding_of(b"\xff\xfe\x00\x00") is None  # UTF-32 is not guessed at
    assert text_encoding_of(b"Mar 15 09:12:44 relay sendmail") is None
    assert text_encoding_of(b"") is None


def test_utf16_with_a_lone_surrogate_never_crashes(tmp_path: Path) -> None:
    path = tmp_path / "maillog"
    good = RELAY.read_text(encoding="utf-8").encode("utf-16-le")
    path.write_bytes(b"\xff\xfe" + good[:200] + b"\x00\xd8" + good[200:])  # an unpaired high surrogate
    _pf, events, _issues = _records(path)
    assert len(events) == RELAY_LINES and any("\ufffd" in e.text for e in events)


def test_mixed_line_endings_read_like_plain_lf(tmp_path: Path) -> None:
    lines = RELAY.read_bytes().split(b"\n")[:-1]
    endings = [b"\n", b"\r\n", b"\r"]
    path = tmp_path / "maillog"
    path.write_bytes(b"".join(line + endings[i % 3] for i, line in enumerate(lines)))
    pf, events, issues = _records(path)
    plain = _records(RELAY)[1]
    assert issues == [] and pf.counters["lines"] == RELAY_LINES
    assert [(e.location.line, e.text) for e in events] == [(e.location.line, e.text) for e in plain]


def test_stdin_utf16_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    data = RELAY.read_text(encoding="utf-8").encode("utf-16")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    stream, kind = open_binary(InputFile(display="<stdin>", path=None))
    with stream:
        assert kind is None and stream.readline().startswith(b"Mar 15 ")
