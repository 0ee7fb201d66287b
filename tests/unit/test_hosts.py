"""Host identity: which names are joined into one machine, which are not, and why."""

from __future__ import annotations

from imsdiag.hostmap import HostMap, host_key
from imsdiag.hosts import HostEvidence
from imsdiag.models import Direction, Event, Hop, Location


def ev(**kw: object) -> Event:
    return Event(location=Location("x.log", 1), **kw)  # type: ignore[arg-type]


def freeze(*events: Event, hints: dict[str, list[str]] | None = None, **kw: object) -> HostMap:
    evidence = HostEvidence()
    for e in events:
        evidence.learn(e)
    for hint, names in (hints or {}).items():
        evidence.learn_file(hint, names)
    return evidence.freeze(**kw)  # type: ignore[arg-type]


def test_never_hosts() -> None:
    for name in ("unknown", "localhost", "127.0.0.1", "::1", "", None, "a b", "user@example.com"):
        assert host_key(name) is None


def test_outbound_banner_ties_the_connected_address_to_the_peer_name() -> None:
    # `A connection to 120.120.120.5 was established.` then `220 relay.company.com ESMTP Sendmail`.
    hm = freeze(
        ev(
            source="ims-protocol",
            server="imc1.company.com",
            direction=Direction.OUT,
            peer_host="120.120.120.5",
            peer_ip="120.120.120.5",
            peer_names=("relay.company.com",),
        )
    )
    assert hm.canonical("120.120.120.5") == "relay.company.com"
    assert "greeted as relay.company.com" in hm.joins[0].reason


def test_netbios_accepted_from_and_ehlo_name_are_one_machine() -> None:
    # Q262945: `A connection was accepted from SERVER1.` then `<<< EHLO server1.COMPANY1.COM`.
    hm = freeze(
        ev(
            source="ims-protocol",
            server="imc1",
            direction=Direction.IN,
            peer_host="server1",
            helo="server1.company1.com",
        )
    )
    assert hm.canonical("SERVER1.") == "server1.company1.com"


def test_helo_with_another_first_label_is_not_believed() -> None:
    hm = freeze(
        ev(source="postfix", server="mx", direction=Direction.IN, peer_host="mail.a.example", helo="spoof.b.example")
    )
    assert hm.canonical("spoof.b.example") == "spoof.b.example"


def test_short_syslog_host_joins_the_one_fqdn_of_the_site() -> None:
    hm = freeze(
        ev(
            source="sendmail", server="relay", direction=Direction.OUT, peer_host="imc1.company.com", peer_ip="10.0.0.1"
        ),
        ev(source="ims-protocol", server="imc1.company.com", direction=Direction.IN, peer_host="relay.company.com"),
    )
    assert hm.canonical("relay") == "relay.company.com"
    assert hm.same("relay", "relay.company.com")


def test_local_short_name_is_not_joined_to_a_foreign_host_it_talks_to() -> None:
    # A local `mx1` that relays to `mx1.partner.example` is two machines, whatever their first labels.
    hm = freeze(
        ev(
            source="postfix",
            server="mx1",
            direction=Direction.OUT,
            peer_host="mx1.partner.example",
            peer_ip="192.0.2.7",
        )
    )
    assert not hm.same("mx1", "mx1.partner.example")


def test_two_fqdns_sharing_a_first_label_prefer_the_site_domain() -> None:
    hm = freeze(
        ev(source="postfix", server="mx1.company.com"),
        ev(
            source="postfix", server="gate", direction=Direction.OUT, peer_host="mx1.partner.example", peer_ip="1.2.3.4"
        ),
        ev(source="ims-protocol", server="imc1.company.com", direction=Direction.IN, peer_host="gate.company.com"),
    )
    assert hm.canonical("gate") == "gate.company.com"
    assert not hm.same("mx1.company.com", "mx1.partner.example")


def test_folder_hint_joins_the_banner_name_of_the_logs_inside() -> None:
    hm = freeze(ev(source="ims-protocol", server="mail.company.com"), hints={"IMC1": ["mail.company.com"]})
    assert hm.canonical("imc1") == "mail.company.com"
    assert "folder imc1" in hm.joins[0].reason


