"""The Q178436 check for one mailbox: every condition true -> at risk; one false -> safe; else unknown.

The conditions, in the order their reasons are given (docs/audit.md has the decision table):
two or more SMTP proxies; a primary one; the user's home site; the primary domain's route to an IMS;
that IMS in another site; a secondary proxy of the user's own site; that IMS's build below the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from ..rules.common import parse_build
from ..rules.ims import FIXED_BUILDS, build_status
from .builds import ImsTable
from .records import Ims, Mailbox, Proxy, Route, UserVerdict, Verdict
from .routing import Routes

_Place = Literal["own", "elsewhere", "undecided"]
"""Where a secondary SMTP proxy's mail goes, as far as the facts tell."""


@dataclass(frozen=True)
class _Open:
    """A condition the facts cannot decide: the first one is the unknown verdict's reason."""

    code: str
    reason: str


def fixed_build(build: str) -> str | None:
    """`5.5.1960.3` -> `5.5.2186.0`: the first build of that version with the fix (KB Q189270)."""
    parts = parse_build(build)
    fixed = FIXED_BUILDS.get(parts[:2]) if parts else None
    return f"{parts[0]}.{parts[1]}.{fixed[0]}.{fixed[1]}" if parts and fixed else None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


def _named_for_site(domain: str, home_server: str | None, site: str | None) -> bool:
    """Site addressing names the domain after the home server or the site (user2@imc2.company.com,
    user2@west.company.com): what tells a proxy's site when no route is known."""
    label = domain.split(".", 1)[0]
    return bool(home_server and label.upper() == home_server) or _same(label, site)


def _too_few_proxies(mb: Mailbox) -> UserVerdict:
    """Safe: with fewer than two SMTP proxies there is no site-specific one for the receipt to miss."""
    smtp = mb.smtp
    if not smtp:
        return UserVerdict(mb, Verdict.SAFE, "no-smtp-proxy", "no SMTP proxy: no Internet mail reaches it")
    return UserVerdict(
        mb,
        Verdict.SAFE,
        "one-smtp-proxy",
        f"only one SMTP proxy ({smtp[0].address}): Q178436 needs a second, site-specific one",
    )


