"""Linear time on adversarial 1 MB lines and header blocks: 8x the input must not cost 64x the work."""

from __future__ import annotations

import gc
import io
import re
import time
from collections.abc import Callable

import pytest

from imsdiag.models import Event
from imsdiag.names import subject_stem
from imsdiag.parsers import PARSERS, ParseContext, Parser
from imsdiag.parsers.base import MAX_LINE, MAX_SUBJECT
from imsdiag.parsers.received import parse_received

LARGE = 1_000_000
"""The large size: just under MAX_LINE, so the whole line is parsed."""
SMALL = LARGE // 8
"""The small size. An eightfold spread separates linear (8x) from quadratic (64x) work with room on both sides,
where a twofold spread (2x against 4x) left a loaded CI machine's noise a 3.1x reading of linear work."""
GROWTH_BOUND = 20
assert LARGE + 4096 < MAX_LINE

# Each shape is (prefix that gets past a parser's first gate, filler repeated to the size).
LINE_SHAPES: dict[str, tuple[str, str]] = {
    "open-parens": ("Received: from a ", "("),
    "nested-comments": ("Received: from a by b ", "((a) "),
    "angles": ("", "<"),
    "spaces": ("Received: from a", " "),
    "by-by-by": ("Received: from a ", "by "),
    "quotes": ("Received: from a ", '"'),
    "words": ("Received: from a ", "a "),
    "ims-mail-from": ("3/15/99 7:48:42 AM : <<< MAIL FROM:", "<"),
    "ims-rcpt": ("3/15/99 7:48:42 AM : <<< RCPT TO:<", "a@b "),
    "sendmail-relay": ("Mar 15 09:12:44 relay sendmail[3614]: JEB03576: to=<a@b>, ", "relay=x, "),
    "sendmail-from": ("Mar 15 09:12:44 relay sendmail[3614]: JEB03576: ", "from="),
    "postfix-status": ("Mar 15 09:12:44 mx1 postfix/smtp[36]: 4ABCDEF123: to=<a@b>, relay=", "x[1.2.3.4], status=s ("),
    "exim-fields": ("2021-07-17 23:20:49 1m4Zxs-0000AB-Cd <= a@b ", 'H=("'),
    "exim-syslog": ("", "host exim[1]: "),
    "tracking-tabs": ("c=US;a= ;p=Company;l=IMC1-9903151412Z-1369\t1017\t1999.3.15 14:12:39\t", "\t<a>"),
    "exchange-csv": ("2024-01-01T00:00:00.000Z,", ',"'),
}

# Header blocks: one header folded over many lines, or very many short headers.
BLOCK_SHAPES: dict[str, tuple[str, str]] = {
    "folded-received": ("Received: from a\n", " (b\n"),
    "folded-by": ("Received: from a\n", " by by\n"),
    "many-headers": ("Received: from a by b; Mon, 15 Mar 1999 08:47:16 -0500\n", "X-A: (<\n"),
    "many-received": ("Subject: x\n", "Received: from a by b (c) with d\n"),
}


