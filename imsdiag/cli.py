"""The command line: options -> settings -> library -> reporter -> exit code. No diagnosis happens here."""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

import click

from . import __version__
from .config import Config, load_config, parse_host_alias_option, parse_server_tz_option, parse_severity_option
from .errors import ConfigError, ExitCode, ImsdiagError, InputError
from .models import Severity
from .parsers import PARSERS
from .result import ScanResult
from .settings import MIN_PASSES_RANGE, ScanSettings, max_jobs
from .sources import is_stream_path
from .timewindow import WHEN_HELP, parse_duration, parse_when, parse_zone

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
SCAN_FORMATS = ("auto", "terminal", "json", "jsonl", "sarif", "junit", "github", "text")
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


def _split(values: Sequence[str]) -> tuple[str, ...]:
    """`--select a,b --select c` -> (a, b, c)."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _fail(message: str, code: ExitCode = ExitCode.INPUT, hint: str = "") -> NoReturn:
    click.echo(f"imsdiag: error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    raise SystemExit(int(code))


def _bad(param: str, message: str) -> NoReturn:
    raise click.BadParameter(message, param_hint=param)


def common_input_options(func: F) -> F:
    """Options that change how logs are read, shared by `scan` and `explain`."""
    options = [
        click.option(
            "--tz", metavar="ZONE", help="Zone of zone-less local time stamps (IMS logs, syslog). Default UTC."
        ),
        click.option(
            "--server-tz",
            "server_tz",
            metavar="NAME=ZONE",
            multiple=True,
            help="Zone for one server, by any of its names; repeatable.",
        ),
        click.option(
            "--host-alias",
            "host_alias",
            metavar="NAME=NAME",
            multiple=True,
            help="Two names (or a name and an address) of one machine, e.g. relay=10.0.0.5; repeatable.",
        ),
        click.option(
            "--log-format",
            type=click.Choice([p.name for p in PARSERS]),
            help="Read every file as this format instead of detecting it by content.",
        ),
        click.option(
            "--index",
            "index_path",
            metavar="PATH",
            help="Index database (default: the user cache folder, e.g. ~/.cache/imsdiag/index-v2.sqlite).",
        ),
        click.option("--no-index", is_flag=True, help="Do not read or write the event index."),
        click.option(
            "--follow-links",
            is_flag=True,
            help="Follow symlinks in a folder that lead outside it (skipped with a note by default).",
        ),
        # A folder or FIFO here is refused by the config reader (exit 3), not by click (exit 2).
        click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True),
        click.option("-q", "--quiet", is_flag=True, help="No progress or notes on stderr."),
        click.option("-v", "--verbose", count=True, help="More detail (servers and files tables)."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


class ImsdiagGroup(click.Group):
    """Turns the library's deliberate errors into one line on stderr and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImsdiagError as exc:
            _fail(str(exc), exc.exit_code, exc.hint)
        except BrokenPipeError:
            # Before click's own handler, which would exit 1 whatever the findings decided.
            _quiet_broken_pipe()


