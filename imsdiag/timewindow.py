"""Time windows for `--since`/`--until`: ISO dates and times, relative ages, durations and zone names."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo

from dateutil import tz as dateutil_tz
from dateutil.parser import isoparse

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Bounded digit runs: a hostile option value cannot make the match expensive or overflow timedelta.
_RELATIVE = re.compile(r"\s*(\d{1,7})\s*([smhdw])\s*", re.IGNORECASE)
_SECONDS = re.compile(r"\s*(\d{1,9}(?:\.\d{1,6})?)\s*")
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?")
# gettz() also accepts file paths; only plain IANA-style names may reach it.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,3}")
_MAX_TEXT = 64

WHEN_HELP = "an ISO date or time (2024-03-01, 1999-03-15T09:00, 1999-03-15T09:00+01:00) or an age (30m, 2h, 3d, 1w)"


def _as_utc(value: datetime) -> datetime:
    """A naive time is taken as UTC (documented); an aware one is converted."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_utc(value: datetime | date) -> datetime:
    """`value` as an aware UTC datetime; a date means its midnight UTC."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return _as_utc(value)


def parse_when(text: str, now: datetime) -> datetime:
    """A point in time, UTC-aware, from `--since`/`--until` text.

    Accepts ISO 8601 dates and times (no zone means UTC) and relative ages `30m`, `2h`, `3d`, `1w`,
    meaning that long before `now`. Raises ValueError with a message that shows what is accepted.
    """
    raw = text.strip()
    if not raw or len(raw) > _MAX_TEXT:
        raise ValueError(f"invalid time {text[:_MAX_TEXT]!r}: expected {WHEN_HELP}")
    if raw.lower() == "now":
        return _as_utc(now)
    rel = _RELATIVE.fullmatch(raw)
    if rel:
        amount = int(rel.group(1)) * _UNIT_SECONDS[rel.group(2).lower()]
        try:
            return _as_utc(now) - timedelta(seconds=amount)
        except OverflowError:
            raise ValueError(f"invalid time {raw!r}: that is before year 1") from None
    try:
        return _as_utc(isoparse(raw))
    except (ValueError, OverflowError) as exc:  # `0001-01-01T00:00+14:00` is before year 1 in UTC
        raise ValueError(f"invalid time {raw!r} ({exc}): expected {WHEN_HELP}") from None


def parse_duration(text: str) -> timedelta:
    """A positive length of time: `90s`, `30m`, `6h`, `2d`, `1w`, or a plain number of seconds."""
    raw = text.strip()
    rel = _RELATIVE.fullmatch(raw) if len(raw) <= _MAX_TEXT else None
    if rel:
        seconds = float(int(rel.group(1)) * _UNIT_SECONDS[rel.group(2).lower()])
    else:
        plain = _SECONDS.fullmatch(raw) if len(raw) <= _MAX_TEXT else None
        if not plain:
            raise ValueError(f"invalid duration {text[:_MAX_TEXT]!r}: expected e.g. 90s, 30m, 6h, 2d, 1w")
        seconds = float(plain.group(1))
    if seconds <= 0:
        raise ValueError(f"invalid duration {raw!r}: must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """`value` as `parse_duration` reads it, in the largest unit that divides it (6 hours -> `6h`)."""
    seconds = value.total_seconds()
    for unit, size in sorted(_UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if seconds > 0 and seconds % size == 0:
            return f"{int(seconds) // size}{unit}"
    return f"{seconds:g}"  # a fraction of a second: plain seconds, which parse_duration also reads


def parse_zone(text: str) -> tzinfo:
    """A time zone from an IANA name (`Europe/Berlin`), `UTC`, or a fixed offset (`+01:00`, `-0500`)."""
    raw = text.strip()
    off = _OFFSET.fullmatch(raw) if len(raw) <= _MAX_TEXT else None
    if off:
        hours, minutes = int(off.group(2)), int(off.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"invalid zone offset {raw!r}")
        sign = -1 if off.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    if raw.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    zone = dateutil_tz.gettz(raw) if _ZONE_NAME.fullmatch(raw) and ".." not in raw else None
    if zone is None:
        raise ValueError(f"unknown time zone {text[:_MAX_TEXT]!r}: use an IANA name like Europe/Berlin or +01:00")
    return zone


def in_window(when: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """Whether `when` lies in [since, until]; an unknown time is kept (the log did not say)."""
    if when is None:
        return True
    when = _as_utc(when)
    if since is not None and when < _as_utc(since):
        return False
    return not (until is not None and when > _as_utc(until))


def overlaps(first: datetime | None, last: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """Whether the span first..last touches [since, until]; unknown ends are open."""
    if last is not None and since is not None and _as_utc(last) < _as_utc(since):
        return False
    return not (first is not None and until is not None and _as_utc(first) > _as_utc(until))
