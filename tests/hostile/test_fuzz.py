"""Property-based fuzzing of every parser and of parse_received: no exception escapes, every line is accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imsdiag.models import Hop, ParseIssue
from imsdiag.parsers.received import parse_received

from ..conftest import CORPUS
from .fuzzkit import SAMPLES, check_parser, mutated, near_valid, parser_named, parser_names, seed_lines

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLE_SEEDS = seed_lines(SAMPLES)
CORPUS_SEEDS = seed_lines(CORPUS / "maillogs", CORPUS / "exchange_msgtrk", CORPUS / "exim_testsuite" / "log")


@pytest.mark.parametrize("name", parser_names())
@FUZZ
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    check_parser(parser_named(name), data)


@pytest.mark.parametrize("name", parser_names())
@FUZZ
@given(data=mutated(SAMPLE_SEEDS))
def test_mutated_sample_lines(name: str, data: bytes) -> None:
    check_parser(parser_named(name), data)


@pytest.mark.parametrize("name", parser_names())
@FUZZ
@given(data=near_valid())
def test_near_valid_lines(name: str, data: bytes) -> None:
    check_parser(parser_named(name), data)


@pytest.mark.parametrize("name", parser_names())
def test_mutated_corpus_lines(name: str, corpus: Path) -> None:
    """The same property over real third-party lines (skipped without the corpus)."""
    if not CORPUS_SEEDS:
        pytest.skip("no corpus log lines found")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=mutated(CORPUS_SEEDS))
    def run(data: bytes) -> None:
        check_parser(parser_named(name), data)

    run()


@FUZZ
@given(text=st.text(max_size=400))
def test_parse_received_any_text(text: str) -> None:
    hop = parse_received(text)
    assert isinstance(hop, Hop) and isinstance(hop.defects, tuple)
    assert hop.date is None or hop.date.utcoffset() is not None


@FUZZ
@given(data=near_valid())
def test_parse_received_near_valid(data: bytes) -> None:
    text = data.decode("utf-8", "replace").removeprefix("Received: ")
    hop = parse_received(text)
    assert hop.date is None or hop.date.utcoffset() is not None
    assert all(d == d.lower() and " " not in d for d in hop.defects)


@FUZZ
@given(data=mutated([s for s in SAMPLE_SEEDS if b"from" in s or b"by" in s] or [b"from a by b; Mon, 1 Jan 2001"]))
def test_parse_received_mutated(data: bytes) -> None:
    hop = parse_received(data.decode("cp1252", "replace"))
    assert hop.raw is not None
    assert all(d == d.lower() and " " not in d for d in hop.defects)


def test_seeds_are_real_lines() -> None:
    """The mutation seeds come from the shipped samples, so the fuzzers start from real shapes."""
    assert len(SAMPLE_SEEDS) > 200
    assert any(b"MAIL FROM:<>" in s or b"MAIL FROM: <>" in s for s in SAMPLE_SEEDS)


def test_every_line_counted_on_a_known_line() -> None:
    """The invariant on a fixed case: a good line, a junk line and a cut line are all counted."""
    data = (
        b"Mar 15 09:12:44 relay sendmail[3614]: JEB03576: from=<>, size=523, class=0, nrcpts=1\n"
        b"\x00\xff junk \x1b[31m\n"
        b"Mar 15 09:12:44 relay sendm"
    )
    records = check_parser(parser_named("sendmail"), data)
    events = [r for r in records if not hasattr(r, "code")]
    assert events and events[0].location.line == 1 and events[0].sender == ""


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        # Found by the fuzzers: a From line with nothing after it said nothing at all.
        ("message", b"From ", [("empty-message", 1)]),
        ("mbox", b"From a@b Mon Mar 15 08:47:16 1999\n\nFrom b@c Mon Mar 15 08:47:17 1999\n", [("empty-message", 1)]),
        # ...and an envelope that never closes pointed at a line past the end of the file.
        ("ims-archive", b"\xf7\x00\x00\x00ImCr# sample\n", [("bad-envelope", 1), ("no-headers", 1)]),
    ],
)
def test_fuzz_findings_stay_fixed(name: str, data: bytes, expected: list[tuple[str, int]]) -> None:
    records = check_parser(parser_named(name), data)
    issues = [(r.code, r.location.line) for r in records if isinstance(r, ParseIssue)]
    assert issues[: len(expected)] == expected
