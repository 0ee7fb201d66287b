"""Exchange 5.0/5.5 message tracking-log parser (`Tracking.log\\yyyymmdd.log`): one Event per record."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from ..models import Direction, Event, ReportKind, Source, TimeQuality
from ..names import normalize_address, normalize_host, normalize_message_id
from .base import ParseContext, Parser, Record, ScanRecord, decode, iter_lines, looks_binary
from .fast.tally import TallyBuilder
from .ims_time import parse_tracking_stamp

NAME = Source.IMS_TRACKING

EVENT_NAMES: dict[int, str] = {
    0: "Message Transfer In",
    1: "Probe Transfer In",
    2: "Report Transfer In",
    4: "Message Submission",
    5: "Probe Submission",
    6: "Probe Transfer Out",
    7: "Message Transfer Out",
    8: "Report Transfer Out",
    9: "Message Delivered",
    10: "Report Delivered",
    26: "Distribution List Expansion",
    28: "Message Redirected",
    29: "Message Rerouted",
    31: "Downgrading",
    33: "Report Absorption",
    34: "Report Generation",
    43: "Unroutable Report Discarded",
    50: "Gateway Deleted Message",
    51: "Gateway Deleted Probe",
    52: "Gateway Deleted Report",
    1000: "Local Delivery",
    1001: "Backbone Transfer In",
    1002: "Backbone Transfer Out",
    1003: "Gateway Transfer Out",
    1004: "Gateway Transfer In",
    1005: "Gateway Report Transfer In",
    1006: "Gateway Report Transfer Out",
    1007: "Gateway Report Generation",
    1010: "SMTP Queued Outbound",
    1011: "SMTP Transferred Outbound",
    1012: "SMTP Received Inbound",
    1013: "SMTP Transferred Inbound",
    1014: "SMTP Message Rerouted",
    1015: "SMTP Report Transferred In",
    1016: "SMTP Report Transferred Out",
    1017: "SMTP Report Generated",
    1018: "SMTP Report Absorbed",
}
"""Tracking event numbers of Exchange 5.0/5.5 and their names (Q173364)."""

REPORT_EVENTS = frozenset({2, 8, 10, 1005, 1006, 1007, 1015, 1016, 1017, 1018})
"""Events that carry a DR/NDR: reports travel with a null P1 sender."""
_TRANSFER_EVENTS = frozenset({1010, 1011, 1012, 1013, 1014})
"""SMTP queue and transfer events, which log a report's transit like any message's."""

# Q173364 says 1001 is "Backbone transfer in" (mail received from another MAPI system) and 1002
# "Backbone transfer out"; the directions follow the article.
_DIRECTIONS: dict[int, Direction] = {
    **dict.fromkeys((0, 1, 2, 1001, 1004, 1005, 1012, 1013, 1015), Direction.IN),
    **dict.fromkeys((6, 7, 8, 1002, 1003, 1006, 1010, 1011, 1016), Direction.OUT),
    **dict.fromkeys((34, 1007, 1017), Direction.GENERATED),
    **dict.fromkeys((4, 9, 10, 1000), Direction.LOCAL),
}

_MTS_ID = re.compile(r"^c=[^;]{0,16};\s{0,2}a=[^;]{0,64};\s{0,2}p=[^;]{0,128};.{0,256}?l=\S", re.IGNORECASE)
_REMOTE_ID = re.compile(r"^<([^<>]{1,998})>\s{0,4}(?:\[([^\[\]\s]{1,64})\])?\s{0,4}$")
_SPOOL_ONLY = re.compile(r"^\[([^\[\]\s]{1,64})\]$")
_SMTP_ADDR = re.compile(r"^<?[^\s<>@/]{1,256}@[A-Za-z0-9][A-Za-z0-9.-]{0,254}>?$")
_SERVER_DN = re.compile(r"/cn=Servers/cn=([^/\t]{1,64})", re.IGNORECASE)
_CONNECTOR = re.compile(r"Internet Mail (?:Connector|Service) \(([^()\t]{1,64})\)", re.IGNORECASE)
# A host or domain name: labels without dots, separated by dots, so no two quantifiers overlap.
_HOST = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})\.){1,30}[A-Za-z][A-Za-z0-9-]{0,62}\.?$")
_INT = re.compile(r"^-?\d{1,12}$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_PEERISH = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z][A-Za-z0-9_-]{0,62})$")
"""A partner that is an address or a one-label (NetBIOS-style) host name, as an inbound transfer names its sender."""
_STAMPISH = re.compile(r"^\s{0,8}\d{4}\.\d{1,2}\.\d{1,2}\s")
_FILE_NAME = re.compile(r"\d{8}\.log", re.IGNORECASE)

MAX_RECIPIENTS = 10_000
"""Recipient lines kept per record; more are counted as ignored (bounded memory)."""
MAX_TEXT = 4096


@dataclass
class _Record:
    """One tracking record being assembled: its first line and the recipient lines after it."""

    lineno: int
    text: str
    fields: list[str]
    event: int
    time: datetime
    recipients: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def _field(fields: list[str], i: int) -> str:
    return fields[i].strip() if i < len(fields) else ""


def _address(text: str) -> str:
    """An SMTP address normalised; a DN or IMCEA address kept as written, lower-cased."""
    s = text.strip()
    if _SMTP_ADDR.match(s) and not s.upper().startswith(("IMCEA", "<IMCEA")):
        return normalize_address(s) or ""
    return s.lower()


def server_of(*names: str) -> str | None:
    """The server a Gateway or Partner DN names (`/cn=Servers/cn=X/`, `Internet Mail Connector (X)`)."""
    for text in names:
        m = _SERVER_DN.search(text) or _CONNECTOR.search(text)
        if m:
            return normalize_host(m.group(1))
    return None


def _report_kind(event: int, statuses: list[str], is_report: bool = False) -> ReportKind:
    """DR when every recipient status is 0, NDR when one is 1; 1007 is an NDR by definition."""
    if event not in REPORT_EVENTS and not is_report:
        return ReportKind.NONE
    if "1" in statuses:
        return ReportKind.NDR
    if statuses and all(s == "0" for s in statuses):
        return ReportKind.DELIVERY_RECEIPT
    return ReportKind.NDR if event == 1007 else ReportKind.NONE


def _mts_id_of(first: str) -> str | None:
    """Field 1 when it is an MTS-ID (`c=US;a= ;p=Org;l=...`); else it names the message some other way."""
    return first if first and _MTS_ID.match(first) else None


def _ids(first: str, remote: str) -> tuple[str | None, str | None, str | None]:
    """(mts_id, queue_id, message_id) from field 1 and the Remote ID `<msgid>[SPOOLID]`."""
    mts_id = _mts_id_of(first)
    queue_id = first if first and mts_id is None else None
    message_id = None
    m = _REMOTE_ID.match(remote)
    if m:
        message_id = normalize_message_id(m.group(1))
        queue_id = m.group(2) or queue_id
    elif m := _SPOOL_ONLY.match(remote):
        queue_id = m.group(1)
    if message_id is None and queue_id and queue_id.startswith("<") and "@" in queue_id:
        message_id = normalize_message_id(queue_id)
    return mts_id, queue_id, message_id


class _ReportIds:
    """MTS-IDs of reports seen so far in one file (bounded): their later transfer events move a report too."""

    LIMIT = 20_000

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}

    def add(self, mts_id: str | None) -> None:
        if mts_id:
            self._ids[mts_id] = None
            if len(self._ids) > self.LIMIT:
                del self._ids[next(iter(self._ids))]

    def __contains__(self, mts_id: object) -> bool:
        return mts_id in self._ids


def _ordinary(rec: _Record, ctx: ParseContext, reports: _ReportIds, tally: TallyBuilder) -> bool:
    """Sum the record up in `tally` when its event is one detection never keeps; False (nothing done): it is not.

    What the Correlator learns from such an event (its time, host facts and addresses) goes into the tally.
    Detection keeps a tracking event only as a candidate: one that names a recipient and moves a report or
    has a null sender (a tracking record has no loop text, no auto-reply kind and no Received lines). A
    server named by the file's path rather than by a DN is left to the full Event (the tally's events say
    `content`). `reports` is only read here: a report's record goes to `_event`, which notes it, as in `parse`.
    """
    f = rec.fields
    gateway, partner = _field(f, 3), _field(f, 4)
    is_report = _moves_report(rec.event, _field(f, 11), _mts_id_of(_field(f, 0)), reports)
    if is_report:  # a report event, or the transfer of one: a null sender and a report kind
        return False
    sender = _sender(False, _field(f, 6))
    if sender == "" and rec.recipients:  # (a report's null sender only, as `_sender` reads it; said for safety)
        return False
    server = server_of(gateway, partner)
    if server is None and ctx.server_hint:
        return False
    facts = (NAME, server, _DIRECTIONS.get(rec.event, Direction.UNKNOWN), *_peer(partner), None, None)
    tally.add(rec.time, TimeQuality.EXACT, facts, (sender, *rec.recipients))
    return True


def _peer(partner: str) -> tuple[str | None, str | None]:
    """The peer host and address a record's Partner field names."""
    host = normalize_host(partner) if _HOST.match(partner) or _PEERISH.match(partner) else None
    return host, partner if _IPV4.match(partner) else None


