"""The command line: options -> settings -> library -> reporter -> exit code. No diagnosis happens here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from . import __version__
from .boundary import ImsdiagGroup, decide
from .config import Config, load_config
from .errors import ExitCode, InputError, MessageNotFound
from .models import Severity
from .params import (
    DURATION,
    HOST_ALIAS,
    LOG_FORMAT,
    RULES,
    SCAN_FORMAT,
    SERVER_ZONE,
    SEVERITIES,
    WHEN,
    ZONE,
    joined,
)
from .result import ScanResult
from .settings import (
    DEFAULT_FAIL_ON,
    DEFAULT_FORMAT,
    DEFAULT_MIN_PASSES,
    DEFAULT_WINDOW,
    MIN_PASSES_RANGE,
    RunSettings,
    max_jobs,
)
from .timewindow import WHEN_HELP, format_duration

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FAIL_ON = ("error", "warning", "info", "never")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
  0  nothing at or above the --fail-on threshold
  1  findings at or above the threshold (a loop was found)
  2  usage error
  3  input or config error (missing path, no readable input, unknown id)
  4  internal error (please report it; --debug shows the traceback)
  130 interrupted (Ctrl-C)"""

EXPLAIN_EXIT_CODES_HELP = """\b
Exit codes:
  0  the message was found and told, and no error-level loop involves it
  1  the message was found and is part of an error-level loop (a finding of severity error)
  2  usage error
  3  input or config error (no readable logs, an unknown or ambiguous id)
  4  internal error (please report it; --debug shows the traceback)
  130 interrupted (Ctrl-C)"""


