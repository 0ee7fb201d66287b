"""The index filled from the fast extractor: spans of the log instead of its ordinary events.

A scan with the index reads Postfix and Exim logs with the fast extractors and stores its records (the
events detection keeps, tallies of the rest) and, per block of the log, a LogSpan naming the ids on its
lines. Explain reads those lines again; so does explain without the index, after its scan. These tests
hold both to the full read: the same findings as the scan without the index and as the full parser, and
for every id asked the same story through the index, through the spans the scan without it read, and
through the full parser's every line, on real corpus logs cut into many small blocks, plain and gzipped.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from imsdiag import engine
from imsdiag.errors import MessageNotFound
from imsdiag.explain import explain
from imsdiag.explanation import Explanation
from imsdiag.index import open_index
from imsdiag.models import LogSpan
from imsdiag.parsers.fast import syslog_blocks
from imsdiag.settings import ScanSettings

from .conftest import CORPUS, SAMPLES

LOGS = {
    "activeweb": CORPUS / "maillogs" / "postfix_NoLE_activeweb" / "mail.log",
    "gomaillex": CORPUS / "maillogs" / "sendmail_postfix_gomaillex" / "maillog",
    "forwarding-loop": SAMPLES / "postfix-forwarding-loop",
    "exim-ddgrey": CORPUS / "maillogs" / "exim_ddgrey_mainlog" / "mainlog",
    "exim-hop-limit": SAMPLES / "exim-hop-limit",
}
_MESSAGE_ID = re.compile(rb"message-id=<([^>\s]{1,200})>| <= .* id=<?([^>\s]{1,200})")
_QUEUE_ID = re.compile(rb"postfix/\w+\[\d+\]: ([0-9A-F]{8,12}): |:\d\d (\w{6}-\w{6,11}-\w{2,4}) ")
BLOCK = 4096
"""Small blocks: a message's lines fall in several spans, as they do in a large log."""


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(syslog_blocks, "BLOCK_SIZE", BLOCK)


