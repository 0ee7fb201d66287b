"""Helpers several parsers share: event copies, sniff windows, loop texts, bounded issues and queue-id state."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from ..models import Event, LoopSignal
from .base import ParseContext


def evolve(ev: Event, **changes: object) -> Event:
    """`dataclasses.replace` for an Event, without its per-field introspection (about 6x faster).

    Event has no `__post_init__`, so copying the instance dict is equivalent; parsers call this
    once or twice for every event they yield, which made `replace` the top entry of the profile.
    """
    new = object.__new__(Event)
    d = new.__dict__
    d.update(ev.__dict__)
    d.update(changes)
    return new


def frac6(frac: str | None) -> str:
    """`.62` -> `.620000`: Python 3.10's fromisoformat takes only 3 or 6 fraction digits."""
    if not frac:
        return ""
    return "." + (frac[1:] + "000000")[:6]


def is_comment(text: str) -> bool:
    """Blank lines and `#` annotations (fail2ban's `# failJSON:`) carry no log data."""
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


SNIFF_WINDOW = 16384
"""Bytes of head the engine reads for sniffing (inputs.SNIFF_BYTES): a head this long may end mid-line."""


def sniff_lines(head: bytes, limit: int = 400) -> list[str]:
    """The head's first `limit` lines that carry data (not blank, not `#` comments), as text."""
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(head) >= SNIFF_WINDOW and lines:
        lines = lines[:-1]  # the last line may be cut by the sniff window
    return [ln for ln in lines[:limit] if not is_comment(ln)]


def score_share(share: float) -> int:
    """A sniff score from the share of recognised lines: any real share scores above MIN_CONFIDENCE."""
    if share <= 0.0:
        return 0
    return min(95, int(31 + 64 * share))


# Loop phrases as MTAs write them in log lines and NDR texts, lower-cased; first match wins, so
# the specific hop-limit texts come before the generic "loop detected".
_LOOP_TEXTS: tuple[tuple[str, LoopSignal], ...] = (
    ("too many hops", LoopSignal.HOP_LIMIT),
    ("hopcount exceeded", LoopSignal.HOP_LIMIT),
    ("hop count exceeded", LoopSignal.HOP_LIMIT),
    ('too many "received" headers', LoopSignal.HOP_LIMIT),
    ("too many received headers", LoopSignal.HOP_LIMIT),
    ("5.4.14", LoopSignal.HOP_LIMIT),
    ("loops back to myself", LoopSignal.LOOPS_BACK),
    ("greeted me with my own hostname", LoopSignal.LOOPS_BACK),
    ("mail forwarding loop for", LoopSignal.FORWARDING_LOOP),
    ("aliasing/forwarding loop", LoopSignal.FORWARDING_LOOP),
    ("routing loop", LoopSignal.ROUTING_LOOP),
    ("loop detected", LoopSignal.ROUTING_LOOP),
    ("message looping", LoopSignal.ROUTING_LOOP),
)
_LOOP_HINT = re.compile(r"hop|loop|received|5\.4\.14|greeted", re.IGNORECASE)


def classify_loop_text(text: str | None) -> LoopSignal | None:
    """The loop evidence a log line or status text carries, if any."""
    if not text or _LOOP_HINT.search(text) is None:  # most lines: one cheap scan, no lowering
        return None
    low = text.lower()
    for phrase, signal in _LOOP_TEXTS:
        if phrase in low:
            return signal
    return None


MAX_ISSUES_PER_CODE = 1000
"""After this many issues of one code in a file only the counter grows, so memory stays bounded."""


def limited_issue(ctx: ParseContext, line: int, code: str, message: str, excerpt: str = "") -> None:
    """Record an issue unless this file already has MAX_ISSUES_PER_CODE of that code; always count it."""
    key = f"issue:{code}"
    ctx.count(key)
    if ctx.counters[key] <= MAX_ISSUES_PER_CODE:
        ctx.issue(line, code, message, excerpt)


MAX_AGE = timedelta(hours=24)
"""Open queue ids not seen for this long (log time) are dropped, so memory stays bounded."""
MAX_OPEN = 100_000
"""Hard cap on open queue ids, for logs without usable times."""


class _Stamped(Protocol):
    last_seen: datetime | None


S = TypeVar("S", bound=_Stamped)


class OpenIds(dict[str, S]):
    """Per-queue-id state of an MTA log with bounded memory.

    Ids the log never closes (a message frozen, a log cut mid-message, Sendmail's missing `removed`)
    are swept out once they have been silent for `max_age` of log time, checked every `sweep_every`
    new ids; beyond `max_open` the oldest go first, for logs without usable times.
    """

    def __init__(
        self,
        factory: Callable[[], S],
        ctx: ParseContext,
        max_age: timedelta = MAX_AGE,
        max_open: int = MAX_OPEN,
        sweep_every: int = 1000,
    ) -> None:
        super().__init__()
        self._factory = factory
        self._ctx = ctx
        self._max_age = max_age
        self._max_open = max_open
        self._sweep_every = sweep_every
        self._new = 0

    def state(self, qid: str, when: datetime | None) -> S:
        """The state of `qid`, created when new, stamped with `when`."""
        st = self.get(qid)
        if st is None:
            self._new += 1
            if self._new >= self._sweep_every or len(self) >= self._max_open:
                self._sweep(when)
            st = self[qid] = self._factory()
        if when is not None:
            st.last_seen = when
        return st

    def _sweep(self, now: datetime | None) -> None:
        self._new = 0
        if now is not None:
            stale = [q for q, s in self.items() if s.last_seen is not None and now - s.last_seen > self._max_age]
            for q in stale:
                del self[q]
            self._ctx.count("evicted", len(stale))
        while len(self) >= self._max_open:
            del self[next(iter(self))]
            self._ctx.count("evicted")
