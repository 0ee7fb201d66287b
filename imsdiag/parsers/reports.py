"""What kind of report a message is (NDR, delay, read or delivery receipt, auto-reply), and its DSN fields."""

from __future__ import annotations

import email.parser
import email.policy
import re
from email.message import Message

from ..models import ReportKind
from ..names import report_kind_from_subject
from .mime_text import MAX_TEXT_SCAN, header_value, hstr
from .received import unfold

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
DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
MDN_TYPE = "message/disposition-notification"

_DAEMON_FROM = re.compile(r"(?i)\b(?:mailer-daemon|postmaster|mail delivery (?:system|subsystem))\b")
_AUTO_SUBJECT = re.compile(
    r"(?i)^\s*(?:out of (?:the )?office|auto(?:matic)?[ -]?(?:reply|response|antwort)|autoreply|"
    r"vacation|abwesenheitsnotiz|absence)\b|\bon vacation\b|\bout of (?:the )?office\b"
)
_READ_SUBJECT = re.compile(r"(?i)^\s*(?:read|not read)\s*:")
_DELIVERED_SUBJECT = re.compile(r"(?i)^\s*delivered\s*:")


def is_daemon(text: str) -> bool:
    """Whether `text` (a From header, an address's local part) names a mailer daemon or postmaster."""
    return bool(_DAEMON_FROM.search(text))


def dsn_fields(part: Message) -> list[tuple[str, str]]:
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


def report_kind(
    msg: Message, dsn: list[tuple[str, str]], has_dsn: bool, has_mdn: bool, subject: str, sender: str | None
) -> ReportKind:
    """The report a message is: by its MIME report parts first, then by subject, sender and auto-reply marks."""
    structured = _structured_kind(msg, dsn, has_dsn, has_mdn)
    if structured is not None:
        return structured
    if _READ_SUBJECT.match(subject):
        return ReportKind.READ_RECEIPT
    if _DELIVERED_SUBJECT.match(subject):
        return ReportKind.DELIVERY_RECEIPT
    daemon = is_daemon((header_value(msg, "From") or "")[:512])
    by_subject = report_kind_from_subject(subject)
    if by_subject in ("ndr", "delay") and (sender == "" or daemon or sender is None):
        return ReportKind.NDR if by_subject == "ndr" else ReportKind.DELAY
    if sender == "" and daemon:
        return ReportKind.NDR
    return ReportKind.AUTO_REPLY if _is_auto_reply(msg, subject, by_subject) else ReportKind.NONE


def _structured_kind(msg: Message, dsn: list[tuple[str, str]], has_dsn: bool, has_mdn: bool) -> ReportKind | None:
    """The kind a multipart/report's report-type or its DSN/MDN part states, or None when it has neither."""
    report_type = (msg.get_param("report-type") or "") if msg.get_content_type() == "multipart/report" else ""
    report_type = str(report_type).lower()
    if report_type == "disposition-notification" or has_mdn:
        return ReportKind.READ_RECEIPT
    if report_type == "delivery-status" or has_dsn:
        return _dsn_kind(dsn)
    return None


def _dsn_kind(dsn: list[tuple[str, str]]) -> ReportKind:
    """A DSN's kind by its recipients' actions: one failure makes it an NDR, so does no action at all."""
    actions = [v.lower().split()[0] for k, v in dsn if k == "action" and v.strip()]
    if not actions or "failed" in actions:
        return ReportKind.NDR
    if "delayed" in actions:
        return ReportKind.DELAY
    if any(a in ("delivered", "relayed", "expanded") for a in actions):
        return ReportKind.DELIVERY_RECEIPT
    return ReportKind.NDR


def _is_auto_reply(msg: Message, subject: str, by_subject: str | None) -> bool:
    """Auto-Submitted: auto-replied, the X-Autoreply family, Precedence: auto_reply, or an out-of-office subject."""
    auto = (header_value(msg, "Auto-Submitted") or "").lower()
    precedence = (header_value(msg, "Precedence") or "").lower()
    return bool(
        auto.startswith("auto-replied")
        or msg.get("X-Autoreply") is not None
        or msg.get("X-Autorespond") is not None
        or precedence == "auto_reply"
        or by_subject == "auto-reply"
        or _AUTO_SUBJECT.search(subject[:512])
    )
