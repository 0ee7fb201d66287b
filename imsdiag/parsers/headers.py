"""Read one RFC 822 message: headers, Received chains, DSN/MDN/auto-reply recognition and loop evidence."""

from __future__ import annotations

import dataclasses
import email.header
import email.parser
import email.policy
import email.utils
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

from ..models import Event, Hop, Location, LoopSignal, ReportKind, TimeQuality
from ..names import normalize_address, normalize_message_id, report_kind_from_subject
from .base import MAX_SUBJECT, decode
from .received import build_from_text, parse_date, parse_received, unfold

MAX_TEXT_SCAN = 65536
"""Only the first 64 KB of each text part is searched for loop phrases."""
MAX_PARTS = 500
"""A message with more MIME parts than this is read only that far (hostile nesting)."""

DSN_FIELDS = (
    "reporting-mta",
    "final-recipient",
    "original-recipient",
    "action",
    "status",
    "diagnostic-code",
    "remote-mta",
    "arrival-date",
)
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
_NULL_PATHS = frozenset({"", "<>", "mailer-daemon", "<mailer-daemon>"})
_DAEMON_FROM = re.compile(r"(?i)\b(?:mailer-daemon|postmaster|mail delivery (?:system|subsystem))\b")
_AUTO_SUBJECT = re.compile(
    r"(?i)^\s*(?:out of (?:the )?office|auto(?:matic)?[ -]?(?:reply|response|antwort)|autoreply|"
    r"vacation|abwesenheitsnotiz|absence)\b|\bon vacation\b|\bout of (?:the )?office\b"
)
_READ_SUBJECT = re.compile(r"(?i)^\s*(?:read|not read)\s*:")
_DELIVERED_SUBJECT = re.compile(r"(?i)^\s*delivered\s*:")
_INLINE_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,60}):[ \t]")
_QUOTE_PREFIX = re.compile(r"^> ?")
_ANGLE_ADDR = re.compile(r"<([^<>\s]{0,320})>")
_MX_LOOP_CODE = re.compile(
    r"(?i)\b5\.4\.(?:6|14)\b[^\n]{0,200}?\b(?:hop|loop)|\b(?:hop|loop)[^\n]{0,200}?\b5\.4\.(?:6|14)\b"
)

# Ordered: the most specific evidence first. Seeds: prior-art §1B (sisimai NetworkError) and ims-reference §5.
_LOOP_PATTERNS: tuple[tuple[re.Pattern[str], LoopSignal], ...] = (
    (re.compile(r"(?i)loops? back to myself|mail for \S{1,255} loops back"), LoopSignal.LOOPS_BACK),
    (
        re.compile(
            r"(?i)mail forwarding loop for|aliasing/forwarding loop|forwarding loop (?:count )?exceeded|"
            r"maximum forwarding loop count|alias(?:ing)? loop"
        ),
        LoopSignal.FORWARDING_LOOP,
    ),
    # Domino: "Maximum hop count exceeded.  Message probably in a routing loop." names the loop kind.
    (re.compile(r"(?i)probably in a routing loop"), LoopSignal.ROUTING_LOOP),
    (
        re.compile(
            r"(?i)too many hops|hop count exceeded|max(?:imum)? hop count|too many \"?received\"? headers|"
            r"\(00120270\)|too many received|hop limit exceeded"
        ),
        LoopSignal.HOP_LIMIT,
    ),
    (
        re.compile(r"(?i)routing loop|message looping|loop detected|mail loop(?:ing)? detected|looping message"),
        LoopSignal.ROUTING_LOOP,
    ),
    (_MX_LOOP_CODE, LoopSignal.HOP_LIMIT),
)


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
    failed_recipient: str | None = None
    """The address a text bounce says failed (`Delivery failed: x`, `permanent errors: x`), when no DSN says."""
    """The text the loop signal was found in (one line, cut to 300 characters)."""
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


def hstr(value: Any) -> str:
    """Any header value compat32 hands back (str with surrogates, or Header) as clean text."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        return _decode_words(str(value)) if not _has_8bit_chunks(value) else _header_bytes(value)
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode(text.encode("utf-8", "surrogateescape"))
    return text


def _has_8bit_chunks(h: email.header.Header) -> bool:
    return any(str(charset) == "unknown-8bit" for _, charset in getattr(h, "_chunks", ()))


def _header_bytes(h: email.header.Header) -> str:
    parts = []
    for chunk, charset in getattr(h, "_chunks", ()):
        if isinstance(chunk, str) and str(charset) == "unknown-8bit":
            chunk = decode(chunk.encode("ascii", "surrogateescape"))
        parts.append(str(chunk))
    return "".join(parts)


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; unknown charsets and broken base64 fall back, never raise."""
    if "=?" not in text:
        return text
    try:
        pieces = email.header.decode_header(text)
    except Exception:  # the stdlib raises HeaderParseError and friends on junk
        return text
    out: list[str] = []
    for chunk, charset in pieces:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "ascii"))
        except (LookupError, UnicodeDecodeError):
            out.append(decode(chunk))
    return "".join(out)


