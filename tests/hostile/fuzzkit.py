"""Shared fuzzing kit: seed lines, mutation and near-valid strategies, and the no-crash invariant check."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from hypothesis import strategies as st

from imsdiag.errors import ImsdiagError
from imsdiag.models import Event, ParseIssue
from imsdiag.parsers import PARSERS, ParseContext, Parser
from imsdiag.parsers.base import iter_lines

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "sample_logs"

LINE_PARSERS = frozenset({"ims-protocol", "ims-tracking", "postfix", "sendmail", "exim", "exchange-tracking"})
"""Parsers that count every line they read in `counters["lines"]`."""

HOSTILE = ["(", ")", "<", ">", '"', "\\", "[", "]", ";", ":", "=", ",", "\t", "\r", "\n", "\x00", "\x1b", "\xff"]
HOSTILE += ["=?utf-8?q?", "?=", "by ", "from ", "MAIL FROM:", "relay=", "\r\n ", "\ud800", "\u202e", " " * 40]

SEED_FILES_PER_FOLDER = 40
SEED_LINES_PER_FILE = 60


def _lines_of(path: Path) -> list[bytes]:
    try:
        with path.open("rb") as handle:
            return [line for _, line in zip(range(SEED_LINES_PER_FILE), handle, strict=False) if line.strip()]
    except OSError:
        return []


def seed_lines(*folders: Path) -> list[bytes]:
    """Real lines (bytes, endings kept) from the first files of each folder that exists, in a stable order."""
    out: list[bytes] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.stat().st_size < 5_000_000)
        for path in files[:SEED_FILES_PER_FOLDER]:
            out.extend(_lines_of(path))
    return out


def hostile_piece() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(HOSTILE).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.binary(min_size=1, max_size=8),
        st.text(max_size=8).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A few real lines, each cut, spliced with hostile pieces or duplicated."""
    lines = draw(st.lists(st.sampled_from(seeds), min_size=1, max_size=6))
    out: list[bytes] = []
    for line in lines:
        op = draw(st.sampled_from(["keep", "cut", "insert", "replace", "double", "strip-ending"]))
        at = draw(st.integers(0, len(line)))
        piece = draw(hostile_piece())
        if op == "cut":
            line = line[:at]
        elif op == "insert":
            line = line[:at] + piece + line[at:]
        elif op == "replace":
            line = line[:at] + piece + line[at + len(piece) :]
        elif op == "double":
            line = line[:at] + line
        elif op == "strip-ending":
            line = line.rstrip(b"\r\n")
        out.append(line)
    return b"".join(out)


def _num(lo: int, hi: int) -> st.SearchStrategy[str]:
    """Numbers around a field's valid range, and a few that are far out of it."""
    return st.one_of(st.integers(lo, hi), st.integers(-5, 99999)).map(str)


_WORD = st.text(alphabet=st.sampled_from("abcXYZ019.-_@<>()[]:;= \"'\t"), max_size=30)
_ADDR = st.one_of(st.just("<>"), _WORD.map(lambda w: f"<{w}>"), _WORD)


def _clock(draw: st.DrawFn, sep: str = ":") -> str:
    return sep.join(draw(_num(0, hi)) for hi in (23, 59, 59))


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    """Lines shaped like every supported format, with fields drawn from just-valid and broken values."""
    w, a = (lambda: draw(_WORD)), (lambda: draw(_ADDR))
    ampm = draw(st.sampled_from(["AM", "PM", "pm", "", "XM"]))
    ims = f"{draw(_num(1, 12))}/{draw(_num(1, 31))}/{draw(_num(0, 99))} {_clock(draw)} {ampm} :"
    month = draw(st.sampled_from(["Mar", "Feb", "Xyz", "mar"]))
    syslog = f"{month} {draw(_num(1, 31))} {_clock(draw)} {w()}"
    day = f"{draw(_num(1990, 2030))}-{draw(_num(1, 12))}-{draw(_num(1, 31))}"
    daemon = draw(st.sampled_from(["smtp", "qmgr", "cleanup", "smtpd", "bounce"]))
    flag = draw(st.sampled_from(["<=", "=>", "->", "**", "==", "Completed"]))
    track_day = f"{draw(_num(1990, 2030))}.{draw(_num(1, 12))}.{draw(_num(1, 31))}"
    shapes = [
        f"{ims} <<< MAIL FROM:{a()} SIZE={draw(_num(0, 10**6))}",
        f"{ims} >>> RCPT TO:{a()}",
        f"{ims} A connection was accepted from {w()}.",
        f"{ims} >>> 220 {w()} ESMTP Server (Microsoft Exchange Internet Mail Service {w()}) Ready.",
        f"{syslog} sendmail[{draw(_num(1, 99999))}]: {w()}: from={a()}, size={draw(_num(0, 10**6))}, nrcpts=1",
        f"{syslog} sendmail[1]: JEB03576: to={a()}, delay=00:00:02, mailer=esmtp, relay={w()}, stat={w()}",
        f"{syslog} postfix/{daemon}[1]: {w()}: to={a()}, relay={w()}, status={w()} ({w()})",
        f"{day} {_clock(draw)} {w()} {flag} {a()} H={w()} R={w()}",
        f"c=US;a= ;p={w()};l={w()}\t{draw(_num(0, 2000))}\t{track_day} {_clock(draw)}\t{w()}\t{w()}",
        f"{day}T{_clock(draw)}.000Z,{w()},{w()},{w()},{w()},RECEIVE,SMTP,{w()}",
        f"Received: from {w()} ({w()} [{w()}]) by {w()} with {w()} id {w()} for {a()}; {w()}",
        f"Subject: {draw(st.text(max_size=40))}",
        f"From {w()} {w()}",
    ]
    lines = draw(st.lists(st.sampled_from(shapes), min_size=1, max_size=5))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", ""]))
    return ending.join(lines).encode("utf-8", "surrogatepass")


def read_lines(data: bytes) -> list[str]:
    """The lines the shared reader sees in `data` (every line parser must count each of them)."""
    return [text for _, text in iter_lines(io.BytesIO(data), ParseContext(path="count"))]


def check_parser(parser: Parser, data: bytes) -> list[Event | ParseIssue]:
    """Run `parser` over `data` and assert the hostile-input invariants; returns every record."""
    ctx = ParseContext(path="fuzz/input.log")
    try:
        records: list[Event | ParseIssue] = list(parser.parse(io.BytesIO(data), ctx))
    except ImsdiagError:
        return []  # the project's own, deliberate errors are allowed out
    records.extend(ctx.issues)
    texts = read_lines(data)
    lines = len(texts)
    for rec in records:
        assert rec.location.path == ctx.path, rec
        assert 0 <= rec.location.line <= max(lines, 1), (rec, lines)
        if isinstance(rec, Event):
            assert rec.time is None or rec.time.utcoffset() is not None, rec
            assert all(isinstance(r, str) for r in rec.recipients), rec
        else:
            assert rec.code and rec.code == rec.code.lower() and " " not in rec.code, rec
            assert len(rec.excerpt) <= 200
    if parser.name in LINE_PARSERS:
        # Every line is read and counted; the ones not understood are counted or reported too.
        assert ctx.counters.get("lines", 0) == lines, (ctx.counters, lines)
    elif any(t.strip() for t in texts):
        assert ctx.counters.get("messages", 0) >= 1 or any(isinstance(r, ParseIssue) for r in records), ctx.counters
    return records


def parser_names() -> list[str]:
    return [p.name for p in PARSERS]


def parser_named(name: str) -> Parser:
    return next(p for p in PARSERS if p.name == name)


def flatten(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)
