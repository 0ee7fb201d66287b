"""Proxy-address values and Exchange DNs: split multi-valued fields, read `SMTP:`/`smtp:`, X400 and MS sites."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from .records import Proxy

# A proxy starts with its address type and a colon (SMTP:, smtp:, X400:, MS:, CCMAIL:, X500:, sip:, EUM:).
_TYPED = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,15}):")
# One mailbox, one @, no spaces; the domain has a dot or is a single label an admin may use internally.
_SMTP = re.compile(r"^[^@\s<>]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def split_values(field: str, separator: str) -> list[str]:
    """The values of a multi-valued field.

    A piece that does not start with an address type is glued back to the one before: X400 addresses
    hold `;` (`X400:c=US;a= ;p=Company;o=West;s=Two;`), which is also what PowerShell exports join with.
    """
    pieces = field.split(separator) if separator else [field]
    values: list[str] = []
    for piece in pieces:
        if not piece.strip():
            continue  # `%%`, a trailing separator
        if values and not _TYPED.match(piece.lstrip()):
            values[-1] += separator + piece
        else:
            values.append(piece.lstrip())
    return [v.strip() for v in values if v.strip()]


def parse_proxy(value: str) -> tuple[Proxy | None, str]:
    """A Proxy, or None and why not (a value without a type, an SMTP proxy that is no address)."""
    m = _TYPED.match(value)
    if m is None:
        return None, "no address type (SMTP:, X400:, MS:, ...)"
    prefix = m.group(1)
    address = value[m.end() :].strip()
    kind = prefix.upper()
    if kind == "SMTP":
        address = address.strip("<>")
        if not _SMTP.match(address):
            return None, "not an SMTP address"
    elif not address:
        return None, "empty address"
    # Exchange marks the primary (reply) address of each type by writing its type in upper case (KB Q164628).
    return Proxy(kind=kind, address=address, primary=prefix.isupper(), raw=value), ""


def x400_site(address: str) -> str | None:
    """`c=US;a= ;p=Company;o=West;s=Two;g=User;` -> `West` (the `o=` part is the site)."""
    for part in address.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "o" and value.strip():
            return value.strip()
    return None


def ms_site(address: str) -> str | None:
    """`COMPANY/WEST/USER2` (MS Mail: organisation/site/alias) -> `WEST`."""
    parts = address.split("/")
    return parts[1].strip() or None if len(parts) == 3 else None


def dn_parts(dn: str) -> list[tuple[str, str]]:
    """(key, value) pairs of an Exchange DN in either form, keys in lower case, outermost first.

    `/o=Company/ou=West/cn=Configuration/cn=Servers/cn=IMC2` and
    `cn=IMC2,cn=Servers,cn=Configuration,ou=West,o=Company` give the same list.
    """
    text = dn.strip()
    if text.startswith("/"):
        raw = [p for p in text.split("/") if p]
    else:
        raw = list(reversed([p for p in _split_ldap(text) if p]))
    pairs = []
    for part in raw:
        key, sep, value = part.partition("=")
        if sep:
            pairs.append((key.strip().lower(), value.strip()))
    return pairs


def _split_ldap(dn: str) -> Iterator[str]:
    """Split an LDAP DN at commas that are not escaped (`CN=Doe\\, Jane,OU=West`)."""
    start, i = 0, 0
    while i < len(dn):
        if dn[i] == "\\":
            i += 2
            continue
        if dn[i] == ",":
            yield dn[start:i].strip()
            start = i + 1
        i += 1
    yield dn[start:].strip()


def dn_site(dn: str) -> str | None:
    """The Exchange site of a 5.x DN (`ou=` under `o=`); None for an Active Directory DN (DC=...)."""
    pairs = dn_parts(dn)
    if not pairs or pairs[0][0] != "o":
        return None
    return next((v for k, v in pairs if k == "ou" and v), None)


def dn_server(dn: str) -> str | None:
    """`.../cn=Servers/cn=IMC2[/cn=Microsoft Private MDB]` -> `IMC2`; a bare server name is returned as is."""
    if "=" not in dn:
        name = dn.strip()
        return name.upper() or None
    pairs = dn_parts(dn)
    for (k, v), nxt in itertools.pairwise(pairs):
        if k == "cn" and v.lower() == "servers" and nxt[0] == "cn" and nxt[1]:
            return nxt[1].upper()
    return None
