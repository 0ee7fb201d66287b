"""Generic loop rules: loops the detector sees that match no known cause, with evidence and next steps."""

from __future__ import annotations

from collections.abc import Iterator

from ..humanize import duration, plural, span
from ..models import Confidence, Finding, Loop, LoopKind, ReportKind, Severity
from .base import Rule, RuleContext
from .common import base_finding, ring_statement


class NullSenderPingPong(Rule):
    """Null-sender messages keep travelling around the same hosts (a loop with no known cause).

    **What it means.** Messages with an empty envelope sender (`MAIL FROM:<>`: bounces, delivery
    and read receipts) to one address keep crossing the same hosts in a ring. RFC 5321 §4.5.5 says
    such messages must not be answered, so each pass is a routing decision, not a reply: some host
    sends mail for the address back where it came from. Every pass is a new message, so hop counts
    do not stop it.

    **Evidence.** The same recipient on null-sender messages, seen going A → B and B → A at least
    twice each and at least `--min-passes` times on the busiest edge, within the loop window.

    **Fix.** Find which host routes the recipient's domain back: compare the MX records, smart
    hosts, transport maps and "forward all mail" settings of every host in the ring; check that the
    recipient exists on the host that should own it. Hold the messages on one host while you fix it.
    Through an Exchange 5.x IMS, also consider KB Q238498 (NDR to a mailbox over quota) and
    Q216161 (auto-reply rules answering reports).

    **References.** RFC 5321 §4.5.5 and §6.3, RFC 3834, KB Q238498, KB Q216161.

    **Example.**

        ERROR LOOP001 null-sender-ping-pong
        Null-sender message for bob@example.com loops mx1 → mx2 → mx1
    """

    id = "LOOP001"
    slug = "null-sender-ping-pong"
    title = "Null-sender messages loop between the same hosts"
    default_severity = Severity.ERROR
    references = ("RFC 5321 §4.5.5", "RFC 5321 §6.3", "RFC 3834", "KB Q238498", "KB Q216161")

    def check(self, loops: list[Loop], ctx: RuleContext) -> Iterator[tuple[Finding, set[int]]]:
        for i, loop in enumerate(loops):
            if loop.kind != LoopKind.NULL_SENDER_REPEAT:
                continue
            address = loop.addresses[0] if loop.addresses else "(unknown address)"
            kind = loop.report_kind.value if loop.report_kind is not ReportKind.NONE else "null-sender message"
            ims = [h for h in loop.hosts if h in ctx.ims_servers]
            passes = loop.passes or 0
            ring = ring_statement([loop])
            reasons = [f"{plural(passes, 'round trip')} on the busiest hop", f"{len(loop.hosts)} hosts"]
            if loop.period_seconds:
                reasons.append(f"regular period of {duration(loop.period_seconds)}")
            fix = [
                f"Hold the loop: on one host of the ring, hold or reject null-sender mail to {address} until fixed.",
                f"Find the host that routes {address.rsplit('@', 1)[-1]} back: compare MX records, smart hosts, "
                f"transport maps and forwarding settings on {', '.join(loop.hosts)}.",
                f"Check that {address} exists where it should be delivered, and that the host owning the domain "
                "treats it as local (Postfix mydestination/virtual domains, Exim local_domains, Exchange accepted "
                "domains).",
                "Delete the queued copies on every host in the ring once the route is fixed.",
            ]
            if ims:
                fix.append(
                    f"The ring includes an Exchange IMS ({', '.join(ims)}): if the messages are NDRs to a full "
                    "mailbox see KB Q238498 (5.5 SP4); if auto-reply rules answer reports see KB Q216161 (5.5 SP3)."
                )
            finding = base_finding(
                type(self),
                [loop],
                title=f"{kind.capitalize()} for {address} loops {ring}",
                summary=(
                    f"A {kind} for {address} with a null sender keeps travelling {ring}: "
                    f"{plural(passes, 'round trip')} {span(loop.first_seen, loop.last_seen)}. "
                    "No known cause matched; the evidence and next steps below show where to look."
                ),
                confidence=Confidence.MEDIUM if passes >= 5 else Confidence.LOW,
                reasons=reasons,
                cause="A host in the ring routes mail for the recipient back into the ring.",
                fix=fix,
                details=[("How it was found", n) for n in loop.notes],
                fingerprint_extra=loop.subject_stem or "",
                ims_hosts=ims,
            )
            yield finding, {i}


