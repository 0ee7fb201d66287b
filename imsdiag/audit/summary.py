"""The audit's result: the verdicts, and the summaries per site and per IMS with the fix and the workaround."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..models import ParseIssue
from ..rules.ims import FIXED_BUILDS, build_status
from .check import fixed_build
from .records import ExportFile, Ims, UserVerdict, Verdict

FIX = (
    "Exchange 5.5: Service Pack 1 or later (KB Q242221; fixed from IMS build 5.5.2186.0, KB Q189270). "
    "Exchange 5.0: the Post-SP2 IMS hotfix (KB Q178436; IMC build 5.0.1461.6 or later). Before installing, "
    "check the Exchange 4.0 IMCs of other sites: fixed builds encapsulate the RFC 821 recipient in delivery "
    "receipts, which a 4.0 IMC cannot decode (event 4082; Msexcimc.exe 4.0.997.1 or later, KB Q189270)."
)
WORKAROUND = (
    "Until the fix is in (imsdiag's own advice, not in the KB, untested): make each at-risk user's site-specific "
    "proxy the reply address (Set as Reply Address, KB Q164843), so delivery receipts go to the domain of the "
    "user's own site. It changes the From address the user's Internet correspondents see; set it back after the fix."
)
ISSUE_EXAMPLES = 20


@dataclass(frozen=True)
class SiteSummary:
    site: str
    users: int
    at_risk: int
    safe: int
    unknown: int


@dataclass(frozen=True)
class ImsSummary:
    """One IMS that primary domains route to: its build, whether it has the fix, and the users at risk through it."""

    host: str
    server: str
    site: str | None
    build: str | None
    build_source: str
    status: str
    """`5.5.1960.3 = Exchange 5.5 (no service pack), needs 5.5.2186.0`, or `build not known`."""
    fixed_build: str | None
    routed: int
    """Users whose primary SMTP domain routes here."""
    at_risk: int


@dataclass(frozen=True)
class AuditResult:
    """Everything the audit reporters render; they only render it."""

    verdicts: tuple[UserVerdict, ...]
    files: tuple[ExportFile, ...]
    zones: tuple[str, ...]
    logs: tuple[str, ...]
    issues: tuple[ParseIssue, ...]
    """Up to ISSUE_EXAMPLES per code, in input order."""
    issue_counts: tuple[tuple[str, int], ...]
    sites: tuple[SiteSummary, ...]
    ims: tuple[ImsSummary, ...]
    """Most users at risk first: the first one with any is the IMS to patch first."""
    fix: str = FIX
    workaround: str = WORKAROUND
    fixed_builds: tuple[tuple[str, str], ...] = tuple(
        (f"{v[0]}.{v[1]}", f"{v[0]}.{v[1]}.{b[0]}.{b[1]}") for v, b in sorted(FIXED_BUILDS.items())
    )
    """(version, first fixed IMS build) for each Exchange version the bug is in (KB Q189270)."""
    notes: tuple[str, ...] = field(default=())

    def count(self, verdict: Verdict) -> int:
        return sum(1 for v in self.verdicts if v.verdict is verdict)

    @property
    def patch_first(self) -> ImsSummary | None:
        return self.ims[0] if self.ims and self.ims[0].at_risk else None

    @property
    def issue_total(self) -> int:
        return sum(n for _, n in self.issue_counts)


def summarise(
    verdicts: Sequence[UserVerdict],
    files: Sequence[ExportFile],
    issues: Sequence[ParseIssue],
    zones: Sequence[str] = (),
    logs: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> AuditResult:
    counts = Counter(i.code for i in issues)
    shown: Counter[str] = Counter()
    examples = []
    for issue in issues:
        shown[issue.code] += 1
        if shown[issue.code] <= ISSUE_EXAMPLES:
            examples.append(issue)
    return AuditResult(
        verdicts=tuple(verdicts),
        files=tuple(files),
        zones=tuple(zones),
        logs=tuple(logs),
        issues=tuple(examples),
        issue_counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        sites=_sites(verdicts),
        ims=_ims(verdicts),
        notes=tuple(notes),
    )


def _sites(verdicts: Sequence[UserVerdict]) -> tuple[SiteSummary, ...]:
    by_site: dict[str, Counter[Verdict]] = {}
    names: dict[str, str] = {}
    for v in verdicts:
        site = v.mailbox.site
        key = site.casefold() if site else ""
        names.setdefault(key, site or "(unknown)")
        by_site.setdefault(key, Counter())[v.verdict] += 1
    rows = [
        SiteSummary(names[k], sum(c.values()), c[Verdict.AT_RISK], c[Verdict.SAFE], c[Verdict.UNKNOWN])
        for k, c in by_site.items()
    ]
    return tuple(sorted(rows, key=lambda s: (-s.at_risk, s.site == "(unknown)", s.site.casefold())))


def _ims(verdicts: Sequence[UserVerdict]) -> tuple[ImsSummary, ...]:
    routed: Counter[str] = Counter()
    at_risk: Counter[str] = Counter()
    facts: dict[str, Ims] = {}
    for v in verdicts:
        if v.ims is None:
            continue
        key = v.ims.server
        facts.setdefault(key, v.ims)
        routed[key] += 1
        if v.verdict is Verdict.AT_RISK:
            at_risk[key] += 1
    rows = []
    for key, ims in facts.items():
        status = build_status(ims.build)[0] if ims.build else "build not known"
        rows.append(
            ImsSummary(
                host=ims.host,
                server=ims.server,
                site=ims.site,
                build=ims.build,
                build_source=ims.build_source,
                status=status,
                fixed_build=fixed_build(ims.build) if ims.build else None,
                routed=routed[key],
                at_risk=at_risk[key],
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.at_risk, -r.routed, r.server)))