def test_folder_holding_two_servers_is_joined_to_neither() -> None:
    hm = freeze(
        ev(source="postfix", server="mx1.example.org"),
        ev(source="postfix", server="mx2.example.net"),
        hints={"logs": ["mx1.example.org", "mx2.example.net"]},
    )
    assert not hm.same("logs", "mx1.example.org") and not hm.same("logs", "mx2.example.net")


def test_bare_mail_domain_is_no_host() -> None:
    # A tracking log's partner field names the destination domain, not a machine.
    hm = freeze(
        ev(source="ims-tracking", server="imc1", direction=Direction.OUT, peer_host="company.com"),
        domains=["company.com"],
    )
    assert hm.canonical("company.com") is None
    assert hm.canonical("imc1") == "imc1"


def test_received_from_rdns_and_ip_and_the_ims_own_received_line() -> None:
    hop_relay = Hop(raw="", from_host="relay.company.com", from_ip="10.0.0.5", by_host="vhaishexc1")
    own = Hop(
        raw="",
        from_host="relay.company.com",
        by_host="VHAISHEXC1",
        software="Microsoft Exchange Internet Mail Service 5.5",
    )
    hm = freeze(ev(source="ims-archive", server="imc1.company.com", direction=Direction.IN, received=(own, hop_relay)))
    assert hm.canonical("10.0.0.5") == "relay.company.com"
    assert hm.canonical("VHAISHEXC1") == "imc1.company.com"


def test_own_archive_copy_ties_an_unnamed_client_address_greeting_as_the_ims() -> None:
    # imc1's In\\Archive copy: the relay got it from [10.1.1.10] (no reverse DNS) greeting as imc1.company.com.
    own = Hop(
        raw="",
        from_host="relay.company.com",
        from_ip="10.1.1.20",
        by_host="imc1.company.com",
        software="Microsoft Exchange Internet Mail Service Version 5.5.1960.3",
    )
    back = Hop(raw="", from_host="10.1.1.10", from_ip="10.1.1.10", from_helo="imc1.company.com", by_host="relay")
    copy = ev(source="ims-archive", server="imc1.company.com", direction=Direction.IN, received=(own, back))
    hm = freeze(copy)
    assert hm.canonical("10.1.1.10") == "imc1.company.com"
    assert any("greeted as imc1.company.com" in j.reason for j in hm.joins)
    # A client greeting with another name, or one that reverse DNS named, is not taken for the IMS.
    other = Hop(raw="", from_host="10.1.1.30", from_ip="10.1.1.30", from_helo="imc2.company.com", by_host="relay")
    named = Hop(raw="", from_host="gw.example.net", from_ip="10.1.1.40", from_helo="imc1.company.com", by_host="relay")
    hm = freeze(ev(source="ims-archive", server="imc1.company.com", direction=Direction.IN, received=(own, other)))
    assert hm.canonical("10.1.1.30") != "imc1.company.com"
    hm = freeze(ev(source="ims-archive", server="imc1.company.com", direction=Direction.IN, received=(own, named)))
    assert hm.canonical("10.1.1.40") != "imc1.company.com"
    # No HELO at all, even when the IMS's own line names it by a name that is no host: nothing to tie.
    local = Hop(raw="", from_host="relay.company.com", by_host="localhost", software=own.software)
    silent = Hop(raw="", from_host="10.1.1.50", from_ip="10.1.1.50", by_host="relay")
    hm = freeze(ev(source="ims-archive", server="imc1.company.com", direction=Direction.IN, received=(local, silent)))
    assert hm.canonical("10.1.1.50") != "imc1.company.com"


def test_user_alias_wins_and_is_reported() -> None:
    hm = freeze(ev(source="postfix", server="gate"), user_aliases=[("gate", "gate.example.com")])
    assert hm.canonical("gate") == "gate.example.com"
    assert hm.joins[0].reason == "--host-alias"


def test_merge_in_any_order_gives_the_same_map() -> None:
    a, b = HostEvidence(), HostEvidence()
    a.learn(
        ev(source="sendmail", server="relay", direction=Direction.OUT, peer_host="imc1.company.com", peer_ip="10.0.0.1")
    )
    b.learn(ev(source="ims-protocol", server="imc1.company.com", direction=Direction.IN, peer_host="relay.company.com"))
    ab, ba = HostEvidence(), HostEvidence()
    ab.merge(a)
    ab.merge(b)
    ba.merge(b)
    ba.merge(a)
    assert ab.freeze().canon == ba.freeze().canon
