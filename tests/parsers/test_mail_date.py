"""Header dates: the standard library's fast reading of the common RFC 5322 shape agrees with the long way."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imsdiag.parsers.mail_date import _RFC5322, by_hand, parse_date

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@st.composite
def rfc5322_dates(draw: st.DrawFn) -> str:
    """Dates in the shape MTAs write, day-of-month up to 31 in every month (some are impossible on purpose)."""
    day = draw(st.one_of(st.just(""), st.sampled_from(DAYS).map(lambda d: d + ", ")))
    date = f"{draw(st.integers(1, 31))} {draw(st.sampled_from(MONTHS))} {draw(st.integers(1000, 9999))}"
    clock = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
    if draw(st.booleans()):
        clock += f":{draw(st.integers(0, 60)):02d}"
    zone = f"{draw(st.sampled_from('+-'))}{draw(st.integers(0, 18)):02d}{draw(st.integers(0, 59)):02d}"
    comment = draw(st.sampled_from(["", " (EST)", " (UTC)", " (Pacific Standard Time)"]))
    return f"{day}{date} {clock} {zone}{comment}"


@given(rfc5322_dates())
def test_fast_reading_agrees_with_the_long_way(text: str) -> None:
    # +18xx past +1800 is out of range: not the fast shape, and both ways must still agree.
    zone = re.search(r" [+-](\d{4})", text)
    assert _RFC5322.fullmatch(text) or (zone is not None and zone.group(1) > "1800")
    fast, fast_defect = parse_date(text)
    slow, slow_defect = by_hand(text)
    if slow is None:
        assert fast is None and fast_defect == slow_defect == "bad-date"
    else:
        assert (fast, fast_defect) == (slow, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 15 Mar 1999 08:47:16 -0500 (EST)", datetime(1999, 3, 15, 13, 47, 16, tzinfo=timezone.utc)),
        ("15 Mar 1999 08:47 +0100", datetime(1999, 3, 15, 7, 47, tzinfo=timezone.utc)),
        ("Mon, 15 Mar 1999 08:47:16 -0000", datetime(1999, 3, 15, 8, 47, 16, tzinfo=timezone.utc)),
        # Not the common shape: read the long way, as before.
        ("Mon, 15 Mar 99 08:47:16 EST", datetime(1999, 3, 15, 13, 47, 16, tzinfo=timezone.utc)),
        ("Monday, March 15, 1999 8:47:16.123456789 AM -0500", datetime(1999, 3, 15, 13, 47, 16, 123456, timezone.utc)),
    ],
)
def test_dates_read_to_utc(text: str, expected: datetime) -> None:
    assert parse_date(text) == (expected, None)


@pytest.mark.parametrize(
    ("text", "defect"),
    [
        ("Mon, 31 Feb 1999 08:47:16 -0500", "bad-date"),
        ("Mon, 15 Mar 1999 25:47:16 -0500", "bad-date"),
        ("Mon, 15 Mar 1999 08:47:16 +2500", "bad-date"),
        ("Mon, 15 Mar 1999 08:47:16", "date-without-zone"),
        ("   ", "no-date"),
    ],
)
def test_bad_dates_are_defects(text: str, defect: str) -> None:
    assert parse_date(text) == (None, defect)
