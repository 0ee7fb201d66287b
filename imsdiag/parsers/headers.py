"""Read one RFC 822 message: its headers, Received chains and the report and loop evidence it carries."""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any

from ..models import Event, Hop, Location, LoopSignal, ReportKind, Source, TimeQuality
from ..names import normalize_address, normalize_message_id
from .base import MAX_SUBJECT
from .bounce_text import DELIVERED_TO_LOOP, failed_recipient, find_loop_signal, inline_header_blocks, loop_evidence
from .mail_date import parse_date
from .mime_text import MAX_TEXT_SCAN, addresses, decode_words, header_value, header_values, hstr, text_of
from .received import build_from_text, parse_received, unfold
from .reports import DSN_FIELDS, DSN_TYPES, MDN_TYPE, dsn_fields, is_daemon, report_kind

# The reader's own names, and those moved to mime_text, reports and bounce_text that callers may import from here.
__all__ = [
    "DELIVERED_TO_LOOP",
    "DSN_FIELDS",
    "KEPT_HEADERS",
    "MAX_PARTS",
    "MAX_TEXT_SCAN",
    "MessageInfo",
    "failed_recipient",
    "find_loop_signal",
    "hstr",
    "inline_header_blocks",
    "message_event",
    "null_path",
    "read_message",
]

MAX_PARTS = 500
"""A message with more MIME parts than this is read only that far (hostile nesting)."""

KEPT_HEADERS = (
    "auto-submitted",
    "delivered-to",
    "x-mailer",
    "return-receipt-to",
    "disposition-notification-to",
    "precedence",
    "in-reply-to",
    "references",
    "x-original-to",
    "x-autoreply",
    "x-autorespond",
)
_EMBEDDED_TYPES = ("message/rfc822", "text/rfc822-headers")
_NULL_PATHS = frozenset({"", "<>", "mailer-daemon", "<mailer-daemon>"})
_ANGLE_ADDR = re.compile(r"<([^<>\s]{0,320})>")


@dataclass(frozen=True)
class MessageInfo:
    """What one message says about itself, read without trusting any of it."""

    message_id: str | None = None
    subject: str | None = None
    from_addr: str | None = None
    to_addrs: tuple[str, ...] = ()
    date: datetime | None = None
    """The Date header in UTC, when it parsed and carried a zone."""
    return_path: str | None = None
    """Envelope sender from Return-Path: `""` for `<>`/`<MAILER-DAEMON>`/empty, None when absent."""
    received: tuple[Hop, ...] = ()
    """Top-level chain, in header order (newest first)."""
    embedded_received: tuple[tuple[Hop, ...], ...] = ()
    """One chain per embedded message/rfc822 or text/rfc822-headers part, never merged."""
    embedded_message_id: str | None = None
    in_reply_to: str | None = None
    report_kind: ReportKind = ReportKind.NONE
    dsn: tuple[tuple[str, str], ...] = ()
    """DSN fields (lower-case name, value) in order, per-recipient groups flattened."""
    dsn_status: str | None = None
    dsn_action: str | None = None
    loop_signal: LoopSignal | None = None
    loop_evidence: str | None = None
    """The text the loop signal was found in (one line, cut to 300 characters)."""
    failed_recipient: str | None = None
    """The address a text bounce says failed (`Delivery failed: x`, `permanent errors: x`), when no DSN says."""
    return_receipt_to: str | None = None
    disposition_notification_to: str | None = None
    auto_submitted: str | None = None
    delivered_to: tuple[str, ...] = ()
    x_original_to: tuple[str, ...] = ()
    x_mailer: str | None = None
    software: str | None = None
    build: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    size: int = 0
    defects: tuple[str, ...] = ()


def null_path(value: str | None) -> str | None:
    """Return-Path as an envelope sender: `""` for the null forms, None when absent."""
    if value is None:
        return None
    v = value.strip()
    m = _ANGLE_ADDR.search(v)
    inner = m.group(1) if m else v
    if inner.strip().lower() in _NULL_PATHS:
        return ""
    return normalize_address(inner) or ""


def _chain(msg: Message, location: Location | None = None, lines: tuple[int, ...] = ()) -> tuple[Hop, ...]:
    hops = []
    for i, value in enumerate(header_values(msg, "Received")):
        loc = location
        if location is not None and i < len(lines):
            loc = Location(location.path, lines[i])
        hops.append(parse_received(value, loc))
    return tuple(hops)


def _walk(msg: Message, defects: list[str]) -> list[tuple[Message, bool]]:
    """Every part with a flag saying whether it sits inside an embedded message (iterative, bounded)."""
    out: list[tuple[Message, bool]] = []
    stack: list[tuple[Message, bool]] = [(msg, False)]
    while stack:
        part, inside = stack.pop()
        out.append((part, inside))
        if len(out) > MAX_PARTS:
            defects.append("too-many-parts")
            break
        payload = part.get_payload()
        if isinstance(payload, list):
            ctype = part.get_content_type()
            child_inside = inside or ctype == "message/rfc822"
            for child in reversed(payload):
                if isinstance(child, Message):
                    stack.append((child, child_inside))
    return out


