"""What the commands share: exit-code help, the log-reading options, config and settings, standard output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from ..config import Config, load_config
from ..errors import ExitCode, InputError
from ..models import Severity
from ..params import HOST_ALIAS, LOG_FORMAT, SERVER_ZONE, ZONE
from ..result import ScanResult
from ..settings import ENGINES, RunSettings

F = TypeVar("F", bound=Callable[..., Any])
FAIL_ON = ("error", "warning", "info", "never")

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


def load_run_config(ctx: click.Context, quiet: bool = False, verbose: int = 0) -> Config:
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


def run_settings(ctx: click.Context, cfg: Config, **overrides: Any) -> RunSettings:
    """This command's options layered over the config file (`RunSettings.from_sources`)."""
    return RunSettings.from_sources({**ctx.params, **overrides}, cfg.given())


def check_window(ctx: click.Context, run: RunSettings) -> None:
    """Each end may come from the command line or the config file: only together can they be compared."""
    since, until = run.scan.since, run.scan.until
    if since is not None and until is not None and since > until:
        raise click.BadParameter(
            f"--since ({since:%Y-%m-%d %H:%M} UTC) is later than --until ({until:%Y-%m-%d %H:%M} UTC)",
            ctx,
            param_hint="--since/--until",
        )


def exit_for(result: ScanResult, fail_on: str) -> ExitCode:
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity(fail_on).rank
    return ExitCode.FINDINGS if any(f.severity.rank >= threshold for f in result.findings) else ExitCode.OK


def report_stream(output: str | None) -> TextIO:
    """Standard output for the report; a closed one (`>&-`) is an output error, exit 3, not a crash."""
    if sys.stdout is None and (output is None or output == "-"):
        raise InputError("standard output is closed: give -o FILE to write the report")
    return sys.stdout


def engine_options(func: F) -> F:
    """`--engine` and `--scheduler`: where the logs are parsed (`scan`, and `audit --logs`)."""
    func = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="A running Dask scheduler (tcp://host:8786) for --engine dask; without it a local cluster of -j workers.",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        help="Parse here (local) or on a Dask cluster (dask; pip install 'imsdiag[dask]') [local].",
    )(func)


def check_engine(ctx: click.Context, run: RunSettings) -> None:
    """A scheduler names a Dask cluster: with the local engine it is a mistake, not something to ignore."""
    if run.scan.scheduler and run.scan.engine != "dask":
        raise click.BadParameter("a scheduler is for --engine dask", ctx, param_hint="--scheduler")
