"""Baselines: write, load, apply; fingerprints come from the rules, never from line numbers."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from imsdiag.baseline import load_baseline, write_baseline
from imsdiag.errors import ConfigError, InputError
from imsdiag.models import Evidence, Finding, Location
from imsdiag.policy import Policy

from .reporters.conftest import INFO_FINDING, LOOP003_FINDING, Q178436_FINDING

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)


def apply_baseline(findings: list[Finding], fingerprints: frozenset[str]) -> tuple[tuple[Finding, ...], int]:
    """The policy with only a baseline: (findings shown, how many it suppressed)."""
    shown = Policy(baseline=fingerprints).apply(findings)
    return shown.findings, shown.suppressed


def test_write_baseline_document(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    unfingerprinted = replace(INFO_FINDING, fingerprint="")
    count = write_baseline(path, [Q178436_FINDING, LOOP003_FINDING, Q178436_FINDING, unfingerprinted], NOW)
    assert count == 2
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc == {
        "version": 1,
        "tool": "imsdiag",
        "generated": "2024-03-10T12:00:00Z",
        "findings": [
            {
                "fingerprint": "loop003-51c2aa09e4d7",
                "rule_id": "LOOP003",
                "title": "Message rejected after too many hops at mx1.example.net",
                "hosts": ["mx1.example.net"],
                "addresses": ["list@example.net"],
            },
            {
                "fingerprint": "q178436-7d1e0c5a9b3f",
                "rule_id": "Q178436",
                "title": (
                    "Delivery receipt loops between imc1.company.com and relay.company.com for user2@company.com"
                ),
                "hosts": ["imc1.company.com", "relay.company.com"],
                "addresses": ["user2@company.com"],
            },
        ],
    }


def test_round_trip_and_apply(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [Q178436_FINDING], NOW)
    fingerprints = load_baseline(path)
    assert fingerprints == frozenset({"q178436-7d1e0c5a9b3f"})
    # The same loop after log rotation: other file, other line, same fingerprint: still suppressed.
    rotated = replace(Q178436_FINDING, evidence=(Evidence(Location("imc1/L0000002.LOG", 900), "x"),))
    kept, suppressed = apply_baseline([rotated, LOOP003_FINDING, INFO_FINDING], fingerprints)
    assert kept == (LOOP003_FINDING, INFO_FINDING)
    assert suppressed == 1


def test_apply_never_suppresses_empty_fingerprint() -> None:
    finding = replace(LOOP003_FINDING, fingerprint="")
    assert apply_baseline([finding], frozenset({""})) == ((finding,), 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "baseline is not valid JSON"),
        ('{"version": 2, "findings": []}', 'not an imsdiag baseline \\(expected "version": 1\\)'),
        ("[]", "not an imsdiag baseline"),
        ('{"version": 1}', 'baseline has no "findings" list'),
        ('{"version": 1, "findings": [{"rule_id": "LOOP003"}]}', 'baseline entry 0 has no "fingerprint" string'),
    ],
)
def test_bad_baseline(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: {message}"):
        load_baseline(path)


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read baseline"):
        load_baseline(tmp_path / "absent.json")


def test_unwritable_baseline_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write baseline to"):
        write_baseline(tmp_path / "no-such-dir" / "b.json", [Q178436_FINDING], NOW)
