"""Damaged compressed logs: every line before the damage is read (as zcat shows it), the damage is one issue."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import zlib
from pathlib import Path

import pytest

from imsdiag.cli import cli

from ..clirunner import cli_runner
from ..conftest import SAMPLES

RELAY = (SAMPLES / "q178436-site-connector" / "relay" / "maillog").read_bytes() * 40


def _zcat(blob: bytes) -> bytes:
    """What `zcat` prints: every member, and of a damaged one everything zlib can decode."""
    out, rest = b"", blob
    while rest.startswith(b"\x1f\x8b"):
        d = zlib.decompressobj(wbits=31)
        out += d.decompress(rest) + d.flush()
        rest = d.unused_data
    return out


def _scan(folder: Path) -> dict:  # type: ignore[type-arg]
    r = cli_runner().invoke(cli, ["scan", "--no-index", "-q", "-f", "json", "--fail-on", "never", str(folder)])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)  # type: ignore[no-any-return]


def _lines(doc: dict) -> int:  # type: ignore[type-arg]
    (f,) = doc["files"]
    return int(f["lines"])


CUT = len(gzip.compress(RELAY)) - 300
HALF = len(RELAY) // 2
CASES = {
    "truncated": gzip.compress(RELAY)[:CUT],
    "trailing-junk": gzip.compress(RELAY) + b"\x00JUNK" * 40,
    "two-members": gzip.compress(RELAY[:HALF]) + gzip.compress(RELAY[HALF:]),
    "second-member-truncated": gzip.compress(RELAY[:HALF]) + gzip.compress(RELAY[HALF:])[:-200],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gzip_reads_every_line_zcat_recovers(name: str, tmp_path: Path) -> None:
    blob = CASES[name]
    (tmp_path / "maillog.gz").write_bytes(blob)
    doc = _scan(tmp_path)
    expected = _zcat(blob).count(b"\n")
    assert _lines(doc) == expected
    damaged = name != "two-members"
    assert doc["parse_issues"]["counts"] == ({"decompress-error": 1} if damaged else {})
    if damaged:
        # The line where reading stopped is named, right after the last complete line.
        (example,) = doc["parse_issues"]["examples"]
        assert example["line"] == expected and example["code"] == "decompress-error"


@pytest.mark.parametrize(("suffix", "compress"), [("bz2", bz2.compress), ("xz", lzma.compress)])
def test_truncated_bz2_and_xz_lose_at_most_their_last_block(suffix: str, compress: object, tmp_path: Path) -> None:
    blob = compress(RELAY)  # type: ignore[operator]
    (tmp_path / f"maillog.{suffix}").write_bytes(blob[: len(blob) - 100])
    doc = _scan(tmp_path)
    assert doc["parse_issues"]["counts"] == {"decompress-error": 1}
    # bz2 and xz decode in blocks; a cut stream keeps every complete block before the cut.
    assert 0 < _lines(doc) <= RELAY.count(b"\n")
