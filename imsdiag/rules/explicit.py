"""Rules for loops an MTA itself reported: hop limit reached, mail loops back to myself, forwarding loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from ..humanize import plural, span
from ..models import Confidence, Finding, Loop, LoopKind, LoopSignal, RingShape, Severity
from .base import Rule, RuleContext
from .common import base_finding, ims_involved, ring_shown, ring_statement, round_trips


class _SignalRule(Rule):
    """Shared matching for rules keyed on one explicit loop signal."""

    signal: ClassVar[LoopSignal]

    def check(self, loops: list[Loop], ctx: RuleContext) -> Iterator[tuple[Finding, set[int]]]:
        for i, loop in enumerate(loops):
            if loop.kind != LoopKind.EXPLICIT or loop.signal is not self.signal:
                continue
            claimed = {i}
            related = [loop]
            # A bounce that carries the looping original: its embedded chain names the ring.
            ids = {id(e) for e in loop.events}
            for j, other in enumerate(loops):
                if j != i and other.kind == LoopKind.RECEIVED_CYCLE and any(id(e) in ids for e in other.events):
                    claimed.add(j)
                    related.append(other)
            yield self.finding(loop, related), claimed

    def finding(self, loop: Loop, related: list[Loop]) -> Finding:
        raise NotImplementedError

    @staticmethod
    def _who(loop: Loop) -> str:
        return (
            loop.addresses[0]
            if loop.addresses
            else (loop.hosts[0] if loop.hosts else "an address the log does not name")
        )

    @staticmethod
    def _find_the_ring(loop: Loop, related: list[Loop]) -> str:
        """The first step: read the ring from the returned chain, or get a copy that has one."""
        if ring_shown(related) not in (RingShape.UNKNOWN, RingShape.ONE_HOST):
            ring = ring_statement(related)
            return (
                f"Find the ring: run `imsdiag explain` on the bounce or the message to read the chain oldest-first "
                f"({ring})."
            )
        where = f" ({loop.reporter})" if loop.reporter else ""
        return (
            "The bounce shows no route: ask the sender for a copy of the original with its full headers, or read the "
            f"reporting MTA's{where} log for the message; `imsdiag explain` on that copy reads the chain oldest-first."
        )

    @staticmethod
    def _where(loop: Loop, related: list[Loop]) -> str:
        """The ring sentence: the hosts and round trips when known, else what is known (reporter, hops)."""
        ring = ring_statement(related)
        passes = round_trips(related)
        trips = f", {plural(passes, 'round trip')}" if passes else ""
        hops = f" (hop count {loop.hops})" if loop.hops else ""
        shown = ring_shown(related)
        if shown is RingShape.UNKNOWN:
            by = f" Hop count {loop.hops}." if hops else ""
            if loop.reporter:
                by = f" {loop.reporter} reported it{hops}."
            return (
                " Ring unknown: the returned headers are missing or cut, so the hosts that looped are not shown." + by
            )
        if shown is RingShape.ONE_HOST:
            return f" The loop is {ring}{hops}."
        return f" Ring: {ring}{trips}{hops}."


class HopLimitExceeded(_SignalRule):
    """An MTA rejected or bounced a message because it had too many hops (the loop was cut, the mail lost).

    **What it means.** Every MTA counts `Received:` lines and gives up at its limit: Sendmail
    `MaxHopCount` 25 (`Too many hops 26 (25 max)`, 5.4.6), Exim `received_headers_max` 30
    (`Too many "Received" headers - suspected mail loop`), Exchange 2010+ `MaxHopCount` 30
    (`554 5.4.6 Hop count exceeded - possible mail loop`, Exchange Online 5.4.14 ATTR34), Postfix
    `hopcount_limit` 50 (`too many hops`, `hopcount exceeded`), Exchange 5.x IMS
    `(00120270) Too Many Hops`. The loop ran until the limit: fix the route, not the limit.

    **Evidence.** The MTA's own log line or NDR text; when a bounce carries the returned original,
    its Received chain names the hosts of the loop.

    **Fix.** Read the returned original's chain (`imsdiag explain`) to find the two hosts that keep
    passing the message; fix the MX, smart host, transport or alias that points back. Raising the
    hop limit only makes the loop longer.

    **References.** RFC 5321 §6.3, Postfix hopcount_limit, Exim received_headers_max, Sendmail
    MaxHopCount, Set-ReceiveConnector MaxHopCount, KB Q190021 (IMS routes to itself), KB Q260247
    (hop count exceeded, events 4098 and 4115).

    **Example.**

        ERROR LOOP003 hop-limit-exceeded
        Hop limit reached for bob@example.com
    """

    id = "LOOP003"
    slug = "hop-limit-exceeded"
    title = "A message hit an MTA's hop limit"
    default_severity = Severity.ERROR
    references = ("RFC 5321 §6.3", "KB Q190021", "KB Q260247")
    signal = LoopSignal.HOP_LIMIT

    def finding(self, loop: Loop, related: list[Loop]) -> Finding:
        who = self._who(loop)
        known = ring_shown(related) not in (RingShape.UNKNOWN, RingShape.ONE_HOST)
        ims = ims_involved(related)
        return base_finding(
            type(self),
            related,
            title=f"Hop limit reached for {who}",
            summary=(
                f"{plural(loop.messages, 'message')} for {who} hit an MTA hop limit "
                f"({span(loop.first_seen, loop.last_seen)}): a loop ran until an MTA cut it, and the mail "
                f"was lost.{self._where(loop, related)}"
            ),
            confidence=Confidence.HIGH,
            reasons=[
                "an MTA wrote its own hop-limit text",
                *(["the returned original's chain repeats"] if known else []),
            ],
            cause="A routing, alias or forwarding entry sends the message back into a ring of hosts.",
            fix=[
                self._find_the_ring(loop, related),
                "Fix the entry that sends it back: MX records, smart host / relayhost, transport maps, aliases or "
                "forwards on the hosts of the ring."
                + (
                    " On the Exchange 5.x IMS, check the Routing tab for its own domain (KB Q190021) and that the "
                    "domain has an MX (KB Q260247)."
                    if ims
                    else ""
                ),
                "Do not raise the hop limit (hopcount_limit, received_headers_max, MaxHopCount): it only lengthens "
                "the loop.",
            ],
            references=self.references if ims else ("RFC 5321 §6.3",),
        )


class LoopsBackToMyself(_SignalRule):
    """Mail for a domain loops back to the host sending it (MX points at itself, domain not local).

    **What it means.** The best MX for the recipient's domain is the sending host itself, but that
    host does not treat the domain as its own: Postfix says `mail for example.com loops back to
    myself` (5.4.6) and `host greeted me with my own hostname`; Exchange answers 5.4.6 "routing loop
    detected" when the organisation is authoritative for a domain it cannot deliver (KB 324732).

    **Evidence.** The MTA's log line or NDR text, with the domain and host.

    **Fix.** Either make the domain local on that host (Postfix `mydestination`,
    `virtual_mailbox_domains` or `relay_domains` plus a transport; Exim `local_domains`; Exchange an
    accepted domain of the right type), or point the domain's MX at the host that really owns it.
    Postfix `best_mx_transport` is a last resort.

    **References.** Postfix mydestination and smtp_addr.c (loops back to myself), Exim FAQ Q0061, KB
    324732.

    **Example.**

        ERROR LOOP004 loops-back-to-myself
        Mail for example.org loops back to mail.example.org
    """

    id = "LOOP004"
    slug = "loops-back-to-myself"
    title = "Mail for a domain loops back to the sending host"
    default_severity = Severity.ERROR
    references = ("Postfix mydestination", "Exim FAQ Q0061", "KB 324732")
    signal = LoopSignal.LOOPS_BACK

    def finding(self, loop: Loop, related: list[Loop]) -> Finding:
        domains = sorted({a.rsplit("@", 1)[-1] for a in loop.addresses})
        who = ", ".join(domains) or "a domain"
        hosts = loop.hosts[0] if loop.hosts else "the sending host"
        return base_finding(
            type(self),
            related,
            title=f"Mail for {who} loops back to {hosts}",
            summary=(
                f"{plural(loop.messages, 'message')} for {who} bounced because the domain's "
                f"best MX is the sending host ({hosts}) but it is not configured as a local domain there "
                f"({span(loop.first_seen, loop.last_seen)})."
            ),
            confidence=Confidence.HIGH,
            reasons=["the MTA wrote 'loops back to myself' / own-hostname text"],
            cause="The MX for the domain points at this host, and the host does not accept the domain as its own.",
            fix=[
                f"On {hosts}: if the domain of {who} should be delivered here, add it to Postfix mydestination (or "
                "virtual_mailbox_domains / relay_domains with a transport), Exim local_domains, or an Exchange "
                "accepted domain.",
                "If it should be delivered elsewhere, change its MX records to the host that owns it.",
                "Then re-queue the deferred mail (postqueue -f, exim -qff) and check the bounces stop.",
            ],
        )


class ForwardingLoop(_SignalRule):
    """An alias or forward points back to itself (Delivered-To repeats; `mail forwarding loop for`).

    **What it means.** Mail for an address is forwarded, through one or more aliases, forwards,
    `.forward` files, virtual maps or inbox rules, back to the same address. Postfix detects it from
    a repeated `Delivered-To:` header (`mail forwarding loop for x`, 5.4.6); Sendmail/Mailman say
    `aliasing/forwarding loop broken`.

    **Evidence.** The MTA's bounce text, or a message whose `Delivered-To:` headers repeat.

    **Fix.** Follow the address through the alias tables, virtual maps and forwards of every host
    named; remove the entry that points back (often an old forward to an address that is itself
    forwarded back).

    **References.** Postfix delivered_hdr.c, local(8) Delivered-To, RFC 5598 §4.3.2.

    **Example.**

        ERROR LOOP005 forwarding-loop
        Forwarding loop for alice@example.org
    """

    id = "LOOP005"
    slug = "forwarding-loop"
    title = "An alias or forward loops back to the same address"
    default_severity = Severity.ERROR
    references = ("Postfix local(8) Delivered-To", "RFC 5598 §4.3.2")
    signal = LoopSignal.FORWARDING_LOOP

    def finding(self, loop: Loop, related: list[Loop]) -> Finding:
        who = self._who(loop)
        hosts = ", ".join(loop.hosts) or loop.reporter or "the hosts involved"
        return base_finding(
            type(self),
            related,
            title=f"Forwarding loop for {who}",
            summary=(
                f"Mail for {who} is forwarded back to itself ({plural(loop.messages, 'message')} bounced, "
                f"{span(loop.first_seen, loop.last_seen)}).{self._where(loop, related)}"
            ),
            confidence=Confidence.HIGH,
            reasons=["the MTA reported a forwarding loop or Delivered-To repeats"],
            cause="An alias, forward, virtual map or inbox rule sends the address back to itself.",
            fix=[
                f"On {hosts}: follow {who} through aliases (postalias -q / exim -bt / sendmail -bv), virtual maps, "
                ".forward files and inbox rules; remove the entry that forwards back.",
                "Re-send or release any mail held while the loop ran, and tell the user.",
            ],
        )


class RoutingLoopReported(_SignalRule):
    """An MTA reported a routing loop in its own words ("routing loop", "loop detected", IMS 4115).

    **What it means.** A server detected that a message came back to it along its route: Lotus
    Domino "routing loop", Haraka/Postal "Loop detected", Exchange 5.x IMS event 4115 ("seems to be
    looping through the routing extension"), the X.400 MTA "detected looping". These are loops the
    other rules do not classify further.

    **Evidence.** The MTA's own text in a log or a bounce.

    **Fix.** Read the route the message took (`imsdiag explain` on the bounce) and correct the
    routing entry that sends it back. On Exchange 5.x with event 4115 alone, Message Archival at
    Maximum and a size limit, KB Q189095 says the events are a side effect of the logging level.

    **References.** KB Q190021, KB Q189095, KB Q260247.

    **Example.**

        ERROR LOOP007 routing-loop-reported
        Routing loop reported for bob@example.com
    """

    id = "LOOP007"
    slug = "routing-loop-reported"
    title = "An MTA reported a routing loop"
    default_severity = Severity.ERROR
    references = ("KB Q190021", "KB Q189095", "KB Q260247")
    signal = LoopSignal.ROUTING_LOOP

    def finding(self, loop: Loop, related: list[Loop]) -> Finding:
        who = self._who(loop)
        return base_finding(
            type(self),
            related,
            title=f"Routing loop reported for {who}",
            summary=(
                f"An MTA reported a routing loop for {who} ({plural(loop.messages, 'report')}, "
                f"{span(loop.first_seen, loop.last_seen)}).{self._where(loop, related)}"
            ),
            confidence=Confidence.MEDIUM,
            reasons=["an MTA wrote routing-loop text"],
            cause="A routing entry on one of the hosts sends the message back along its route.",
            fix=[
                self._find_the_ring(loop, related) + " Correct the routing entry that points back.",
                *(
                    [
                        "On the Exchange 5.x IMS: if event 4115 comes alone, with Message Archival at Maximum and a "
                        "size limit on another IMS, KB Q189095 says those events are a side effect of the logging "
                        "level (the message itself is not looping); otherwise check the Routing tab for the IMS's "
                        "own domain (KB Q190021) and that the domain has an MX (KB Q260247)."
                    ]
                    if ims_involved(related)
                    else []
                ),
            ],
            references=self.references if ims_involved(related) else (),
        )
