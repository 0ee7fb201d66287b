"""The records of an audit: mailboxes and their proxies from an export, DNS routes, IMS servers, and verdicts."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..models import Location, Severity


@dataclass(frozen=True)
class Proxy:
    """One proxy address: `SMTP:` (upper case) is the primary/reply address, `smtp:` a secondary one."""

    kind: str
    """The address type in upper case: `SMTP`, `X400`, `MS`, `CCMAIL`, `X500`, ..."""
    address: str
    primary: bool
    raw: str
    """As read, e.g. `smtp:user2@imc2.company.com`."""

    @property
    def domain(self) -> str:
        """The SMTP domain in lower case ('' for other types)."""
        return self.address.rsplit("@", 1)[1].lower() if self.kind == "SMTP" and "@" in self.address else ""


@dataclass(frozen=True)
class Mailbox:
    """One mailbox of a directory export, with where it was read."""

    location: Location
    mailbox: str
    """Alias (mail nickname), else directory name, else display name."""
    display_name: str
    home_server: str | None
    """The home server's name in upper case (`IMC2`), from Home-Server, Home-MDB or msExchHomeServerName."""
    site: str | None
    """The home site, from the home server's DN, the container, the X400 `o=` or the MS address."""
    site_source: str
    """Where the site came from: `home server DN`, `container`, `X400 address`, `MS address`, `--site`, or ''."""
    proxies: tuple[Proxy, ...]
    export_format: str

    @property
    def smtp(self) -> tuple[Proxy, ...]:
        return tuple(p for p in self.proxies if p.kind == "SMTP")

    @property
    def primary(self) -> Proxy | None:
        return next((p for p in self.smtp if p.primary), None)


@dataclass(frozen=True)
class ExportFile:
    """What one export file gave."""

    path: str
    format: str | None
    """`dsexport`, `proxy-csv`, `ldif`, or None when it was not recognised."""
    rows: int = 0
    mailboxes: int = 0
    skipped: tuple[tuple[str, int], ...] = ()
    """(object class, count) of the entries that are not mailboxes (custom recipients, lists, groups)."""


@dataclass(frozen=True)
class ZoneRecord:
    """One MX, A, AAAA or CNAME record of a zone file (names in lower case, without the final dot)."""

    location: Location
    owner: str
    rtype: str
    value: str
    preference: int = 0


@dataclass(frozen=True)
class Route:
    """Where mail for a domain goes: the hosts of its best MX preference, or the host itself (A record, no MX)."""

    domain: str
    hosts: tuple[str, ...]
    how: str
    """In words, e.g. `MX 10 (company.com.zone:9)`, `--mx`, `A record, no MX`."""


@dataclass(frozen=True)
class Ims:
    """An Exchange server running the IMS: its host name, server name, site and build, and how each was learned."""

    host: str
    server: str
    site: str | None
    site_source: str
    build: str | None
    build_source: str
    """`--ims`, `logs (banner)` and so on, or '' when unknown."""


class Verdict(enum.Enum):
    AT_RISK = "at-risk"
    SAFE = "safe"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> Severity | None:
        """What `--fail-on` compares: at risk is an error, unknown a warning, safe nothing."""
        return {Verdict.AT_RISK: Severity.ERROR, Verdict.UNKNOWN: Severity.WARNING}.get(self)


@dataclass(frozen=True)
class UserVerdict:
    """The check's answer for one mailbox, with the one-line reason and the facts behind it."""

    mailbox: Mailbox
    verdict: Verdict
    code: str
    """Stable reason code: `q178436`, `one-smtp-proxy`, `own-site`, `build-unknown`, ... (docs/audit.md)."""
    reason: str
    route: Route | None = None
    ims: Ims | None = None
    site_proxy: str | None = None
    looping: int = 0
    """Passes of a Q178436 loop already found in the logs given with `--logs` for one of the user's proxies."""
