"""Rule Q178436: a null-sender delivery receipt looping through an Exchange 5.0/5.5 Internet Mail Service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..humanize import duration, plural
from ..models import Confidence, Direction, Finding, Loop, LoopKind, ReportKind, Severity
from .base import Rule, RuleContext
from .common import base_finding, ring_statement
from .ims import build_status, ims_lookalikes


def _null_sender_receipts(loop: Loop) -> bool:
    """A Received-chain loop of null-sender delivery receipts: the Q178436 message, seen in archived copies."""
    return loop.report_kind is ReportKind.DELIVERY_RECEIPT or any(
        e.sender == "" and e.report_kind in (ReportKind.DELIVERY_RECEIPT, ReportKind.NONE) for e in loop.events
    )


class Q178436(Rule):
    """Delivery receipt loops between an Exchange 5.x IMS and a relay or another IMS (KB Q178436).

    **What it means.** Exchange 5.0/5.5 IMS used as a site connector (or beside a forwarding SMTP
    relay) builds the delivery receipt for a user who has two SMTP proxies with the wrong P1
    recipient: the user's *primary* proxy (`user2@company.com`) instead of the site-specific one
    (`user2@imc2.company.com`). The receipt goes out with `MAIL FROM:<>`, the MX for the primary
    domain sends it straight back to the same IMS, and the IMS sends it out again as a *new* message.
    Because every pass is a new message and the IMS adds no `Received:` line, no hop counter stops
    it: the IMS slows down, protocol logs and `Imcdata\\In\\Archive`/`Out\\Archive` fill the disk, and
    the sender never gets the receipt.

    **Evidence.** Null-sender messages to one address travelling around a ring that includes an
    IMS, whichever detector saw it: protocol-log sessions, tracking events 1010-1017 (a transfer
    whose MTS-ID a report event gave, or whose Report MTS-ID field is filled, moves a report),
    archive copies and their Received lines, the relay's log (one delivery line proves both hops of
    the transit), or the archived copies' Received chains. With only a relay's log the IMS is
    recognised from what the relay saw of it (Exchange-form Message-IDs, X-Mailer, banner).
    Confidence rises with: the receipt recognised (`Delivered:` subject, tracking report events
    with status 0); an IMS build below 5.5.2186.0 or 5.0.1461.6; every pass a new message;
    the relay's `Received:` hops repeating in the archived copy with no IMS hop between them; the
    recipient's domain routing back to the same IMS (the IMS accepts the address inbound); the
    user's other SMTP proxy seen in the logs, or, with a directory export (`scan --directory
    EXPORT`), confirmed from it: the looping address is the user's primary proxy and the user has
    another. With the export the finding also names the other mailboxes at risk through the same
    IMS that have not looped yet (`imsdiag audit`, docs/audit.md, judges every mailbox).

    Which evidence gives which verdict (every row is a case of the variation matrix in
    `tests/test_variation_matrix.py`, checked for the address, the ring, the passes and the build):

    | Evidence read | Verdict | Confidence |
    |---|---|---|
    | Everything: protocol logs, tracking logs, archives, the relay's log | Q178436 | high |
    | Tracking logs only (1017 Report Generated, 1010/1011 out, 1015 in) | Q178436 | high |
    | Archives only (`In`/`Out\\Archive`: subject, Received lines, X-Mailer build) | Q178436 | high |
    | Any pair that includes the tracking logs or the archives | Q178436 | high |
    | IMS protocol logs only (no DATA logged, so no subject) | Q178436 | medium |
    | IMS protocol logs and the relay's log | Q178436 | medium |
    | The relay's log only (IMS recognised by its Exchange-form Message-IDs) | Q178436 | medium |
    | One IMS of two (site connector), with its tracking log or archives | Q178436 | high |

    Medium means the loop, the ring, the address and the passes are proven but the message is not
    recognised as a delivery receipt and no IMS build below the fix was seen. The build verdict
    appears whenever a build is in the evidence: the IMS banner a peer IMS logged, the IMS's own
    `Received:` line or `X-Mailer` in an archived copy.

    **Fix.** Exchange 5.5 SP1 or later (IMS 5.5.2232.9 and up; fixed from build 5.5.2186.0), or for
    5.0 the Post-SP2 IMS hotfix (IMC 5.0 build 1461.6 or later). Fixed builds encapsulate the RFC
    821 recipient in the receipt; an Exchange 4.0 IMC in another site then cannot decode those
    receipts (event 4082, Q189270) until it runs Msexcimc.exe 4.0.997.1 or later. Until then, break
    the ring (hold null-sender mail to the address on the relay, or stop the IMS), then delete the
    receipts through IMS Properties → Queues (Q156063; never the Imcdata spool files, which Queue.dat
    indexes, Q239420) and the loop's copies in the archive folders (Q300931).

    **References.** KB Q178436, Q189270, Q242221 (5.5 SP1 fix list), Q257618 (builds), Q156063 (clean
    up through IMS Properties → Queues), Q239420 (never delete the Imcdata spool files), Q300931
    (archive folders safe to delete with the IMS stopped), Q170809 (archival fills the disk); RFC 5321
    §4.5.5 (the null reverse-path of a receipt).

    **Example.**

        ERROR Q178436 ims-receipt-loop, confidence high
        Delivery receipt loop for user2@company.com through the IMS (KB Q178436)
        Ring     imc1.company.com → relay.company.com → imc1.company.com
        Passes   42 round trips of the ring (42 messages)
        Period   every 2m 01s, 1999-03-15 14:12 → 15:36 UTC
        Build    imc1.company.com 5.5.1960.3 = Exchange 5.5 (no service pack), needs 5.5.2186.0
    """

    id = "Q178436"
    slug = "ims-receipt-loop"
    title = "Delivery receipt loops through an Exchange 5.x IMS (KB Q178436)"
    default_severity = Severity.ERROR
    references = (
        "KB Q178436",
        "KB Q189270",
        "KB Q242221",
        "KB Q257618",
        "KB Q156063",
        "KB Q239420",
        "KB Q300931",
        "KB Q170809",
        "RFC 5321 §4.5.5",
    )

    def check(self, loops: list[Loop], ctx: RuleContext) -> Iterator[tuple[Finding, set[int]]]:
        taken: set[int] = set()
        # Cross-message rings first: they carry the passes and the period; a Received-chain cycle of
        # the same receipts joins them as supporting evidence, or stands alone (archives only).
        order = sorted(range(len(loops)), key=lambda i: loops[i].kind != LoopKind.NULL_SENDER_REPEAT)
        for i in order:
            loop = loops[i]
            ims_hosts = [] if i in taken else _ims_of(loop, ctx)
            if not ims_hosts:
                continue
            claimed = {i} | _supporting(loop, loops, taken | {i}, ctx)
            taken |= claimed
            related = [loop, *(loops[j] for j in sorted(claimed - {i}))]
            inferred = not any(h in ctx.ims_servers for h in loop.hosts)
            yield self._finding(loop, related, ims_hosts, ctx, inferred=inferred), claimed

    def _finding(
        self, loop: Loop, related: list[Loop], ims_hosts: list[str], ctx: RuleContext, inferred: bool = False
    ) -> Finding:
        case = _Case.of(loop, ims_hosts, ctx, inferred)
        reasons = case.reasons(loop)
        return base_finding(
            type(self),
            related,
            title=f"Delivery receipt loop for {case.address} through the IMS (KB Q178436)",
            summary=case.summary(loop),
            confidence=case.confidence(reasons),
            reasons=reasons,
            cause=case.cause(),
            fix=self._fix(case.address, case.proxies, ims_hosts, loop),
            details=_details(loop, related) + case.directory_details,
            builds=case.builds,
            build_verdict="; ".join(f"{s} {t}" for s, t in case.build_lines) or "no IMS build in the logs read",
            fingerprint_extra=loop.subject_stem or "",
            ims_hosts=ims_hosts,
        )

    @staticmethod
    def _fix(address: str, proxies: list[str], ims_hosts: list[str], loop: Loop) -> list[str]:
        """Steps in order; each names its KB article, or says it is imsdiag's own advice."""
        ims = ", ".join(ims_hosts)
        relays = [h for h in loop.hosts if h not in ims_hosts]
        relay = ", ".join(relays) or "the relay host"
        hold, purge = _relay_commands(loop, relays, address)
        steps = [
            f"Break the ring now (imsdiag's own advice): stop the IMS on {ims} (net stop MSExchangeIMC)"
            + (f", or on {relay} {hold} (test it on one message first)" if relays and hold else "")
            + f". Only the null-sender receipt to {address} needs to stop; other mail can flow.",
            f"Clean up: delete the looping receipts to {address} in the Administrator program (IMS Properties, "
            "Queues tab, KB Q156063), never as files in Imcdata\\In or Imcdata\\Out, which Queue.dat indexes "
            "(KB Q239420). "
            + (f"On {relay}, {purge}. " if relays and purge else "")
            + "With the IMS stopped, delete the loop's copies in Imcdata\\In\\Archive and Imcdata\\Out\\Archive "
            "and old protocol logs (KB Q300931).",
            "Install the fix on every Exchange 5.0 and 5.5 IMS in the organisation, not only this ring's, after "
            "checking the 4.0 IMCs (step 4): Exchange 5.5 Service Pack 1 or later (KB Q242221; fixed from IMS "
            "build 5.5.2186.0, KB Q189270); Exchange 5.0 the Post-SP2 IMS hotfix (KB Q178436; IMC build "
            "5.0.1461.6 or later).",
            "Check every Exchange 4.0 IMC in other sites first: fixed IMS builds encapsulate the RFC 821 "
            "recipient in delivery receipts, which a 4.0 IMC cannot decode (event 4082, KB Q189270). Update them "
            "to Msexcimc.exe 4.0.997.1 or later, or their users stop getting receipts.",
        ]
        if proxies:
            steps.append(
                f"Until the fix is in, a workaround that is imsdiag's own advice, not in the KB and untested: make the "
                f"site-specific proxy ({', '.join(proxies)}) the user's reply address (Set as Reply Address, KB "
                "Q164843), so receipts go to the domain of the user's own site. It changes the From address the "
                "user's Internet correspondents see; set it back after the fix."
            )
        period = duration(loop.period_seconds)
        steps.append(
            f"Start the IMS on {ims} and watch its protocol log for two periods (about {period} each; imsdiag's "
            f"own advice): no new "
            f"MAIL FROM:<> session for {address} should appear. Set Message Archival and SMTP Protocol Log back "
            "to None unless you need them: they are what fills the disk (KB Q170809). Tell the sender the "
            "receipt never arrived."
        )
        return steps


def _ims_of(loop: Loop, ctx: RuleContext) -> list[str]:
    """The ring's IMS hosts (or hosts that look like one) when the loop has the Q178436 shape; else none."""
    if loop.kind not in (LoopKind.NULL_SENDER_REPEAT, LoopKind.RECEIVED_CYCLE):
        return []
    if loop.kind == LoopKind.RECEIVED_CYCLE and not _null_sender_receipts(loop):
        return []
    # An NDR or auto-reply loop through an IMS is another cause (Q238498, Q216161): leave it to the
    # generic rule, which names those candidates.
    if loop.report_kind not in (ReportKind.DELIVERY_RECEIPT, ReportKind.NONE):
        return []
    return [h for h in loop.hosts if h in ctx.ims_servers] or ims_lookalikes(loop)


def _supporting(loop: Loop, loops: list[Loop], taken: set[int], ctx: RuleContext) -> set[int]:
    """Received-chain cycles of the same receipts through the same hosts: evidence for this loop, not others."""
    hosts = set(loop.hosts) | set(ctx.ims_servers)
    return {
        j
        for j, other in enumerate(loops)
        if j not in taken
        and other.kind == LoopKind.RECEIVED_CYCLE
        and set(other.addresses) & set(loop.addresses)
        and set(other.hosts) <= hosts
    }


@dataclass(frozen=True)
class _Case:
    """What one Q178436 finding rests on: the user, the IMS, its builds and the user's other proxies."""

    address: str
    ims_hosts: list[str]
    inferred: bool
    receipt: bool
    builds: list[tuple[str, str]]
    build_lines: list[tuple[str, str]]
    below: list[str]
    proxies: list[str]
    confirmed: str = ""
    """The directory export's word on the user's proxies (`scan --directory`), '' without one."""
    directory_details: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, loop: Loop, ims_hosts: list[str], ctx: RuleContext, inferred: bool) -> _Case:
        address = loop.addresses[0] if loop.addresses else "(unknown address)"
        builds = sorted({(s, b) for s, b in ctx.builds if s in loop.hosts or s in ims_hosts})
        verdicts = [(server, *build_status(build)) for server, build in builds]
        proxies = sorted(a for a in ctx.proxies_of(address) if a != address)
        confirmed = ""
        details: list[tuple[str, str]] = []
        if ctx.directory is not None:
            proxies, confirmed, details = _from_directory(ctx, address, ims_hosts, builds, loop, proxies)
        return cls(
            address=address,
            ims_hosts=ims_hosts,
            inferred=inferred,
            receipt=loop.report_kind is ReportKind.DELIVERY_RECEIPT,
            builds=builds,
            build_lines=[(server, text) for server, text, _ in verdicts],
            below=[server for server, _, has_bug in verdicts if has_bug],
            proxies=proxies,
            confirmed=confirmed,
            directory_details=details,
        )

    def reasons(self, loop: Loop) -> list[str]:
        """The confidence reasons, the IMS first (the rule's precondition)."""
        ims = ", ".join(self.ims_hosts)
        reasons = [
            f"{ims} looks like an Exchange IMS (Exchange-form Message-IDs or IMS software named in what the other "
            "hosts logged); no log of the IMS itself was read"
            if self.inferred
            else f"an Exchange IMS is in the ring: {ims}"
        ]
        if self.receipt:
            reasons.append("the looping message is a delivery receipt (subject or tracking report status)")
        if self.below:
            reasons.append(f"IMS build below the fixed build on {', '.join(self.below)}")
        if any(
            e.direction is Direction.IN and e.server in self.ims_hosts and self.address in e.recipients
            for e in loop.events
        ):
            reasons.append(f"the domain of {self.address} routes back to the same IMS (it accepts the address inbound)")
        if self.confirmed:
            reasons.append(self.confirmed)
        elif self.proxies:
            reasons.append(f"the user has another SMTP proxy: {', '.join(self.proxies)}")
        passes = loop.passes or 0
        if passes >= 3 and loop.messages * 2 >= passes:
            reasons.append(f"every pass is a new message ({loop.messages} Message-IDs), as when the IMS re-creates it")
        return reasons

    def confidence(self, reasons: list[str]) -> Confidence:
        # The IMS in the ring is the rule's precondition: it counts, but alone it makes no more than "low".
        score = len(reasons) - 1
        if (self.receipt or self.below) and score >= 3:
            # Recognised only from what other hosts logged about it, the IMS caps the confidence at medium.
            return Confidence.MEDIUM if self.inferred else Confidence.HIGH
        return Confidence.MEDIUM if score >= 1 else Confidence.LOW

    def summary(self, loop: Loop) -> str:
        stem = f' "Delivered: {loop.subject_stem}"' if loop.subject_stem else ""
        what = (
            f"A delivery receipt{stem} for {self.address} with a null sender (MAIL FROM:<>)"
            if self.receipt or loop.subject_stem
            else f"A null-sender message (MAIL FROM:<>) for {self.address}, by its shape the IMS's delivery receipt,"
        )
        return (
            f"{what} is looping {ring_statement([loop])}, {plural(loop.passes or 0, 'round trip')} so far. "
            "Each pass is a new message, so no hop count will stop it; "
            "the sender never gets the receipt, and the IMS logs and archive folders keep growing."
        )

    def cause(self) -> str:
        other = f" ({', '.join(self.proxies)})" if self.proxies else ""
        return (
            f"The IMS on {', '.join(self.ims_hosts)} addresses the receipt to the user's primary SMTP proxy "
            f"{self.address} instead of the site-specific proxy{other}. The MX for "
            f"{self.address.rsplit('@', 1)[-1]} brings it back to the IMS, which cannot encapsulate the P1 "
            "recipient and sends the receipt out again as a new message (KB Q178436). The bug is in IMS builds "
            "before 5.5.2186.0 (5.5) and 5.0.1461.6 (5.0)."
        )


def _from_directory(
    ctx: RuleContext, address: str, ims_hosts: list[str], builds: list[tuple[str, str]], loop: Loop, guessed: list[str]
) -> tuple[list[str], str, list[tuple[str, str]]]:
    """(the user's other proxies, the confirming reason or '', details) from `scan --directory`'s export."""
    directory = ctx.directory
    assert directory is not None
    mb = directory.mailbox_of(address)
    if mb is None:
        return guessed, "", [("Directory", f"no mailbox of the directory export has the proxy {address}")]
    others = sorted(p.address for p in mb.smtp if p.address.lower() != address.lower())
    primary = mb.primary
    where = f"{mb.mailbox} at {mb.location}, home server {mb.home_server or '?'}, site {mb.site or '?'}"
    details = [("Directory", where)]
    confirmed = ""
    if primary is not None and primary.address.lower() == address.lower() and others:
        confirmed = (
            f"the directory export confirms it: {address} is the user's primary SMTP proxy, and the user also has "
            f"{', '.join(others)} ({mb.location})"
        )
    else:
        shown = primary.address if primary else "none"
        details.append(("Directory", f"{address} is not the user's primary proxy there (primary: {shown})"))
    at_risk = directory.not_looped_yet(address, ims_hosts[0], builds, loop.addresses)
    if at_risk:
        names = ", ".join(f"{v.mailbox.mailbox} (line {v.mailbox.location.line})" for v in at_risk[:20])
        more = f" and {len(at_risk) - 20} more" if len(at_risk) > 20 else ""
        details.append(
            (
                "Also at risk",
                f"{len(at_risk)} other mailbox(es) of the export, not looping yet, with the same shape through "
                f"{ims_hosts[0]}: {names}{more} (imsdiag audit lists them with their reasons)",
            )
        )
    return others, confirmed, details


def _details(loop: Loop, related: list[Loop]) -> list[tuple[str, str]]:
    details: list[tuple[str, str]] = []
    if loop.growth_bytes_per_pass:
        details.append(("Growth per pass", f"{loop.growth_bytes_per_pass:+.0f} bytes"))
    if loop.subject_stem:
        details.append(("Subject", f"Delivered: {loop.subject_stem}"))
    details.extend(("How it was found", n) for lp in related for n in lp.notes)
    return details


def _relay_commands(loop: Loop, relays: list[str], address: str) -> tuple[str, str]:
    """How to hold the receipt on the relay and remove its queued copies, in the relay's own MTA's terms."""
    kinds = {e.source for e in loop.events if e.server in relays or e.raw_server in relays}
    if "postfix" in kinds:
        return (
            "hold it with a header_checks rule on the receipt's subject (`/^Subject: Delivered: / HOLD`, narrowed "
            "to its text), which leaves the user's ordinary mail alone",
            "delete the held and queued copies with `postsuper -d QUEUEID` (queue ids from `mailq`)",
        )
    if "sendmail" in kinds:
        return (
            f"reject it in a Local_check_rcpt ruleset (sendmail.mc) when the sender $&f is <> and the recipient "
            f"is {address}",
            "remove the queued copies: `mailq` lists them; delete their qf/df files from the mqueue folder with "
            "sendmail stopped",
        )
    if "exim" in kinds:
        return (
            f"deny it in acl_smtp_rcpt: `deny senders = : recipients = {address}`",
            "remove the queued copies with `exim -Mrm ID` (ids from `exim -bp`)",
        )
    return "", ""
