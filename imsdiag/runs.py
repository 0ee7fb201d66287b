"""Hopless runs: a recipient's long stream of mailbox deliveries kept as exact counts and a few whole events."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .models import Direction, Event, ReportKind, Source
from .names import report_kind_from_subject, subject_stem

KEEP_WHOLE = 100
"""Hopless candidates of one open cluster kept whole before the rest are only counted (see `is_hopless`)."""

Place = Callable[[Event], Event]
"""What `evidence.freeze` does to every kept event: canonical names, the one clock, the year."""


def is_hopless(ev: Event) -> bool:
    """A candidate that proves no hop under any host map and is never evidence of a ring.

    A delivery to a local mailbox (or a record of no known direction) names no peer and no origin
    machine whatever the host map joins later, and `loops.crossmessage` never counts it as a pass nor
    lists it as a ring's evidence: all it tells the detector is when it happened (the time span of the
    cluster it falls in) and its subject and report kind (the cluster's commonest). An IMS archive copy
    is never hopless: its Received lines are hops. An untimed or multi-recipient event is kept whole.
    """
    return (
        ev.direction in (Direction.LOCAL, Direction.UNKNOWN)
        and ev.time is not None
        and len(ev.recipients) == 1
        and not (ev.source == Source.IMS_ARCHIVE and ev.received)
    )


def kind_of(e: Event) -> ReportKind:
    """The event's report kind, or the one its subject announces (protocol logs know only the subject)."""
    if e.report_kind is not ReportKind.NONE:
        return e.report_kind
    from_subject = report_kind_from_subject(e.subject)
    return ReportKind(from_subject) if from_subject else ReportKind.NONE


@dataclass
class Tally:
    """How many events of a run had one value, and the first of them in the detector's order (time, arrival)."""

    count: int
    first: Event
    seq: float


@dataclass
class Run:
    """Hopless events of one recipient on one server, no two consecutive ones further apart than half the window.

    The detector splits clusters on pauses longer than the window; inside a run there is none, so the
    run moves as one block: its earliest and latest events (kept whole, so the clock and the host map
    apply to them as to any event) stand for all of it. Half the window leaves room for a zone
    correction (a daylight-saving hour) to stretch a step without opening a pause.
    """

    server: str | None
    lo: Event
    hi: Event
    count: int = 0
    stems: dict[str, Tally] = field(default_factory=dict)
    kinds: dict[ReportKind, Tally] = field(default_factory=dict)

    def bounds(self) -> tuple[datetime, datetime]:
        """The earliest and latest time in the run (hopless events are timed)."""
        assert self.lo.time is not None and self.hi.time is not None
        return self.lo.time, self.hi.time

    def near(self, ev: Event, gap: float) -> bool:
        assert ev.time is not None and self.lo.time is not None and self.hi.time is not None
        return ev.server == self.server and (
            (self.lo.time - ev.time).total_seconds() <= gap and (ev.time - self.hi.time).total_seconds() <= gap
        )

    def add(self, ev: Event, seq: float) -> None:
        assert ev.time is not None and self.lo.time is not None and self.hi.time is not None
        self.count += 1
        if ev.time < self.lo.time:
            self.lo = ev
        if ev.time > self.hi.time:
            self.hi = ev
        stem = subject_stem(ev.subject)
        if stem:
            _tally(self.stems, stem, ev, seq)
        kind = kind_of(ev)
        if kind is not ReportKind.NONE:
            _tally(self.kinds, kind, ev, seq)

    def absorb(self, other: Run) -> None:
        """Fold a run that now touches this one (same server) into it."""
        assert self.lo.time and self.hi.time and other.lo.time and other.hi.time
        self.count += other.count
        self.lo = other.lo if other.lo.time < self.lo.time else self.lo
        self.hi = other.hi if other.hi.time > self.hi.time else self.hi
        for mine, theirs in ((self.stems, other.stems), (self.kinds, other.kinds)):
            for key, t in theirs.items():
                old = mine.get(key)  # type: ignore[call-overload]
                if old is None:
                    mine[key] = dataclasses.replace(t)  # type: ignore[index]
                else:
                    old.count += t.count
                    if _order(t) < _order(old):
                        old.first, old.seq = t.first, t.seq

    def mapped(self, place: Place, seq: Callable[[float], float] = float) -> Run:
        """The run with every event it keeps passed through `place` and its arrival numbers through `seq`."""

        def tallies(d: dict, /) -> dict:
            return {k: Tally(t.count, place(t.first), seq(t.seq)) for k, t in d.items()}

        return Run(self.server, place(self.lo), place(self.hi), self.count, tallies(self.stems), tallies(self.kinds))

    def events(self) -> Iterable[Event]:
        return (self.lo, self.hi)


def _order(t: Tally) -> tuple[object, float]:
    return (t.first.time, t.seq)


def _tally(table: dict, key: object, ev: Event, seq: float) -> None:
    t = table.get(key)
    if t is None:
        table[key] = Tally(1, ev, seq)
        return
    t.count += 1
    if (ev.time, seq) < _order(t):
        t.first, t.seq = ev, seq


def add_to_runs(runs: list[Run], ev: Event, seq: float, gap: float) -> None:
    """Count `ev` in the run it falls in (joining runs it bridges), or start a run with it."""
    touching = [r for r in runs if r.near(ev, gap)]
    if not touching:
        run = Run(ev.server, ev, ev)
        runs.append(run)
    else:
        run = touching[0]
        for other in touching[1:]:
            run.absorb(other)
            runs.remove(other)
    run.add(ev, seq)


__all__ = ["KEEP_WHOLE", "Run", "Tally", "add_to_runs", "is_hopless", "kind_of"]
