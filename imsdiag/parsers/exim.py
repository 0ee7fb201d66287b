"""Exim mainlog parser: arrivals, deliveries, failures and bounce links, stitched per message id."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO

from ..models import Direction, Event, ReportKind, Source, TimeQuality
from ..names import normalize_address, normalize_host, normalize_message_id
from .base import ParseContext, Parser, Record, ScanRecord, iter_lines
from .common import OpenIds, classify_loop_text, evolve, frac6, is_comment, limited_issue, score_share, sniff_lines
from .queue_state import QueueState

NAME = Source.EXIM

# `2020-10-29 20:22:59.803 +0100 [30056] 1kYERi-0007oc-5P => ...`: millisecond, zone and pid are optional.
_LINE = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?P<ms>\.\d{1,6})?(?: (?P<zone>[+-]\d{4}))?"
    r"(?: \[(?P<pid>\d{1,10})\])? (?P<rest>.*)",
    re.DOTALL,
)
# Classic ids `1c3KOi-0000BR-CX`, Exim 4.97+ `1tk2Uq-00000000FrB-3Jl1`, test-suite `10HmaX-000000005vi-0000`.
_ID = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}"
_MSG = re.compile(rf"(?P<id>{_ID}) (?P<flag><=|=>|->|\*>|\*\*|==|Completed|Frozen)(?: (?P<body>.*))?$", re.DOTALL)
# Exim through syslog: `mail.example.com exim[3751842]: 2021-07-17 23:20:49 ...` (host and pid vary).
_SYSLOG_PREFIX = re.compile(r"(?:\S{1,255} ){0,4}exim[\w-]{0,16}(?:\[\d{1,10}\])?: ")
_IDLINE = re.compile(rf"(?P<id>{_ID}) (?P<body>.*)", re.DOTALL)
_FIELD = re.compile(r'(?:^| )(?P<key>[A-Za-z]{1,3})=(?P<val>"(?:[^"\\]|\\.){0,4000}"|\S{1,2000})')
_HOST = re.compile(
    r"H=(?P<host>[^\s(\[]{1,255})?(?: ?\((?P<helo>[^)\s]{0,255})\))?(?: ?\[(?P<ip>[^\]\s]{1,64})\](?::\d{1,5})?)?"
)
_OPTION = re.compile(r' [A-Za-z]{1,3}=|"')
_DSN = re.compile(r"\b(?P<dsn>[245]\.\d{1,3}\.\d{1,3})\b")
_NEXT_ID = re.compile(rf"\bqueued as (?P<id>[0-9A-Za-z]{{5,20}})\b|\bid=(?P<exim>{_ID})")
_SNIFF_LINE = re.compile(
    rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{{1,6}})?(?: [+-]\d{{4}})?(?: \[\d{{1,10}}\])? "
    rf"(?:{_ID} |[HFU]=|Start queue run|End queue run|\S{{1,64}} authenticator failed|no host name found|SMTP )"
)
_STATUS = {"=>": "sent", "->": "sent", "*>": "suppressed", "**": "bounced", "==": "deferred"}


@dataclass(slots=True)
class _Msg(QueueState):
    """What the mainlog has said so far about one Exim message id."""

    subject: str | None = None


def fields_of(body: str) -> dict[str, str]:
    """`K=value` fields of an Exim line (quoted values unquoted); first occurrence wins."""
    found: dict[str, str] = {}
    for m in _FIELD.finditer(body):
        val = m["val"]
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1].replace('\\"', '"')
        found.setdefault(m["key"], val)
    return found


def size_of(text: str | None) -> int | None:
    """`S=4452` -> 4452; the test suite's `S=sss` and junk -> None."""
    return int(text) if text and text.isdigit() and len(text) < 19 else None


def peer_of(body: str) -> tuple[str | None, str | None, str | None]:
    """(host, helo, ip) from `H=host (helo) [ip]:port`."""
    m = _HOST.search(body)
    if m is None:
        return None, None, None
    return normalize_host(m["host"]), m["helo"] or None, m["ip"]


