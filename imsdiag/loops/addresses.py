"""Which address a loop report is about: the envelope recipient of a bounce is the wrong one."""

from __future__ import annotations

import re

from ..models import Event, Source

MESSAGE_SOURCES = frozenset({Source.MESSAGE, Source.MBOX, Source.IMS_ARCHIVE})
BOUNCE_SOURCES = frozenset({Source.MESSAGE, Source.MBOX})
"""Mail received from elsewhere: its own Received lines are its transport, not the loop."""
_ADDRESS = re.compile(r"[\w.+=-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")


def looped_address(ev: Event) -> str:
    """The address a loop report is about.

    A log line names it as its recipient. A bounce goes back to the original sender, so its
    envelope recipient is the wrong key there: the DSN's Final-Recipient, or the address the loop
    text names (`mail forwarding loop for alice@example.org`), is the one that looped.
    """
    headers = dict(ev.headers)
    if ev.source in MESSAGE_SOURCES:
        for key in ("final-recipient", "original-recipient", "failed-recipient"):
            if headers.get(key):
                return headers[key]
        own = {a.lower() for a in ev.recipients} | {(ev.sender or "").lower()}
        found = _address_after_for(headers.get("loop-evidence")) or _other_address(headers.get("loop-evidence"), own)
        if found:
            return found
        if ev.report_kind.is_report:
            # The returned original's newest `for` clause names whom it was being delivered to.
            for chain in ev.embedded_received:
                for hop in chain:
                    if hop.for_addr and hop.for_addr.lower() not in own:
                        return hop.for_addr.lower()
    if ev.recipients:
        return ev.recipients[0]
    return _address_after_for(ev.text) or ""


def _other_address(text: str | None, own: set[str]) -> str | None:
    """The first address in a loop text that is not the bounce's own recipient or sender."""
    if not text:
        return None
    for m in _ADDRESS.finditer(text[:1000]):
        addr = m.group(0).lower().rstrip(".")
        if addr not in own:
            return addr
    return None


def _address_after_for(text: str | None) -> str | None:
    if not text or " for " not in text:
        return None
    m = _ADDRESS.search(text.split(" for ", 1)[1][:400])
    return m.group(0).lower() if m else None
