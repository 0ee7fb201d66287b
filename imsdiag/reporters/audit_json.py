"""`audit --format json`: a versioned document (schema: docs/schema/audit-v1.schema.json)."""

from __future__ import annotations

from typing import Any, ClassVar, TextIO

from ..audit.records import UserVerdict, Verdict
from ..audit.summary import AuditResult, ImsSummary
from ..jsontext import dumps
from .base import Reporter
from .records import tool_dict

AUDIT_SCHEMA_VERSION = 1


def user_dict(v: UserVerdict) -> dict[str, Any]:
    mb = v.mailbox
    primary = mb.primary
    return {
        "mailbox": mb.mailbox,
        "display_name": mb.display_name,
        "primary": primary.address if primary else None,
        "proxies": [p.raw for p in mb.proxies],
        "home_server": mb.home_server,
        "site": mb.site,
        "site_source": mb.site_source,
        "verdict": v.verdict.value,
        "code": v.code,
        "reason": v.reason,
        "route": {"domain": v.route.domain, "hosts": list(v.route.hosts), "how": v.route.how} if v.route else None,
        "ims": {"host": v.ims.host, "server": v.ims.server, "site": v.ims.site, "build": v.ims.build}
        if v.ims
        else None,
        "site_proxy": v.site_proxy,
        "looping_passes": v.looping,
        "path": mb.location.path,
        "line": mb.location.line,
        "format": mb.export_format,
    }


def ims_dict(s: ImsSummary) -> dict[str, Any]:
    return {
        "host": s.host,
        "server": s.server,
        "site": s.site,
        "build": s.build,
        "build_source": s.build_source,
        "status": s.status,
        "fixed_build": s.fixed_build,
        "routed": s.routed,
        "at_risk": s.at_risk,
    }


def audit_document(result: AuditResult, version: str = "") -> dict[str, Any]:
    """The whole JSON document; every string from an input is kept as read (the JSON escaping makes it safe)."""
    first = result.patch_first
    return {
        "version": AUDIT_SCHEMA_VERSION,
        "tool": tool_dict(version),
        "summary": {
            "users": len(result.verdicts),
            "at_risk": result.count(Verdict.AT_RISK),
            "safe": result.count(Verdict.SAFE),
            "unknown": result.count(Verdict.UNKNOWN),
            "skipped": sum(n for f in result.files for _, n in f.skipped),
            "patch_first": first.host if first else None,
            "fixed_builds": dict(result.fixed_builds),
        },
        "fix": result.fix,
        "workaround": result.workaround,
        "users": [user_dict(v) for v in result.verdicts],
        "sites": [
            {"site": s.site, "users": s.users, "at_risk": s.at_risk, "safe": s.safe, "unknown": s.unknown}
            for s in result.sites
        ],
        "ims": [ims_dict(s) for s in result.ims],
        "inputs": {
            "exports": [
                {
                    "path": f.path,
                    "format": f.format,
                    "rows": f.rows,
                    "mailboxes": f.mailboxes,
                    "skipped": {cls: n for cls, n in f.skipped},
                }
                for f in result.files
            ],
            "zones": list(result.zones),
            "logs": list(result.logs),
        },
        "parse_issues": {
            "total": result.issue_total,
            "counts": dict(result.issue_counts),
            "examples": [
                {
                    "path": i.location.path,
                    "line": i.location.line,
                    "code": i.code,
                    "message": i.message,
                    "excerpt": i.excerpt,
                }
                for i in result.issues
            ],
        },
        "notes": list(result.notes),
    }


class AuditJsonReporter(Reporter[AuditResult]):
    name: ClassVar[str] = "json"
    description: ClassVar[str] = "versioned JSON document (docs/schema/audit-v1.schema.json)"

    def report(self, result: AuditResult, out: TextIO) -> None:
        out.write(dumps(audit_document(result, self.options.tool_version)) + "\n")
