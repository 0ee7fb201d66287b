"""BIND zone files and the routing table: $ORIGIN, @, blank owners, parentheses, wildcard MX, A fallback, --mx."""

from __future__ import annotations

from pathlib import Path

from imsdiag.audit.routing import Routes
from imsdiag.audit.zonefile import read_zone


def zone(tmp_path: Path, text: str) -> Routes:
    path = tmp_path / "db.zone"
    path.write_text(text)
    records, issues = read_zone(str(path))
    assert issues == []
    return Routes.build(records)


def test_the_kb_q178436_records_as_printed(tmp_path: Path) -> None:
    # Q178436's lines: absolute names without the final dot and no $ORIGIN, comments after `;`.
    routes = zone(
        tmp_path,
        "imc1.company.com IN  A 120.120.120.120        ; This is a sample IP\n"
        "company.com   IN    MX   10  imc1.company.com ; All mail addressed to\n"
        "imc2.company.com IN  A 121.121.121.121          ; This is a sample IP\n"
        "imc2.company.com   IN    MX   10  imc2.company.com ; All mail addressed to\n",
    )
    route = routes.route("company.com")
    assert route is not None and route.hosts == ("imc1.company.com",) and route.how.startswith("MX 10 (")
    assert routes.route("IMC2.Company.COM.") is not None


def test_origin_at_blank_owner_ttl_class_order_and_soa_in_parentheses(tmp_path: Path) -> None:
    routes = zone(
        tmp_path,
        "$ORIGIN company.com.\n$TTL 1d\n"
        "@ IN SOA ns hostmaster ( 1 ; serial\n 3600 600\n 86400 3600 )\n"
        "  IN NS ns\n"
        "  3600 IN MX 20 backup.isp.example.\n"
        "  IN 3600 MX 10 imc1\n"
        "imc1 A 120.120.120.120\n"
        "mail CNAME imc1\n"
        "sub IN MX 10 mail\n",
    )
    route = routes.route("company.com")
    assert route is not None and route.hosts == ("imc1.company.com",)  # the best preference only
    sub = routes.route("sub.company.com")
    assert sub is not None and sub.hosts == ("imc1.company.com",)  # through the CNAME


def test_wildcard_mx_and_a_record_fallback(tmp_path: Path) -> None:
    routes = zone(tmp_path, "$ORIGIN company.com.\n*  IN MX 10 imc1\nimc1 IN A 1.2.3.4\nlonely IN A 1.2.3.5\n")
    wild = routes.route("east.company.com")
    assert wild is not None and wild.how.startswith("wildcard MX *.company.com")
    assert routes.route("lonely.company.com") is not None  # A and no MX: the host itself (Q260247)
    assert routes.route("other.example") is None


def test_mx_option_wins_and_same_machine_by_address(tmp_path: Path) -> None:
    path = tmp_path / "z"
    path.write_text("$ORIGIN company.com.\n@ MX 10 imc1\nimc1 A 1.2.3.4\nmail A 1.2.3.4\n")
    records, _ = read_zone(str(path))
    routes = Routes.build(records, [("company.com", "relay.company.com")])
    route = routes.route("company.com")
    assert route is not None and (route.hosts, route.how) == (("relay.company.com",), "--mx")
    assert routes.same_machine("mail.company.com") == ["imc1.company.com"]


def test_bad_lines_are_issues_not_errors(tmp_path: Path) -> None:
    path = tmp_path / "z"
    path.write_text("$ORIGIN company.com.\n@ MX ten imc1\nfoo BOGUS 1\n$INCLUDE other.zone\n@ IN\n\x1b[31mx A 1.1.1\n")
    records, issues = read_zone(str(path))
    assert [(i.location.line, i.code) for i in issues] == [
        (2, "bad-zone-line"),
        (3, "bad-zone-line"),
        (4, "zone-include"),
        (5, "bad-zone-line"),
    ]
    assert [r.owner for r in records] == ["\x1b[31mx.company.com"]  # kept as data; reporters escape it
