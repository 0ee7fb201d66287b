"""The SQLite event index: storage round trip, invalidation, every id kind, corruption, concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imsdiag.errors import InputError
from imsdiag.index import default_index_path, event_ids, open_index
from imsdiag.models import Direction, Event, Finding, Hop, Location, ParseIssue, ReportKind, Severity, TimeQuality
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile
from tests.conftest import opened_index

T0 = datetime(2001, 2, 7, 22, 1, 20, tzinfo=timezone.utc)


def make_input(path: Path, display: str | None = None) -> InputFile:
    st = path.stat()
    return InputFile(display=display or path.name, path=path, size=st.st_size, mtime=st.st_mtime)


def sample_events(display: str) -> list[Event | ParseIssue]:
    return [
        Event(
            location=Location(display, 12),
            source="ims-protocol",
            text="MAIL FROM:<>",
            time=T0,
            time_quality=TimeQuality.ZONE_ASSUMED,
            server="imc1",
            direction=Direction.OUT,
            peer_host="relay.company.com",
            sender="",
            recipients=("user2@company.com",),
            message_id="<DR.0001@imc1.company.com>",
            queue_id="D2VQ1AB2",
            report_kind=ReportKind.DELIVERY_RECEIPT,
            received=(Hop(raw="by imc1 id SPOOL77; x", by_host="imc1", id="SPOOL77", location=Location(display, 3)),),
        ),
        ParseIssue(Location(display, 13), "bad-line", "could not read", "\x00junk"),
        Event(
            location=Location(display, 20),
            source="exchange-tracking",
            server="imc1",
            mts_id="c=US;a= ;p=Company;l=IMC1-010207170120Z-5",
            about_id="DR.0001@imc1.company.com",
            next_id="KAA01234",
        ),
    ]


def write_file(index_path: Path, log: Path, display: str | None = None) -> None:
    ix = opened_index(index_path)
    f = make_input(log, display)
    w = ix.begin_file(f, "ims-protocol", None)
    for rec in sample_events(f.display):
        w.add(rec)
    w.commit({"lines": 3})
    ix.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    p = tmp_path / "L0000001.LOG"
    p.write_text("line one\nline two\n")
    return p


def test_round_trip_keeps_order_and_counters(tmp_path: Path, log: Path) -> None:
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    cached = ix.cached_file(make_input(log))
    assert cached is not None
    assert cached.format == "ims-protocol"
    assert cached.compression is None
    assert cached.counters == {"lines": 3}
    assert list(cached.records()) == sample_events(log.name)
    assert ix.warnings == []
    ix.close()


def test_display_path_follows_todays_working_folder(tmp_path: Path, log: Path) -> None:
    write_file(tmp_path / "ix.sqlite", log, display="old/L0000001.LOG")
    ix = opened_index(tmp_path / "ix.sqlite")
    cached = ix.cached_file(make_input(log, display="new/L0000001.LOG"))
    assert cached is not None
    first = next(iter(cached.records()))
    assert isinstance(first, Event)
    assert first.location == Location("new/L0000001.LOG", 12)
    assert first.received[0].location == Location("new/L0000001.LOG", 3)


def test_changed_file_is_stale(tmp_path: Path, log: Path) -> None:
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    assert ix.cached_file(make_input(log)) is not None
    st = log.stat()
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touch
    assert ix.cached_file(make_input(log)) is None
    write_file(tmp_path / "ix.sqlite", log)
    assert ix.cached_file(make_input(log)) is not None
    with log.open("a") as fh:  # append (rotation-style growth) changes the size
        fh.write("line three\n")
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert ix.cached_file(make_input(log)) is None
    ix.close()


def test_rewriting_a_file_replaces_its_rows(tmp_path: Path, log: Path) -> None:
    write_file(tmp_path / "ix.sqlite", log)
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    assert len(ix.lookup("D2VQ1AB2")) == 1
    assert ix.conn is not None
    assert ix.conn.execute("SELECT count(*) FROM files").fetchone()[0] == 1


def test_stdin_is_never_cached(tmp_path: Path) -> None:
    ix = opened_index(tmp_path / "ix.sqlite")
    stdin = InputFile(display="<stdin>", path=None)
    w = ix.begin_file(stdin, "postfix", None)
    w.add(sample_events("<stdin>")[0])
    w.commit({})
    assert ix.cached_file(stdin) is None
    assert ix.lookup("D2VQ1AB2") == []


@pytest.mark.parametrize(
    ("ident", "kind"),
    [
        ("<DR.0001@imc1.company.com>", "message_id"),
        ("dr.0001@IMC1.company.com", "message_id"),
        ("d2vq1ab2", "queue_id"),
        ("c=US;a= ;p=Company;l=IMC1-010207170120Z-5", "mts_id"),
        ("KAA01234", "next_id"),
        ("SPOOL77", "received_id"),
    ],
)
def test_every_id_kind_is_indexed(tmp_path: Path, log: Path, ident: str, kind: str) -> None:
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    found = ix.lookup_kinds(ident)
    assert kind in {k for k, _ in found}
    assert all(isinstance(e, Event) for _, e in found)


def test_event_ids_cover_every_field() -> None:
    ev = sample_events("x")[2]
    assert isinstance(ev, Event)
    assert event_ids(ev) == [
        ("c=us;a= ;p=company;l=imc1-010207170120z-5", "mts_id"),
        ("dr.0001@imc1.company.com", "about_id"),
        ("kaa01234", "next_id"),
    ]
    archive = Event(location=Location("archive/In/D2VQ1AB2.ARC", 0), source="ims-archive")
    assert event_ids(archive) == [("d2vq1ab2", "file")]


def test_related_follows_report_links(tmp_path: Path, log: Path) -> None:
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    start = ix.lookup("D2VQ1AB2")
    assert [e.location.line for e in start] == [12]
    linked = ix.related(start)
    assert [e.location.line for e in linked] == [20]  # the tracking entry about the DR's Message-ID
    assert ix.related(linked, depth=1)[0].location.line == 12


def test_following_links_decodes_each_event_once(tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look-ups of one explain meet the same events again (a link leads back): each is decoded once, and
    the events are the same as without the table of decoded ones."""
    from imsdiag.index import blocks

    write_file(tmp_path / "ix.sqlite", log)
    plain = opened_index(tmp_path / "ix.sqlite")
    monkeypatch.setattr(plain, "_decoded", None)  # no table: every look-up decodes
    expected = [plain.lookup("D2VQ1AB2"), plain.related(plain.lookup("D2VQ1AB2")), plain.lookup("D2VQ1AB2")]

    decoded: list[str] = []
    real = blocks.event_from_json
    monkeypatch.setattr(blocks, "event_from_json", lambda text: decoded.append(text) or real(text))
    ix = opened_index(tmp_path / "ix.sqlite")
    start = ix.lookup("D2VQ1AB2")
    linked = ix.related(start)
    again = ix.lookup("D2VQ1AB2")
    assert [start, linked, again] == expected
    assert len(decoded) == len(set(decoded)) == 2  # line 12 and line 20, however often they are met