def recipients_of(body: str) -> tuple[str, ...]:
    """The `for a b c` list that ends an arrival line (only the last ` for `, so hostile lines stay linear)."""
    at = body.rfind(" for ")
    if at < 0 or _OPTION.search(body, at) is not None:  # ` for ` inside a subject or other field
        return ()
    return tuple(a for a in (normalize_address(r) for r in body[at + 5 :].split()) if a)


def addresses_of(body: str) -> tuple[str, str | None]:
    """The first address token and the `<original>` that may follow it (after redirection)."""
    tokens = body.split(" ", 2)
    first = tokens[0].rstrip(":")
    orig = None
    if len(tokens) > 1 and tokens[1].startswith("<"):
        orig = normalize_address(tokens[1].rstrip(":"))
    return first, orig


class EximParser(Parser):
    """Exim mainlog (classic and 4.97+ ids, optional milliseconds, zone and pid)."""

    name = NAME
    description = "Exim mainlog"
    local_time = True

    def sniff(self, head: bytes, filename: str) -> int:
        data = sniff_lines(head)
        if not data:
            return 0
        hits = sum(1 for ln in data if _SNIFF_LINE.match(ln))
        return score_share(hits / len(data))

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        return _EximReader(ctx).run(stream)

    has_extractor = True
    extractor_spans = True

    def extract(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[ScanRecord]:
        from .fast.exim_blocks import extract_exim  # the fast extractor builds on this module

        return extract_exim(stream, ctx)


class _EximReader:
    """Per-file state of one Exim mainlog read."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.open: OpenIds[_Msg] = OpenIds(_Msg, ctx)
        self.server = ctx.server_hint
        self.server_source = (ctx.server_hint_source or "path") if ctx.server_hint else None
        # Every line's base event is a copy of this one (cheaper than the dataclass constructor).
        self._template = Event(location=ctx.loc(0), source=NAME, server=self.server, server_source=self.server_source)
        # One-entry cache of the last stamp: consecutive lines usually share their second.
        self._last_stamp: tuple[str | None, ...] = ()
        self._last_time: tuple[datetime | None, TimeQuality] = (None, TimeQuality.NONE)

    def run(self, stream: BinaryIO, start: int = 0) -> Iterator[Record]:
        """Every line of `stream`, numbered after line `start` (a fast extractor hands the rest of a file over)."""
        for lineno, text in iter_lines(stream, self.ctx, start):
            self.ctx.count("lines")
            yield from self.handle(lineno, text)

    def handle(self, lineno: int, text: str) -> Iterator[Record]:
        """One line (not counted in `lines`: the caller counts them)."""
        if is_comment(text):
            self.ctx.count("comments")
            return
        if text.startswith("********"):  # the test harness's `******** SERVER ********` section marker
            self.ctx.count("separators")
            return
        m = self._match(text)
        if m is None:
            self.ctx.count("unparsed")
            limited_issue(self.ctx, lineno, "not-exim", "line does not start with an Exim time stamp", text)
            return
        yield from self._line(m, lineno, text)

    @staticmethod
    def _match(text: str) -> re.Match[str] | None:
        m = _LINE.match(text)
        if m is None and "exim" in text[:300]:
            p = _SYSLOG_PREFIX.match(text)
            if p is not None:
                m = _LINE.match(text, p.end())
        return m

    def _time(self, m: re.Match[str]) -> tuple[datetime | None, TimeQuality]:
        key = (m["date"], m["ms"], m["zone"])
        if key != self._last_stamp:
            self._last_stamp, self._last_time = key, self.convert(m["date"], m["ms"], m["zone"])
        return self._last_time

    def convert(self, date: str, ms: str | None, zone: str | None) -> tuple[datetime | None, TimeQuality]:
        """The UTC time of a stamp's parts (`ms` and `zone` as `_LINE` captures them) and its quality."""
        try:
            naive = datetime.fromisoformat(date + frac6(ms))
            if zone is None:
                return self.ctx.localize(naive, self.server)
            sign = -1 if zone[0] == "-" else 1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            return naive.replace(tzinfo=timezone(sign * offset)).astimezone(timezone.utc), TimeQuality.EXACT
        except (ValueError, OverflowError):  # a bad date, a `+9999` zone, a year 1 or 9999 moved out of range
            return None, TimeQuality.NONE

    def _line(self, m: re.Match[str], lineno: int, text: str) -> Iterator[Record]:
        when, quality = self._time(m)
        rest = m["rest"]
        msg = _MSG.match(rest)
        if msg is None:
            yield from self._other(rest, self._base(lineno, text, when, quality))
            return
        mid, flag, body = msg["id"], msg["flag"], msg["body"] or ""
        if flag == "Completed":  # most common line after arrivals and deliveries: no event, no base
            self.open.pop(mid, None)
            return
        if flag == "Frozen":
            self.ctx.count("frozen")
            return
        base = self._base(lineno, text, when, quality, queue_id=mid, event_code=flag)
        if flag == "<=":
            yield self._arrival(mid, body, base)
        else:
            yield self._delivery(mid, flag, body, base)

    def _base(self, lineno: int, text: str, when: datetime | None, quality: TimeQuality, **more: object) -> Event:
        return evolve(
            self._template,
            location=self.ctx.loc(lineno),
            text=text,
            time=when,
            time_quality=quality if when else TimeQuality.NONE,
            **more,
        )

    def _state(self, mid: str, when: datetime | None) -> _Msg:
        return self.open.state(mid, when)

    def _arrival(self, mid: str, body: str, base: Event) -> Event:
        """`<= sender H=host (helo) [ip] P=proto S=size id=msgid T="subject" for rcpt...`."""
        state = self._state(mid, base.time)
        sender_tok = body.split(" ", 1)[0]
        fields = fields_of(body)
        state.sender = "" if sender_tok == "<>" else normalize_address(sender_tok)
        state.size = size_of(fields.get("S"))
        state.message_id = normalize_message_id(fields.get("id"))
        state.subject = fields.get("T")
        parent = fields.get("R") if state.sender == "" else None
        direction = Direction.IN
        if parent:
            state.about_id, state.report_kind = parent, ReportKind.NDR
            # A bounce Exim made itself is submitted locally; one received over SMTP came from elsewhere.
            direction = Direction.GENERATED if fields.get("P") == "local" else Direction.IN
        host, helo, ip = peer_of(body)
        state.client_host, state.client_ip = host, ip
        recipients = recipients_of(body)
        return state.stamp(
            base,
            subject=state.subject,
            direction=direction,
            peer_host=host,
            peer_ip=ip,
            helo=helo,
            recipients=recipients,
        )

    def _delivery(self, mid: str, flag: str, body: str, base: Event) -> Event:
        """`=>`/`->`/`*>` deliveries, `**` failures and `==` deferrals."""
        state = self._state(mid, base.time)
        first, orig = addresses_of(body)
        fields = fields_of(body)
        host, helo, ip = peer_of(body)
        remote = host is not None or ip is not None
        confirm = fields.get("C")
        nxt = _NEXT_ID.search(confirm) if confirm else None
        dsn = _DSN.search(body) if flag in ("**", "==") else None
        recipient = normalize_address(first)
        return state.stamp(
            base,
            subject=state.subject,
            direction=Direction.OUT if remote else Direction.LOCAL,
            recipients=(recipient,) if recipient else (),
            peer_host=host,
            peer_ip=ip,
            helo=helo,
            # A relayed message proves both hops: the `<=` client -> this host -> the `=>` host.
            origin_host=state.client_host if remote else None,
            origin_ip=state.client_ip if remote else None,
            status=_STATUS[flag],
            dsn=dsn["dsn"] if dsn else None,
            next_id=(nxt["id"] or nxt["exim"]) if nxt else None,
            loop_signal=classify_loop_text(body) if flag in ("**", "==") else None,
            headers=(("orig-to", orig),) if orig else (),
        )

    def _other(self, rest: str, base: Event) -> Iterator[Record]:
        """Rejections, queue runs, warnings: an event only when the line carries loop evidence."""
        signal = classify_loop_text(rest)
        if signal is None:
            self.ctx.count("other")
            return
        idm = _IDLINE.match(rest)
        host, helo, ip = peer_of(rest)
        yield evolve(
            base,
            queue_id=idm["id"] if idm else None,
            direction=Direction.IN,
            peer_host=host,
            peer_ip=ip,
            helo=helo,
            status="rejected" if "rejected" in rest else None,
            loop_signal=signal,
        )