@click.group(cls=ImsdiagGroup, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "-V", "--version", prog_name="imsdiag")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Find and explain mail loops in mail server logs and archived messages.

    Reads Exchange 5.x IMS protocol logs, archive files and tracking logs, Postfix, Sendmail,
    Exim and Exchange 2007+ tracking logs, and .eml/mbox messages; finds loops across messages
    and servers (KB Q178436 first) and says what to fix.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _settings(
    paths: tuple[str, ...],
    cfg: Config,
    *,
    tz: str | None,
    server_tz: tuple[str, ...],
    log_format: str | None,
    index_path: str | None,
    no_index: bool,
    host_alias: tuple[str, ...] = (),
    since: str | None = None,
    until: str | None = None,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    severity: tuple[str, ...] = (),
    min_passes: int | None = None,
    window: str | None = None,
    jobs: int | None = None,
    baseline: frozenset[str] = frozenset(),
    progress: bool = False,
    follow_links: bool = False,
) -> ScanSettings:
    """Merge command-line options over the config file into one frozen ScanSettings."""
    now = datetime.now(timezone.utc)
    try:
        zone = parse_zone(tz) if tz else cfg.tz
    except ValueError as exc:
        _bad("--tz", str(exc))
    try:
        stz = tuple(parse_server_tz_option(s) for s in server_tz) or (cfg.server_tz or ())
    except (ValueError, ConfigError) as exc:
        _bad("--server-tz", str(exc))
    try:
        aliases = tuple(parse_host_alias_option(a) for a in host_alias) or (cfg.host_alias or ())
    except ValueError as exc:
        _bad("--host-alias", str(exc))
    try:
        since_t = parse_when(since, now) if since else cfg.since
        until_t = parse_when(until, now) if until else cfg.until
    except ValueError as exc:
        _bad("--since/--until", str(exc))
    if since_t is not None and until_t is not None and since_t > until_t:
        _bad(
            "--since/--until",
            f"--since ({since_t:%Y-%m-%d %H:%M} UTC) is later than --until ({until_t:%Y-%m-%d %H:%M} UTC)",
        )
    try:
        sev = tuple(parse_severity_option(s) for s in _split(severity)) or (cfg.severity or ())
    except (ValueError, ConfigError) as exc:
        _bad("--severity", str(exc))
    try:
        win: timedelta | None = parse_duration(window) if window else cfg.window
    except ValueError as exc:
        _bad("--window", str(exc))
    return ScanSettings(
        paths=paths,
        tz=zone,
        server_tz=stz,
        host_aliases=aliases,
        log_format=log_format,
        min_passes=min_passes or cfg.min_passes or 3,
        window_seconds=win.total_seconds() if win else 6 * 3600.0,
        since=since_t,
        until=until_t,
        select=_split(select) or (cfg.select or ()),
        ignore=_split(ignore) or (cfg.ignore or ()),
        severity_overrides=sev,
        jobs=jobs or cfg.jobs or (os.cpu_count() or 1),
        index_path=index_path,
        # A pipe is read once, like stdin: an index entry for it would describe input that is gone.
        use_index=not no_index and not any(is_stream_path(p) for p in paths),
        progress=progress,
        baseline=baseline,
        follow_links=follow_links,
    )


