"""Scale work (issue 6): bounded candidates, fast event copies and index encoding, chunked --jobs, spooled index."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imsdiag import engine, workers
from imsdiag.correlate import Correlator
from imsdiag.index import blocks as index_blocks
from imsdiag.index import event_json, open_index
from imsdiag.index import records as index_records
from imsdiag.models import Direction, Event, Location, ParseIssue, ReportKind
from imsdiag.parsers.common import evolve
from imsdiag.serialize import dumps
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile

T0 = datetime(1999, 3, 15, 9, 12, 42, tzinfo=timezone.utc)


def receipt(line: int, minutes: float, rcpt: str = "user2@company.com") -> Event:
    return Event(
        location=Location("imc1/L0000001.LOG", line),
        source="ims-protocol",
        text="MAIL FROM:<>",
        time=T0 + timedelta(minutes=minutes),
        server="imc1.company.com",
        direction=Direction.OUT,
        peer_host="relay.company.com",
        sender="",
        recipients=(rcpt,),
        report_kind=ReportKind.DELIVERY_RECEIPT,
    )


def test_isolated_cluster_below_min_passes_is_dropped_when_the_window_closes() -> None:
    corr = Correlator(min_repeat=3, window_seconds=3600)
    corr.add(receipt(1, 0))
    corr.add(receipt(2, 5))
    corr.add(receipt(3, 200))  # 195 min later: the first cluster (2 events < 3) closes and is dropped
    assert corr.candidates_dropped == 2
    assert [e.location.line for e in corr.candidates] == [3]
    assert corr.events_seen == 3


def test_cluster_reaching_min_passes_is_kept_and_arrival_order_survives() -> None:
    corr = Correlator(min_repeat=3, window_seconds=3600)
    for i, minutes in enumerate((0, 10, 20), start=1):
        corr.add(receipt(i, minutes))
    corr.add(receipt(4, 15, rcpt="other@company.com"))  # another recipient, interleaved
    corr.add(receipt(5, 500))  # closes user2's first cluster: 3 events, kept
    assert corr.candidates_dropped == 0
    assert [e.location.line for e in corr.candidates] == [1, 2, 3, 4, 5]


def test_open_cluster_at_end_of_file_is_kept_and_merged_in_order() -> None:
    first = Correlator(min_repeat=3, window_seconds=3600)
    first.add(receipt(1, 0))
    second = Correlator(min_repeat=3, window_seconds=3600)
    second.add(receipt(7, 1))
    second.add(receipt(8, 2))
    parent = Correlator(min_repeat=3, window_seconds=3600)
    parent.merge(first)
    parent.merge(second)
    assert [e.location.line for e in parent.candidates] == [1, 7, 8]


def test_evolve_equals_dataclasses_replace() -> None:
    ev = receipt(1, 0)
    changed = evolve(ev, queue_id="D2VQ1AB2", size=1234, recipients=("a@b.c",))
    assert changed == dataclasses.replace(ev, queue_id="D2VQ1AB2", size=1234, recipients=("a@b.c",))
    assert hash(changed) == hash(dataclasses.replace(ev, queue_id="D2VQ1AB2", size=1234, recipients=("a@b.c",)))
    assert ev.queue_id is None  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.size = 1  # type: ignore[misc]


def sample_events(samples: Path) -> list[Event]:
    settings = ScanSettings(paths=(str(samples),), jobs=1, use_index=False)
    files, _ = engine.collect_inputs(settings)
    out: list[Event] = []
    for f in files:
        out += [r for r in engine.parse_input(f, settings).records if isinstance(r, Event)]
    return out


def test_event_json_is_byte_identical_to_serialize_dumps(samples: Path) -> None:
    events = sample_events(samples / "q178436-site-connector") + sample_events(samples / "exim-hop-limit")
    assert len(events) > 500
    assert any(e.received for e in events)  # archive copies with Received hops are covered
    for ev in events:
        assert event_json(ev) == dumps(ev)


def test_two_jobs_give_the_same_findings_as_one(samples: Path) -> None:
    base = ScanSettings(paths=(str(samples / "q178436-site-connector"),), use_index=False)
    one = engine.scan(dataclasses.replace(base, jobs=1))
    two = engine.scan(dataclasses.replace(base, jobs=2))
    assert [f.fingerprint for f in one.findings] == [f.fingerprint for f in two.findings]
    assert [f.passes for f in two.findings] == [42]
    assert one.files == two.files
    assert one.events == two.events


def test_chunks_keep_input_order_and_cap_bytes() -> None:
    files = [InputFile(display=f"f{i}", path=Path(f"f{i}"), size=s, mtime=0) for i, s in enumerate((5, 9 << 20, 1, 1))]
    assert workers.chunks(files) == [[0], [1], [2, 3]]


def test_spooled_index_file_replays_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_blocks, "BLOCK_RECORDS", 3)  # force several blocks ...
    monkeypatch.setattr(index_records, "SPOOL_BYTES", 0)  # ... each moved to the spool file
    log = tmp_path / "L0000001.LOG"
    log.write_text("x\n")
    st = log.stat()
    f = InputFile(display="L0000001.LOG", path=log, size=st.st_size, mtime=st.st_mtime)
    records: list[Event | ParseIssue] = [evolve(receipt(i, i), message_id=f"DR.{i}@imc1") for i in range(1, 9)]
    records.insert(4, ParseIssue(Location("L0000001.LOG", 99), "bad-line", "could not read"))
    ix = open_index(tmp_path / "ix.sqlite")
    w = ix.begin_file(f, "ims-protocol", None)
    for r in records:
        w.add(r)
    w.commit({"lines": 9})
    cached = ix.cached_file(f)
    assert cached is not None
    assert list(cached.records()) == records
    assert [e.location.line for e in ix.lookup("<DR.6@imc1>")] == [6]  # ids of a spooled block are indexed
    assert ix.conn is not None and ix.conn.execute("SELECT count(*) FROM blocks").fetchone()[0] == 3
    ix.close()
