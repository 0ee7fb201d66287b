"""A steady stream of one-off bounces to one address keeps bounded state, and a loop inside it is still found."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from imsdiag.engine import collect_inputs
from imsdiag.evidence import freeze
from imsdiag.loops.crossmessage import detect_null_sender_loops
from imsdiag.outcome import process_file
from imsdiag.runs import KEEP_WHOLE
from imsdiag.settings import ScanSettings

RCPT = "postmaster@example.com"
START = dt.datetime(2026, 1, 1)


def _bounce(out: list[str], t: dt.datetime, i: int, rng: random.Random) -> None:
    """A one-off null-sender message from an outside host, delivered to the local mailbox."""
    q, s = f"{rng.getrandbits(40):010X}", t.strftime("%b %e %H:%M:%S")
    out += [
        f"{s} mx1 postfix/smtpd[1]: {q}: client=ext{i % 997}.example.net[198.51.100.{i % 250}]",
        f"{s} mx1 postfix/cleanup[2]: {q}: message-id=<{q}.{i}@ext.example.net>",
        f"{s} mx1 postfix/qmgr[3]: {q}: from=<>, size=2000, nrcpt=1 (queue active)",
        f"{s} mx1 postfix/local[4]: {q}: to=<{RCPT}>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
        "status=sent (delivered to mailbox)",
        f"{s} mx1 postfix/qmgr[3]: {q}: removed",
    ]


def _pass(out: list[str], t: dt.datetime, i: int, rng: random.Random) -> None:
    """One pass of a bounce relay.example.com sends back to mx1, which relays it to relay.example.com again."""
    q, s = f"{rng.getrandbits(40):010X}", t.strftime("%b %e %H:%M:%S")
    out += [
        f"{s} mx1 postfix/smtpd[1]: {q}: client=relay.example.com[10.0.0.2]",
        f"{s} mx1 postfix/cleanup[2]: {q}: message-id=<loop.{i}@relay.example.com>",
        f"{s} mx1 postfix/qmgr[3]: {q}: from=<>, size={3000 + 100 * i}, nrcpt=1 (queue active)",
        f"{s} mx1 postfix/smtp[5]: {q}: to=<{RCPT}>, relay=relay.example.com[10.0.0.2]:25, delay=0.2, "
        "delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)",
        f"{s} mx1 postfix/qmgr[3]: {q}: removed",
    ]


def _steady(path: Path, days: int, loop: tuple[int, int] | None = None) -> Path:
    """Bounces every 3 minutes for `days`; with `loop`, passes every 10 minutes from day loop[0] on, loop[1] times."""
    rng, lines = random.Random(1), []
    items = [(START + dt.timedelta(minutes=3 * i), "b", i) for i in range(days * 480)]
    if loop:
        first = START + dt.timedelta(days=loop[0], seconds=30)
        items += [(first + dt.timedelta(minutes=10 * i), "p", i) for i in range(loop[1])]
    for t, what, i in sorted(items):
        (_bounce if what == "b" else _pass)(lines, t, i, rng)
    path.write_text("\n".join(lines) + "\n")
    return path


def _correlator(path: Path):  # type: ignore[no-untyped-def]
    settings = ScanSettings(paths=(str(path),), full_parse=True)
    files, _ = collect_inputs(settings)
    return process_file(files[0], settings).correlator


def test_steady_stream_keeps_bounded_state_and_finds_nothing(tmp_path: Path) -> None:
    short = _correlator(_steady(tmp_path / "short.log", 2))
    long = _correlator(_steady(tmp_path / "long.log", 20))
    assert len(short.candidates) == len(long.candidates) == KEEP_WHOLE
    runs = long.runs[RCPT]
    assert len(runs) == 1 and runs[0].count == 20 * 480 - KEEP_WHOLE
    assert runs[0].lo.time == (START + dt.timedelta(minutes=3 * KEEP_WHOLE)).replace(tzinfo=dt.timezone.utc)
    evidence = freeze(long)
    assert detect_null_sender_loops(evidence, 3, 6 * 3600) == []


def test_loop_inside_a_steady_stream_is_found_exactly(tmp_path: Path) -> None:
    log = _steady(tmp_path / "mixed.log", 12, loop=(5, 288))
    corr = _correlator(log)
    assert len(corr.candidates) == KEEP_WHOLE + 288  # the passes prove hops: all kept whole
    loops = detect_null_sender_loops(freeze(corr), 3, 6 * 3600)
    assert len(loops) == 1
    loop = loops[0]
    assert set(loop.hosts) == {"mx1", "relay.example.com"}
    assert loop.passes == 288 and loop.messages == 288 and loop.period_seconds == 600
    # The cluster is the whole stream (no pause of 6 h): its span is the stream's, counted from the runs.
    assert loop.first_seen == START.replace(tzinfo=dt.timezone.utc)
    assert loop.last_seen == (START + dt.timedelta(minutes=3 * (12 * 480 - 1))).replace(tzinfo=dt.timezone.utc)
    assert all("relay=local" not in e.text for e in loop.events)
    assert len(loop.events) == 288


def test_runs_survive_merge_pickling_and_redating(tmp_path: Path) -> None:
    import pickle

    from imsdiag.correlate import Correlator

    one = pickle.loads(pickle.dumps(_correlator(_steady(tmp_path / "a.log", 3))))
    total = Correlator()
    total.merge(one)
    total.merge(one.shifted_years(1))
    runs = total.runs[RCPT]
    assert [r.count for r in runs] == [3 * 480 - KEEP_WHOLE] * 2
    assert runs[1].lo.time is not None and runs[1].lo.time.year == 2027
    # Tallies sit after the kept events of their own file, before the next file's.
    assert len(total.candidates) == 2 * KEEP_WHOLE