def test_scope_limits_lookups_to_the_given_files(tmp_path: Path, log: Path) -> None:
    other = tmp_path / "other.log"
    other.write_text("x\n")
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    ix.set_scope([make_input(other)])
    assert ix.lookup("D2VQ1AB2") == []
    ix.set_scope([make_input(log)])
    assert len(ix.lookup("D2VQ1AB2")) == 1
    ix.set_scope(None)
    assert len(ix.lookup("D2VQ1AB2")) == 1


def test_suggest_nearest_ids(tmp_path: Path, log: Path) -> None:
    write_file(tmp_path / "ix.sqlite", log)
    ix = opened_index(tmp_path / "ix.sqlite")
    assert ix.suggest("D2VQ1AB3")[0] == "d2vq1ab2"
    assert "dr.0001@imc1.company.com" in ix.suggest("DR.0002@imc1.company.com")
    assert ix.suggest("KAA") == ["kaa01234"]  # contained ids come first
    assert ix.suggest("zzzzzz") == []


def test_findings_stored_per_file_set(tmp_path: Path, log: Path) -> None:
    ix = opened_index(tmp_path / "ix.sqlite")
    f = Finding(
        rule_id="Q178436",
        slug="ims-dr-loop",
        severity=Severity.ERROR,
        confidence="high",
        title="Delivery receipt loops",
        summary="s",
        message_ids=("<DR.0001@imc1.company.com>",),
        fingerprint="fp1",
    )
    ix.store_findings([f], [str(log)])
    assert ix.has_findings_for([str(log)])
    assert not ix.has_findings_for([str(log), "/elsewhere"])
    assert ix.findings_for(["dr.0001@imc1.company.com"]) == [f]
    assert ix.findings_for(["DR.0001@imc1.company.com"], files=[str(log)]) == [f]
    assert ix.findings_for(["dr.0001@imc1.company.com"], files=["/elsewhere"]) == []
    ix.store_findings([], [str(log)])  # the next scan of the same files found nothing
    assert ix.findings_for(["dr.0001@imc1.company.com"]) == []


