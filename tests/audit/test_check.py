"""The decision table of docs/audit.md: one mailbox per row, each verdict and reason code."""

from __future__ import annotations

import pytest

from imsdiag.audit.builds import ImsTable
from imsdiag.audit.check import Checker
from imsdiag.audit.proxies import parse_proxy
from imsdiag.audit.records import Mailbox, Proxy, Verdict, ZoneRecord
from imsdiag.audit.routing import Routes
from imsdiag.models import Location

L = Location("export.csv", 2)


def mx(owner: str, host: str) -> ZoneRecord:
    return ZoneRecord(L, owner, "MX", host, 10)


ZONE = [
    mx("company.com", "imc1.company.com"),
    mx("imc1.company.com", "imc1.company.com"),
    mx("imc2.company.com", "imc2.company.com"),
    mx("company.net", "imc3.company.com"),
    mx("sales.company.com", "isp-relay.example"),
    mx("old.company.com", "imc2.company.com"),
]


def box(*proxies: str, home: str | None = "IMC2", site: str | None = "West") -> Mailbox:
    parsed: list[Proxy] = []
    for text in proxies:
        p, _ = parse_proxy(text)
        assert p is not None
        parsed.append(p)
    return Mailbox(L, "user2", "User Two", home, site, "test" if site else "", tuple(parsed), "dsexport")


def checker(ims: list[tuple[str, str]] | None = None, sites: list[tuple[str, str]] | None = None) -> Checker:
    neighbours = [box("SMTP:a@company.com", home="IMC1", site="East")]
    table = ImsTable.build(
        neighbours,
        ims if ims is not None else [("imc1.company.com", "5.5.1960.3"), ("imc3.company.com", "5.5.2232.9")],
        sites if sites is not None else [("IMC3", "North"), ("IMC2", "West")],
    )
    return Checker(Routes.build(ZONE), table)


KB_USER2 = ("SMTP:user2@company.com", "smtp:user2@imc2.company.com")


@pytest.mark.parametrize(
    ("proxies", "kwargs", "verdict", "code"),
    [
        (KB_USER2, {}, Verdict.AT_RISK, "q178436"),
        (("X400:c=US;a= ;p=Company;o=West;s=Two;",), {}, Verdict.SAFE, "no-smtp-proxy"),
        (("SMTP:user2@company.com",), {}, Verdict.SAFE, "one-smtp-proxy"),
        (("smtp:user2@company.com", "smtp:user2@imc2.company.com"), {}, Verdict.UNKNOWN, "no-primary"),
        (("SMTP:user2@imc2.company.com", "smtp:user2@company.com"), {}, Verdict.SAFE, "own-site"),
        (("SMTP:user2@company.net", "smtp:user2@imc2.company.com"), {}, Verdict.SAFE, "fixed-build"),
        (("SMTP:user2@company.com", "smtp:user2@company.net"), {}, Verdict.SAFE, "no-site-proxy"),
        (("SMTP:user2@company.org", "smtp:user2@imc2.company.com"), {}, Verdict.UNKNOWN, "no-route"),
        (("SMTP:user2@sales.company.com", "smtp:user2@imc2.company.com"), {}, Verdict.UNKNOWN, "not-an-ims"),
        (KB_USER2, {"home": "IMC9", "site": None}, Verdict.UNKNOWN, "home-site-unknown"),
        (("SMTP:user2@company.com", "smtp:user2@elsewhere.example"), {}, Verdict.UNKNOWN, "site-proxy-unknown"),
    ],
)
def test_decision_table(proxies: tuple[str, ...], kwargs: dict[str, str | None], verdict: Verdict, code: str) -> None:
    got = checker().check(box(*proxies, **kwargs))  # type: ignore[arg-type]
    assert (got.verdict, got.code) == (verdict, code), got.reason
    assert "\n" not in got.reason