class ReceivedChainCycle(Rule):
    """A message's own Received chain repeats the same hosts: it went round a loop inside one message.

    **What it means.** Every MTA adds a `Received:` line; when the same hop (A → B) appears again
    and again in one message, the message is travelling round a loop, usually an alias, forward or
    routing entry that points back. The MTAs will stop it at their hop limits (Sendmail 25, Exim 30,
    Exchange 30, Postfix 50), which also means the mail is lost.

    **Evidence.** The oldest-first chain of one message (each MIME part on its own: a bounce's
    returned original is judged separately) with one hop repeated at least `--min-passes` times.

    **Fix.** Read the repeating hop's two hosts: the one that receives it and sends it back holds
    the bad route (MX, transport, alias, `.forward`, smart host). `imsdiag explain` on the message
    shows the whole chain with the cycle marked.

    **References.** RFC 5321 §6.3, Postfix hopcount_limit, Exim received_headers_max, Sendmail
    MaxHopCount.

    **Example.**

        ERROR LOOP002 received-chain-cycle
        Received chain for bob@example.com repeats a.example.com → b.example.com → a.example.com 15 times
    """

    id = "LOOP002"
    slug = "received-chain-cycle"
    title = "A message's Received chain repeats the same hosts"
    default_severity = Severity.ERROR
    references = ("RFC 5321 §6.3",)

    def check(self, loops: list[Loop], ctx: RuleContext) -> Iterator[tuple[Finding, set[int]]]:
        for i, loop in enumerate(loops):
            if loop.kind != LoopKind.RECEIVED_CYCLE:
                continue
            address = loop.addresses[0] if loop.addresses else ""
            for_text = f" for {address}" if address else ""
            n = loop.messages
            passes = loop.passes or 0
            ring = ring_statement([loop])
            hops = f", {loop.hops} Received lines" if loop.hops else ""
            yield (
                base_finding(
                    type(self),
                    [loop],
                    title=f"Received chain{for_text} repeats {ring} {plural(passes, 'time')}",
                    summary=(
                        f"{plural(n, 'message')}{for_text} carr{'y' if n != 1 else 'ies'} a Received chain in which "
                        f"{ring} repeats: {plural(passes, 'round trip')}{hops} "
                        f"({span(loop.first_seen, loop.last_seen)})."
                    ),
                    confidence=Confidence.HIGH if passes >= 5 else Confidence.MEDIUM,
                    reasons=[f"the busiest hop repeats {plural(passes, 'time')} in one chain"],
                    cause="A route, alias or forward on one of these hosts points back into the ring.",
                    fix=[
                        f"On {', '.join(loop.hosts)}: check MX records, transport/smart-host settings, aliases "
                        f"and forwards for {address or 'the recipient'}; the host that sends the message back holds "
                        "the bad entry.",
                        "Run `imsdiag explain` on one of the messages to see the chain oldest-first with the cycle "
                        "marked and the hop headroom each MTA leaves.",
                    ],
                    details=[("How it was found", n_) for n_ in loop.notes],
                ),
                {i},
            )


class AutoReplyVolley(Rule):
    """Auto-replies answering each other (vacation or rule replies ping-ponging between two addresses).

    **What it means.** Two autoresponders (or an autoresponder and a rule) reply to each other's
    automatic messages. RFC 3834 forbids automatic replies to messages carrying `Auto-Submitted`
    (other than `no`) or a null return path; one side ignores that.

    **Evidence.** Auto-replies in both directions between the same two addresses, each side at
    least twice, at least `--min-passes` in all, within the loop window.

    **Fix.** Make the autoresponders honour RFC 3834 (`Auto-Submitted`, null sender, `Precedence:
    bulk/junk/list`), limit replies per sender (vacation's once-per-days), and on Exchange 5.5 apply
    SP3 (KB Q216161) or set "Disable automatic replies to the Internet".

    **References.** RFC 3834, KB Q216161, KB Q192939.

    **Example.**

        WARNING LOOP006 auto-reply-volley
        Auto-replies ping-pong between a@example.com and b@example.net
    """

    id = "LOOP006"
    slug = "auto-reply-volley"
    title = "Auto-replies answer each other"
    default_severity = Severity.WARNING
    bounce_severity = Severity.WARNING  # a volley of auto-replies wastes mail, it does not lose it
    references = ("RFC 3834", "KB Q216161", "KB Q192939")

    def check(self, loops: list[Loop], ctx: RuleContext) -> Iterator[tuple[Finding, set[int]]]:
        for i, loop in enumerate(loops):
            if loop.kind != LoopKind.AUTO_REPLY_VOLLEY:
                continue
            a, b = (*loop.addresses, "?", "?")[:2]
            yield (
                base_finding(
                    type(self),
                    [loop],
                    title=f"Auto-replies ping-pong between {a} and {b}",
                    summary=(
                        f"{plural(loop.messages, 'automatic reply', 'automatic replies')} went back and forth "
                        f"between {a} and {b} "
                        f"({plural(loop.passes or 0, 'round trip')}, {span(loop.first_seen, loop.last_seen)})."
                    ),
                    confidence=Confidence.MEDIUM,
                    reasons=["auto-replies in both directions"],
                    cause="An autoresponder replies to automatic messages (RFC 3834 says it must not).",
                    fix=[
                        f"Turn off or fix the autoresponder of {a} or {b}: it must not answer messages with "
                        "Auto-Submitted (other than 'no'), a null sender, or Precedence bulk/junk/list.",
                        "On Exchange 5.5 apply SP3 (KB Q216161) or set 'Disable automatic replies to the Internet'.",
                    ],
                ),
                {i},
            )