def read_message(
    data: bytes,
    *,
    max_body: int = 2_000_000,
    location: Location | None = None,
    received_lines: tuple[int, ...] = (),
) -> MessageInfo:
    """Read one message from bytes; never raises. `received_lines` gives each top Received's line."""
    defects: list[str] = []
    if len(data) > max_body:
        data = data[:max_body]
        defects.append("message-truncated")
    try:
        return _read(data, defects, location, received_lines)
    except Exception:  # RecursionError on hostile nesting, or a stdlib bug on junk
        return MessageInfo(size=len(data), defects=(*defects, "unparseable-message"))


@dataclass
class _Parts:
    """What the walk over a message's MIME parts found."""

    location: Location | None
    embedded: list[tuple[Hop, ...]] = field(default_factory=list)
    embedded_id: str | None = None
    dsn: list[tuple[str, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    """The reporter's own text parts (never the text of a returned original)."""
    has_dsn: bool = False
    has_mdn: bool = False

    def embed(self, inner: Message) -> None:
        """An embedded original (or its headers): its own Received chain, and the first Message-ID seen."""
        self.embedded.append(_chain(inner, self.location))
        self.embedded_id = self.embedded_id or normalize_message_id(header_value(inner, "Message-ID"))

    def add(self, part: Message, inside: bool) -> None:
        ctype = part.get_content_type()
        if ctype in _EMBEDDED_TYPES:
            inner = _embedded(part, ctype)
            if inner is not None:
                self.embed(inner)
        elif inside:
            return  # the returned original's own text is not the reporter's words
        elif ctype in DSN_TYPES:
            self.has_dsn = True
            self.dsn.extend(dsn_fields(part))
        elif ctype == MDN_TYPE:
            self.has_mdn = True
        elif part.get_content_maintype() == "text":
            self.texts.append(text_of(part))


def _embedded(part: Message, ctype: str) -> Message | None:
    """The message a message/rfc822 part holds, or the headers a text/rfc822-headers part lists."""
    if ctype == "text/rfc822-headers":
        return email.parser.Parser(policy=email.policy.compat32).parsestr(text_of(part), headersonly=True)
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    return inner if isinstance(inner, Message) else None


def _read_parts(msg: Message, defects: list[str], location: Location | None) -> _Parts:
    found = _Parts(location)
    for part, inside in _walk(msg, defects):
        if part is msg and part.get_content_type() == "message/rfc822":
            continue  # a bare message/rfc822 top level is read as itself, below
        found.add(part, inside)
    return found


def _read(data: bytes, defects: list[str], location: Location | None, lines: tuple[int, ...]) -> MessageInfo:
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    if not msg.keys():
        defects.append("no-headers")
    defects.extend(sorted({type(d).__name__ for d in getattr(msg, "defects", [])})[:5])
    subject = decode_words(header_value(msg, "Subject") or "")[:MAX_SUBJECT] or None
    return_path = null_path(header_value(msg, "Return-Path"))
    found = _read_parts(msg, defects, location)
    kind = report_kind(msg, found.dsn, found.has_dsn, found.has_mdn, subject or "", return_path)
    bounce = kind in (ReportKind.NDR, ReportKind.DELAY) or return_path == ""
    if not found.embedded and bounce:
        # Text bounces (qmail, old sendmail, Domino) paste the original's headers into the body.
        for block in (b for text in found.texts for b in inline_header_blocks(text)):
            found.embed(block)
    delivered_to = _address_list(msg, "Delivered-To")
    signal, evidence = loop_evidence(delivered_to, bounce, found.dsn, subject, found.texts)
    x_mailer = header_value(msg, "X-Mailer")
    received = _chain(msg, location, lines)
    software, build = _software(x_mailer, received)
    return MessageInfo(
        message_id=normalize_message_id(header_value(msg, "Message-ID")),
        subject=subject,
        from_addr=(addresses(header_values(msg, "From")) or (None,))[0],
        to_addrs=addresses(header_values(msg, "To")),
        date=_date(msg),
        return_path=return_path,
        received=received,
        embedded_received=tuple(found.embedded),
        embedded_message_id=found.embedded_id,
        in_reply_to=_in_reply_to(msg),
        report_kind=kind,
        dsn=tuple(found.dsn),
        dsn_status=_first_word(found.dsn, "status"),
        dsn_action=_lower(_first_word(found.dsn, "action")),
        loop_signal=signal,
        loop_evidence=evidence,
        failed_recipient=failed_recipient(found.texts) if signal is not None else None,
        return_receipt_to=header_value(msg, "Return-Receipt-To"),
        disposition_notification_to=header_value(msg, "Disposition-Notification-To"),
        auto_submitted=header_value(msg, "Auto-Submitted"),
        delivered_to=delivered_to,
        x_original_to=_address_list(msg, "X-Original-To"),
        x_mailer=x_mailer,
        software=software,
        build=build,
        headers=_kept_headers(msg),
        size=len(data),
        defects=tuple(dict.fromkeys(defects)),
    )


def _date(msg: Message) -> datetime | None:
    date_text = header_value(msg, "Date")
    return parse_date(date_text)[0] if date_text else None


def _address_list(msg: Message, name: str) -> tuple[str, ...]:
    """Each instance of a one-address header (Delivered-To, X-Original-To) normalised; unreadable ones dropped."""
    return tuple(a for a in (normalize_address(v) for v in header_values(msg, name)) if a)


def _in_reply_to(msg: Message) -> str | None:
    in_reply = header_value(msg, "In-Reply-To")
    if not in_reply:
        return None
    m = _ANGLE_ADDR.search(in_reply)
    return normalize_message_id(m.group(1) if m else in_reply)


def _first_word(dsn: list[tuple[str, str]], name: str) -> str | None:
    """The first word of the first non-blank DSN field `name` (`5.4.6` of `Status: 5.4.6 (hops)`)."""
    return next((v.split()[0] for k, v in dsn if k == name and v.strip()), None)


def _lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def _software(x_mailer: str | None, received: tuple[Hop, ...]) -> tuple[str | None, str | None]:
    """The IMS/IMC that wrote the message: X-Mailer's banner, else the first Received hop that names a build."""
    software, build = build_from_text(x_mailer)
    if build is None:
        for hop in received:
            if hop.build:
                return build_from_text(hop.software)
    return software, build


def _kept_headers(msg: Message) -> tuple[tuple[str, str], ...]:
    """KEPT_HEADERS and Exchange's `X-MS-Exchange-*-Loop` headers, lower-cased names, values cut to 1000."""
    return tuple(
        (k.lower(), unfold(hstr(v)).strip()[:1000])
        for k, v in msg.items()
        if k.lower() in KEPT_HEADERS or (k.lower().startswith("x-ms-exchange-") and k.lower().endswith("-loop"))
    )


def message_event(info: MessageInfo, location: Location, source: Source, **overrides: Any) -> Event:
    """An Event for one message; keyword `overrides` replace any field (server, direction, sender, ...)."""
    time = next((h.date for h in info.received if h.date is not None), None) or info.date
    peer_host, peer_ip, helo = _newest_peer(info)
    event = Event(
        location=location,
        source=source,
        text=_summary(info),
        time=time,
        time_quality=TimeQuality.EXACT if time is not None else TimeQuality.NONE,
        peer_host=peer_host,
        peer_ip=peer_ip,
        helo=helo,
        sender=info.return_path,
        recipients=info.delivered_to or info.x_original_to or info.to_addrs,
        message_id=info.message_id,
        about_id=_about(info),
        subject=info.subject,
        size=info.size,
        report_kind=info.report_kind,
        status=info.dsn_action,
        dsn=info.dsn_status,
        loop_signal=info.loop_signal,
        received=info.received,
        embedded_received=info.embedded_received,
        software=info.software,
        build=info.build,
        headers=info.headers + _report_headers(info),
    )
    return dataclasses.replace(event, **overrides) if overrides else event


def _newest_peer(info: MessageInfo) -> tuple[str | None, str | None, str | None]:
    """(host, ip, helo) of the client the newest Received hop names."""
    if not info.received:
        return None, None, None
    newest = info.received[0]
    return newest.from_host, newest.from_ip, newest.from_helo


def _about(info: MessageInfo) -> str | None:
    """The message a report is about: the original it embeds, else the one its In-Reply-To names."""
    if info.embedded_message_id is None and info.report_kind.is_report:
        return info.in_reply_to
    return info.embedded_message_id


def _summary(info: MessageInfo) -> str:
    summary = f"message {info.message_id or '(no Message-ID)'}"
    if info.subject:
        summary += f" subject {info.subject[:120]!r}"
    return summary


def _report_headers(info: MessageInfo) -> tuple[tuple[str, str], ...]:
    """DSN recipients and the loop text, kept so a bounce is grouped by the address that looped,
    not by the sender it returns to."""
    out: list[tuple[str, str]] = []
    for name, value in info.dsn:
        if name in ("final-recipient", "original-recipient", "reporting-mta"):
            addr = value.split(";", 1)[-1].strip()
            if addr:
                out.append((name, addr.strip("<>").lower().rstrip(".")))
    if info.report_kind is ReportKind.NDR and info.from_addr and "@" in info.from_addr:
        # Who wrote a bounce with no DSN part: postmaster@ebd.example.co.jp names the reporting system.
        local, domain = info.from_addr.lower().rsplit("@", 1)
        if "." in domain and is_daemon(local):
            out.append(("report-from-domain", domain.rstrip(".")))
    if info.failed_recipient:
        out.append(("failed-recipient", info.failed_recipient))
    if info.loop_evidence:
        out.append(("loop-evidence", info.loop_evidence))
    return tuple(out)
