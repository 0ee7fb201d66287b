"""explain's search keeps a log's event ids in a set, and makes the log-sized filter only when it is needed."""

from __future__ import annotations

import pytest

from imsdiag import spanfilter
from imsdiag.models import Event, Location, Source
from imsdiag.spanfilter import EventIdFilter, NotedIds, may_hold, slots


def events(n: int) -> list[Event]:
    return [
        Event(location=Location("maillog", i + 1), source=Source.POSTFIX, queue_id=f"Q{i:08X}", message_id=f"m{i}@x")
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [0, 1, 40, 700])
def test_the_filter_is_the_one_the_events_would_fill(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spanfilter, "NOTED_IDS", 100)  # 700 events (1,400 ids) spill into the filter on the way
    noted, direct = NotedIds(1 << 20), EventIdFilter.for_log(1 << 20)
    for ev in events(n):
        noted.add_event(ev)
        direct.add_event(ev)
    assert noted.frozen() == direct.frozen()
    assert all(may_hold(noted.frozen(), [slots(f"q{i:08x}")]) for i in range(n))


def test_no_log_sized_table_until_it_is_asked_for() -> None:
    noted = NotedIds(429 << 20)  # a 429 MiB log: its filter is 8 MiB (a bit per 8 bytes, a power of two)
    for ev in events(50):
        noted.add_event(ev)
    assert noted._filter is None
    assert len(noted.frozen()) == 8 << 20