def _event(rec: _Record, ctx: ParseContext, reports: _ReportIds | None = None) -> Event:
    f = rec.fields
    gateway, partner, remote, originator = _field(f, 3), _field(f, 4), _field(f, 5), _field(f, 6)
    mts_id, queue_id, message_id = _ids(_field(f, 0), remote)
    report_of = _field(f, 11)
    is_report = _moves_report(rec.event, report_of, mts_id, reports)
    if is_report and reports is not None:
        reports.add(mts_id)
    server, source = _server(gateway, partner, ctx)
    peer_host, peer_ip = _peer(partner)
    length = _field(f, 8)
    return Event(
        location=ctx.loc(rec.lineno),
        source=NAME,
        text=rec.text,
        time=rec.time,
        time_quality=TimeQuality.EXACT,
        server=server,
        server_source=source,
        direction=_DIRECTIONS.get(rec.event, Direction.UNKNOWN),
        peer_host=peer_host,
        peer_ip=peer_ip,
        sender=_sender(is_report, originator),
        recipients=tuple(rec.recipients),
        message_id=message_id,
        queue_id=queue_id,
        mts_id=mts_id,
        about_id=(report_of or None) if is_report else None,
        size=int(length) if length.isdigit() else None,
        report_kind=_report_kind(rec.event, rec.statuses, is_report),
        status=EVENT_NAMES.get(rec.event),
        event_code=str(rec.event),
    )