def test_corrupt_index_is_moved_aside_and_rebuilt(tmp_path: Path, log: Path) -> None:
    path = tmp_path / "ix.sqlite"
    write_file(path, log)
    data = path.read_bytes()
    # Our header (application id included) survives; every page after it is garbage.
    path.write_bytes(data[:100] + b"\x00\xffgarbage bytes, not a database" * (len(data) // 30))
    ix = opened_index(path)
    assert ix.conn is not None
    assert any("imsdiag index that cannot be used" in w for w in ix.warnings)
    assert any(".bad-" in w for w in ix.warnings)
    assert list(tmp_path.glob("ix.sqlite.bad-*"))
    ix.close()
    write_file(path, log)
    again = opened_index(path)
    assert again.warnings == []
    assert len(again.lookup("D2VQ1AB2")) == 1


def test_foreign_files_are_refused_and_left_untouched(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00\xffgarbage bytes, not a database" * 50)
    with pytest.raises(InputError, match="not an SQLite database"):
        open_index(garbage)
    assert garbage.read_bytes() == b"\x00\xffgarbage bytes, not a database" * 50
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE files(x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(InputError, match=r"another program \(application id 0x0\)"):
        open_index(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage", "other.sqlite"]


def test_default_path_honours_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_index_path() == tmp_path / "cache" / "imsdiag" / "index-v3.sqlite"
    ix = opened_index(None)
    assert (tmp_path / "cache" / "imsdiag" / "index-v3.sqlite").exists()
    ix.close()


def _writer(index_path: str, folder: str, tag: str, n: int) -> None:
    for i in range(n):
        log = Path(folder) / f"{tag}-{i}.log"
        log.write_text(f"{tag} {i}\n")
        ix = opened_index(Path(index_path))
        f = make_input(log)
        w = ix.begin_file(f, "postfix", None)
        for j in range(2500):  # more than one batch: the write lock is held across flushes
            w.add(Event(location=Location(f.display, j + 1), source="postfix", queue_id=f"{tag}Q{i}N{j}"))
        w.commit({"lines": 2500})
        assert not ix.warnings, ix.warnings
        ix.close()


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    index_path = tmp_path / "ix.sqlite"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(index_path), str(tmp_path), tag, 4)) for tag in ("A", "B")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    ix = opened_index(index_path)
    assert ix.warnings == []
    assert ix.conn is not None
    assert ix.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for tag in ("A", "B"):
        for i in range(4):
            cached = ix.cached_file(make_input(tmp_path / f"{tag}-{i}.log"))
            assert cached is not None
            assert len(list(cached.records())) == 2500
    assert ix.conn.execute("SELECT count(*) FROM ids").fetchone()[0] == 2 * 4 * 2500
    assert len(ix.lookup("BQ3N2499")) == 1


def test_opening_while_another_run_writes_is_not_corruption(tmp_path: Path, log: Path) -> None:
    path = tmp_path / "ix.sqlite"
    write_file(path, log)
    holder = opened_index(path)
    assert holder.conn is not None
    holder.conn.execute("BEGIN IMMEDIATE")  # another run in the middle of storing a file
    holder.conn.execute("DELETE FROM ids")
    reader = opened_index(path)
    assert reader.warnings == []
    assert len(reader.lookup("D2VQ1AB2")) == 1  # WAL: readers see the last committed state
    assert not list(tmp_path.glob("ix.sqlite.bad-*"))
    holder.conn.execute("ROLLBACK")


def test_index_is_not_reused_under_other_parse_settings(tmp_path: Path) -> None:
    # The same bytes read with another zone give other times: the cached copy must not be replayed.
    from imsdiag.engine import scan
    from imsdiag.timewindow import parse_zone

    from .conftest import SAMPLES

    logs = str(SAMPLES / "exim-hop-limit")
    base = ScanSettings(paths=(logs,), use_index=True, index_path=str(tmp_path / "ix.sqlite"), jobs=1)
    utc = scan(base)
    east = scan(replace(base, tz=parse_zone("+02:00")))
    again = scan(replace(base, tz=parse_zone("+02:00")))
    assert utc.first_time is not None and east.first_time is not None
    assert utc.first_time - east.first_time == timedelta(hours=2)
    assert again.first_time == east.first_time


def test_warm_scan_keeps_each_skipped_files_reason(tmp_path: Path) -> None:
    """A skipped file replayed from the index says why, as the first scan did (not just "skipped")."""
    from imsdiag.engine import scan

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "README.txt").write_text("notes about this folder\n" * 5, encoding="utf-8")
    (logs / "empty.log").write_bytes(b"")
    (logs / "maillog").write_text(
        "Mar 15 09:12:44 relay sendmail[3614]: JEB03576: from=<a@example.com>, size=10, nrcpts=1\n", encoding="utf-8"
    )
    settings = ScanSettings(paths=(str(logs),), use_index=True, index_path=str(tmp_path / "i.sqlite"))
    cold = {f.path: f.skipped_reason for f in scan(settings).files}
    warm = {f.path: f.skipped_reason for f in scan(settings).files}
    assert warm == cold
    assert sorted(r for r in cold.values() if r) == ["empty file", "not a recognised mail log"]


def test_a_scope_of_many_files_is_a_table_not_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scope larger than SCOPE_PARAMS goes into a temporary table: SQLite caps a statement's parameters (999
    in old builds), and a loop fills an IMS archive folder with more files than that."""
    from imsdiag.index import lookups

    logs = []
    for name in ("a.LOG", "b.LOG", "c.LOG"):
        (tmp_path / name).write_text(f"{name}\n")
        write_file(tmp_path / "ix.sqlite", tmp_path / name)
        logs.append(tmp_path / name)
    a, b, c = (make_input(p) for p in logs)
    monkeypatch.setattr(lookups, "SCOPE_PARAMS", 1)
    ix = opened_index(tmp_path / "ix.sqlite")
    assert ix.conn is not None
    if hasattr(ix.conn, "setlimit"):  # Python 3.11+: three parameters at most, as a scope of three would need
        ix.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 3)
    ix.set_scope([a, b])
    assert sorted(e.location.path for e in ix.lookup("D2VQ1AB2")) == ["a.LOG", "b.LOG"]
    assert ix.suggest("D2VQ1AB3")[0] == "d2vq1ab2"
    ix.set_scope([c])  # one file: named as a parameter
    assert [e.location.path for e in ix.lookup("D2VQ1AB2")] == ["c.LOG"]
    ix.set_scope([a, b, c])
    assert len(ix.lookup("D2VQ1AB2")) == 3
    ix.set_scope([b, c])  # the table is filled anew, not added to
    assert sorted(e.location.path for e in ix.lookup("D2VQ1AB2")) == ["b.LOG", "c.LOG"]
    assert not ix.warnings
    ix.close()
