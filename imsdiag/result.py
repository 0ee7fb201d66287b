"""The finished result of a scan, handed to reporters: findings, parse issues, per-file and per-server facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .models import Finding, ParseIssue, Severity
from .policy import in_order
from .ruleinfo import RuleInfo

SCHEMA_VERSION = 1
"""Version of the JSON document; bumped on any incompatible change."""


@dataclass(frozen=True)
class FileStat:
    """What one input file gave."""

    path: str
    format: str | None
    """Parser name, or None when the file was skipped."""
    server: str | None = None
    compression: str | None = None
    bytes: int = 0
    lines: int = 0
    events: int = 0
    issues: int = 0
    skipped_reason: str | None = None


@dataclass(frozen=True)
class ServerInfo:
    """A server whose logs were read, how its name was found, and the builds it showed."""

    name: str
    name_source: str
    """`banner`, `content`, `path` or `option`."""
    builds: tuple[str, ...] = ()
    software: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormatStat:
    """Totals per input format."""

    format: str
    files: int
    lines: int
    events: int
    issues: int


@dataclass(frozen=True)
class ScanContext:
    """Decisions a scan made that `explain` repeats: machine names, clock offsets, the year of year-less stamps."""

    names: tuple[tuple[str, str], ...] = ()
    """(name, machine) for every name whose machine is known by another name."""
    not_hosts: tuple[str, ...] = ()
    """Names that are mail domains, not machines."""
    offsets: tuple[tuple[str, float], ...] = ()
    """(machine, seconds) inferred for zone-less local stamps: UTC = local - offset."""
    year: int | None = None
    """The year given to most year-less logs, when the scan chose one from the other logs."""
    file_years: tuple[tuple[str, int], ...] = ()
    """(file, year) for every year-less log the scan dated from the other logs."""
    year_shifts: tuple[tuple[str, int], ...] = ()
    """(path, years) for every year-less log whose events were moved after reading, under its shown and its
    absolute path: the index holds them as read, and explain moves them the same way."""

    def year_of(self, path: str) -> int | None:
        return dict(self.file_years).get(path, self.year)


@dataclass(frozen=True)
class ScanResult:
    """Everything a reporter needs; reporters only render it."""

    findings: tuple[Finding, ...]
    issues: tuple[ParseIssue, ...]
    """Examples of parse issues: up to ISSUE_EXAMPLES per code, in input order."""
    issue_counts: tuple[tuple[str, int], ...]
    """(code, count) for every parse-issue code seen, most frequent first."""
    files: tuple[FileStat, ...]
    servers: tuple[ServerInfo, ...]
    formats: tuple[FormatStat, ...]
    bytes_read: int = 0
    lines_read: int = 0
    events: int = 0
    seconds: float = 0.0
    suppressed: int = 0
    """Findings hidden by a baseline."""
    filtered: int = 0
    """Findings of rules left out by --select/--ignore (--since/--until drop events, not findings)."""
    notes: tuple[str, ...] = field(default=())
    first_time: datetime | None = None
    """Earliest event time in the input (after --since/--until)."""
    last_time: datetime | None = None
    host_joins: tuple[tuple[str, str, str], ...] = ()
    """The host map: (name, joined to, the evidence) for every join, in the order they were made."""
    context: ScanContext = field(default_factory=ScanContext)
    """What explain needs to see the same machines on the same clock as this scan."""
    known: tuple[Finding, ...] = ()
    """The findings the baseline hid (`policy.Shown.known`): still found, so `--write-baseline` records them."""
    rules: tuple[RuleInfo, ...] = ()
    """Every rule's metadata, sorted by id, for the reports that describe the rules (SARIF, JUnit)."""

    def __post_init__(self) -> None:
        # The one finding order (policy.finding_order), set where a result is made so no reporter re-sorts.
        object.__setattr__(self, "findings", in_order(self.findings))

    @property
    def found(self) -> tuple[Finding, ...]:
        """Every finding of the chosen rules, the ones the baseline hid included."""
        return self.findings + self.known

    @property
    def issue_total(self) -> int:
        return sum(n for _, n in self.issue_counts)

    @property
    def files_read(self) -> int:
        return sum(1 for f in self.files if f.format is not None)

    @property
    def files_skipped(self) -> int:
        return sum(1 for f in self.files if f.format is None)

    def max_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)


ISSUE_EXAMPLES = 20