def _moves_report(event: int, report_of: str, mts_id: str | None, reports: _ReportIds | None) -> bool:
    """Whether a record moves a DR/NDR: a report event, or an SMTP transfer of a report."""
    # Field 12 is "Subject-ID or Report MTS-ID (blank for normal messages)" (Q173280): an SMTP transfer
    # (1010-1014) that carries a Report MTS-ID moves a report, whatever its event number says; so does
    # one whose own MTS-ID an earlier report event (1017 SMTP Report Generated) gave the report.
    return event in REPORT_EVENTS or (
        event in _TRANSFER_EVENTS and (bool(_MTS_ID.match(report_of)) or (reports is not None and mts_id in reports))
    )


def _sender(is_report: bool, originator: str) -> str | None:
    """The P1 sender: null for a report, the SMTP address of the originator, else unknown."""
    if is_report:
        return ""
    if _SMTP_ADDR.match(originator):
        return normalize_address(originator)
    return None


def _server(gateway: str, partner: str, ctx: ParseContext) -> tuple[str | None, str | None]:
    """The server that wrote the record, as a DN names it, else as the file's path does; with its source."""
    server = server_of(gateway, partner)
    if server is not None:
        return server, "content"
    return ctx.server_hint, ctx.server_hint_source if ctx.server_hint else None


def _add_recipient(rec: _Record, name: str, status: str, ctx: ParseContext) -> None:
    if not name:
        return
    if len(rec.recipients) >= MAX_RECIPIENTS:
        ctx.count("ignored")
        return
    rec.recipients.append(_address(name))
    if status in {"0", "1"}:
        rec.statuses.append(status)


