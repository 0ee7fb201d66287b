"""Exchange 5.x IMS archive and spool files: a binary `ImCr`...`EwLs` envelope, then the RFC 822 message."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from ..models import Direction, Location, Source
from ..names import normalize_address, normalize_host
from .base import ParseContext, Parser, Record, iter_lines
from .headers import MessageInfo, message_event, read_message
from .message_file import MessageBuffer, header_score

HEAD_BYTES = 65536
"""The envelope must close within this many bytes; a longer one is reported as `bad-envelope`."""
START_MARK = b"ImCr"
END_MARK = b"EwLs"

_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{2,}")  # 2: the null sender `<>` is a run of its own
_ANGLE = re.compile(r"<([^<>\s]{0,320})>")
_MTS_ID = re.compile(r"c=[A-Za-z ]{1,3};a=[^;<>]{0,16};p=[^;<>]{1,64};l=[!-~]{1,64}")
_HOST = re.compile(r"(?<![\w.@-])[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){1,10}(?![\w@-])")
_SPOOL_NAME = re.compile(r"[A-Za-z0-9]{8}")
_HEADER_AT = re.compile(rb"(?im)^(?:received|return-path|message-id|from|date|subject|x-mailer):[ \t]")
_SPLIT_PATH = re.compile(r"[\\/]")


@dataclass(frozen=True)
class Envelope:
    """What could be read from the binary IMS envelope (nothing in it is trusted)."""

    helo: str | None = None
    peer_host: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    mts_id: str | None = None


class _Joined:
    """A readline-only stream: the rest of the sniffed head, then the rest of the file."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self._first = io.BytesIO(first)
        self._rest = rest

    def readline(self, limit: int = -1) -> bytes:
        line = self._first.readline(limit)
        if line.endswith(b"\n") or (limit >= 0 and len(line) >= limit):
            return line
        return line + self._rest.readline(limit - len(line) if limit >= 0 else -1)


def read_envelope(raw: bytes) -> Envelope:
    """Printable runs between the markers: host names, then `<P1 sender>`, MTS-ID, `<P1 recipients>`."""
    text = " ".join(run.decode("ascii") for run in _PRINTABLE_RUN.findall(raw[:HEAD_BYTES]))
    addresses = [m.group(1) for m in _ANGLE.finditer(text)]
    first_angle = text.find("<")
    before = text if first_angle < 0 else text[:first_angle]
    hosts = [h for h in _HOST.findall(before) if not h.replace(".", "").isdigit()]
    mts = _MTS_ID.search(text)
    sender = None
    if addresses:
        sender = "" if not addresses[0].strip() else normalize_address(addresses[0])
    return Envelope(
        helo=normalize_host(hosts[0]) if hosts else None,
        peer_host=normalize_host(hosts[-1]) if hosts else None,
        sender=sender,
        recipients=tuple(a for a in (normalize_address(x) for x in addresses[1:]) if a),
        mts_id=mts.group(0) if mts else None,
    )


def direction_from_path(path: str) -> Direction:
    """IN for `In\\Archive`/`In`, OUT for `Out...`, LOCAL for `Pickup...`, from the nearest folder."""
    parts = [p.lower() for p in _SPLIT_PATH.split(path)[:-1]]
    for name in reversed(parts):
        if name == "pickup":
            return Direction.LOCAL
        if name == "in":
            return Direction.IN
        if name == "out":
            return Direction.OUT
    return Direction.UNKNOWN


def _basename(path: str) -> str:
    return _SPLIT_PATH.split(path)[-1]


class ImsArchiveParser(Parser):
    """Exchange 5.x IMS archive/spool file (ImCr...EwLs envelope + RFC 822 headers)."""

    name = Source.IMS_ARCHIVE
    description = "Exchange 5.x IMS archive/spool file (ImCr...EwLs envelope + RFC 822 headers)"

    def sniff(self, head: bytes, filename: str) -> int:
        if START_MARK in head[:64]:
            return 95
        folders = [p.lower() for p in _SPLIT_PATH.split(filename)[:-1]]
        if "archive" in folders and _SPOOL_NAME.fullmatch(_basename(filename)) and header_score(head):
            return 60
        return 0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        head = stream.read(HEAD_BYTES)
        envelope: Envelope | None = None
        body_at = 0
        start = head.find(START_MARK, 0, 64)
        if start >= 0:
            end = head.find(END_MARK, start + len(START_MARK))
            if end < 0:
                ctx.issue(1, "bad-envelope", "IMS envelope opens with ImCr but never closes with EwLs")
                found = _HEADER_AT.search(head, start + len(START_MARK))
                body_at = found.start() if found else len(head)
            else:
                envelope = read_envelope(head[start + len(START_MARK) : end])
                body_at = end + len(END_MARK)
                if envelope.sender is None:
                    ctx.issue(1, "bad-envelope", "IMS envelope holds no <address>: sender and recipients unknown")
        first_line = head.count(b"\n", 0, body_at) + 1
        yield from self._message(_Joined(head[body_at:], stream), ctx, first_line, envelope)

    def _message(self, stream: _Joined, ctx: ParseContext, first_line: int, env: Envelope | None) -> Iterator[Record]:
        buf = MessageBuffer()
        last_line = max(first_line - 1, 1)  # the envelope's own last line, when nothing follows it
        for n, text in iter_lines(cast(BinaryIO, stream), ctx):
            lineno = last_line = n + first_line - 1
            if buf.first_line == 0 and not text.strip():
                continue
            buf.add(lineno, text)
        if buf.empty:
            # Point at a line that exists: the last one read, not the one after the envelope.
            ctx.issue(last_line, "no-headers", "IMS archive file holds no message after its envelope")
            return
        info = read_message(b"".join(buf.chunks), location=Location(ctx.path), received_lines=tuple(buf.received_lines))
        if buf.truncated:
            ctx.issue(buf.first_line, "message-truncated", "archived message read only in part")
        if "no-headers" in info.defects:
            ctx.issue(buf.first_line, "no-headers", "IMS archive file holds no message headers")
            return
        overrides = {**_server_overrides(info, ctx), **_envelope_overrides(env)}
        ctx.count("messages")
        yield message_event(info, ctx.loc(buf.first_line), Source.IMS_ARCHIVE, **overrides)


def _server_overrides(info: MessageInfo, ctx: ParseContext) -> dict[str, object]:
    """Where the file lies says the direction and spool id; the IMS's own Received hop names the server."""
    ims_hop = next((h for h in info.received if h.build and h.by_host), None)
    server, server_source = ctx.server_hint, ctx.server_hint_source if ctx.server_hint else None
    if ims_hop is not None:
        server, server_source = normalize_host(ims_hop.by_host), "content"
    overrides: dict[str, object] = {
        "direction": direction_from_path(ctx.path),
        "queue_id": _basename(ctx.path) or None,
        "server": server,
        "server_source": server_source,
    }
    if ims_hop is not None:
        overrides["build"] = ims_hop.build
        if ims_hop.date is not None:
            overrides["time"] = ims_hop.date
    return overrides


def _envelope_overrides(env: Envelope | None) -> dict[str, object]:
    """What the binary envelope says beats the headers: the P1 sender and recipients, MTS-ID, the peer."""
    overrides: dict[str, object] = {}
    if env is None:
        return overrides
    if env.sender is not None:
        overrides["sender"] = env.sender
    if env.recipients:
        overrides["recipients"] = env.recipients
    if env.mts_id:
        overrides["mts_id"] = env.mts_id
    if env.peer_host:
        overrides["peer_host"] = env.peer_host
        overrides["helo"] = env.helo
    return overrides
