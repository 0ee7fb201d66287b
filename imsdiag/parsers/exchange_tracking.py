"""Exchange 2007-2019 message tracking (MSGTRK CSV) parser, driven by the `#Fields:` header."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO

from ..models import Direction, Event, ReportKind, Source, TimeQuality
from ..names import normalize_address, normalize_host, normalize_message_id
from .base import MAX_SUBJECT, ParseContext, Parser, Record, iter_lines
from .common import classify_loop_text, limited_issue

NAME = Source.EXCHANGE_TRACKING

DEFAULT_FIELDS: tuple[str, ...] = (
    "date-time", "client-ip", "client-hostname", "server-ip", "server-hostname", "source-context",
    "connector-id", "source", "event-id", "internal-message-id", "message-id", "network-message-id",
    "recipient-address", "recipient-status", "total-bytes", "recipient-count", "related-recipient-address",
    "reference", "message-subject", "sender-address", "return-path", "message-info", "directionality",
    "tenant-id", "original-client-ip", "original-server-ip", "custom-data",
)  # fmt: skip
"""Exchange 2013+ columns (prior-art §4.5), used when a file has no `#Fields:` header."""
EXTRA_1501 = ("transport-traffic-type", "log-id", "schema-version")
"""Columns Exchange 15.01+ appends."""

_ROW_START = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?Z?,")
_BOM = "\ufeff"
_DIRECTIONS = {
    "RECEIVE": Direction.IN,
    "SEND": Direction.OUT,
    "SENDEXTERNAL": Direction.OUT,
    "DELIVER": Direction.LOCAL,
    "DUPLICATEDELIVER": Direction.LOCAL,
    "DSN": Direction.GENERATED,
}
MAX_FIELD = 100_000
"""csv's own field size limit is raised to this, so a hostile row cannot make csv raise."""


def parse_time(text: str) -> datetime | None:
    """`2017-05-22T17:33:35.632Z` -> aware UTC datetime; tracking logs are always UTC."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1]
    if "." in t:  # fromisoformat on older Pythons wants 3 or 6 fraction digits
        main, frac = t.split(".", 1)
        t = f"{main}.{(frac + '000000')[:6]}"
    try:
        return datetime.fromisoformat(t).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def split_recipients(text: str) -> tuple[str, ...]:
    """`a@x;b@y` -> normalised addresses."""
    return tuple(a for a in (normalize_address(p) for p in text.split(";")) if a)


def sender_of(row: dict[str, str]) -> str | None:
    """Envelope sender: `return-path` (`<>` is null), else sender-address; None when both are empty."""
    rp = row.get("return-path", "").strip()
    if rp:
        return normalize_address(rp)
    sa = row.get("sender-address", "").strip()
    return normalize_address(sa) if sa else None


def _server_and_peer(row: dict[str, str], event_id: str) -> tuple[str | None, str | None, str | None]:
    """(logging server, peer host, peer ip) of a row.

    On SEND rows the client columns are this server and the server columns the next hop;
    on every other row the server columns are this server (and the client the previous hop).
    """
    client = normalize_host(row.get("client-hostname") or None)
    target = normalize_host(row.get("server-hostname") or None)
    if event_id.startswith("SEND"):
        return client or target, target, row.get("server-ip") or None
    if event_id == "RECEIVE":
        return target, client, row.get("client-ip") or None
    return target or client, None, None


class ExchangeTrackingParser(Parser):
    """Exchange 2007-2019 MSGTRK CSV logs."""

    name = NAME
    description = "Exchange 2007+ message tracking log (MSGTRK*.LOG)"

    def sniff(self, head: bytes, filename: str) -> int:
        text = head[:16384].decode("utf-8", errors="replace").lstrip(_BOM)
        if "#Log-type: Message Tracking Log" in text[:2000] or "#Fields: date-time,client-ip" in text[:4000]:
            return 95
        rows = [ln for ln in text.splitlines()[:50] if ln.strip()]
        hits = sum(1 for ln in rows if _ROW_START.match(ln) and ln.count(",") >= len(DEFAULT_FIELDS) - 1)
        if rows and hits / len(rows) >= 0.5:
            return 80 if filename.upper().startswith("MSGTRK") else 75
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))
        fields: tuple[str, ...] | None = None
        for lineno, text in iter_lines(stream, ctx):
            ctx.count("lines")
            if lineno == 1:
                text = text.lstrip(_BOM)
            if not text.strip():
                continue
            if text.startswith("#"):
                fields = self._header(text, fields)
                continue
            yield from self._row(text, lineno, fields, ctx)

    @staticmethod
    def _header(text: str, fields: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if text.startswith("#Fields:"):
            return tuple(f.strip().lower() for f in text[len("#Fields:") :].split(","))
        return fields

    def _row(self, text: str, lineno: int, fields: tuple[str, ...] | None, ctx: ParseContext) -> Iterator[Record]:
        try:
            values = next(csv.reader([text]))
        except (csv.Error, StopIteration) as exc:
            ctx.count("unparsed")
            limited_issue(ctx, lineno, "bad-csv-row", f"row is not valid CSV: {exc}", text)
            return
        columns = fields or self._default_columns(len(values))
        if columns is None or len(values) < len(columns) - 3:
            ctx.count("unparsed")
            limited_issue(
                ctx, lineno, "bad-row-width", f"row has {len(values)} fields, header names {len(columns or ())}", text
            )
            return
        row = dict(zip(columns, values, strict=False))
        event = self._event(row, text, lineno, ctx)
        if event is None:
            ctx.count("unparsed")
            limited_issue(ctx, lineno, "bad-time", "row has no readable date-time", text)
            return
        yield event

    @staticmethod
    def _default_columns(width: int) -> tuple[str, ...] | None:
        """No `#Fields:` header: the 2013+ layout when the row is that wide (plus the 15.01 extras)."""
        if width == len(DEFAULT_FIELDS):
            return DEFAULT_FIELDS
        if width == len(DEFAULT_FIELDS) + len(EXTRA_1501):
            return DEFAULT_FIELDS + EXTRA_1501
        return None

    @staticmethod
    def _event(row: dict[str, str], text: str, lineno: int, ctx: ParseContext) -> Event | None:
        when = parse_time(row.get("date-time", ""))
        if when is None:
            return None
        event_id = row.get("event-id", "").strip().upper()
        server, peer_host, peer_ip = _server_and_peer(row, event_id)
        is_dsn = event_id == "DSN"
        detail = " ".join((row.get("recipient-status", ""), row.get("source-context", "")))
        return Event(
            location=ctx.loc(lineno),
            source=NAME,
            text=text,
            time=when,
            time_quality=TimeQuality.EXACT,
            server=server,
            server_source="content" if server else None,
            direction=_DIRECTIONS.get(event_id, Direction.UNKNOWN),
            peer_host=peer_host,
            peer_ip=peer_ip,
            sender=sender_of(row),
            recipients=split_recipients(row.get("recipient-address", "")),
            message_id=normalize_message_id(row.get("message-id")),
            queue_id=row.get("internal-message-id") or None,
            about_id=(row.get("reference") or None) if is_dsn else None,
            subject=row.get("message-subject", "")[:MAX_SUBJECT] or None,
            size=int(row["total-bytes"]) if row.get("total-bytes", "").isdigit() else None,
            report_kind=ReportKind.NDR if is_dsn else ReportKind.NONE,
            status=event_id or None,
            loop_signal=classify_loop_text(detail),
            event_code=event_id or None,
            headers=(("source", row["source"]),) if row.get("source") else (),
        )