def common_input_options(func: F) -> F:
    """Options that change how logs are read, shared by `scan` and `explain`."""
    options = [
        click.option("--tz", type=ZONE, help="Zone of zone-less local time stamps (IMS logs, syslog). Default UTC."),
        click.option(
            "--server-tz",
            "server_tz",
            type=SERVER_ZONE,
            multiple=True,
            help="Zone for one server, by any of its names; repeatable.",
        ),
        click.option(
            "--host-alias",
            "host_alias",
            type=HOST_ALIAS,
            multiple=True,
            help="Two names (or a name and an address) of one machine, e.g. relay=10.0.0.5; repeatable.",
        ),
        click.option(
            "--log-format",
            type=LOG_FORMAT,
            help="Read every file as this format instead of detecting it by content.",
        ),
        click.option(
            "--index",
            "index_path",
            metavar="PATH",
            help="Index database (default: the user cache folder, e.g. ~/.cache/imsdiag/index-v3.sqlite).",
        ),
        click.option("--no-index", is_flag=True, help="Do not read or write the event index."),
        click.option(
            "--follow-links",
            is_flag=True,
            help="Follow symlinks in a folder that lead outside it (skipped with a note by default).",
        ),
        # A folder or FIFO here is refused by the config reader (exit 3), not by click (exit 2).
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            help="Config file [default: the nearest imsdiag.toml, pyproject.toml [tool.imsdiag] or setup.cfg "
            "[imsdiag] from here up].",
        ),
        click.option("--isolated", is_flag=True, help="Read no config file (only the command line and defaults)."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True),
        click.option("-q", "--quiet", is_flag=True, help="No progress or notes on stderr."),
        click.option("-v", "--verbose", count=True, help="More detail (servers and files tables)."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


@click.group(cls=ImsdiagGroup, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "-V", "--version", prog_name="imsdiag")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
def cli(debug: bool) -> None:
    """Find and explain mail loops in mail server logs and archived messages.

    Reads Exchange 5.x IMS protocol logs, archive files and tracking logs, Postfix, Sendmail,
    Exim and Exchange 2007+ tracking logs, and .eml/mbox messages; finds loops across messages
    and servers (KB Q178436 first) and says what to fix.
    """
    # --debug is read by the error boundary (boundary.ImsdiagGroup) from this context's parameters.


def _config(ctx: click.Context, quiet: bool = False, verbose: int = 0) -> Config:
    """The config file this run reads (`--config`, the nearest one, or none with `--isolated`); -v names it."""
    params = ctx.params
    cfg = load_config(params.get("config_file"), Path.cwd(), isolated=bool(params.get("isolated")))
    if verbose and not quiet:
        if cfg.source is not None:
            used = f"config: {cfg.source}"
        else:
            used = "config: none (--isolated)" if params.get("isolated") else "config: none found"
        click.echo(f"imsdiag: {used}", err=True)
    return cfg


def _run_settings(ctx: click.Context, cfg: Config, **overrides: Any) -> RunSettings:
    """This command's options layered over the config file (`RunSettings.from_sources`)."""
    return RunSettings.from_sources({**ctx.params, **overrides}, cfg.given())


def _check_window(ctx: click.Context, run: RunSettings) -> None:
    """Each end may come from the command line or the config file: only together can they be compared."""
    since, until = run.scan.since, run.scan.until
    if since is not None and until is not None and since > until:
        raise click.BadParameter(
            f"--since ({since:%Y-%m-%d %H:%M} UTC) is later than --until ({until:%Y-%m-%d %H:%M} UTC)",
            ctx,
            param_hint="--since/--until",
        )


def _exit_for(result: ScanResult, fail_on: str) -> ExitCode:
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity(fail_on).rank
    return ExitCode.FINDINGS if any(f.severity.rank >= threshold for f in result.findings) else ExitCode.OK


@cli.command(epilog=EXIT_CODES_HELP)
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
    help=f"Parse files in N processes, at most {max_jobs()} (4 per CPU) [number of CPUs].",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Print how many findings each rule made instead of the findings (JSON with --format json/jsonl).",
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

    from .baseline import load_baseline
    from .baseline import write_baseline as write_baseline_file
    from .engine import scan as run_scan
    from .output import resolve_target, write_report
    from .progress import make_progress
    from .reporters import ReportOptions, choose_format, get_reporter, statistics_reporter

    run = _run_settings(ctx, _config(ctx, quiet, verbose), format=fmt)
    # A bad baseline or an output path that will be refused is reported now, not after a long scan.
    known = load_baseline(run.baseline) if run.baseline else None
    for target, what in ((output, "report"), (write_baseline, "baseline")):
        if target and target != "-":
            resolve_target(target, what, paths, follow_links)
    _check_window(ctx, run)
    result = run_scan(replace(run.scan, baseline=known or frozenset()), make_progress(quiet, color))
    if write_baseline:
        # Every finding, the known ones too: a new baseline replaces the old one.
        n = write_baseline_file(write_baseline, result.found, inputs=paths, follow_links=follow_links)
        if not quiet:
            click.echo(f"imsdiag: wrote {n} finding(s) to baseline {write_baseline}", err=True)
    name = choose_format(run.format, os.environ)
    options = ReportOptions(
        color="never" if output else color, verbose=verbose, fail_on=run.fail_on, tool_version=__version__
    )
    # Decided before the report is written: a reader that leaves early (`| head -1`) changes nothing.
    decided = decide(ctx, _exit_for(result, run.fail_on))
    reporter = statistics_reporter(name, options) if statistics else get_reporter(name, options)
    write_report(reporter, result, output, _stdout(output), inputs=paths, follow_links=follow_links)
    if not quiet and name != "terminal":
        _stderr_summary(result)
    ctx.exit(decided)


def _stderr_summary(result: ScanResult) -> None:
    """One line on stderr for machine formats, so a person watching CI still sees the outcome."""
    n = len(result.findings)
    issues = f", {result.issue_total} parse issue(s)" if result.issue_total else ""
    supp = f", {result.suppressed} suppressed by baseline" if result.suppressed else ""
    click.echo(f"imsdiag: {n} finding(s) in {result.files_read} file(s){issues}{supp}", err=True)


EXPLAIN_FORMATS = ("terminal", "json")


@cli.command(name="explain", epilog=EXPLAIN_EXIT_CODES_HELP)
@click.argument("ident", metavar="ID")
@click.option(
    "--logs",
    multiple=True,
    metavar="PATH",
    help="Logs to search (folder, file); repeatable. Default: everything already in the index.",
)
@click.option("-f", "--format", "fmt", type=click.Choice(EXPLAIN_FORMATS), default="terminal", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write the report here (atomically) instead.")
@common_input_options
@click.pass_context
def explain_cmd(
    ctx: click.Context,
    ident: str,
    logs: tuple[str, ...],
    fmt: str,
    output: str | None,
    color: str,
    verbose: int,
    follow_links: bool,
    **_settings: Any,  # the rest reach RunSettings through ctx.params
) -> None:
    """Tell the whole story of one message: ID is a Message-ID (with or without <>), an IMS spool id,
    an MTS-ID, a queue id (SERVER:ID when reused), or the path of a message file.

    Shows every sighting on every server in time order with file:line, the Received chain oldest
    hop first with per-hop delay and clock skew, the repeating part, hop headroom, and the loop
    findings with their cause and fix.

    \b
    Examples:
      imsdiag explain '<DR.0001@imc1.company.com>' --logs logs/
      imsdiag explain imc1:D2VQ1AB2 --logs logs/ --format json
      imsdiag explain logs/imc1/Imcdata/Out/archive/D2VQ1AB2.ARC
    """
    from .explain import explain as run_explain
    from .output import resolve_target, write_report
    from .reporters import ReportOptions, get_explain_reporter

    cfg = _config(ctx, verbose=verbose)
    # The message file named as ID is read too: `-o` must not replace it.
    inputs = (*logs, ident) if os.path.isfile(ident) else tuple(logs)
    if output and output != "-":
        resolve_target(output, "report", inputs, follow_links)
    run = _run_settings(ctx, cfg, paths=tuple(logs))
    _check_window(ctx, run)
    try:
        expl = run_explain(ident, run.scan)
    except MessageNotFound as exc:
        if not logs and not exc.suggestions:
            # Only the index was searched: the message may be in logs it has never seen.
            exc.hint = "give the logs with --logs PATH, or scan them first"
        raise
    options = ReportOptions(color="never" if output else color, verbose=verbose, tool_version=__version__)
    in_error_loop = any(f.severity is Severity.ERROR for f in expl.findings)
    decided = decide(ctx, ExitCode.FINDINGS if in_error_loop else ExitCode.OK)
    reporter = get_explain_reporter(fmt, options)
    write_report(reporter, expl, output, _stdout(output), inputs=inputs, follow_links=follow_links)
    ctx.exit(decided)


@cli.command(name="rules")
@click.argument("rule", required=False, shell_complete=RULES.shell_complete)
def rules_cmd(rule: str | None) -> None:
    """List the rules, or print one rule's documentation.

    \b
    Examples:
      imsdiag rules
      imsdiag rules Q178436
    """
    from .rules import all_rules, get_rule

    if rule:
        try:
            r = get_rule(rule)
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from None
        _print_rule_doc(r.id, r.slug, r.default_severity.value, r.title, r.doc(), r.references)
        return
    rows = [(r.id, r.slug, r.default_severity.value, r.title) for r in all_rules()]
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(f"{row[0]:<{w[0]}}  {row[1]:<{w[1]}}  {row[2]:<{w[2]}}  {row[3]}")


def _print_rule_doc(rule_id: str, slug: str, severity: str, title: str, doc: str, references: Sequence[str]) -> None:
    """One rule's documentation: rendered Markdown in a terminal, the Markdown itself in a pipe (for docs)."""
    from rich.markdown import Markdown

    from .console import make_console

    out = make_console()
    head = f"{rule_id}  {slug}  (default severity: {severity})"
    refs = "References: " + ", ".join(references) if references else ""
    if not out.is_terminal:
        click.echo("\n\n".join(p for p in (f"{head}\n{title}", doc, refs) if p))
        return
    out.print(f"[rule]{head}[/]", highlight=False)
    out.print(Markdown(f"# {title}\n\n{doc}" + (f"\n\n{refs}" if refs else "")))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `imsdiag` and `python -m imsdiag`: runs the command and exits with its code."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="imsdiag")


def _stdout(output: str | None) -> TextIO:
    """Standard output for the report; a closed one (`>&-`) is an output error, exit 3, not a crash."""
    if sys.stdout is None and (output is None or output == "-"):
        raise InputError("standard output is closed: give -o FILE to write the report")
    return sys.stdout
