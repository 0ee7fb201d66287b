"""Normalisation of host names, addresses, Message-IDs and report subjects, so that joins match."""

from __future__ import annotations

import re

_SUBJECT_PREFIX = re.compile(
    r"\s*(?:"
    r"re|fw|fwd|aw|wg|sv|vs|tr|"  # replies and forwards, several languages
    r"delivered|read|not read|undeliverable|undelivered|delivery status notification(?: \([a-z ]+\))?|"
    r"returned mail|mail delivery failed|delivery failure|failure notice|non[- ]?delivery|"
    r"auto(?:matic)? ?reply|autoreply|out of office|abwesenheitsnotiz|"
    r"warning|delayed mail|delivery delayed"
    r")\s*(?:\[\d+\])?\s*:\s*",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def normalize_host(host: str | None) -> str | None:
    """Lower-case a host name, drop a trailing dot and address-literal brackets; None stays None."""
    if host is None:
        return None
    h = host.strip().strip("[]").rstrip(".").lower()
    if h.startswith("ipv6:"):
        h = h[5:]
    return h or None


def normalize_address(addr: str | None) -> str | None:
    """Strip angle brackets, quotes and spaces from an envelope address; `<>` becomes `""`.

    Local parts are case-sensitive by RFC 5321, but every MTA this tool reads treats them
    case-insensitively in practice, and joins across logs need one spelling.
    """
    if addr is None:
        return None
    a = addr.strip()
    if a.startswith("<") and ">" in a:
        a = a[1 : a.index(">")]
    a = a.strip().strip('"').strip("'").strip()
    return a.lower()


def normalize_message_id(mid: str | None) -> str | None:
    """Message-ID without angle brackets or surrounding space; None for an empty one."""
    if mid is None:
        return None
    m = mid.strip()
    if m.startswith("<"):
        m = m[1:]
    if m.endswith(">"):
        m = m[:-1]
    m = m.strip()
    return m or None


def subject_stem(subject: str | None) -> str | None:
    """The subject with report and reply prefixes removed, spaces folded, lower-cased.

    `Delivered: RE: Budget` and `Delivered: Budget` share the stem `budget`, so every pass
    of a looping receipt lands in the same group whatever prefixes were stacked on it.
    """
    if subject is None:
        return None
    s = subject.strip().strip('"').strip()
    # Walk over the stacked prefixes by position: re-slicing the string once per prefix would make
    # a hostile subject of many thousand `Re:` quadratic.
    pos = 0
    while (m := _SUBJECT_PREFIX.match(s, pos)) is not None and m.end() > pos:
        pos = m.end()
    return _SPACES.sub(" ", s[pos:]).strip().lower()


def domain_of(addr: str | None) -> str | None:
    """The domain part of an address, lower-cased."""
    if not addr or "@" not in addr:
        return None
    return addr.rsplit("@", 1)[1].strip(">").lower() or None


_REPORT_SUBJECTS = (
    ("delivered:", "delivery-receipt"),
    ("read:", "read-receipt"),
    ("not read:", "read-receipt"),
    ("undeliverable:", "ndr"),
    ("undelivered mail", "ndr"),  # Postfix's "... returned to sender", LSMTP's bare "Undelivered mail"
    ("delivery status notification (failure)", "ndr"),
    ("delivery status notification (delay)", "delay"),
    ("delivery status notification (success)", "delivery-receipt"),
    ("returned mail:", "ndr"),
    ("mail delivery failed", "ndr"),
    ("failure notice", "ndr"),
    ("nondeliverable mail", "ndr"),
    ("delivery failure", "ndr"),
    ("warning: could not send message", "delay"),
    ("delayed mail", "delay"),
    ("out of office", "auto-reply"),
    ("auto reply:", "auto-reply"),
    ("autoreply:", "auto-reply"),
    ("automatic reply:", "auto-reply"),
)


def report_kind_from_subject(subject: str | None) -> str | None:
    """The report kind a subject line announces (`Delivered: x` -> `delivery-receipt`), else None.

    Returns the ReportKind value as a string so that this module stays free of model imports.
    """
    if not subject:
        return None
    s = subject.strip().strip('"').lower()
    for prefix, kind in _REPORT_SUBJECTS:
        if s.startswith(prefix):
            return kind
    return None
