"""`audit()`: exports, zones and logs in; an AuditResult out. The command and library users call this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..errors import InputError
from ..models import ParseIssue
from ..settings import ScanSettings
from ..textsafe import safe_text
from .builds import ImsTable
from .check import Checker
from .exports import Exports, read_exports
from .records import Mailbox, ZoneRecord
from .routing import Routes
from .summary import AuditResult, summarise
from .zonefile import read_zone


@dataclass(frozen=True)
class AuditSettings:
    """Everything an audit reads: exports, routing facts, IMS facts, and logs to learn builds from."""

    exports: tuple[str, ...]
    zones: tuple[str, ...] = ()
    mx: tuple[tuple[str, str], ...] = ()
    """(DOMAIN, HOST) from `--mx`: win over the zone files."""
    ims: tuple[tuple[str, str], ...] = ()
    """(HOST, BUILD) from `--ims`: win over the logs."""
    sites: tuple[tuple[str, str], ...] = ()
    """(SERVER, SITE) from `--site`: win over the export."""
    logs: tuple[str, ...] = ()
    separator: str | None = None
    """Between the values of a multi-valued field; None: `%` for the Administrator's export, `;` for PowerShell's."""
    scan: ScanSettings | None = None
    """How to read `logs` (zones, aliases); None reads them with the defaults."""


def audit(settings: AuditSettings) -> AuditResult:
    """Read, check and summarise. Raises InputError (exit 3) for a file that cannot be read or no mailbox at all."""
    exports = _read_exports(settings)
    records, zone_issues = _read_zones(settings.zones)
    routes = Routes.build(records, settings.mx)
    log_servers, looping, notes = _learn_from_logs(settings)
    table = ImsTable.build(exports.mailboxes, settings.ims, settings.sites, log_servers)
    mailboxes = [_with_site(mb, table) for mb in exports.mailboxes]
    checker = Checker(routes, table, looping)
    verdicts = [checker.check(mb) for mb in mailboxes]
    issues = list(exports.issues) + zone_issues
    return summarise(verdicts, exports.files, issues, settings.zones, settings.logs, notes)


def _read_exports(settings: AuditSettings) -> Exports:
    try:
        exports = read_exports(settings.exports, settings.separator)
    except OSError as exc:
        name = safe_text(getattr(exc, "filename", None) or "", 300)
        raise InputError(f"cannot read export {name}: {exc.strerror or exc}") from None
    if not exports.mailboxes:
        what = "; ".join(f"{safe_text(i.location.path, 200)}: {i.message}" for i in exports.issues[:3])
        raise InputError("no mailbox found in the export(s)" + (f" ({what})" if what else ""))
    return exports


def _read_zones(paths: Sequence[str]) -> tuple[list[ZoneRecord], list[ParseIssue]]:
    records: list[ZoneRecord] = []
    issues: list[ParseIssue] = []
    for path in paths:
        try:
            got, found = read_zone(path)
        except OSError as exc:
            raise InputError(f"cannot read zone file {safe_text(path, 300)}: {exc.strerror or exc}") from None
        records.extend(got)
        issues.extend(found)
    return records, issues


def _learn_from_logs(settings: AuditSettings) -> tuple[list[tuple[str, tuple[str, ...]]], dict[str, int], list[str]]:
    """The builds `scan` reads from the logs' banners and headers, and the Q178436 loops it finds there."""
    if not settings.logs:
        return [], {}, []
    from ..engine import scan  # the log pipeline is only needed with --logs

    base = settings.scan or ScanSettings(paths=())
    result = scan(replace(base, paths=settings.logs, use_index=False))
    servers = [(s.name, s.builds) for s in result.servers if s.builds]
    looping: dict[str, int] = {}
    for f in result.findings:
        if f.rule_id == "Q178436":
            for address in f.addresses:
                looping[address.lower()] = max(looping.get(address.lower(), 0), f.passes or 0)
    notes = [f"builds from the logs: {', '.join(f'{n} {b}' for n, bs in servers for b in bs) or 'none'}"]
    return servers, looping, notes


def _with_site(mb: Mailbox, table: ImsTable) -> Mailbox:
    """A mailbox whose own entry names no site gets its home server's site (`--site`, or its neighbours')."""
    if mb.site is not None:
        return mb
    site, source = table.site_of(mb.home_server)
    return replace(mb, site=site, site_source=f"home server's site, {source}") if site else mb
