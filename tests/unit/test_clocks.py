"""Zone inference: local stamps matched against exact ones of the same transits."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from imsdiag.clocks import infer_offsets, shifted
from imsdiag.models import Direction, Event, Location, TimeQuality

UTC0 = datetime(1999, 3, 15, 14, 12, tzinfo=timezone.utc)


def transit(n: int, when: datetime, quality: TimeQuality, server: str, rcpt: str = "user2@company.com") -> Event:
    return Event(
        location=Location(f"{server}.log", n),
        source="x",
        time=when,
        time_quality=quality,
        server=server,
        direction=Direction.IN,
        sender="",
        recipients=(rcpt,),
    )


def loop_logs(local_offset: timedelta, passes: int = 30, seed: int = 1) -> list[Event]:
    """A relay logging local time (read as UTC) and an IMS archive with exact times, jittered periods."""
    rng = random.Random(seed)
    events = []
    t = UTC0
    for n in range(passes):
        t += timedelta(seconds=rng.randint(100, 140))
        events.append(transit(n, t, TimeQuality.EXACT, "imc1"))
        local_as_utc = t + local_offset + timedelta(seconds=rng.randint(-3, 3))
        events.append(transit(n, local_as_utc, TimeQuality.ZONE_ASSUMED, "relay"))
    return events


def ident(name: str | None) -> str | None:
    return name


def test_offset_of_a_local_time_log_is_found() -> None:
    (found,) = infer_offsets(loop_logs(timedelta(hours=-5)), ident)
    assert found.server == "relay"
    assert found.offset == timedelta(hours=-5)
    assert found.label() == "UTC-05:00"
    assert found.matches == 30


def test_quarter_hour_zones() -> None:
    (found,) = infer_offsets(loop_logs(timedelta(hours=5, minutes=45)), ident)
    assert found.label() == "UTC+05:45"


def test_a_log_already_in_utc_needs_no_offset() -> None:
    assert infer_offsets(loop_logs(timedelta(0)), ident) == []


def test_too_few_matches_give_no_offset() -> None:
    assert infer_offsets(loop_logs(timedelta(hours=-5), passes=2), ident) == []


def test_unrelated_recipients_never_match() -> None:
    events = loop_logs(timedelta(hours=-5))
    other = [
        transit(e.location.line, e.time, e.time_quality, e.server or "", "someone@else.example")  # type: ignore[arg-type]
        if e.server == "relay"
        else e
        for e in events
    ]
    assert infer_offsets(other, ident) == []


def test_servers_with_a_zone_given_are_skipped() -> None:
    assert infer_offsets(loop_logs(timedelta(hours=-5)), ident, skip=["relay"]) == []


def test_shifted_corrects_only_assumed_times() -> None:
    (found,) = infer_offsets(loop_logs(timedelta(hours=-5)), ident)
    local = transit(1, UTC0 - timedelta(hours=5), TimeQuality.ZONE_ASSUMED, "relay")
    fixed = shifted(local, found.offset)
    assert fixed.time == UTC0 and fixed.time_quality is TimeQuality.ZONE_INFERRED
    exact = transit(1, UTC0, TimeQuality.EXACT, "imc1")
    assert shifted(exact, found.offset) is exact


def test_the_shipped_scenario_is_put_on_one_clock() -> None:
    # The IMS protocol log and the relay's syslog are local time (-0500); the tracking log is GMT.
    from imsdiag.engine import scan
    from imsdiag.settings import ScanSettings

    from ..conftest import SAMPLES

    r = scan(ScanSettings(paths=(str(SAMPLES / "q178436-site-connector"),), jobs=1))
    (f,) = r.findings
    # 42 passes about two minutes apart: 84 minutes, 14:12 to 15:36 UTC, not 09:12 to 15:36.
    assert f.first_seen is not None and f.last_seen is not None
    assert (f.first_seen.hour, f.first_seen.minute) == (14, 12)
    assert (f.last_seen - f.first_seen).total_seconds() < 90 * 60
    assert any("read as UTC-05:00" in n for n in r.notes)


def test_two_local_clocks_with_no_zone_anywhere_are_aligned_to_each_other() -> None:
    """Two IMS protocol logs, three hours apart in local time: each transit is logged at both ends."""
    rng = random.Random(7)
    events = []
    t = UTC0
    for n in range(30):
        t += timedelta(seconds=rng.randint(150, 220))
        out = Event(
            location=Location("imc1.log", n),
            source="ims-protocol",
            time=t,
            time_quality=TimeQuality.ZONE_ASSUMED,
            server="imc1",
            direction=Direction.OUT,
            peer_host="imc2",
            sender="",
            recipients=("user2@company.com",),
        )
        back = Event(
            location=Location("imc2.log", n),
            source="ims-protocol",
            time=t - timedelta(hours=3, seconds=-4),
            time_quality=TimeQuality.ZONE_ASSUMED,
            server="imc2",
            direction=Direction.IN,
            peer_host="imc1",
            sender="",
            recipients=("user2@company.com",),
        )
        events += [out, back]
    (found,) = infer_offsets(events, ident)
    assert (found.server, found.relative_to) == ("imc2", "imc1")
    assert found.offset == timedelta(hours=-3)
    assert found.matches == 30
    assert "clock of imc1" in found.note()


def test_a_regular_loop_does_not_vote_for_a_multiple_of_its_period() -> None:
    """Passes exactly 150 s apart line up at 900 s shifts by chance; only the same hop at both ends counts."""
    events = []
    for n in range(20):
        t = UTC0 + timedelta(seconds=150 * n)
        events.append(
            Event(
                location=Location("a.log", n),
                source="x",
                time=t,
                time_quality=TimeQuality.EXACT,
                server="a",
                direction=Direction.OUT,
                peer_host="b",
                sender="",
                recipients=("u@x",),
            )
        )
        events.append(
            Event(
                location=Location("b.log", n),
                source="x",
                time=t + timedelta(seconds=75),
                time_quality=TimeQuality.ZONE_ASSUMED,
                server="b",
                direction=Direction.OUT,
                peer_host="a",
                sender="",
                recipients=("u@x",),
            )
        )
    assert infer_offsets(events, ident) == []
