"""Frozen settings for a scan or an explain, and the one place their defaults are written."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from .models import Severity
from .sources import is_stream_path

MIN_PASSES_RANGE = (2, 100_000)
"""`--min-passes` / `min-passes`: a loop needs two passes at least; more than this is a typo."""
DEFAULT_MIN_PASSES = 3
"""Passes a repetition needs before it is called a loop."""
DEFAULT_WINDOW = timedelta(hours=6)
"""Longest pause between two passes of one loop; a longer pause starts a new loop."""
DEFAULT_FAIL_ON = "error"
"""The least severe finding that makes `scan` exit 1."""
DEFAULT_FORMAT = "auto"
"""`scan`'s report format: `auto` picks terminal, or github inside GitHub Actions."""


ENGINES = ("local", "dask")
"""`--engine`: this machine's processes, or a Dask cluster (`pip install 'imsdiag[dask]'`, see docs/scale.md)."""


def max_jobs() -> int:
    """The most worker processes a scan starts: 4 per CPU, whatever `--jobs` or a config file asks.

    A repository can carry an `imsdiag.toml` with `jobs = 100000`: that must not fork the machine to death.
    """
    return 4 * (os.cpu_count() or 1)


def default_jobs() -> int:
    """Worker processes for a command-line run that names none: one per CPU.

    A library caller that builds ScanSettings itself gets one process: it did not ask for more.
    """
    return os.cpu_count() or 1


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
    min_passes: int = DEFAULT_MIN_PASSES
    """Passes a repetition needs before it is called a loop."""
    window_seconds: float = DEFAULT_WINDOW.total_seconds()
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
    directory: tuple[str, ...] = ()
    """Directory exports (`scan --directory`) that give the Q178436 rule each user's real proxies."""
    full_parse: bool = False
    """Read every file with its full parser, never a fast extractor (also `IMSDIAG_FULL_PARSE=1`): for comparing."""
    keep_spans: bool = False
    """Keep where each block of a log read by a fast extractor lies (`FileOutcome.spans`): explain without the
    index searches those blocks for its ids after the scan (`imsdiag.logrounds`)."""
    engine: str = "local"
    """`local` (`jobs` processes here) or `dask` (a cluster; `jobs` local workers when no `scheduler`)."""
    scheduler: str | None = None
    """Address of a running Dask scheduler (`tcp://host:8786`) for `engine="dask"`."""


@dataclass(frozen=True)
class RunSettings:
    """One command-line run: what to scan, and how `scan` reports the result."""

    scan: ScanSettings
    format: str = DEFAULT_FORMAT
    fail_on: str = DEFAULT_FAIL_ON
    """`error`, `warning`, `info` or `never`."""
    baseline: str | None = None
    """Findings file whose findings are not reported again."""

    @classmethod
    def from_sources(cls, cli: Mapping[str, Any], config: Mapping[str, Any]) -> RunSettings:
        """Each value from the command line if given there, else from the config file, else its default.

        `cli` holds the command's parameters by name (an option not given is None or empty), `config` what
        a config file set (`Config.given()`), under the same names; both hold values already checked.
        """

        def pick(key: str, default: Any = None) -> Any:
            return next((v for v in (cli.get(key), config.get(key)) if v is not None and v != ()), default)

        paths = tuple(cli.get("paths") or ())
        scheduler = pick("scheduler")
        scan = ScanSettings(
            paths=paths,
            tz=pick("tz"),
            server_tz=pick("server_tz", ()),
            host_aliases=pick("host_alias", ()),
            log_format=cli.get("log_format"),
            min_passes=pick("min_passes", DEFAULT_MIN_PASSES),
            window_seconds=pick("window", DEFAULT_WINDOW).total_seconds(),
            since=pick("since"),
            until=pick("until"),
            select=_extended(pick("select", ()), cli, config, "extend_select"),
            ignore=tuple(pick("ignore", ())) + _both(cli, config, "extend_ignore"),
            severity_overrides=pick("severity", ()),
            jobs=pick("jobs") or default_jobs(),
            index_path=cli.get("index_path"),
            # A pipe is read once, like stdin: an index entry for it would describe input that is gone.
            use_index=not cli.get("no_index") and not any(is_stream_path(p) for p in paths),
            follow_links=bool(cli.get("follow_links")),
            # A scheduler address alone asks for the cluster; `engine = "local"` beside it is refused by `scan`.
            engine=pick("engine") or ("dask" if scheduler else "local"),
            scheduler=scheduler,
            directory=tuple(cli.get("directory") or ()),
        )
        fail_on = pick("fail_on", DEFAULT_FAIL_ON)
        baseline = pick("baseline")
        return cls(
            scan,
            format=pick("format", DEFAULT_FORMAT),
            fail_on=fail_on.value if isinstance(fail_on, Severity) else fail_on,
            baseline=None if baseline is None else str(baseline),
        )


def _both(cli: Mapping[str, Any], config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """An `extend-*` list adds up from both sources (the command line's and the config file's)."""
    return tuple(config.get(key) or ()) + tuple(cli.get(key) or ())


def _extended(select: tuple[str, ...], cli: Mapping[str, Any], config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """`select` plus the `extend-select` names; with no `select`, every rule runs already and stays so."""
    return tuple(select) + _both(cli, config, key) if select else ()
