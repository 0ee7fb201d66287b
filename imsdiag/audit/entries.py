"""One directory entry (a CSV row or an LDIF record, its columns by normalised name) -> a Mailbox or a skip."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..models import Location, ParseIssue
from .proxies import dn_server, dn_site, ms_site, parse_proxy, x400_site
from .records import Mailbox, Proxy

# Column and attribute names, normalised (lower case, letters and digits only), in order of preference:
# Exchange 5.5 Administrator display names, its attribute names, then Active Directory / PowerShell names.
ALIAS = ("aliasname", "mailnickname", "alias", "samaccountname", "directoryname", "commonname", "cn", "name")
DISPLAY = ("displayname", "name", "cn", "directoryname", "commonname")
PROXIES = ("emailaddresses", "proxyaddresses", "proxyaddress")
HOME = ("homeserver", "homemdb", "msexchhomeservername", "servername")
OBJECT_CLASS = ("objclass", "objectclass", "recipienttypedetails", "recipienttype")
CONTAINER = ("objcontainer", "legacyexchangedn")
PRIMARY = ("primarysmtpaddress", "windowsemailaddress", "mail", "emailaddress")
KNOWN = frozenset(ALIAS + DISPLAY + PROXIES + HOME + OBJECT_CLASS + CONTAINER + PRIMARY)

_PERSON_CLASSES = frozenset({"user", "person", "organizationalperson", "inetorgperson"})
_NOT_MAILBOX = frozenset(
    {"contact", "group", "computer", "remote", "remoteaddress", "distlist", "dl", "publicfolder", "mailcontact"}
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def norm_key(name: str) -> str:
    """`E-mail Addresses` -> `emailaddresses`, `Home-Server` -> `homeserver`, `proxyAddresses` -> `proxyaddresses`."""
    return _NOT_ALNUM.sub("", name.lower())


def mailbox_class(classes: Sequence[str]) -> str | None:
    """None when the entry is a mailbox; else the class to count it under (`Remote`, `group`, `MailContact`)."""
    if not classes:
        return None  # an export of mailboxes only has no class column
    for c in classes:
        # An AD contact is also a person and an organizationalPerson: what it is not decides first.
        if norm_key(c) in _NOT_MAILBOX:
            return c.strip()
    for c in classes:
        low = c.strip().lower()
        if "mailbox" in low or low in _PERSON_CLASSES:
            return None
    # LDIF lists every class (top, group); the last one is the most specific.
    return classes[-1].strip() or "(empty class)"


def _first(fields: Mapping[str, Sequence[str]], keys: Sequence[str]) -> str:
    for key in keys:
        for value in fields.get(key, ()):
            if value.strip():
                return value.strip()
    return ""


def build_mailbox(
    location: Location,
    fields: Mapping[str, Sequence[str]],
    fmt: str,
    issues: list[ParseIssue],
) -> Mailbox | str:
    """The Mailbox for one entry, or the object class it was skipped for. Bad proxies become parse issues."""
    skipped = mailbox_class(fields.get(next((k for k in OBJECT_CLASS if k in fields), ""), ()))
    if skipped is not None:
        return skipped
    proxies = _with_primary_column(_proxies(location, fields, issues), _first(fields, PRIMARY))
    home_value = _first(fields, HOME)
    home = dn_server(home_value) if home_value else None
    site, source = _site(home_value, _first(fields, CONTAINER), proxies, location, issues)
    name = _first(fields, ALIAS) or _first(fields, DISPLAY) or f"(line {location.line})"
    return Mailbox(
        location=location,
        mailbox=name,
        display_name=_first(fields, DISPLAY),
        home_server=home,
        site=site,
        site_source=source,
        proxies=tuple(proxies),
        export_format=fmt,
    )


def _proxies(location: Location, fields: Mapping[str, Sequence[str]], issues: list[ParseIssue]) -> list[Proxy]:
    """The entry's proxy addresses in order, each once (case aside); bad ones become parse issues."""
    proxies: list[Proxy] = []
    seen: set[str] = set()
    for value in (v for k in PROXIES for v in fields.get(k, ())):
        proxy, why = parse_proxy(value)
        if proxy is None:
            issues.append(ParseIssue(location, "bad-proxy", f"proxy address ignored: {why}", value[:200]))
        elif proxy.raw.lower() not in seen:
            seen.add(proxy.raw.lower())
            proxies.append(proxy)
    return proxies


def _with_primary_column(proxies: list[Proxy], primary_col: str) -> list[Proxy]:
    """`proxies` with the primary column's address first as the primary SMTP proxy, when none is marked so."""
    if not primary_col or any(p.kind == "SMTP" and p.primary for p in proxies):
        return proxies
    # Only a `mail`/PrimarySmtpAddress column says which address is the reply address.
    proxy, _ = parse_proxy("SMTP:" + primary_col.removeprefix("SMTP:").removeprefix("smtp:"))
    if proxy is None:
        return proxies
    return [proxy, *(p for p in proxies if p.address.lower() != proxy.address.lower() or p.kind != "SMTP")]


def _site(
    home: str, container: str, proxies: Sequence[Proxy], location: Location, issues: list[ParseIssue]
) -> tuple[str | None, str]:
    """The home site, from the most direct source; sources that name another site are reported."""
    candidates: list[tuple[str, str]] = []
    for value, source in ((home, "home server DN"), (container, "container")):
        site = dn_site(value) if value else None
        if site:
            candidates.append((site, source))
    for p in proxies:
        site = x400_site(p.address) if p.kind == "X400" else ms_site(p.address) if p.kind == "MS" else None
        if site:
            candidates.append((site, f"{p.kind} address"))
    if not candidates:
        return None, ""
    site, source = candidates[0]
    others = sorted({s for s, _ in candidates if s.casefold() != site.casefold()})
    if others:
        issues.append(
            ParseIssue(location, "site-conflict", f"site {site} (from the {source}) but also {', '.join(others)}")
        )
    return site, source