def _header(msg: Message, name: str) -> str | None:
    """One header as unfolded, decoded text, or None when absent."""
    try:
        value = msg.get(name)
    except Exception:
        return None
    if value is None:
        return None
    return unfold(hstr(value)).strip()


def _all(msg: Message, name: str) -> list[str]:
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [unfold(hstr(v)).strip() for v in values]


def _addresses(values: list[str]) -> tuple[str, ...]:
    """Bare, lower-cased addresses from address-list headers (display names dropped)."""
    out: list[str] = []
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:
        return ()
    for _, addr in pairs:
        norm = normalize_address(addr)
        if norm:
            out.append(norm)
    return tuple(out)


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
    for i, value in enumerate(_all(msg, "Received")):
        loc = location
        if location is not None and i < len(lines):
            loc = Location(location.path, lines[i])
        hops.append(parse_received(value, loc))
    return tuple(hops)


def _parse_bytes(data: bytes) -> Message:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)


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


def _text_of(part: Message) -> str:
    """The decoded text of a text part, first 64 KB only."""
    try:
        raw = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(raw, bytes):
        return ""
    return decode(raw[:MAX_TEXT_SCAN])


def _dsn_fields(part: Message) -> list[tuple[str, str]]:
    """Fields of a message/delivery-status part, per-message group first, then each recipient."""
    blocks = part.get_payload()
    groups: list[Message] = []
    if isinstance(blocks, list):
        groups = [b for b in blocks if isinstance(b, Message)]
    elif isinstance(blocks, str):  # a DSN body compat32 did not split: read it as header blocks
        text = blocks if isinstance(blocks, str) else ""
        for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")[:MAX_TEXT_SCAN]):
            groups.append(email.parser.Parser(policy=email.policy.compat32).parsestr(chunk.strip("\n") + "\n"))
    out: list[tuple[str, str]] = []
    for g in groups:
        for key, value in g.items():
            k = key.strip().lower()
            if k in DSN_FIELDS:
                out.append((k, unfold(hstr(value)).strip()))
    return out


def inline_header_blocks(text: str) -> list[Message]:
    """Header blocks with Received lines pasted into a text body (one forward pass, bounded)."""
    blocks: list[Message] = []
    current: list[str] = []
    has_received = False
    for line in text.splitlines()[:5000]:
        quoted = _QUOTE_PREFIX.sub("", line, count=1)  # `> ` of a quoted copy
        body = quoted.lstrip()
        m = _INLINE_HEADER.match(body) if len(quoted) - len(body) <= 8 else None
        if current and not m and quoted[:1] in (" ", "\t") and body:
            current.append(" " + body)  # a folded continuation of the previous header
            continue
        if m:
            current.append(body)
            has_received = has_received or m.group(1).lower() == "received"
            continue
        if has_received and len(blocks) < 10:
            blocks.append(email.parser.Parser(policy=email.policy.compat32).parsestr("\n".join(current) + "\n\n"))
        current, has_received = [], False
    if has_received and len(blocks) < 10:
        blocks.append(email.parser.Parser(policy=email.policy.compat32).parsestr("\n".join(current) + "\n\n"))
    return blocks


def find_loop_signal(texts: list[str]) -> tuple[LoopSignal | None, str | None]:
    """The first (most specific) loop signal in `texts`, with the line it was found on."""
    for pattern, signal in _LOOP_PATTERNS:
        for text in texts:
            m = pattern.search(text)
            if m:
                start = text.rfind("\n", 0, m.start()) + 1
                end = text.find("\n", m.end())
                line = text[start : end if end >= 0 else len(text)].strip()
                return signal, line[:300]
    return None, None


