"""`imsdiag scan`: options -> settings -> engine -> reporter -> exit code. No diagnosis happens here."""

from __future__ import annotations

import os
from typing import Any

import click

from .. import __version__
from ..boundary import decide
from ..params import DURATION, RULES, SCAN_FORMAT, SEVERITIES, WHEN, joined
from ..result import ScanResult
from ..settings import (
    DEFAULT_FAIL_ON,
    DEFAULT_FORMAT,
    DEFAULT_MIN_PASSES,
    DEFAULT_WINDOW,
    MIN_PASSES_RANGE,
    max_jobs,
)
from ..timewindow import WHEN_HELP, format_duration
from .common import (
    EXIT_CODES_HELP,
    FAIL_ON,
    check_engine,
    check_window,
    common_input_options,
    engine_options,
    exit_for,
    load_run_config,
    report_stream,
    run_settings,
)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=SCAN_FORMAT,
    envvar="IMSDIAG_FORMAT",
    show_envvar=True,
    help=f"Output format [default: {DEFAULT_FORMAT}: terminal, github in CI]",
)
@click.option("-o", "--output", type=click.Path(), help="Write the report here (atomically) instead.")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    help=f"Exit 1 when a finding is at least this severe [{DEFAULT_FAIL_ON}].",
)
@click.option(
    "--select",
    type=RULES,
    multiple=True,
    callback=joined,
    help="Only these rules: ids, slugs or id prefixes (LOOP, ALL), comma-separated.",
)
@click.option("--ignore", type=RULES, multiple=True, callback=joined, help="Skip these rules (ids, slugs, prefixes).")
@click.option(
    "--extend-select",
    type=RULES,
    multiple=True,
    callback=joined,
    help="Add rules to those --select or the config file chose.",
)
@click.option(
    "--extend-ignore", type=RULES, multiple=True, callback=joined, help="Skip these rules too (added to --ignore)."
)
@click.option("--severity", type=SEVERITIES, multiple=True, callback=joined, help="Override a rule's severity.")
@click.option("--since", type=WHEN, help=f"Ignore evidence before WHEN: {WHEN_HELP}.")
@click.option("--until", type=WHEN, help="Ignore evidence after WHEN.")
@click.option(
    "--min-passes",
    type=click.IntRange(*MIN_PASSES_RANGE),
    help=f"Passes before a repetition is a loop [{DEFAULT_MIN_PASSES}].",
)
@click.option(
    "--window",
    type=DURATION,
    help=f"Longest pause inside one loop, e.g. 6h [{format_duration(DEFAULT_WINDOW)}].",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, max_jobs()),
    help=f"Parse files in N processes (each file is read by one), at most {max_jobs()} (4 per CPU) [number of CPUs].",
)
@engine_options
@click.option(
    "--statistics",
    is_flag=True,
    help="Print how many findings each rule made instead of the findings (JSON with --format json/jsonl).",
)
@click.option(
    "--directory",
    multiple=True,
    metavar="EXPORT",
    type=click.Path(dir_okay=False),
    help="Directory export (as for imsdiag audit): Q178436 findings take the user's proxies from it and name "
    "the other users at risk; repeatable.",
)
@click.option("--baseline", type=click.Path(exists=True), help="Report only findings not in FILE.")
@click.option("--write-baseline", type=click.Path(), help="Record the current findings in FILE.")
@common_input_options
@click.pass_context
def scan(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    write_baseline: str | None,
    color: str,
    quiet: bool,
    verbose: int,
    follow_links: bool,
    statistics: bool,
    **_settings: Any,  # the rest reach RunSettings through ctx.params
) -> None:
    """Find every mail loop in PATH... (folders, files, .gz/.bz2/.xz, or - for stdin).

    \b
    Examples:
      imsdiag scan sample_logs/q178436-site-connector
      imsdiag scan /var/log/mail.log* --since 2d --format json -o loops.json
      imsdiag scan logs/ --format sarif -o imsdiag.sarif --fail-on warning
    """
    from dataclasses import replace

    from ..baseline import load_baseline
    from ..baseline import write_baseline as write_baseline_file
    from ..engine import scan as run_scan
    from ..output import resolve_target, write_report
    from ..progress import make_progress
    from ..reporters import ReportOptions, choose_format, get_reporter, statistics_reporter

    run = run_settings(ctx, load_run_config(ctx, quiet, verbose), format=fmt)
    # A bad baseline or an output path that will be refused is reported now, not after a long scan.
    known = load_baseline(run.baseline) if run.baseline else None
    inputs = (*paths, *run.scan.directory)  # a directory export is read too: -o must not replace it
    for target, what in ((output, "report"), (write_baseline, "baseline")):
        if target and target != "-":
            resolve_target(target, what, inputs, follow_links)
    check_window(ctx, run)
    check_engine(ctx, run)
    result = run_scan(replace(run.scan, baseline=known or frozenset()), make_progress(quiet, color))
    if write_baseline:
        # Every finding, the known ones too: a new baseline replaces the old one.
        n = write_baseline_file(write_baseline, result.found, inputs=inputs, follow_links=follow_links)
        if not quiet:
            click.echo(f"imsdiag: wrote {n} finding(s) to baseline {write_baseline}", err=True)
    name = choose_format(run.format, os.environ)
    options = ReportOptions(
        color="never" if output else color, verbose=verbose, fail_on=run.fail_on, tool_version=__version__
    )
    # Decided before the report is written: a reader that leaves early (`| head -1`) changes nothing.
    decided = decide(ctx, exit_for(result, run.fail_on))
    reporter = statistics_reporter(name, options) if statistics else get_reporter(name, options)
    write_report(reporter, result, output, report_stream(output), inputs=inputs, follow_links=follow_links)
    if not quiet and name != "terminal":
        _stderr_summary(result)
    ctx.exit(decided)


def _stderr_summary(result: ScanResult) -> None:
    """One line on stderr for machine formats, so a person watching CI still sees the outcome."""
    n = len(result.findings)
    issues = f", {result.issue_total} parse issue(s)" if result.issue_total else ""
    supp = f", {result.suppressed} suppressed by baseline" if result.suppressed else ""
    click.echo(f"imsdiag: {n} finding(s) in {result.files_read} file(s){issues}{supp}", err=True)
