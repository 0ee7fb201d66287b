"""Typed, frozen records that flow through the pipeline: Location, Hop, Event, ParseIssue, Loop, Finding."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class _Named(str, enum.Enum):
    """An enum whose text is its value in str() and f-strings alike, as JSON and the reports show it."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Source(_Named):
    """Which parser made an event: the input format it was read from."""

    IMS_PROTOCOL = "ims-protocol"
    IMS_TRACKING = "ims-tracking"
    IMS_ARCHIVE = "ims-archive"
    MBOX = "mbox"
    MESSAGE = "message"
    POSTFIX = "postfix"
    SENDMAIL = "sendmail"
    EXIM = "exim"
    EXCHANGE_TRACKING = "exchange-tracking"
    LOOP_TEXT = "loop-text"
    """A syslog line of a program imsdiag does not read, kept only for the loop text it carries."""


class Confidence(_Named):
    """How sure a rule is of the cause it names."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Direction(str, enum.Enum):
    """Which way a message moved, seen from the server whose log recorded it."""

    IN = "in"
    OUT = "out"
    GENERATED = "generated"
    LOCAL = "local"
    UNKNOWN = "unknown"


class ReportKind(str, enum.Enum):
    """What kind of automatic message an event carries, if any."""

    NONE = "none"
    DELIVERY_RECEIPT = "delivery-receipt"
    NDR = "ndr"
    DELAY = "delay"
    READ_RECEIPT = "read-receipt"
    AUTO_REPLY = "auto-reply"

    @property
    def is_report(self) -> bool:
        return self is not ReportKind.NONE


class TimeQuality(str, enum.Enum):
    """How sure an event's UTC time is."""

    EXACT = "exact"  # the source carried a zone (or is documented as GMT)
    ZONE_ASSUMED = "zone-assumed"  # local time, converted with an assumed zone
    ZONE_INFERRED = "zone-inferred"  # local time, zone found by matching another log's exact times
    NONE = "none"  # the source gave no time at all


class Severity(str, enum.Enum):
    """Finding severity, ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 1, "warning": 2, "error": 3}[self.value]


class LoopKind(str, enum.Enum):
    """What a detector saw, before any rule names a cause."""

    NULL_SENDER_REPEAT = "null-sender-repeat"
    """The same null-sender report re-sent between the same hosts, a new message each pass (Q178436)."""
    RECEIVED_CYCLE = "received-cycle"
    """One message's Received chain repeats the same hosts."""
    EXPLICIT = "explicit"
    """An MTA wrote that it saw a loop (hop limit, loops back to myself, forwarding loop, routing loop)."""
    AUTO_REPLY_VOLLEY = "auto-reply-volley"
    """Auto-replies answering each other."""


class RingShape(str, enum.Enum):
    """How the hosts of a loop are connected, so every output states the ring the same way."""

    RING = "ring"
    """`hosts` in the order mail travelled, the last host sending it back to the first."""
    HUB = "hub"
    """`hosts[0]` is a hub that each other host (a spoke) exchanges the mail with; spokes never talk to each other."""
    ONE_HOST = "one-host"
    """The loop is inside one MTA (an alias or forward that expands to itself): `hosts` is that MTA."""
    UNKNOWN = "unknown"
    """The evidence does not show the hosts (a bounce whose returned headers were removed or cut)."""


class LoopSignal(str, enum.Enum):
    """Explicit loop evidence written by an MTA (an NDR text, a status line, an event number)."""

    HOP_LIMIT = "hop-limit"  # too many hops / Received headers, 5.4.6 hop count, (00120270) Too Many Hops
    LOOPS_BACK = "loops-back-to-myself"  # MX points at this host, routing loop back to self
    FORWARDING_LOOP = "forwarding-loop"  # Delivered-To repeat, alias/forwarding loop
    ROUTING_LOOP = "routing-loop"  # generic "routing loop" / "loop detected" / IMS 4115


