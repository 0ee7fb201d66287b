"""Writer for RFC 3464 bounce messages (.eml, CRLF): multipart/report with the returned original."""

from __future__ import annotations

from dataclasses import dataclass

from .common import CRLF, LF


@dataclass(frozen=True)
class Bounce:
    """What a DSN says: who reports, about which recipient, why, and what it returns."""

    reporting_mta: str
    from_addr: str
    to_addr: str
    subject: str
    date: str
    message_id: str
    boundary: str
    human_text: str
    final_recipient: str
    original_recipient: str
    status: str
    diagnostic: str
    arrival_date: str
    returned: str
    """The returned original (CRLF text); headers only when `headers_only`."""
    headers_only: bool = False
    remote_mta: str = ""
    extra_headers: tuple[tuple[str, str], ...] = ()


def render(b: Bounce) -> str:
    """The full bounce message text with CRLF line ends."""
    returned_type = "text/rfc822-headers" if b.headers_only else "message/rfc822"
    head = [
        "Return-Path: <>",
        *(f"{k}: {v}" for k, v in b.extra_headers),
        f"Date: {b.date}",
        f"From: {b.from_addr}",
        f"To: {b.to_addr}",
        f"Subject: {b.subject}",
        f"Message-ID: {b.message_id}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status;{LF}\tboundary="{b.boundary}"',
        "Content-Transfer-Encoding: 7bit",
    ]
    status = [
        f"Reporting-MTA: dns; {b.reporting_mta}",
        f"Arrival-Date: {b.arrival_date}",
        "",
        f"Final-Recipient: rfc822; {b.final_recipient}",
        f"Original-Recipient: rfc822; {b.original_recipient}",
        "Action: failed",
        f"Status: {b.status}",
    ]
    if b.remote_mta:
        status.append(f"Remote-MTA: dns; {b.remote_mta}")
    status.append(f"Diagnostic-Code: {b.diagnostic}")
    parts = [
        LF.join(head),
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{b.boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        b.human_text,
        "",
        f"--{b.boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        LF.join(status),
        "",
        f"--{b.boundary}",
        f"Content-Description: {'Undelivered Message Headers' if b.headers_only else 'Undelivered Message'}",
        f"Content-Type: {returned_type}",
        "",
        b.returned.replace(CRLF, LF).rstrip(LF),
        "",
        f"--{b.boundary}--",
        "",
    ]
    return LF.join(parts).replace(LF, CRLF)
