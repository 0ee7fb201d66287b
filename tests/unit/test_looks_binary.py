"""`looks_binary`: the control-byte share that makes a file binary, counted as the definition says."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imsdiag.parsers.base import looks_binary


def _by_definition(head: bytes) -> bool:
    sample = head[:4096]
    if not sample:
        return False
    if sample.count(b"\x00") > len(sample) // 10:
        return True
    return sum(1 for b in sample if b < 9 or 13 < b < 32) > len(sample) // 5


@given(st.binary(max_size=6000))
def test_it_counts_control_bytes_as_defined(head: bytes) -> None:
    assert looks_binary(head) == _by_definition(head)


def test_text_logs_are_not_binary_and_control_floods_are() -> None:
    assert not looks_binary(b"Mar 15 09:12:44 relay sendmail[3614]: JEB03576: from=<>\r\n\t\x0b\x0c")
    assert looks_binary(b"\x01" * 205 + b"a" * 795)  # 20.5% control bytes
    assert not looks_binary(b"\x01" * 200 + b"a" * 800)  # exactly a fifth is not more than a fifth
    assert looks_binary(b"\x00" * 101 + b"a" * 899)  # NULs over a tenth