def _report_kind(
    msg: Message, dsn: list[tuple[str, str]], has_dsn: bool, has_mdn: bool, subject: str, sender: str | None
) -> ReportKind:
    report_type = (msg.get_param("report-type") or "") if msg.get_content_type() == "multipart/report" else ""
    report_type = str(report_type).lower()
    if report_type == "disposition-notification" or has_mdn:
        return ReportKind.READ_RECEIPT
    if report_type == "delivery-status" or has_dsn:
        actions = [v.lower().split()[0] for k, v in dsn if k == "action" and v.strip()]
        if not actions or "failed" in actions:
            return ReportKind.NDR
        if "delayed" in actions:
            return ReportKind.DELAY
        if any(a in ("delivered", "relayed", "expanded") for a in actions):
            return ReportKind.DELIVERY_RECEIPT
        return ReportKind.NDR
    if _READ_SUBJECT.match(subject):
        return ReportKind.READ_RECEIPT
    if _DELIVERED_SUBJECT.match(subject):
        return ReportKind.DELIVERY_RECEIPT
    from_text = _header(msg, "From") or ""
    daemon = bool(_DAEMON_FROM.search(from_text[:512]))
    by_subject = report_kind_from_subject(subject)
    if by_subject in ("ndr", "delay") and (sender == "" or daemon or sender is None):
        return ReportKind.NDR if by_subject == "ndr" else ReportKind.DELAY
    if sender == "" and daemon:
        return ReportKind.NDR
    auto = (_header(msg, "Auto-Submitted") or "").lower()
    precedence = (_header(msg, "Precedence") or "").lower()
    if (
        auto.startswith("auto-replied")
        or msg.get("X-Autoreply") is not None
        or msg.get("X-Autorespond") is not None
        or precedence == "auto_reply"
        or by_subject == "auto-reply"
        or _AUTO_SUBJECT.search(subject[:512])
    ):
        return ReportKind.AUTO_REPLY
    return ReportKind.NONE


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


def _read(data: bytes, defects: list[str], location: Location | None, lines: tuple[int, ...]) -> MessageInfo:
    msg = _parse_bytes(data)
    if not msg.keys():
        defects.append("no-headers")
    defects.extend(sorted({type(d).__name__ for d in getattr(msg, "defects", [])})[:5])
    subject = _decode_words(_header(msg, "Subject") or "")[:MAX_SUBJECT] or None
    return_path = null_path(_header(msg, "Return-Path"))
    date = None
    date_text = _header(msg, "Date")
    if date_text:
        date, _ = parse_date(date_text)
    embedded: list[tuple[Hop, ...]] = []
    embedded_id: str | None = None
    dsn: list[tuple[str, str]] = []
    texts: list[str] = []
    has_dsn = has_mdn = False
    for part, inside in _walk(msg, defects):
        if part is msg and part.get_content_type() == "message/rfc822":
            continue  # a bare message/rfc822 top level is read as itself, below
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                embedded.append(_chain(inner, location))
                embedded_id = embedded_id or normalize_message_id(_header(inner, "Message-ID"))
        elif ctype == "text/rfc822-headers":
            inner = email.parser.Parser(policy=email.policy.compat32).parsestr(_text_of(part), headersonly=True)
            embedded.append(_chain(inner, location))
            embedded_id = embedded_id or normalize_message_id(_header(inner, "Message-ID"))
        elif inside:
            continue  # the returned original's own text is not the reporter's words
        elif ctype in ("message/delivery-status", "message/global-delivery-status"):
            has_dsn = True
            dsn.extend(_dsn_fields(part))
        elif ctype == "message/disposition-notification":
            has_mdn = True
        elif part.get_content_maintype() == "text":
            texts.append(_text_of(part))
    kind = _report_kind(msg, dsn, has_dsn, has_mdn, subject or "", return_path)
    if not embedded and (kind in (ReportKind.NDR, ReportKind.DELAY) or return_path == ""):
        # Text bounces (qmail, old sendmail, Domino) paste the original's headers into the body.
        for block in (b for text in texts for b in inline_header_blocks(text)):
            embedded.append(_chain(block, location))
            embedded_id = embedded_id or normalize_message_id(_header(block, "Message-ID"))
    delivered_to = tuple(a for a in (normalize_address(v) for v in _all(msg, "Delivered-To")) if a)
    signal, evidence = None, None
    # Twice is not yet a loop: one alias expanding to the same mailbox through two MTAs writes the
    # same Delivered-To twice and still delivers (seen in real bounces). A loop nobody stopped
    # repeats it again and again; Postfix itself stops at the first repeat with a bounce text.
    if delivered_to and max(Counter(delivered_to).values()) >= DELIVERED_TO_LOOP:
        signal, evidence = LoopSignal.FORWARDING_LOOP, "Delivered-To repeats: " + ", ".join(delivered_to)[:280]
    elif kind in (ReportKind.NDR, ReportKind.DELAY) or return_path == "":
        diag = [v for k, v in dsn if k in ("diagnostic-code", "status")]
        signal, evidence = find_loop_signal(["\n".join(diag), subject or "", *texts])
    failed = failed_recipient(texts) if signal is not None else None
    x_mailer = _header(msg, "X-Mailer")
    received = _chain(msg, location, lines)
    software, build = build_from_text(x_mailer)
    if build is None:
        for hop in received:
            if hop.build:
                software, build = build_from_text(hop.software)
                break
    kept = tuple(
        (k.lower(), unfold(hstr(v)).strip()[:1000])
        for k, v in msg.items()
        if k.lower() in KEPT_HEADERS or (k.lower().startswith("x-ms-exchange-") and k.lower().endswith("-loop"))
    )
    in_reply = _header(msg, "In-Reply-To")
    in_reply_id = None
    if in_reply:
        m = _ANGLE_ADDR.search(in_reply)
        in_reply_id = normalize_message_id(m.group(1) if m else in_reply)
    return MessageInfo(
        message_id=normalize_message_id(_header(msg, "Message-ID")),
        subject=subject,
        from_addr=(_addresses(_all(msg, "From")) or (None,))[0],
        to_addrs=_addresses(_all(msg, "To")),
        date=date,
        return_path=return_path,
        received=received,
        embedded_received=tuple(embedded),
        embedded_message_id=embedded_id,
        in_reply_to=in_reply_id,
        report_kind=kind,
        dsn=tuple(dsn),
        dsn_status=next((v.split()[0] for k, v in dsn if k == "status" and v.strip()), None),
        dsn_action=next((v.split()[0].lower() for k, v in dsn if k == "action" and v.strip()), None),
        loop_signal=signal,
        loop_evidence=evidence,
        failed_recipient=failed,
        return_receipt_to=_header(msg, "Return-Receipt-To"),
        disposition_notification_to=_header(msg, "Disposition-Notification-To"),
        auto_submitted=_header(msg, "Auto-Submitted"),
        delivered_to=delivered_to,
        x_original_to=tuple(a for a in (normalize_address(v) for v in _all(msg, "X-Original-To")) if a),
        x_mailer=x_mailer,
        software=software,
        build=build,
        headers=kept,
        size=len(data),
        defects=tuple(dict.fromkeys(defects)),
    )


