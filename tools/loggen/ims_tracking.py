"""Writer for the Exchange 5.x message tracking log (Tracking.log\\yyyymmdd.log): GMT, tab-separated, CRLF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .common import fmt_tracking

EVENT_NAMES = {
    1000: "Local Delivery",
    1010: "SMTP Queued Outbound",
    1011: "SMTP Transferred Outbound",
    1012: "SMTP Received Inbound",
    1013: "SMTP Transferred Inbound",
    1015: "SMTP Report Transferred In",
    1016: "SMTP Report Transferred Out",
    1017: "SMTP Report Generated",
}


@dataclass(frozen=True)
class TrackingRecord:
    """One tracking entry: 13 fields, then one line per recipient (with a report status for reports)."""

    mts_id: str
    event: int
    time_gmt: datetime
    gateway: str
    partner: str
    remote_id: str
    originator: str
    length: int
    report_mts_id: str
    recipients: tuple[str, ...]
    report_status: int | None = None

    def lines(self) -> list[str]:
        fields = [
            self.mts_id,
            str(self.event),
            fmt_tracking(self.time_gmt),
            self.gateway,
            self.partner,
            self.remote_id,
            self.originator,
            "0",
            str(self.length),
            "0",
            "1",
            self.report_mts_id,
            str(len(self.recipients)),
        ]
        out = ["\t".join(fields)]
        for rcpt in self.recipients:
            out.append(f"\t{rcpt}" if self.report_status is None else f"\t{rcpt}\t{self.report_status}")
        return out


def gateway_dn(org: str, site: str, short: str) -> str:
    """The IMS connector DN written in field 4."""
    return f"/o={org}/ou={site}/cn=Configuration/cn=Connections/cn=Internet Mail Service ({short})"


def mdb_dn(org: str, site: str, short: str) -> str:
    """The private information store DN (partner of a local delivery)."""
    return f"/o={org}/ou={site}/cn=Configuration/cn=Servers/cn={short}/cn=Microsoft Private MDB"
