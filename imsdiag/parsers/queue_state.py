"""What an MTA log has said so far about one open queue id: the facts Postfix, Sendmail and Exim stitch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import Event, ReportKind
from .common import evolve


@dataclass(slots=True)  # up to common.MAX_OPEN of these live at once: no per-instance dict
class QueueState:
    """The facts of one message an MTA logs on several lines; each MTA's handler adds its own."""

    last_seen: datetime | None = None
    sender: str | None = None
    size: int | None = None
    message_id: str | None = None
    about_id: str | None = None
    """For a bounce the MTA created: the id of the message it reports on."""
    report_kind: ReportKind = ReportKind.NONE
    client_host: str | None = None
    """Who handed the message over (Postfix `client=`, Sendmail `relay=` of `from=`, Exim `H=` of `<=`)."""
    client_ip: str | None = None

    def stamp(self, base: Event, **changes: object) -> Event:
        """`base` with the stitched facts and `changes` applied, in one copy."""
        facts: dict[str, object] = {
            "sender": self.sender,
            "message_id": self.message_id,
            "size": self.size,
            "about_id": self.about_id,
            "report_kind": self.report_kind,
        }
        facts.update(changes)
        return evolve(base, **facts)