def _load_config(config_file: Path | None) -> Config:
    return load_config(config_file, Path.cwd())


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
    type=click.Choice(SCAN_FORMATS),
    help="Output format [default: auto: terminal, github in CI]",
)
@click.option("-o", "--output", type=click.Path(), help="Write the report here (atomically) instead.")
@click.option("--fail-on", type=click.Choice(FAIL_ON), help="Exit 1 when a finding is at least this severe [error].")
@click.option("--select", multiple=True, metavar="RULES", help="Only these rule ids or slugs (comma-separated).")
@click.option("--ignore", multiple=True, metavar="RULES", help="Skip these rule ids or slugs (comma-separated).")
@click.option("--severity", multiple=True, metavar="RULE=LEVEL", help="Override a rule's severity.")
@click.option("--since", metavar="WHEN", help=f"Ignore evidence before WHEN: {WHEN_HELP}.")
@click.option("--until", metavar="WHEN", help="Ignore evidence after WHEN.")
@click.option("--min-passes", type=click.IntRange(*MIN_PASSES_RANGE), help="Passes before a repetition is a loop [3].")
@click.option("--window", metavar="DURATION", help="Longest pause inside one loop, e.g. 6h [6h].")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, max_jobs()),
    help=f"Parse files in N processes, at most {max_jobs()} (4 per CPU) [number of CPUs].",
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
    fail_on: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    severity: tuple[str, ...],
    since: str | None,
    until: str | None,
    min_passes: int | None,
    window: str | None,
    jobs: int | None,
    baseline: str | None,
    write_baseline: str | None,
    tz: str | None,
    server_tz: tuple[str, ...],
    host_alias: tuple[str, ...],
    log_format: str | None,
    index_path: str | None,
    no_index: bool,
    config_file: Path | None,
    color: str,
    quiet: bool,
    verbose: int,
    follow_links: bool = False,
) -> None:
    """Find every mail loop in PATH... (folders, files, .gz/.bz2/.xz, or - for stdin).

    \b
    Examples:
      imsdiag scan sample_logs/q178436-site-connector
      imsdiag scan /var/log/mail.log* --since 2d --format json -o loops.json
      imsdiag scan logs/ --format sarif -o imsdiag.sarif --fail-on warning
    """
    from .baseline import apply_baseline, load_baseline
    from .baseline import write_baseline as write_baseline_file
    from .output import resolve_target, write_report
    from .progress import make_progress
    from .reporters import ReportOptions, choose_format, get_reporter

    cfg = _load_config(config_file)
    fail = fail_on or (cfg.fail_on.value if cfg.fail_on else "error")
    base_path = baseline or (str(cfg.baseline) if cfg.baseline else None)
    # A bad baseline or an output path that will be refused is reported now, not after a long scan.
    known = load_baseline(base_path) if base_path else None
    for target, what in ((output, "report"), (write_baseline, "baseline")):
        if target and target != "-":
            resolve_target(target, what, paths, follow_links)
    settings = _settings(
        paths,
        cfg,
        tz=tz,
        server_tz=server_tz,
        host_alias=host_alias,
        log_format=log_format,
        index_path=index_path,
        no_index=no_index,
        since=since,
        until=until,
        select=select,
        ignore=ignore,
        severity=severity,
        min_passes=min_passes,
        window=window,
        jobs=jobs,
        follow_links=follow_links,
    )
    from .engine import scan as run_scan

    progress = make_progress(quiet, color)
    result = run_scan(settings, progress)
    if write_baseline:
        n = write_baseline_file(write_baseline, result.findings, inputs=paths, follow_links=follow_links)
        if not quiet:
            click.echo(f"imsdiag: wrote {n} finding(s) to baseline {write_baseline}", err=True)
    if known is not None:
        kept, suppressed = apply_baseline(result.findings, known)
        from dataclasses import replace

        result = replace(result, findings=kept, suppressed=result.suppressed + suppressed)
    name = choose_format(fmt or cfg.format or "auto", os.environ)
    options = ReportOptions(color="never" if output else color, verbose=verbose, fail_on=fail, tool_version=__version__)
    # Decided before the report is written: a reader that leaves early (`| head -1`) changes nothing.
    decided = _decide(int(_exit_for(result, fail)))
    write_report(get_reporter(name, options), result, output, _stdout(output), inputs=paths, follow_links=follow_links)
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


@cli.command(name="explain", epilog=EXIT_CODES_HELP)
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
    tz: str | None,
    server_tz: tuple[str, ...],
    host_alias: tuple[str, ...],
    log_format: str | None,
    index_path: str | None,
    no_index: bool,
    config_file: Path | None,
    color: str,
    quiet: bool,
    verbose: int,
    follow_links: bool = False,
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
    import io

    from .errors import AmbiguousId, MessageNotFound
    from .explain import explain as run_explain
    from .output import resolve_target, write_text
    from .reporters.base import ReportOptions
    from .reporters.explain_json import ExplainJsonReporter
    from .reporters.explain_terminal import ExplainTerminalReporter

    cfg = _load_config(config_file)
    # The message file named as ID is read too: `-o` must not replace it.
    inputs = (*logs, ident) if os.path.isfile(ident) else tuple(logs)
    if output and output != "-":
        resolve_target(output, "report", inputs, follow_links)
    settings = _settings(
        tuple(logs),
        cfg,
        tz=tz,
        server_tz=server_tz,
        host_alias=host_alias,
        log_format=log_format,
        index_path=index_path,
        no_index=no_index,
        follow_links=follow_links,
    )
    try:
        expl = run_explain(ident, settings)
    except MessageNotFound as exc:
        hint = "did you mean: " + ", ".join(exc.suggestions) if exc.suggestions else ""
        if not hint and not logs:
            hint = "give the logs with --logs PATH, or scan them first"
        _fail(str(exc), exc.exit_code, hint)
    except AmbiguousId as exc:
        _fail("\n  ".join([str(exc), *exc.candidates]), exc.exit_code)
    options = ReportOptions(color="never" if output else color, verbose=verbose, tool_version=__version__)
    reporter = ExplainJsonReporter(options) if fmt == "json" else ExplainTerminalReporter(options)
    if output and output != "-":
        buffer = io.StringIO()
        reporter.report(expl, buffer)
        write_text(output, buffer.getvalue(), sys.stdout, inputs=inputs, follow_links=follow_links)
    else:
        _decide(int(ExitCode.OK))
        reporter.report(expl, _stdout(output))
    ctx.exit(int(ExitCode.OK))


