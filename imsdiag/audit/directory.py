"""A directory export as `scan --directory` uses it: a looping address's mailbox, and who else is at risk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..errors import InputError
from ..models import ParseIssue
from ..textsafe import safe_text
from .builds import ImsTable
from .check import Checker
from .exports import read_exports
from .records import Mailbox, UserVerdict, Verdict
from .routing import Routes


@dataclass(frozen=True)
class Directory:
    """The mailboxes of the exports given with `scan --directory`, by SMTP address."""

    mailboxes: tuple[Mailbox, ...]
    issues: tuple[ParseIssue, ...] = ()
    paths: tuple[str, ...] = ()
    _by_address: dict[str, Mailbox] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for mb in self.mailboxes:
            for p in mb.smtp:
                self._by_address.setdefault(p.address.lower(), mb)

    def mailbox_of(self, address: str) -> Mailbox | None:
        return self._by_address.get(address.lower())

    def not_looped_yet(
        self, address: str, ims_host: str, builds: Sequence[tuple[str, str]], looping: Sequence[str] = ()
    ) -> list[UserVerdict]:
        """The other mailboxes at risk through the same IMS: their primary is in the looping address's domain,
        which the loop proves routes to `ims_host`, and the audit's check holds for them."""
        domain = address.rsplit("@", 1)[-1].lower()
        routes = Routes.build((), [(domain, ims_host)])
        table = ImsTable.build(self.mailboxes, [(server, build) for server, build in builds])
        checker = Checker(routes, table)
        skip = {a.lower() for a in (address, *looping)}
        found = []
        for mb in self.mailboxes:
            primary = mb.primary
            if primary is None or primary.domain != domain or any(p.address.lower() in skip for p in mb.smtp):
                continue
            site, source = (mb.site, mb.site_source) if mb.site else table.site_of(mb.home_server)
            verdict = checker.check(replace(mb, site=site, site_source=source))
            if verdict.verdict is Verdict.AT_RISK:
                found.append(verdict)
        return found


def load_directory(paths: Sequence[str], separator: str | None = None) -> Directory:
    """Read the exports; one that cannot be read, or none with a mailbox, is an input error (exit 3)."""
    try:
        exports = read_exports(paths, separator)
    except OSError as exc:
        name = safe_text(getattr(exc, "filename", None) or "", 300)
        raise InputError(f"cannot read directory export {name}: {exc.strerror or exc}") from None
    if not exports.mailboxes:
        raise InputError(f"no mailbox found in the directory export(s) {safe_text(', '.join(paths), 300)}")
    return Directory(exports.mailboxes, exports.issues, tuple(paths))
