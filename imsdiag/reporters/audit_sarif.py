"""`audit --format sarif`: a result per user at risk (error) or unknown (warning), located at the export line."""

from __future__ import annotations

from typing import Any, ClassVar, TextIO

from ..audit.records import UserVerdict, Verdict
from ..audit.summary import AuditResult
from ..jsontext import clean_text, dumps
from .base import Reporter
from .sarif import artifact_uri, sarif_log

RULES = (
    {
        "id": "Q178436",
        "name": "ims-receipt-loop-risk",
        "shortDescription": {"text": "Mailbox a KB Q178436 delivery-receipt loop will hit"},
        "fullDescription": {
            "text": "Two or more SMTP proxies; the primary one's domain routes to an Exchange 5.0/5.5 IMS in another "
            "site than the mailbox's home, whose build is below the fix (5.5.2186.0, 5.0.1461.6); a site-specific "
            "proxy exists."
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"references": ["Q178436", "Q189270", "Q242221", "Q164843"]},
    },
    {
        "id": "Q178436-unknown",
        "name": "ims-receipt-loop-unknown",
        "shortDescription": {"text": "Mailbox whose KB Q178436 risk the facts given cannot decide"},
        "fullDescription": {
            "text": "A route, a site or an IMS build is missing: give --zone/--mx, --site, --ims or --logs."
        },
        "defaultConfiguration": {"level": "warning"},
    },
)


def _result(v: UserVerdict) -> dict[str, Any]:
    at_risk = v.verdict is Verdict.AT_RISK
    mb = v.mailbox
    location: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(mb.location.path)}}
    if mb.location.line >= 1:
        location["region"] = {"startLine": mb.location.line}
    return {
        "ruleId": RULES[0]["id"] if at_risk else RULES[1]["id"],
        "ruleIndex": 0 if at_risk else 1,
        "level": "error" if at_risk else "warning",
        "message": {"text": clean_text(f"{mb.mailbox}: {v.reason}")},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"imsdiagAudit/v1": clean_text(f"{v.code}:{mb.mailbox.lower()}")},
        "properties": {
            "mailbox": clean_text(mb.mailbox),
            "code": v.code,
            "primary": clean_text(mb.primary.address if mb.primary else ""),
            "site": clean_text(mb.site or ""),
            "ims": clean_text(v.ims.server if v.ims else ""),
        },
    }


class AuditSarifReporter(Reporter[AuditResult]):
    name: ClassVar[str] = "sarif"
    description: ClassVar[str] = "SARIF 2.1.0, each user at risk or unknown at its export file and line"

    def report(self, result: AuditResult, out: TextIO) -> None:
        notes = [
            {"level": "warning", "message": {"text": f"{n} parse issue(s) {code}"}, "descriptor": {"id": code}}
            for code, n in result.issue_counts
        ]
        invocation: dict[str, Any] = {"executionSuccessful": True}
        if notes:
            invocation["toolExecutionNotifications"] = notes
        results = [_result(v) for v in result.verdicts if v.verdict is not Verdict.SAFE]
        doc = sarif_log(self.options.tool_version, list(RULES), invocation, results)
        out.write(dumps(doc) + "\n")