@dataclass(frozen=True, order=True)
class Location:
    """Where a record came from: a display path and a 1-based line (0 when a whole file)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Hop:
    """One parsed `Received:` header."""

    raw: str
    """The header value exactly as read (unfolded), kept even when parsing fails."""
    from_host: str | None = None
    """Host name the sender claimed or that was looked up (`from X`)."""
    from_helo: str | None = None
    """HELO/EHLO name when shown separately (`helo=X`, the name in the comment)."""
    from_ip: str | None = None
    by_host: str | None = None
    with_proto: str | None = None
    id: str | None = None
    for_addr: str | None = None
    via: str | None = None
    date: datetime | None = None
    """UTC time of the hop, when the date parsed and carried a zone."""
    date_text: str | None = None
    software: str | None = None
    """Software named in the header, e.g. `Postfix`, `Microsoft Exchange Internet Mail Service 5.5.1960.3`."""
    defects: tuple[str, ...] = ()
    """Stable codes for what could not be parsed: `no-date`, `bad-date`, `unclosed-comment`, ..."""
    location: Location | None = None
    build: str | None = None
    """Server build when the header names one, e.g. `5.5.1960.3` (IMS/IMC forms)."""


@dataclass(frozen=True)
class Event:
    """One observation: an SMTP transaction, a tracking entry, an archived message, an MTA log line."""

    location: Location
    source: Source
    """The parser that produced it (its input format), e.g. `ims-protocol`, `postfix`."""
    text: str = ""
    """The evidence line (or a one-line summary for a multi-line record), as read."""
    time: datetime | None = None
    """UTC, timezone-aware; None when the source gave no time."""
    time_quality: TimeQuality = TimeQuality.NONE
    server: str | None = None
    """Whose log this is (normalised host name), when known."""
    server_source: str | None = None
    """How the server name was found: `banner`, `content`, `path`, `option`."""
    direction: Direction = Direction.UNKNOWN
    peer_host: str | None = None
    peer_ip: str | None = None
    helo: str | None = None
    peer_names: tuple[str, ...] = ()
    """Other names the peer gave itself in this session: its 220 banner host, its EHLO-reply host."""
    origin_host: str | None = None
    """On a relay's delivery record: the client the message came from (`client=X[ip]`, `relay=X [ip]`),
    so one record proves both hops of the transit (origin -> server -> peer)."""
    origin_ip: str | None = None
    raw_server: str | None = None
    """`server` as the log wrote it, kept when the host map replaced it with the machine's canonical name."""
    raw_peer: str | None = None
    """`peer_host` (or `peer_ip`) as the log wrote it, kept when the host map canonicalised it."""
    sender: str | None = None
    """Envelope sender. `""` is the null sender `<>` (a fact); None means the log did not say."""
    recipients: tuple[str, ...] = ()
    message_id: str | None = None
    """RFC 5322 Message-ID without the angle brackets."""
    queue_id: str | None = None
    """This server's own id for the message: IMS spool id, Postfix/Exim/Sendmail queue id, internal id."""
    mts_id: str | None = None
    """Exchange MTS-ID (tracking logs, X.400)."""
    about_id: str | None = None
    """For a report or bounce: the id (queue id, Message-ID or MTS-ID) of the message it is about."""
    next_id: str | None = None
    """The id the message carries on its next leg (`queued as`, `forwarded as`)."""
    subject: str | None = None
    size: int | None = None
    report_kind: ReportKind = ReportKind.NONE
    status: str | None = None
    """Delivery status as the MTA wrote it (`sent`, `bounced`, a reply code, a tracking event name)."""
    dsn: str | None = None
    """Enhanced status code when known, e.g. `5.4.6`."""
    loop_signal: LoopSignal | None = None
    received: tuple[Hop, ...] = ()
    """The top-level `Received:` chain, newest first as it stands in the message."""
    embedded_received: tuple[tuple[Hop, ...], ...] = ()
    """Received chains of messages embedded in this one (a bounce's returned original), each on its own."""
    software: str | None = None
    build: str | None = None
    """Server build when seen, e.g. `5.5.1960.3`."""
    event_code: str | None = None
    """Source-specific event code: tracking event number, Postfix daemon, Exim flag."""
    headers: tuple[tuple[str, str], ...] = ()
    """Selected headers worth keeping for explain (Auto-Submitted, Delivered-To, X-Mailer, ...)."""


@dataclass(frozen=True)
class EventTally:
    """Ordinary events a fast extractor summarised instead of building them, with all the correlator learns from them.

    Only events that can never be kept (no loop signal, not a candidate, no Received chain) are summarised;
    every field is in the order the events came, so folding it in gives what adding each event gives.
    """

    location: Location
    """The file and the last line summarised."""
    events: int
    outside: int
    """Of `events`, those outside `--since`/`--until` (they teach nothing else)."""
    servers: tuple[tuple[str, int], ...]
    """Server -> events, all of them (the file's statistics), in first-seen order."""
    times: tuple[tuple[datetime, str, bool, int], ...]
    """(time, server or "", zone assumed) -> events inside the window."""
    peers: tuple[Event, ...]
    """One event per distinct host facts (source, server, direction, peer, origin) inside the window, no addresses."""
    addresses: tuple[tuple[str, ...], ...]
    """Each distinct group of addresses one event named (sender, recipients) inside the window, in order."""


