"""Frozen settings for a scan or an explain, built by the CLI or a library caller."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from .models import Severity

MIN_PASSES_RANGE = (2, 100_000)
"""`--min-passes` / `min-passes`: a loop needs two passes at least; more than this is a typo."""


def max_jobs() -> int:
    """The most worker processes a scan starts: 4 per CPU, whatever `--jobs` or a config file asks.

    A repository can carry an `imsdiag.toml` with `jobs = 100000`: that must not fork the machine to death.
    """
    return 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class ScanSettings:
    """Everything that changes what a scan reads, detects and reports."""

    paths: tuple[str, ...]
    tz: tzinfo | None = None
    """Zone of zone-less local stamps (IMS protocol logs, syslog); None assumes UTC and says so."""
    server_tz: tuple[tuple[str, tzinfo], ...] = ()
    """Per-server zones; the name may be any of the machine's names (the host map resolves it)."""
    host_aliases: tuple[tuple[str, str], ...] = ()
    """`--host-alias A=B`: names the user knows are one machine, joined before any inferred join."""
    log_format: str | None = None
    """Force one parser for every file instead of detecting by content."""
    min_passes: int = 3
    """Passes a repetition needs before it is called a loop."""
    window_seconds: float = 6 * 3600.0
    """Longest gap between two passes of the same loop; a longer pause starts a new loop."""
    since: datetime | None = None
    until: datetime | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity_overrides: tuple[tuple[str, Severity], ...] = ()
    jobs: int = 1
    index_path: str | None = None
    use_index: bool = False
    progress: bool = False
    baseline: frozenset[str] = field(default=frozenset())
    """Fingerprints of findings to suppress."""
    year_hint: int | None = None
    """Year for year-less syslog stamps; None takes each file's modification year."""
    follow_links: bool = False
    """Follow symlinks met in a folder to targets outside it (`--follow-links`); skipped with a note otherwise."""
