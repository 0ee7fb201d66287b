"""Baseline files: record the fingerprints of known findings, and read them back for the policy to hide."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from .config import read_regular_file
from .errors import ConfigError
from .jsontext import clean_text, dumps, iso_time
from .models import Finding
from .output import write_text
from .textsafe import safe_text

BASELINE_VERSION = 1
BASELINE_LIMIT = 64 << 20
"""Largest baseline read: one entry is about 300 bytes, so this is some 200,000 findings."""


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


def write_baseline(
    path: str | os.PathLike[str],
    findings: Iterable[Finding],
    now: datetime | None = None,
    *,
    stdout: TextIO | None = None,
    inputs: Sequence[str] = (),
    follow_links: bool = False,
) -> int:
    """Write a baseline of `findings` (atomically to a file, `-` to stdout); return how many fingerprints it holds.

    A path that cannot or must not be written (see `output.resolve_target`; `inputs` are the scanned
    paths) raises InputError (exit code 3), never a half-written baseline.
    """
    doc = baseline_document(findings, now)
    write_text(path, dumps(doc) + "\n", stdout or sys.stdout, what="baseline", inputs=inputs, follow_links=follow_links)
    return len(doc["findings"])


def load_baseline(path: str | os.PathLike[str]) -> frozenset[str]:
    """The fingerprints in a baseline file; ConfigError naming the file when it is missing or bad."""
    name = safe_text(os.fspath(path), 300)
    try:
        text = read_regular_file(path, BASELINE_LIMIT, "baseline").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read baseline: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{name}: baseline is nested too deeply to be an imsdiag baseline") from None
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