class ImsTrackingParser(Parser):
    """Exchange 5.0/5.5 message tracking log (`Tracking.log\\yyyymmdd.log`)."""

    name = NAME
    description = "Exchange 5.0/5.5 message tracking log (Tracking.log\\yyyymmdd.log)"

    def sniff(self, head: bytes, filename: str) -> int:
        if looks_binary(head):
            return 0
        good = 0
        for line in decode(head[:65536]).splitlines()[:400]:
            fields = line.split("\t", 3)
            if len(fields) < 3 or not _INT.match(fields[1].strip()):
                continue
            if int(fields[1]) in EVENT_NAMES and parse_tracking_stamp(fields[2]) is not None:
                good += 1
        if not good:
            return 0
        score = min(90, 40 + 10 * good)
        parts = re.split(r"[\\/]", filename.lower())
        if _FILE_NAME.fullmatch(parts[-1]) or "tracking.log" in parts[:-1]:
            score += 10
        return score

    has_extractor = True

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        reports = _ReportIds()
        for rec in _records(stream, ctx):
            yield _event(rec, ctx, reports)

    def extract(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[ScanRecord]:
        """`parse`'s events, those detection never keeps summed up in EventTally records.

        A tracking log is one event per record, nearly all of them ordinary traffic: building each Event and
        feeding it to the Correlator was most of a scan. The records are read exactly as `parse` reads them;
        only the last step differs (`_ordinary`).
        """
        tally = TallyBuilder(ctx)
        reports = _ReportIds()
        last = pending = 0
        for rec in _records(stream, ctx):
            last = rec.lineno
            if _ordinary(rec, ctx, reports, tally):
                pending += 1
                if pending < TALLY_RECORDS:
                    continue
                kept: Event | None = None
            else:
                kept = _event(rec, ctx, reports)
            pending = 0
            # What came before a kept event goes out before it, so the Correlator meets both in file order.
            summed = tally.flush(rec.lineno - 1 if kept is not None else rec.lineno)
            if summed is not None:
                yield summed
            if kept is not None:
                yield kept
        summed = tally.flush(last)
        if summed is not None:
            yield summed


TALLY_RECORDS = 8192
"""Ordinary records summed up in one EventTally at most: its per-second time counts stay small."""


def _records(stream: BinaryIO, ctx: ParseContext) -> Iterator[_Record]:
    """Each record of the log, with its recipient lines, once the next record (or the end) shows it complete."""
    rec: _Record | None = None
    for lineno, text in iter_lines(stream, ctx):
        ctx.count("lines")
        if not text.strip():
            continue
        fields = text.split("\t")
        # Too many fields for a recipient line: a record, even when its number or stamp is broken.
        if _starts_record(fields) or len(fields) >= 5:
            if rec is not None:
                yield rec
            rec = _new_record(lineno, text, fields, ctx)
        elif rec is None:
            ctx.count("ignored")
        else:
            values = [v.strip() for v in fields if v.strip()]
            _add_recipient(rec, values[0] if values else "", values[1] if len(values) > 1 else "", ctx)
    if rec is not None:
        yield rec


def _starts_record(fields: list[str]) -> bool:
    """A record's first line: an event number in field 2 and a time stamp in field 3."""
    number = fields[1].strip() if len(fields) > 1 else ""
    return len(fields) >= 3 and bool(_INT.match(number)) and bool(_STAMPISH.match(fields[2]))


def _new_record(lineno: int, text: str, fields: list[str], ctx: ParseContext) -> _Record | None:
    """The record a first line opens (with its first recipient), or None and a `bad-record` issue."""
    if not _starts_record(fields):
        ctx.issue(lineno, "bad-record", "tracking record with a bad event number or time stamp", text)
        return None
    when = parse_tracking_stamp(fields[2])
    if when is None:
        ctx.issue(lineno, "bad-record", f"bad tracking time stamp {fields[2][:40]!r}", text)
        return None
    ctx.count("records")
    rec = _Record(lineno, text[:MAX_TEXT], fields[:13], int(fields[1].strip()), when)
    _add_recipient(rec, _field(fields, 13), _field(fields, 14), ctx)
    return rec