def _copy(name: str, tmp_path: Path, mode: str = "plain") -> Path:
    source = LOGS[name]
    if not source.exists():
        pytest.skip(f"corpus not found at {source}")
    folder = tmp_path / "logs"
    if source.is_dir():
        shutil.copytree(source, folder)
        return folder
    folder.mkdir()
    data = source.read_bytes()
    if mode == "gzip":
        (folder / (source.name + ".gz")).write_bytes(gzip.compress(data))
    elif mode == "crlf":  # a log copied through Windows: the spans hold CRLF lines
        (folder / source.name).write_bytes(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    else:
        (folder / source.name).write_bytes(data)
    return folder


def _ids(folder: Path, per_kind: int = 6) -> list[str]:
    """Message-ids and queue ids spread over the logs: the first, the last and some between."""
    data = b"".join(
        gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )
    out: list[str] = []
    for pattern, wrap in ((_MESSAGE_ID, "<{}>"), (_QUEUE_ID, "{}")):
        found = list(dict.fromkeys((m[1] or m[2]).decode() for m in pattern.finditer(data)))
        step = max(1, len(found) // per_kind)
        out += [wrap.format(i) for i in [*found[::step][:per_kind], *found[-1:]]]
    return list(dict.fromkeys(out))


def _story(expl: Explanation) -> list[tuple[str | None, str, int, datetime | None, str, str | None]]:
    return [
        (s.event.server, s.event.location.path, s.event.location.line, s.event.time, s.relation, s.event.sender)
        for s in expl.sightings
    ]


def _settings(folder: Path, tmp_path: Path) -> ScanSettings:
    return ScanSettings(paths=(str(folder),), use_index=True, index_path=str(tmp_path / "ix.sqlite"), jobs=1)


def _spans(settings: ScanSettings) -> list[LogSpan]:
    ix = open_index(Path(str(settings.index_path)))
    try:
        assert ix.conn is not None
        rows = ix.conn.execute("SELECT path FROM files").fetchall()
        out: list[LogSpan] = []
        for (path,) in rows:
            from imsdiag.sources import InputFile

            p = Path(path)
            cached = ix.cached_file(InputFile(display=str(p), path=p, size=p.stat().st_size, mtime=p.stat().st_mtime))
            assert cached is not None
            out += [r for r in cached.records() if isinstance(r, LogSpan)]
        return out
    finally:
        ix.close()


@pytest.mark.parametrize("mode", ["plain", "gzip", "crlf"])
@pytest.mark.parametrize("name", sorted(LOGS))
def test_scans_and_stories_through_spans_equal_the_full_read(name: str, mode: str, tmp_path: Path) -> None:
    if mode != "plain" and (SAMPLES in LOGS[name].parents):
        pytest.skip("the shipped sample is a folder: read as it is")
    folder = _copy(name, tmp_path, mode)
    settings = _settings(folder, tmp_path)
    cold = engine.scan(settings)
    assert _spans(settings), "the index holds spans of the log, not its ordinary events"
    warm = engine.scan(settings)
    plain = engine.scan(dataclasses.replace(settings, use_index=False))
    full = engine.scan(dataclasses.replace(settings, use_index=False, full_parse=True))
    for other in (warm, plain, full):
        assert [f.fingerprint for f in other.findings] == [f.fingerprint for f in cold.findings]
        assert [(f.passes, f.rule_id) for f in other.findings] == [(f.passes, f.rule_id) for f in cold.findings]
    idents = _ids(folder)
    assert len(idents) >= 4
    for ident in idents:
        try:
            scanned = explain(ident, dataclasses.replace(settings, use_index=False))
        except MessageNotFound:  # named only on lines no event is made of (an Exim `SA:` line): all say so
            with pytest.raises(MessageNotFound):
                explain(ident, settings)
            with pytest.raises(MessageNotFound):
                explain(ident, dataclasses.replace(settings, use_index=False, full_parse=True))
            continue
        indexed = explain(ident, settings)
        # Without the index, the search of the spans after the scan against the full parser's every line.
        read_whole = explain(ident, dataclasses.replace(settings, use_index=False, full_parse=True))
        assert indexed.used_index and not scanned.used_index
        assert _story(indexed) == _story(scanned) == _story(read_whole), ident
        assert (
            [f.fingerprint for f in indexed.findings]
            == [f.fingerprint for f in scanned.findings]
            == [f.fingerprint for f in read_whole.findings]
        ), ident


def test_a_log_changed_since_it_was_indexed_is_said_and_its_spans_left_unread(tmp_path: Path) -> None:
    folder = _copy("forwarding-loop", tmp_path)
    settings = _settings(folder, tmp_path)
    engine.scan(settings)
    ident = _ids(folder)[0]  # an ordinary message: the index holds no event of it, only spans naming it
    whole = explain(ident, dataclasses.replace(settings, paths=()))
    assert len(whole.sightings) >= 2
    for log in folder.rglob("*"):
        if log.is_file():
            log.write_bytes(log.read_bytes() + b"\n")  # appended to: the stored spans may no longer match it
    # The index alone (no --logs, so nothing refreshes it): the spans are not read, and the error says why.
    with pytest.raises(MessageNotFound) as caught:
        explain(ident, dataclasses.replace(settings, paths=()))
    assert "changed since it was indexed" in (caught.value.hint or "")
    # With the logs given, the index is brought up to date first and the whole story comes back.
    assert _story(explain(ident, settings)) == _story(whole)


def test_a_stored_copy_serves_only_the_window_it_was_read_for(tmp_path: Path) -> None:
    """The extractor's tallies count what falls outside --since/--until: another window reads the log again."""
    folder = _copy("activeweb", tmp_path)
    log = folder / "mail.log"
    written = datetime(2015, 9, 1, tzinfo=timezone.utc).timestamp()
    os.utime(log, (written, written))  # its year is the file's: no other log re-dates it
    settings = _settings(folder, tmp_path)
    engine.scan(settings)  # stored without a window
    windowed = dataclasses.replace(settings, since=datetime(2015, 8, 31, 0, 0, tzinfo=timezone.utc))
    through_index = engine.scan(windowed)
    plain = engine.scan(dataclasses.replace(windowed, use_index=False))
    full = engine.scan(dataclasses.replace(windowed, use_index=False, full_parse=True))
    assert through_index.first_time is not None and through_index.first_time >= windowed.since
    for other in (plain, full):
        assert [f.fingerprint for f in through_index.findings] == [f.fingerprint for f in other.findings]
        assert [(s.path, s.events, s.lines) for s in through_index.files] == [
            (s.path, s.events, s.lines) for s in other.files
        ]
        assert (through_index.events, through_index.first_time, through_index.last_time, through_index.servers) == (
            other.events,
            other.first_time,
            other.last_time,
            other.servers,
        )


def test_explain_without_the_index_on_a_generated_mixed_set_equals_the_full_read(tmp_path: Path) -> None:
    """IMS logs, a tracking log, archives, Exim, Sendmail and a year-less Postfix log the scan moves two years back
    (its file is from this year, its days are 2024's): the search after the scan against every record read."""
    from tools.loggen.__main__ import main as loggen

    out = tmp_path / "set"
    assert loggen(["bench", "--size", "3M", "--out", str(out)]) == 0
    # Two workers: the blocks' filters are made in other processes (their hash must not be Python's).
    settings = ScanSettings(paths=(str(out),), use_index=False, jobs=2)
    result = engine.scan(settings)
    assert any(p.endswith("mail.log") and n == -2 for p, n in result.context.year_shifts)
    looping = [f.message_ids[0] for f in result.findings if f.message_ids]
    assert looping, "the planted loops are found"
    postfix = (out / "pf1" / "mail.log").read_bytes()
    ordinary = [m.decode() for m in re.findall(rb"message-id=<([^>]+)>", postfix)[::997][:3]]
    queue_ids = [m.decode() for m in re.findall(rb"\]: ([0-9A-F]{10}): ", postfix)[::1499][:2]]
    for ident in [*looping[:2], *ordinary, *queue_ids]:
        searched = explain(ident, settings)
        whole = explain(ident, dataclasses.replace(settings, full_parse=True))
        assert _story(searched) == _story(whole), ident
        assert [f.fingerprint for f in searched.findings] == [f.fingerprint for f in whole.findings], ident
    assert any(s.event.time and s.event.time.year == 2024 for s in searched.sightings)
