"""The line reader read in blocks gives what it gives a line at a time: texts, numbers, issues and counters."""

from __future__ import annotations

import io
import random

import pytest

from imsdiag.parsers import base
from imsdiag.parsers.base import ParseContext, iter_lines

PIECES = [
    b"3/15/99 12:00:01 AM : >>> MAIL FROM:<>",
    b"250-EXPN",
    b"",
    b"caf\xc3\xa9 utf-8",
    b"caf\xe9 windows-1252",
    b"nul\x00inside",
    b"tab\tand spaces  ",
    b"x" * 40,
    b"y" * 17,
]
ENDINGS = [b"\n", b"\n", b"\n", b"\r\n", b"\r"]


def _log(seed: int) -> bytes:
    rng = random.Random(seed)
    parts = []
    for _ in range(rng.randrange(0, 60)):
        parts.append(rng.choice(PIECES) + rng.choice(ENDINGS))
    data = b"".join(parts)
    if data and rng.random() < 0.3:
        data = data[: rng.randrange(len(data))]  # cut anywhere: a last line without a newline
    return data


def _read(data: bytes, blocks: bool, start: int = 0) -> tuple[list[tuple[int, str]], list[object], dict[str, int]]:
    ctx = ParseContext("x.log", reliable_reads=blocks)
    lines = list(iter_lines(io.BytesIO(data), ctx, start))
    return lines, [(i.location, i.code, i.message) for i in ctx.issues], ctx.counters


@pytest.mark.parametrize(("max_line", "block"), [(16, 16), (16, 5), (41, 7), (64, 64), (1 << 20, 1 << 20)])
def test_blocks_read_as_lines_do(max_line: int, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_LINE", max_line)
    monkeypatch.setattr(base, "LINE_BLOCK", block)
    for seed in range(300):
        data = _log(seed)
        assert _read(data, True, seed % 3) == _read(data, False, seed % 3), seed


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_ascii_blocks_take_the_fast_way(ending: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ASCII log, with Unix or Windows line endings, is split block by block, never read a line at a time."""
    calls: list[int] = []
    real = base._readline_lines

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "_readline_lines", counted)
    monkeypatch.setattr(base, "LINE_BLOCK", 64)
    data = b"".join(b"3/15/99 12:00:%02d AM : line %d" % (i % 60, i) + ending for i in range(100))
    lines, issues, counters = _read(data, True)
    assert [n for n, _ in lines] == list(range(1, 101))
    assert not counters
    assert lines[41] == (42, "3/15/99 12:00:41 AM : line 41")
    assert not issues and not calls


def test_too_long_a_line_is_cut_and_reading_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_LINE", 32)
    monkeypatch.setattr(base, "LINE_BLOCK", 8)
    data = b"short\n" + b"z" * 100 + b"\nafter\n"
    lines, issues, _ = _read(data, True)
    assert lines == [(1, "short"), (2, "z" * 33), (3, "after")]
    assert issues == [(base.Location("x.log", 2), "line-too-long", "line longer than 32 bytes cut (101 bytes)")]