DELIVERED_TO_LOOP = 3
"""How often one address must stand in Delivered-To before the message itself shows a forwarding loop."""


def message_event(info: MessageInfo, location: Location, source: str, **overrides: Any) -> Event:
    """An Event for one message; keyword `overrides` replace any field (server, direction, sender, ...)."""
    newest = info.received[0] if info.received else None
    time = next((h.date for h in info.received if h.date is not None), None) or info.date
    recipients = info.delivered_to or info.x_original_to or info.to_addrs
    about = info.embedded_message_id
    if about is None and info.report_kind.is_report:
        about = info.in_reply_to
    summary = f"message {info.message_id or '(no Message-ID)'}"
    if info.subject:
        summary += f" subject {info.subject[:120]!r}"
    event = Event(
        location=location,
        source=source,
        text=summary,
        time=time,
        time_quality=TimeQuality.EXACT if time is not None else TimeQuality.NONE,
        peer_host=newest.from_host if newest else None,
        peer_ip=newest.from_ip if newest else None,
        helo=newest.from_helo if newest else None,
        sender=info.return_path,
        recipients=recipients,
        message_id=info.message_id,
        about_id=about,
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
        if "." in domain and _DAEMON_FROM.search(local):
            out.append(("report-from-domain", domain.rstrip(".")))
    if info.failed_recipient:
        out.append(("failed-recipient", info.failed_recipient))
    if info.loop_evidence:
        out.append(("loop-evidence", info.loop_evidence))
    return tuple(out)


_FAILED = re.compile(
    r"(?:delivery (?:has )?failed|delivery to the following recipients? failed(?: permanently)?|"
    r"following (?:recipients?|address(?:es)?) (?:returned permanent errors|failed|had permanent fatal errors)|"
    r"error-for|failed recipients?|unable to deliver (?:your message )?to)\s*:?\s*(?:\r?\n\s*)?<?"
    r"(?P<addr>[\w.+=-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8})",
    re.IGNORECASE,
)


def failed_recipient(texts: list[str]) -> str | None:
    """The recipient a human-readable bounce says failed, for bounces that carry no DSN part (Exchange
    Online's `Delivery failed: x`, Google's `permanent errors: x`, LSMTP's `Error-for: x`)."""
    for text in texts:
        m = _FAILED.search(text[:20000])
        if m:
            return m.group("addr").lower().rstrip(".")
    return None
