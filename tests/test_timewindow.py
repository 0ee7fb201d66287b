"""`--since`/`--until` parsing, durations, zones and window checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from imsdiag.timewindow import in_window, overlaps, parse_duration, parse_when, parse_zone

NOW = datetime(2024, 3, 10, 12, 0, 0, tzinfo=timezone.utc)
UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("1999-03-15T09:00", datetime(1999, 3, 15, 9, 0, tzinfo=UTC)),
        ("1999-03-15 09:00:30", datetime(1999, 3, 15, 9, 0, 30, tzinfo=UTC)),
        ("1999-03-15T09:00+02:00", datetime(1999, 3, 15, 7, 0, tzinfo=UTC)),
        ("2001-02-07T17:01:20-05:00", datetime(2001, 2, 7, 22, 1, 20, tzinfo=UTC)),
        ("1999-03-15T09:00Z", datetime(1999, 3, 15, 9, 0, tzinfo=UTC)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        (" 3d ", NOW - timedelta(days=3)),
        ("1w", NOW - timedelta(weeks=1)),
        ("45s", NOW - timedelta(seconds=45)),
        ("now", NOW),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    got = parse_when(text, NOW)
    assert got == expected
    assert got.tzinfo == UTC


def test_parse_when_naive_now_is_utc() -> None:
    assert parse_when("1h", datetime(2024, 3, 10, 12, 0)) == datetime(2024, 3, 10, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2h ago", "-2h", "2024-13-01", "3x", "9" * 80, "99999999d"])
def test_parse_when_bad(text: str) -> None:
    with pytest.raises(ValueError, match="invalid time"):
        parse_when(text, NOW)


def test_parse_when_message_is_helpful() -> None:
    with pytest.raises(ValueError, match=r"expected an ISO date or time .* or an age \(30m, 2h, 3d, 1w\)"):
        parse_when("last tuesday", NOW)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("2d", 172800), ("1w", 604800), ("3600", 3600), ("1.5", 1.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "0h", "-5m", "six hours", ""])
def test_parse_duration_bad(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_parse_zone() -> None:
    when = datetime(2001, 2, 7, 17, 1, 20)
    assert when.replace(tzinfo=parse_zone("America/New_York")).utcoffset() == timedelta(hours=-5)
    assert parse_zone("UTC") is UTC
    assert parse_zone("+01:00").utcoffset(None) == timedelta(hours=1)
    assert parse_zone("-0530").utcoffset(None) == timedelta(hours=-5, minutes=-30)


@pytest.mark.parametrize("text", ["Mars/Olympus", "/etc/passwd", "../../etc/passwd", "+25:00", ""])
def test_parse_zone_bad(text: str) -> None:
    with pytest.raises(ValueError):
        parse_zone(text)


def test_in_window_and_overlaps() -> None:
    since, until = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)
    assert in_window(datetime(2024, 3, 1, 12, tzinfo=UTC), since, until)
    assert in_window(since, since, until) and in_window(until, since, until)  # both ends inclusive
    assert not in_window(datetime(2024, 2, 29, tzinfo=UTC), since, None)
    assert not in_window(datetime(2024, 3, 3, tzinfo=UTC), None, until)
    assert in_window(None, since, until)  # an unknown time is kept
    assert overlaps(datetime(2024, 2, 28, tzinfo=UTC), datetime(2024, 3, 1, 1, tzinfo=UTC), since, until)
    assert not overlaps(datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 2, tzinfo=UTC), since, until)
    assert not overlaps(datetime(2024, 3, 5, tzinfo=UTC), None, since, until)
