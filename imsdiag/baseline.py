"""Baselines: record the fingerprints of known findings, then hide them in later runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError
from .models import Finding
from .output import atomic_write_text
from .reporters.records import clean_text, dumps, iso_time

BASELINE_VERSION = 1


def baseline_document(findings: Iterable[Finding], now: datetime | None = None) -> dict[str, Any]:
    """The baseline JSON object: one entry per distinct fingerprint, sorted by fingerprint."""
    entries: dict[str, dict[str, Any]] = {}
    for finding in findings:
        # A finding without a fingerprint cannot be matched again, so it is never baselined.
        if finding.fingerprint and finding.fingerprint not in entries:
            entries[finding.fingerprint] = {
                "fingerprint": finding.fingerprint,
                "rule_id": finding.rule_id,
                "title": clean_text(finding.title),
                "hosts": [clean_text(h) for h in finding.hosts],
                "addresses": [clean_text(a) for a in finding.addresses],
            }
    return {
        "version": BASELINE_VERSION,
        "tool": "imsdiag",
        "generated": iso_time(now or datetime.now(timezone.utc)),
        "findings": [entries[k] for k in sorted(entries)],
    }


def write_baseline(path: str | os.PathLike[str], findings: Iterable[Finding], now: datetime | None = None) -> int:
    """Write a baseline of `findings` atomically; return how many fingerprints it holds.

    A file that cannot be written raises InputError (exit code 3), never a half-written baseline.
    """
    doc = baseline_document(findings, now)
    try:
        atomic_write_text(path, dumps(doc) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write baseline to {os.fspath(path)}: {exc.strerror or exc}") from exc
    return len(doc["findings"])


def load_baseline(path: str | os.PathLike[str]) -> frozenset[str]:
    """The fingerprints in a baseline file; ConfigError naming the file when it is missing or bad."""
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read baseline: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: baseline is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION:
        raise ConfigError(f'{name}: not an imsdiag baseline (expected "version": {BASELINE_VERSION})')
    entries = doc.get("findings")
    if not isinstance(entries, list):
        raise ConfigError(f'{name}: baseline has no "findings" list')
    fingerprints: set[str] = set()
    for n, entry in enumerate(entries):
        fp = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(fp, str) or not fp:
            raise ConfigError(f'{name}: baseline entry {n} has no "fingerprint" string')
        fingerprints.add(fp)
    return frozenset(fingerprints)


def apply_baseline(
    findings: Iterable[Finding], fingerprints: frozenset[str] | set[str]
) -> tuple[tuple[Finding, ...], int]:
    """Split off findings whose fingerprint is in the baseline: (kept findings, suppressed count)."""
    kept: list[Finding] = []
    suppressed = 0
    for finding in findings:
        if finding.fingerprint and finding.fingerprint in fingerprints:
            suppressed += 1
        else:
            kept.append(finding)
    return tuple(kept), suppressed