class Checker:
    """Judges mailboxes against one set of routes and IMS facts."""

    def __init__(self, routes: Routes, table: ImsTable, looping: Mapping[str, int] | None = None) -> None:
        self.routes = routes
        self.table = table
        self.looping = {k.lower(): v for k, v in (looping or {}).items()}
        # An export has thousands of mailboxes and a handful of domains and mail hosts: decide each once.
        self._routes: dict[str, Route | None] = {}
        self._found: dict[str, Ims | None] = {}
        self._builds: dict[str, tuple[str, bool | None]] = {}

    def _route(self, domain: str) -> Route | None:
        if domain not in self._routes:
            self._routes[domain] = self.routes.route(domain)
        return self._routes[domain]

    def _find(self, host: str) -> Ims | None:
        if host not in self._found:
            self._found[host] = self.table.find(host, self.routes)
        return self._found[host]

    def _status(self, build: str) -> tuple[str, bool | None]:
        if build not in self._builds:
            self._builds[build] = build_status(build)
        return self._builds[build]

    def check(self, mb: Mailbox) -> UserVerdict:
        verdict = self._judge(mb)
        passes = max((self.looping.get(p.address.lower(), 0) for p in mb.smtp), default=0)
        if not passes:
            return verdict
        seen = f"looping now in the logs given ({passes} passes, scan rule Q178436)"
        if verdict.verdict is Verdict.UNKNOWN:
            # The loop itself proves what the facts could not decide.
            return replace(
                verdict, verdict=Verdict.AT_RISK, code="looping", reason=f"{seen}; {verdict.reason}", looping=passes
            )
        if verdict.verdict is Verdict.SAFE:
            # The logs contradict the export: most often the export is older than the change that broke it.
            return replace(verdict, reason=f"{verdict.reason}; yet {seen}: is the export current?", looping=passes)
        return replace(verdict, reason=f"{verdict.reason}; {seen}", looping=passes)

    def _judge(self, mb: Mailbox) -> UserVerdict:
        """The verdict from the export and the facts alone, the conditions in the order of the module docstring."""
        smtp = mb.smtp
        if len(smtp) < 2:
            return _too_few_proxies(mb)
        primary = mb.primary
        if primary is None:
            return UserVerdict(
                mb, Verdict.UNKNOWN, "no-primary", "no SMTP proxy is marked primary (SMTP: in upper case)"
            )
        pending: list[_Open] = []
        site = self._home_site(mb, pending)
        route = self._route(primary.domain)
        ims = self._ims(route, site, pending, primary)
        if ims is not None and _same(ims.site, site):
            return UserVerdict(
                mb,
                Verdict.SAFE,
                "own-site",
                f"primary {primary.domain} routes to {ims.server}, in the user's own site {site}",
                route,
                ims,
            )
        site_proxy, no_proxy = self._site_proxy(mb, primary, site, pending)
        if no_proxy:
            return UserVerdict(mb, Verdict.SAFE, "no-site-proxy", no_proxy, route, ims)
        fixed = self._fixed(primary, ims, pending)
        if fixed:
            return UserVerdict(mb, Verdict.SAFE, "fixed-build", fixed, route, ims, site_proxy)
        if pending:
            return UserVerdict(mb, Verdict.UNKNOWN, pending[0].code, pending[0].reason, route, ims, site_proxy)
        assert ims is not None and ims.build is not None  # every condition held
        return UserVerdict(
            mb,
            Verdict.AT_RISK,
            "q178436",
            f"primary {primary.domain} routes to {ims.server} (site {ims.site}, IMS {ims.build} < "
            f"{fixed_build(ims.build)}); home server {mb.home_server or '?'} is in site {site}; "
            f"site proxy {site_proxy} exists",
            route,
            ims,
            site_proxy,
        )

    def _home_site(self, mb: Mailbox, pending: list[_Open]) -> str | None:
        """The user's home site: the export's word, else the site the table puts the home server in."""
        site, _ = (mb.site, mb.site_source) if mb.site else self.table.site_of(mb.home_server)
        if site is None:
            hint = f" (give --site {mb.home_server}=SITE)" if mb.home_server else ""
            home = mb.home_server or "?"
            pending.append(_Open("home-site-unknown", f"home server {home} is in no known site{hint}"))
        return site

    def _fixed(self, primary: Proxy, ims: Ims | None, pending: list[_Open]) -> str:
        """The safe reason when the IMS's build has the fix; '' otherwise (an unknown or odd build is open)."""
        if ims is None:
            return ""
        if ims.build is None:
            pending.append(
                _Open(
                    "build-unknown",
                    f"{primary.domain} routes to {ims.server} (site {ims.site or '?'}), whose IMS build is not known "
                    f"(give --ims {ims.host}=BUILD, or its logs with --logs)",
                )
            )
            return ""
        label, has_bug = self._status(ims.build)
        if has_bug is False:
            return f"primary {primary.domain} routes to {ims.server} (site {ims.site or '?'}), whose IMS {label}"
        if has_bug is None:
            pending.append(_Open("build-not-5x", f"{ims.server} runs {label}: not an Exchange 5.0/5.5 IMS build"))
        return ""

    def _ims(self, route: Route | None, site: str | None, pending: list[_Open], primary: Proxy) -> Ims | None:
        """The IMS the primary domain routes to: of several best MX hosts, one in another site, unfixed first."""
        domain = primary.domain
        if route is None:
            pending.append(
                _Open("no-route", f"no MX or A record for {domain} (give --zone FILE or --mx {domain}=HOST)")
            )
            return None
        found = [i for i in (self._find(h) for h in route.hosts) if i is not None]
        if not found:
            pending.append(
                _Open(
                    "not-an-ims",
                    f"{domain} routes to {', '.join(route.hosts)}, no Exchange server known here "
                    "(give --ims HOST=BUILD, or --logs)",
                )
            )
            return None

        def rank(i: Ims) -> tuple[bool, int]:
            has_bug = self._status(i.build)[1] if i.build else None
            return (_same(i.site, site), {True: 0, None: 1, False: 2}[has_bug])

        ims = min(found, key=rank)
        if ims.site is None:
            pending.append(
                _Open(
                    "ims-site-unknown",
                    f"{domain} routes to {ims.server}, whose site is not known (give --site {ims.server}=SITE)",
                )
            )
        return ims

    def _site_proxy(
        self, mb: Mailbox, primary: Proxy, site: str | None, pending: list[_Open]
    ) -> tuple[str | None, str]:
        """(a secondary SMTP proxy of the user's own site, '') or (None, why none is: a safe reason) or (None, '')."""
        undecided: list[str] = []
        elsewhere: list[str] = []
        for p in mb.smtp:
            if p is primary or p.domain == primary.domain:
                continue
            place, where = self._proxy_place(mb, p, site)
            if place == "own":
                return p.address, ""
            if place == "elsewhere":
                elsewhere.append(f"{p.address} routes to {where}")
            else:
                undecided.append(p.address)
        if undecided:
            pending.append(
                _Open(
                    "site-proxy-unknown",
                    f"cannot tell whether {', '.join(undecided)} belongs to the user's site {site or '?'} "
                    "(no route, or no known site for its mail host)",
                )
            )
            return None, ""
        if elsewhere:
            return None, f"no site-specific proxy: {'; '.join(elsewhere)}, not the user's site {site}"
        return None, f"no secondary SMTP proxy outside {primary.domain}"

    def _proxy_place(self, mb: Mailbox, proxy: Proxy, site: str | None) -> tuple[_Place, str]:
        """Where a secondary proxy's mail goes: ("own", ''), ("elsewhere", the hosts and sites) or ("undecided", '')."""
        route = self._route(proxy.domain)
        found = [self._find(h) for h in route.hosts] if route else []
        if any(i is not None and _same(i.site, site) for i in found):
            return "own", ""
        if site is not None and found and all(i is not None and i.site is not None for i in found):
            # The route is known and leads to other sites: whatever the name says, not the user's site.
            return "elsewhere", ", ".join(sorted({f"{i.server} in {i.site}" for i in found if i is not None}))
        if _named_for_site(proxy.domain, mb.home_server, site):
            return "own", ""
        return "undecided", ""
