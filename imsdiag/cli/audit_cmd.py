"""`imsdiag audit`: exports + routes + IMS facts -> the Q178436 check -> reporter -> exit code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..boundary import decide
from ..errors import ExitCode
from ..models import Severity
from ..params import AUDIT_FORMAT, IMS_BUILD, MX, SEPARATOR, SERVER_SITE
from .common import FAIL_ON, check_engine, engine_options, load_run_config, report_stream, run_settings

if TYPE_CHECKING:  # the audit package is imported when the command runs, not when the CLI starts
    from ..audit.summary import AuditResult

AUDIT_EXIT_CODES_HELP = """\b
Exit codes:
  0  no mailbox at or above the --fail-on threshold (at risk = error, unknown = warning)
  1  a mailbox at risk (or, with --fail-on warning, one the facts cannot decide)
  2  usage error
  3  input error (an export or zone file that cannot be read, no mailbox in the exports)
  4  internal error (please report it; --debug shows the traceback)
  130 interrupted (Ctrl-C)"""


@click.command(name="audit", epilog=AUDIT_EXIT_CODES_HELP)
@click.argument("exports", nargs=-1, required=True, metavar="EXPORT...", type=click.Path(dir_okay=False))
@click.option(
    "--zone",
    "zones",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="BIND zone file with the MX and A records of the mail domains; repeatable.",
)
@click.option("--mx", multiple=True, type=MX, help="Mail for DOMAIN goes to HOST (wins over --zone); repeatable.")
@click.option("--ims", multiple=True, type=IMS_BUILD, help="The IMS on HOST runs BUILD (wins over --logs); repeatable.")
@click.option(
    "--site",
    "sites",
    multiple=True,
    type=SERVER_SITE,
    help="Exchange server SERVER is in site SITE (wins over the export); repeatable.",
)
@click.option(
    "--logs",
    multiple=True,
    metavar="PATH",
    help="IMS logs to learn builds from (banners, Received lines), as scan reads them; repeatable.",
)
@click.option(
    "--separator",
    type=SEPARATOR,
    help="Between the values of a multi-valued field [% for the Administrator's export, ; for PowerShell].",
)
@engine_options
@click.option("-f", "--format", "fmt", type=AUDIT_FORMAT, default="terminal", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write the report here (atomically) instead.")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Exit 1 when a mailbox is at least this severe (at risk = error, unknown = warning).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),  # a folder or FIFO is refused by the config reader (exit 3)
    help="Config file (mx, ims, site and zone keys; zones and host aliases for --logs) [default: the nearest "
    "imsdiag.toml, pyproject.toml [tool.imsdiag] or setup.cfg [imsdiag], as scan finds it].",
)
@click.option("--isolated", is_flag=True, help="Read no config file.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No summary line on stderr.")
@click.option("-v", "--verbose", count=True, help="List the safe mailboxes too.")
@click.pass_context
def audit_cmd(
    ctx: click.Context,
    exports: tuple[str, ...],
    zones: tuple[str, ...],
    mx: tuple[tuple[str, str], ...],
    ims: tuple[tuple[str, str], ...],
    sites: tuple[tuple[str, str], ...],
    logs: tuple[str, ...],
    separator: str | None,
    fmt: str,
    output: str | None,
    fail_on: str,
    color: str,
    quiet: bool,
    verbose: int,
    **_rest: Any,
) -> None:
    """Find the mailboxes a KB Q178436 delivery-receipt loop will hit, before it loops.

    EXPORT is a directory export: the Exchange 5.x Administrator's Directory Export (CSV),
    an ldifde LDIF file, or a CSV with a proxyAddresses column (PowerShell); each is
    recognised by its content. A mailbox is at risk when its primary SMTP proxy's domain
    routes to an Exchange 5.0/5.5 IMS in another site than its home, whose build is below
    the fix (5.5.2186.0, 5.0.1461.6), and it has a site-specific proxy. See docs/audit.md.

    \b
    Examples:
      imsdiag audit export.csv --zone company.com.zone --ims imc1.company.com=5.5.1960.3
      imsdiag audit export.csv --mx company.com=imc1.company.com --logs logs/
      imsdiag audit users.ldf --zone db.company.com --logs logs/ --format csv -o audit.csv
    """
    from ..audit.records import Verdict
    from ..audit.run import AuditSettings, audit
    from ..output import resolve_target, write_report
    from ..reporters import ReportOptions, get_audit_reporter

    cfg = load_run_config(ctx, quiet, verbose)
    # The config file's routing and IMS facts first, so the command line's win for the same name.
    zones = tuple(str(p) for p in cfg.zone or ()) + zones
    inputs = (*exports, *zones, *logs)
    if output and output != "-":
        resolve_target(output, "report", inputs, False)
    run = run_settings(ctx, cfg, paths=tuple(logs))
    check_engine(ctx, run)
    settings = AuditSettings(
        exports=exports,
        zones=zones,
        mx=(*(cfg.mx or ()), *mx),
        ims=(*(cfg.ims or ()), *ims),
        sites=(*(cfg.site or ()), *sites),
        logs=logs,
        separator=separator,
        scan=run.scan if logs else None,
    )
    result = audit(settings)
    decided = decide(ctx, _exit_code(result, fail_on))
    options = ReportOptions(
        color="never" if output else color, verbose=verbose, fail_on=fail_on, tool_version=__version__
    )
    write_report(get_audit_reporter(fmt, options), result, output, report_stream(output), inputs=inputs)
    if not quiet and fmt != "terminal":
        click.echo(
            f"imsdiag: {len(result.verdicts)} mailbox(es): {result.count(Verdict.AT_RISK)} at risk, "
            f"{result.count(Verdict.SAFE)} safe, {result.count(Verdict.UNKNOWN)} unknown",
            err=True,
        )
    ctx.exit(decided)


def _exit_code(result: AuditResult, fail_on: str) -> ExitCode:
    """FINDINGS when a mailbox's verdict is at least as severe as --fail-on (at risk = error, unknown = warning)."""
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity(fail_on).rank
    severe = (v.verdict.severity for v in result.verdicts)
    return ExitCode.FINDINGS if any(s is not None and s.rank >= threshold for s in severe) else ExitCode.OK
