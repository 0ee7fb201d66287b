"""Time-stamp helpers shared by the Exchange 5.x IMS protocol-log and tracking-log parsers."""

from __future__ import annotations

import re
from datetime import datetime, timezone

# `2/7/01 5:01:20 PM`, `13/5/2000 14:36:27`, `2/7/01 5:01 PM`. Every repetition is bounded, so
# hostile text cannot make the engine backtrack.
_IMS_STAMP = re.compile(
    r"^\s{0,8}(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\s{1,8}"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s{0,8}(?:([AaPp])\.?[Mm]\.?)?\s{0,8}$"
)
# `1996.7.1 18:32:9`: no zero padding anywhere, always GMT (Q153188, Q173280).
_TRACKING_STAMP = re.compile(r"^\s{0,8}(\d{4})\.(\d{1,2})\.(\d{1,2})\s{1,8}(\d{1,2}):(\d{1,2}):(\d{1,2})\s{0,8}$")

YEAR_PIVOT = 70
"""Two-digit years below this are 20xx, the others 19xx (Exchange 5.x ran from 1996 to the 2000s)."""


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) == 4:
        return year
    return 2000 + year if year < YEAR_PIVOT else 1900 + year


def _hour24(hour: int, meridiem: str | None) -> int | None:
    """Convert a 12-hour clock reading to 24 hours; None when the reading is impossible."""
    if meridiem is None:
        return hour if hour < 24 else None
    if hour > 12:
        return None
    if meridiem in "Pp":
        return 12 if hour == 12 else hour + 12
    return 0 if hour == 12 else hour


def parse_ims_stamp(text: str) -> datetime | None:
    """Parse an IMS protocol-log stamp `M/D/YY H:MM:SS AM|PM` into a naive local datetime.

    Also accepts four-digit years and the 24-hour clock. The stamp follows the server locale
    (ims-reference §6), so a first number above 12 can only be a day: read it day-first.
    Returns None for anything that is not a real date and time.
    """
    m = _IMS_STAMP.match(text)
    if m is None:
        return None
    first, second, year_text, hour_text, minute, second_text, meridiem = m.groups()
    month, day = int(first), int(second)
    if month > 12:
        month, day = day, month
    hour = _hour24(int(hour_text), meridiem)
    if hour is None:
        return None
    try:
        return datetime(_full_year(year_text), month, day, hour, int(minute), int(second_text or 0))
    except ValueError:
        return None


def parse_tracking_stamp(text: str) -> datetime | None:
    """Parse a tracking-log stamp `yyyy.m.d h:mm:ss` (GMT, unpadded) into an aware UTC datetime."""
    m = _TRACKING_STAMP.match(text)
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