def test_the_at_risk_reason_reads_like_the_issue() -> None:
    got = checker().check(box(*KB_USER2))
    assert got.reason == (
        "primary company.com routes to IMC1 (site East, IMS 5.5.1960.3 < 5.5.2186.0); home server IMC2 is in "
        "site West; site proxy user2@imc2.company.com exists"
    )
    assert got.ims is not None and got.site_proxy == "user2@imc2.company.com"


def test_unknown_build_and_unknown_ims_site() -> None:
    no_build = checker(ims=[]).check(box(*KB_USER2))
    assert (no_build.verdict, no_build.code) == (Verdict.UNKNOWN, "build-unknown")  # IMC1 known from the export
    no_site = Checker(Routes.build(ZONE), ImsTable.build([], [("imc1.company.com", "5.5.1960.3")])).check(
        box(*KB_USER2)
    )
    assert (no_site.verdict, no_site.code) == (Verdict.UNKNOWN, "ims-site-unknown")


@pytest.mark.parametrize(
    ("build", "verdict", "code"),
    [
        ("5.5.2185.9", Verdict.AT_RISK, "q178436"),
        ("5.5.2186.0", Verdict.SAFE, "fixed-build"),
        ("5.0.1460.8", Verdict.AT_RISK, "q178436"),
        ("5.0.1461.6", Verdict.SAFE, "fixed-build"),
        ("4.0.838.14", Verdict.UNKNOWN, "build-not-5x"),
    ],
)
def test_builds_around_the_fix(build: str, verdict: Verdict, code: str) -> None:
    got = checker(ims=[("imc1.company.com", build)]).check(box(*KB_USER2))
    assert (got.verdict, got.code) == (verdict, code), got.reason


def test_short_ims_name_and_a_loop_already_seen() -> None:
    table = ImsTable.build([box("SMTP:a@company.com", home="IMC1", site="East")], [("IMC1", "5.5.1960.3")])
    got = Checker(Routes.build(ZONE), table).check(box(*KB_USER2))
    assert got.verdict is Verdict.AT_RISK and got.ims is not None and got.ims.host == "imc1.company.com"
    seen = Checker(Routes.build(ZONE), table, {"USER2@company.com": 42}).check(box(*KB_USER2, home="IMC9", site=None))
    assert (seen.verdict, seen.code, seen.looping) == (Verdict.AT_RISK, "looping", 42)
    assert seen.reason.startswith("looping now in the logs given (42 passes")


def test_a_safe_user_seen_looping_is_flagged() -> None:
    table = ImsTable.build([box("SMTP:a@company.com", home="IMC1", site="East")], [("IMC1", "5.5.2232.9")])
    got = Checker(Routes.build(ZONE), table, {"user2@company.com": 5}).check(box(*KB_USER2))
    assert (got.verdict, got.code, got.looping) == (Verdict.SAFE, "fixed-build", 5)
    assert got.reason.endswith(
        "yet looping now in the logs given (5 passes, scan rule Q178436): is the export current?"
    )


def test_a_known_route_beats_the_site_name_in_a_domain() -> None:
    # west.company.com is named after the user's site but its MX is IMC1 in East: not a site proxy.
    routes = Routes.build([*ZONE, mx("west.company.com", "imc1.company.com")])
    table = ImsTable.build([box("SMTP:a@company.com", home="IMC1", site="East")], [("IMC1", "5.5.1960.3")])
    got = Checker(routes, table).check(box("SMTP:user2@company.com", "smtp:user2@west.company.com"))
    assert (got.verdict, got.code) == (Verdict.SAFE, "no-site-proxy"), got.reason
    # With no route for it, the name is what there is to go by.
    unrouted = Checker(Routes.build(ZONE), table).check(box("SMTP:user2@company.com", "smtp:user2@west.company.com"))
    assert (unrouted.verdict, unrouted.site_proxy) == (Verdict.AT_RISK, "user2@west.company.com")