@dataclass(frozen=True)
class LogSpan:
    """A stretch of a log a fast extractor read for the index: where it lies and the ids its lines name.

    The index keeps these instead of the ordinary events: explain reads the stretches an id names again and
    parses only the lines that hold it (`imsdiag.logspans`). The year tracker's state at the start lets those
    lines be dated as the whole read dated them.
    """

    location: Location
    """The file and the first line of the stretch."""
    offset: int
    """Byte offset of the first line in the (decompressed) stream."""
    length: int
    """Bytes of whole lines."""
    year: int | None
    """Year-less stamps: the year the tracker held at the first line (None before any stamp)."""
    month: int
    """The month of the last stamp before the first line (0 before any)."""
    year_hint: int
    """The year the read gave the file's first stamp from (`ParseContext.year_hint`: a re-dated log's own)."""
    ids: tuple[tuple[str, str], ...]
    """(normalised id, kind) of every queue id, Message-ID and `queued as` id on the stretch's lines; ANY_IDS
    for a stretch the full parser read (placed only for explain without the index, which reads it always)."""


ANY_IDS: tuple[tuple[str, str], ...] = (("", "any"),)
"""LogSpan.ids of a stretch whose ids were not noted: it may name any id (no id is empty)."""


@dataclass(frozen=True)
class ParseIssue:
    """Input that could not be read or understood: counted and reported, never a traceback."""

    location: Location
    code: str
    """Stable code: `unreadable-file`, `decompress-error`, `binary-content`, `unknown-format`, ..."""
    message: str
    excerpt: str = ""


@dataclass(frozen=True)
class Evidence:
    """A line of evidence shown with a finding."""

    location: Location
    text: str
    note: str = ""


@dataclass(frozen=True)
class EdgePasses:
    """One hop of a ring and the times it was travelled, one per pass, as its best observer logged them."""

    source: str
    target: str
    count: int
    """Passes over this hop (the observer's messages, or the hop's repeats in one Received chain)."""
    times: tuple[datetime, ...] = ()
    """When each pass crossed the hop, oldest first (UTC); fewer than `count` when some were undated."""


@dataclass(frozen=True)
class Loop:
    """What the detector saw, before any rule names a cause."""

    kind: LoopKind
    hosts: tuple[str, ...]
    """The host ring in traversal order (first host repeated implicitly at the end)."""
    addresses: tuple[str, ...]
    events: tuple[Event, ...]
    passes: int | None
    """Round trips of the ring; None when the evidence does not show them (a hop limit with no returned chain)."""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    period_seconds: float | None = None
    subject_stem: str | None = None
    report_kind: ReportKind = ReportKind.NONE
    growth_bytes_per_pass: float | None = None
    growth_received_per_pass: float | None = None
    signal: LoopSignal | None = None
    notes: tuple[str, ...] = ()
    messages: int = 0
    """Distinct messages seen looping (a Q178436 loop makes a new one every pass; a hop-limit bounce is one)."""
    hops: int | None = None
    """The most hops one message made: the count an MTA states, else the Received lines of the looping copy."""
    shape: RingShape = RingShape.RING
    reporter: str | None = None
    """The MTA that wrote the loop text or the bounce (DSN Reporting-MTA), when the ring itself is unknown."""
    edges: tuple[EdgePasses, ...] = ()
    """Every hop of the ring with its passes and their times, in ring order (a pass timeline draws them)."""


@dataclass(frozen=True)
class Finding:
    """A diagnosed loop with its evidence, cause and fix, stamped by a rule."""

    rule_id: str
    slug: str
    severity: Severity
    confidence: Confidence
    title: str
    summary: str
    hosts: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    passes: int | None = None
    """Round trips of the ring, the one meaning in every rule; None when the evidence does not show them."""
    messages: int = 0
    """Distinct messages seen looping."""
    hops: int | None = None
    """The most hops one message made (an MTA's stated count or the looping copy's Received lines)."""
    shape: RingShape = RingShape.RING
    """How `hosts` connect: a ring, a hub with spokes, one MTA, or unknown."""
    reporter: str | None = None
    """The MTA that reported the loop, named when the ring is unknown."""
    build_verdict: str = ""
    """Whether the builds seen have the cause's fix, e.g. `imc1 5.5.1960.3 = Exchange 5.5 (no SP), below 5.5.2186.0`."""
    rate_per_hour: float | None = None
    period_seconds: float | None = None
    evidence: tuple[Evidence, ...] = ()
    confidence_reasons: tuple[str, ...] = ()
    cause: str = ""
    fix: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    """Ids (Message-ID, spool id, queue id, MTS-ID) of the messages involved, for `explain`."""
    builds: tuple[tuple[str, str], ...] = ()
    """(server, build) pairs seen on the hosts involved."""
    fingerprint: str = ""
    """Stable across log rotation and re-ordering: rule id + hosts + addresses + subject stem."""
    details: tuple[tuple[str, str], ...] = field(default=())
    """Extra labelled facts for reports (growth per pass, headroom, subject stem)."""
    edges: tuple[EdgePasses, ...] = ()
    """The ring's hops with the times of their passes (the shown loop's), for a pass timeline."""
    roles: tuple[tuple[str, str], ...] = ()
    """(host, role) for the ring's hosts as the rule judged them: `IMS`, `relay` or `MTA`."""