def _body(prefix: str, filler: str, size: int) -> str:
    return prefix + (filler * (size // len(filler) + 1))[:size]


def _time(work: Callable[[], object]) -> float:
    # The collector's pauses land on whichever run crosses its threshold: keep them out of the comparison.
    # CPU time of this process, not wall time: other work on a shared machine must not look like growth.
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        work()
        return time.process_time() - start
    finally:
        gc.enable()


def _parse_all(parser: Parser, data: bytes) -> int:
    ctx = ParseContext(path="hostile.log")
    return sum(1 for _ in parser.parse(io.BytesIO(data), ctx))


def _assert_linear(make: Callable[[int], Callable[[], object]]) -> None:
    """Time the work at SMALL and at LARGE; best of up to five tries guards against a noisy machine.

    Linear work grows about 8x (n log n about 9.5x); quadratic work 64x. The 20x bound sits between them,
    and the small additive slack keeps microsecond-fast rejections from failing on timer noise.
    """
    small, large = make(SMALL), make(LARGE)
    best_small = best_large = float("inf")
    for _ in range(5):  # best of five: a shared CI machine has bursts of other work
        best_small = min(best_small, _time(small))
        best_large = min(best_large, _time(large))
        if best_large < GROWTH_BOUND * best_small + 0.02:
            return
    pytest.fail(f"work grew {best_large / best_small:.1f}x for 2x input ({best_small:.3f}s -> {best_large:.3f}s)")


TARGETS = [p.name for p in PARSERS]


@pytest.mark.parametrize("shape", sorted(LINE_SHAPES))
@pytest.mark.parametrize("target", TARGETS)
def test_parser_line_is_linear(target: str, shape: str) -> None:
    parser = next(p for p in PARSERS if p.name == target)
    prefix, filler = LINE_SHAPES[shape]

    def make(size: int) -> Callable[[], object]:
        data = _body(prefix, filler, size).encode() + b"\n"
        return lambda: _parse_all(parser, data)

    _assert_linear(make)


@pytest.mark.parametrize("shape", sorted(LINE_SHAPES))
def test_parse_received_line_is_linear(shape: str) -> None:
    prefix, filler = LINE_SHAPES[shape]

    def make(size: int) -> Callable[[], object]:
        text = _body(prefix.removeprefix("Received: "), filler, size)
        return lambda: parse_received(text)

    _assert_linear(make)


@pytest.mark.parametrize("shape", sorted(BLOCK_SHAPES))
@pytest.mark.parametrize("target", ["message", "mbox", "ims-archive"])
def test_header_block_is_linear(target: str, shape: str) -> None:
    parser = next(p for p in PARSERS if p.name == target)
    prefix, filler = BLOCK_SHAPES[shape]
    lead = "From a@b Mon Mar 15 08:47:16 1999\n" if target == "mbox" else ""

    def make(size: int) -> Callable[[], object]:
        data = (lead + _body(prefix, filler, size) + "\n\nbody\n").encode()
        return lambda: _parse_all(parser, data)

    _assert_linear(make)


@pytest.mark.parametrize("shape", ["folded-received", "folded-by"])
def test_parse_received_folded_block_is_linear(shape: str) -> None:
    prefix, filler = BLOCK_SHAPES[shape]

    def make(size: int) -> Callable[[], object]:
        text = _body(prefix.removeprefix("Received: "), filler, size)
        return lambda: parse_received(text)

    _assert_linear(make)


def test_megabyte_line_still_yields_a_bounded_hop() -> None:
    """A 1 MB Received value parses to one Hop that keeps the text and names its defects."""
    hop = parse_received("from a " + "(" * 1_000_000)
    assert hop.from_host == "a"
    assert "unclosed-comment" in hop.defects and "no-by" in hop.defects
    assert len(hop.raw) == 1_000_007


def test_the_ratio_check_catches_quadratic_work() -> None:
    """The harness itself: a backtracking regex over a run of spaces is quadratic, and must be caught."""
    quadratic = re.compile(r"\s*x")

    def make(size: int) -> Callable[[], object]:
        text = " " * (size // 50)  # 2,500 vs 20,000 spaces: ~3M vs ~200M regex steps
        return lambda: quadratic.search(text)

    with pytest.raises(pytest.fail.Exception, match="work grew"):
        _assert_linear(make)


def test_megabyte_subject_is_capped_on_the_event() -> None:
    """Later stages strip `Re:` prefixes one at a time; the parsers keep them from seeing a megabyte of them."""
    parser = next(p for p in PARSERS if p.name == "message")
    data = ("From: a@b\nSubject: " + "Re: " * 250_000 + "budget\n\nbody\n").encode()
    (event,) = [r for r in parser.parse(io.BytesIO(data), ParseContext(path="m.eml")) if isinstance(r, Event)]
    assert event.subject is not None and len(event.subject) == MAX_SUBJECT
    assert event.subject.startswith("Re: Re: ")


def test_subject_stem_is_linear() -> None:
    def make(size: int) -> Callable[[], object]:
        text = "Re: " * (size // 5) + "budget"  # 25,000 vs 200,000 stacked prefixes
        return lambda: subject_stem(text)

    _assert_linear(make)
