"""A file's records packed into zlib blocks, and the block's id keys: how the index stays a fraction of the logs."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator

from ..models import Event, EventTally, Location, LogSpan, ParseIssue
from ..serialize import event_from_json, from_dict, issue_from_json
from .ids import event_ids

BLOCK_RECORDS = 256
"""Records per block: one JSON row per event was 2-3x the size of the logs; 256 of them compress about 19x,
and a lookup decompresses one block (a few ms) to pick out its events."""
BLOCK_BYTES = 256 << 10
"""A block is closed early at this many bytes of JSON: long records (archives) keep each decompression small."""
LEVEL = 6
EVENT, ISSUE, TALLY, SPAN, KEYS = "e", "i", "t", "s", "k"
"""The first character of a line in a block: an Event, a ParseIssue, an EventTally or a LogSpan follows as JSON;
the last line, the keys."""
StoredRecord = Event | ParseIssue | EventTally | LogSpan

Key = tuple[str, int]
"""(normalised id, kind code) of an id some event in the block carries."""


def pack(lines: list[str], keys: Iterable[Key]) -> bytes:
    """One zlib stream: the records, one a line, then the block's id keys.

    The keys let forgetting a file delete its `ids` rows by primary key; in the same stream as the
    records (whose text holds the same ids) they compress to a few bytes each.
    """
    # json.dumps escapes every control character, so "\n" never occurs inside a record.
    tail = KEYS + json.dumps(list(keys), separators=(",", ":"))
    return zlib.compress("\n".join([*lines, tail]).encode("utf-8", "surrogatepass"), LEVEL)


def unpack(data: bytes) -> tuple[list[str], list[Key]]:
    """A block's record lines and id keys; a damaged block raises zlib.error or a ValueError (damage.py)."""
    return split(inflate(data))


def inflate(data: bytes) -> str:
    if not isinstance(data, bytes):
        raise TypeError(f"index block of type {type(data).__name__}, not bytes")
    return zlib.decompress(data).decode("utf-8", "surrogatepass")


def split(text: str) -> tuple[list[str], list[Key]]:
    lines = text.split("\n")
    tail = lines.pop()
    if tail[:1] != KEYS:
        raise ValueError("index block without its id keys")
    return lines, [(str(n), int(k)) for n, k in json.loads(tail[1:])]


def record_of(line: str) -> StoredRecord:
    """The record a block line holds."""
    kind = line[:1]
    if kind == EVENT:
        return event_from_json(line[1:])
    if kind == ISSUE:
        return issue_from_json(line[1:])
    if kind == TALLY:
        return from_dict(EventTally, json.loads(line[1:]))
    if kind == SPAN:
        return span_of(line)
    raise ValueError(f"index record of unknown kind {line[:1]!r}")


def span_of(line: str) -> LogSpan:
    """The LogSpan a block line holds (read by hand: the generic decoder took most of a lookup of many spans)."""
    d = json.loads(line[1:])
    loc = d["location"]
    return LogSpan(
        location=Location(str(loc["path"]), int(loc.get("line", 0))),
        offset=int(d["offset"]),
        length=int(d["length"]),
        year=d["year"] if d.get("year") is None else int(d["year"]),
        month=int(d["month"]),
        year_hint=int(d["year_hint"]),
        ids=tuple((str(n), str(k)) for n, k in d["ids"]),
    )


def spans_in(text: str, wanted: set[str] | None = None) -> list[LogSpan]:
    """The LogSpans of a block (`inflate`d) that name one of `wanted` (all when None), in order."""
    if not text.startswith(SPAN) and "\n" + SPAN not in text:
        return []
    # A plain id is in a span's JSON text as it is: a span that does not contain one is not decoded.
    plain = wanted is not None and all(_plain(n) for n in wanted)
    out = []
    for line in text.split("\n"):
        if line[:1] != SPAN:
            continue
        if plain and wanted is not None and not any(n in line for n in wanted):
            continue
        span = span_of(line)
        if wanted is None or any(n in wanted for n, _ in span.ids):
            out.append(span)
    return out


def _plain(ident: str) -> bool:
    """Can a block line be skipped when its lower-cased JSON text does not contain `ident`?

    True for printable ASCII without the characters JSON escapes; str.lower is then per character
    (no final-sigma context, no character lowering to two), so an event carrying the id contains it.
    """
    return ident.isascii() and ident.isprintable() and '"' not in ident and "\\" not in ident


Decoded = dict[str, tuple[list[tuple[str, str]], Event]]
"""An event's block line -> its ids and the event: explain following links meets most events again."""
DECODED_CAP = 1 << 15
"""Events a `Decoded` table keeps at most (a long loop's explain decodes about 1,400)."""


def events_carrying(
    text: str, wanted: set[str], decoded: Decoded | None = None
) -> Iterator[tuple[list[tuple[str, str]], Event]]:
    """(ids, event) for each event of a block (`inflate`d) that carries one of `wanted`; a block holds others too.

    `decoded` keeps the events decoded from earlier look-ups, by their line (which names their file and line):
    decoding was most of the look-ups of a looping message, and its links lead back to the same events.
    """
    for line in _candidates(text, wanted):
        if line[:1] != EVENT:
            continue  # a parse issue, or the keys line
        got = decoded.get(line) if decoded is not None else None
        if got is None:
            event = event_from_json(line[1:])
            got = (event_ids(event), event)
            if decoded is not None and len(decoded) < DECODED_CAP:
                decoded[line] = got
        if any(n in wanted for n, _ in got[0]):
            yield got


def _candidates(text: str, wanted: set[str]) -> Iterable[str]:
    """The lines of a block that may carry one of `wanted`, in order: decoding every event cost most of a lookup."""
    low = text.lower()
    if len(low) != len(text) or not all(_plain(n) for n in wanted):
        return text.split("\n")  # positions in `low` would not be positions in `text`: decode every line
    starts: set[int] = set()
    for n in wanted:
        pos = low.find(n)
        while pos >= 0:
            starts.add(text.rfind("\n", 0, pos) + 1)
            pos = low.find(n, pos + 1)
    out = []
    for start in sorted(starts):
        end = text.find("\n", start)
        out.append(text[start : end if end >= 0 else len(text)])
    return out
