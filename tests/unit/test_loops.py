"""The loop detector and the rules on hand-built events: the Q178436 ring, look-alikes that are not loops."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from imsdiag.correlate import Correlator
from imsdiag.evidence import freeze
from imsdiag.loops import detect
from imsdiag.models import Direction, Event, Hop, Location, LoopSignal, ReportKind, Severity, TimeQuality
from imsdiag.policy import in_order
from imsdiag.rules import RuleContext, run_rules

T0 = datetime(1999, 3, 15, 14, 14, tzinfo=timezone.utc)
IMC1, RELAY = "imc1.company.com", "relay.company.com"


def ev(n: int, *, server: str, direction: Direction, peer: str, rcpt: str = "user2@company.com", **kw: object) -> Event:
    base: dict[str, object] = dict(
        location=Location(f"{server}/L0000001.LOG", n + 1),
        source="ims-protocol" if server == IMC1 else "sendmail",
        text=f"line {n}",
        time=T0 + timedelta(seconds=120 * n + (1 if direction is Direction.IN else 0)),
        time_quality=TimeQuality.EXACT,
        server=server,
        server_source="banner",
        direction=direction,
        peer_host=peer,
        sender="",
        recipients=(rcpt,),
    )
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def ring_events(passes: int) -> list[Event]:
    out = []
    for n in range(passes):
        out.append(
            ev(n, server=IMC1, direction=Direction.OUT, peer=RELAY, build="5.5.1960.3", subject="Delivered: Figures")
        )
        out.append(ev(n, server=IMC1, direction=Direction.IN, peer=RELAY))
        out.append(ev(n, server=RELAY, direction=Direction.IN, peer=IMC1))
        out.append(ev(n, server=RELAY, direction=Direction.OUT, peer=IMC1))
    return out


def run(events: list[Event], min_passes: int = 3) -> tuple[list, Correlator]:
    corr = Correlator(min_repeat=min_passes)
    for e in events:
        corr.add(e)
    evidence = freeze(corr, infer_zones=False)
    loops = detect(evidence, min_passes, 6 * 3600)
    findings = list(in_order(run_rules(loops, RuleContext.from_evidence(evidence))))
    return findings, corr


def test_q178436_ring_is_found_with_passes_period_and_builds() -> None:
    findings, _ = run(ring_events(12))
    assert [f.rule_id for f in findings] == ["Q178436"]
    f = findings[0]
    assert f.severity is Severity.ERROR
    assert f.hosts == (IMC1, RELAY)
    assert f.addresses == ("user2@company.com",)
    # Each pass is logged by two servers at both ends: still 12 passes, not 48.
    assert f.passes == 12
    assert f.period_seconds == 120
    assert f.first_seen == T0
    assert ("imc1.company.com", "5.5.1960.3") in f.builds
    assert any("below the fixed" in r for r in f.confidence_reasons)
    assert any("5.5.2186.0" in step for step in f.fix)
    assert any("4082" in step and "Q189270" in step for step in f.fix)
    assert any("Archive" in step for step in f.fix)


def test_fingerprint_ignores_line_numbers_and_order() -> None:
    a, _ = run(ring_events(6))
    shifted = [
        Event(**{**e.__dict__, "location": Location("rotated.log.1", e.location.line + 1000)})
        for e in reversed(ring_events(6))
    ]
    b, _ = run(shifted)
    assert a[0].fingerprint == b[0].fingerprint


def test_other_proxy_raises_confidence() -> None:
    events = ring_events(5)
    events.append(
        ev(
            99,
            server=IMC1,
            direction=Direction.IN,
            peer="imc2.company.com",
            rcpt="user1@company.com",
            sender="user2@imc2.company.com",
        )
    )
    findings, _ = run(events)
    f = findings[0]
    assert any("user2@imc2.company.com" in r for r in f.confidence_reasons)
    assert f.confidence == "high"


def test_one_off_receipts_to_the_same_user_are_not_a_loop() -> None:
    # Five receipts to one user, each leaving once and never coming back: ordinary traffic.
    events = [
        ev(
            n,
            server=IMC1,
            direction=Direction.OUT,
            peer=RELAY,
            report_kind=ReportKind.DELIVERY_RECEIPT,
            subject=f"Delivered: message {n}",
        )
        for n in range(5)
    ]
    events += [ev(n, server=RELAY, direction=Direction.OUT, peer="mx.example.net") for n in range(5)]
    findings, _ = run(events)
    assert findings == []


def test_a_receipt_that_comes_back_once_is_not_yet_a_loop() -> None:
    findings, _ = run(ring_events(1))
    assert findings == []


def test_passes_separated_by_more_than_the_window_are_separate_episodes() -> None:
    events = ring_events(2)
    later = [
        Event(**{**e.__dict__, "time": e.time + timedelta(days=2)})
        for e in ring_events(2)  # type: ignore[operator]
    ]
    findings, _ = run(events + later)
    assert findings == []


def test_ndr_loop_through_ims_is_generic_with_the_ims_candidates_named() -> None:
    events = [Event(**{**e.__dict__, "report_kind": ReportKind.NDR}) for e in ring_events(4)]
    findings, _ = run(events)
    assert [f.rule_id for f in findings] == ["LOOP001"]
    assert any("Q238498" in step for step in findings[0].fix)


def chain(pairs: list[tuple[str, str]]) -> tuple[Hop, ...]:
    # Received headers stand newest first in a message.
    return tuple(Hop(raw=f"from {a} by {b}", from_host=a, by_host=b) for a, b in reversed(pairs))


def test_received_cycle_in_one_message() -> None:
    hops = chain([("a.example.com", "b.example.com"), ("b.example.com", "a.example.com")] * 4)
    e = Event(location=Location("bounce.eml", 1), source="message", received=hops, recipients=("bob@example.com",))
    findings, _ = run([e])
    assert [f.rule_id for f in findings] == ["LOOP002"]
    assert set(findings[0].hosts) == {"a.example.com", "b.example.com"}
    assert findings[0].passes == 4


def test_amavis_style_content_filter_hop_is_not_a_cycle() -> None:
    hops = chain(
        [
            ("mail.example.net", "mx.example.com"),
            ("mx.example.com", "localhost"),
            ("localhost", "mx.example.com"),
            ("mx.example.com", "store.example.com"),
        ]
    )
    e = Event(location=Location("ok.eml", 1), source="message", received=hops)
    findings, _ = run([e])
    assert findings == []


def test_embedded_original_chain_is_judged_on_its_own() -> None:
    # Two chains side by side (bounce + returned original) with the same hops once each: no loop.
    top = chain([("mx.example.net", "mx.example.com")])
    inner = chain([("client", "mx.example.net"), ("mx.example.net", "mx.example.com")])
    e = Event(location=Location("b.eml", 1), source="message", received=top, embedded_received=(inner,))
    findings, _ = run([e])
    assert findings == []


def test_hop_limit_signal_claims_the_embedded_cycle() -> None:
    inner = chain([("a.example.com", "b.example.com"), ("b.example.com", "a.example.com")] * 16)
    e = Event(
        location=Location("bounce.eml", 1),
        source="message",
        sender="",
        report_kind=ReportKind.NDR,
        recipients=("bob@example.com",),
        loop_signal=LoopSignal.HOP_LIMIT,
        embedded_received=(inner,),
        time=T0,
    )
    findings, _ = run([e])
    assert [f.rule_id for f in findings] == ["LOOP003"]
    assert "a.example.com" in findings[0].summary


def test_explicit_signals_map_to_their_rules() -> None:
    def sig(s: LoopSignal, n: int) -> Event:
        return Event(
            location=Location("maillog", n),
            source="postfix",
            loop_signal=s,
            server="mx1.example.org",
            recipients=("alice@example.org",),
            time=T0 + timedelta(minutes=n),
        )

    findings, _ = run([sig(LoopSignal.LOOPS_BACK, 1), sig(LoopSignal.FORWARDING_LOOP, 2)])
    assert sorted(f.rule_id for f in findings) == ["LOOP004", "LOOP005"]


def test_host_aliases_join_ip_and_name() -> None:
    events = []
    for n in range(4):
        # IMC1 only knows the relay by IP; the relay names IMC1 by name.
        events.append(ev(n, server=IMC1, direction=Direction.OUT, peer="120.120.120.5"))
        events.append(ev(n, server=IMC1, direction=Direction.IN, peer="120.120.120.5"))
    events.append(
        ev(
            50,
            server=RELAY,
            direction=Direction.IN,
            peer=IMC1,
            peer_ip="120.120.120.120",
            recipients=("other@example.net",),
            sender="x@example.net",
        )
    )
    events.append(
        Event(location=Location("x", 1), source="sendmail", server=IMC1, peer_host=RELAY, peer_ip="120.120.120.5")
    )
    findings, _ = run(events)
    assert findings[0].hosts == (IMC1, RELAY)
