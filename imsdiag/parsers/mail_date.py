"""Dates of Received and Date headers to UTC, with the zone read by hand and junk cut off."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from dateutil import parser as dateparser

MAX_DATE_TEXT = 200
"""Longer date text is not a date: it is reported as `bad-date` instead of feeding dateutil."""

_NUM_ZONE = re.compile(r"(?<![\w:.])([+-])(\d{2}):?(\d{2})(?!\d)")
_NAMED_ZONE = re.compile(r"\b(UT|UTC|GMT|Z|EST|EDT|CST|CDT|MST|MDT|PST|PDT)\b")
_RFC5322 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}(?::\d{2})? [+-](?:(?:0\d|1[0-7])[0-5]\d|1800)(?: \([^()]{0,40}\))?"
)
"""The shape nearly every MTA writes (`Mon, 15 Mar 1999 08:47:16 -0500 (EST)`): the standard library reads it
in a few microseconds where dateutil takes tens; anything else goes the long way."""
_FRACTION = re.compile(r"(\d{1,2}:\d{2}:\d{2})\.(\d{1,6})\d{0,30}")
_NAMED_OFFSETS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip


def parse_date(text: str) -> tuple[datetime | None, str | None]:
    """A UTC datetime from a Received/Date text, or (None, defect code).

    The zone is taken out by hand (dateutil maps `+0000` to the *local* zone when it matches);
    fractional seconds beyond microseconds and trailing junk such as SendGrid's `m=+…` are cut.
    """
    if not text.strip():
        return None, "no-date"
    if len(text) > MAX_DATE_TEXT:
        return None, "bad-date"
    if _RFC5322.fullmatch(text.strip()):
        fast = _standard(text)
        if fast is not None:
            return fast, None
    return by_hand(text)


def by_hand(text: str) -> tuple[datetime | None, str | None]:
    """`parse_date` the long way: the zone cut out by hand, the rest read by dateutil."""
    offset: timedelta | None = None
    body = text
    zones = list(_NUM_ZONE.finditer(text))
    if zones:
        z = zones[-1]
        minutes = int(z.group(2)) * 60 + int(z.group(3))
        if minutes > 18 * 60:
            return None, "bad-date"
        offset = timedelta(minutes=-minutes if z.group(1) == "-" else minutes)
        body = text[: z.start()]
    else:
        named = _NAMED_ZONE.search(text)
        if named:
            offset = timedelta(hours=_NAMED_OFFSETS[named.group(1)])
            body = text[: named.start()]
    body = _FRACTION.sub(r"\1.\2", body).replace(",", " ").strip()
    if not body:
        return None, "bad-date"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = dateparser.parse(body, ignoretz=True, default=datetime(2000, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return None, "bad-date"
    if offset is None:
        return None, "date-without-zone"
    try:
        return parsed.replace(tzinfo=timezone(offset)).astimezone(timezone.utc), None
    except (ValueError, OverflowError):
        return None, "bad-date"


def _standard(text: str) -> datetime | None:
    """An RFC 5322 date with a numeric zone, read by `email.utils`; None when it rejects it (31 Feb, 25:00)."""
    try:
        parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    # `-0000` ("zone unknown" to RFC 5322) comes back naive; the long way reads it as UTC, and so does this.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
