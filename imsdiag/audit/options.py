"""Validators of audit's option values (`--mx`, `--ims`, `--site`, `--separator`), shared by the CLI's types."""

from __future__ import annotations

import re

_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.?$")
_BUILD = re.compile(r"^\d+\.\d+\.\d+(?:\.\d+)?$")


def _pair(text: str, form: str, example: str) -> tuple[str, str]:
    a, sep, b = text.partition("=")
    a, b = a.strip(), b.strip()
    if not sep or not a or not b:
        raise ValueError(f"{text!r} is not {form} (e.g. {example})")
    return a, b


def parse_mx_option(text: str) -> tuple[str, str]:
    """`company.com=imc1.company.com`: mail for DOMAIN goes to HOST (as an MX record would say)."""
    domain, host = _pair(text, "DOMAIN=HOST", "company.com=imc1.company.com")
    for name in (domain, host):
        if not _HOST.match(name):
            raise ValueError(f"{name!r} is not a domain or host name")
    return domain.lower().rstrip("."), host.lower().rstrip(".")


def parse_ims_option(text: str) -> tuple[str, str]:
    """`imc1.company.com=5.5.1960.3`: the IMS on HOST runs BUILD."""
    host, build = _pair(text, "HOST=BUILD", "imc1.company.com=5.5.1960.3")
    if not _HOST.match(host):
        raise ValueError(f"{host!r} is not a host name")
    if not _BUILD.match(build):
        raise ValueError(f"{build!r} is not a build such as 5.5.1960.3 or 5.0.1460.8")
    return host.lower().rstrip("."), build


def parse_site_option(text: str) -> tuple[str, str]:
    """`IMC3=North`: Exchange server SERVER is in site SITE."""
    server, site = _pair(text, "SERVER=SITE", "IMC3=North")
    return server.upper(), site


def parse_separator(text: str) -> str:
    if len(text) != 1 or text.isalnum() or text in '\r\n"':
        raise ValueError(f"{text!r} is not one punctuation character such as % or ;")
    return text