@cli.command(name="rules")
@click.argument("rule", required=False)
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
            _fail(str(exc.args[0]))
        click.echo(f"{r.id}  {r.slug}  (default severity: {r.default_severity.value})")
        click.echo(r.title)
        click.echo("")
        click.echo(r.doc())
        if r.references:
            click.echo("")
            click.echo("References: " + ", ".join(r.references))
        return
    rows = [(r.id, r.slug, r.default_severity.value, r.title) for r in all_rules()]
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(f"{row[0]:<{w[0]}}  {row[1]:<{w[1]}}  {row[2]:<{w[2]}}  {row[3]}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: runs the CLI and turns errors into one line and an exit code, never a traceback."""
    args = list(argv) if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    try:
        # Outside standalone mode click returns the code of ctx.exit() instead of raising it.
        code = cli.main(args=args, prog_name="imsdiag", standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        click.echo("imsdiag: interrupted", err=True)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    except ImsdiagError as exc:
        _fail(str(exc), exc.exit_code, exc.hint)
    except KeyboardInterrupt:
        click.echo("imsdiag: interrupted", err=True)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        _quiet_broken_pipe()
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            _internal_error(exc, debug)
        # A full disk or a closed descriptor behind stdout: an output error, one line, exit 3.
        _fail(f"cannot write the report: {exc.strerror or exc}", ExitCode.INPUT)
    except Exception as exc:
        _internal_error(exc, debug)


_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT, errno.EFBIG})
"""Errors of writing the report out: exit 3 with one line, not an internal error."""


def _internal_error(exc: BaseException, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    # One line, escaped: the message may quote log text (control characters, newlines).
    from .textsafe import safe_text

    click.echo(
        f"imsdiag: internal error: {type(exc).__name__}: {safe_text(str(exc), 300)}: this is a bug, "
        "please report it with the command you ran" + ("" if debug else " (--debug shows the traceback)"),
        err=True,
    )
    raise SystemExit(4) from None


_DECIDED: list[int] = []
"""The exit code a command decided before writing its report (see `_decide`)."""


def _decide(code: int) -> int:
    """Remember the exit code the findings decide, so a broken pipe while writing still exits with it."""
    _DECIDED[:] = [code]
    return code


def _stdout(output: str | None) -> TextIO:
    """Standard output for the report; a closed one (`>&-`) is an output error, exit 3, not a crash."""
    if sys.stdout is None and (output is None or output == "-"):
        raise InputError("standard output is closed: give -o FILE to write the report")
    return sys.stdout


def _quiet_broken_pipe() -> NoReturn:
    """`imsdiag scan ... | head`: the reader left; exit quietly with the code the findings decided.

    The exit code must not depend on how much of the report fitted in the pipe before the reader left.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    raise SystemExit(_DECIDED[0] if _DECIDED else int(ExitCode.OK))
