"""`imsdiag explain`: one message's story, from the index or one scan of the logs given."""

from __future__ import annotations

import os
from typing import Any

import click

from .. import __version__
from ..boundary import decide
from ..errors import ExitCode, MessageNotFound
from ..models import Severity
from .common import (
    EXPLAIN_EXIT_CODES_HELP,
    check_window,
    common_input_options,
    load_run_config,
    report_stream,
    run_settings,
)

EXPLAIN_FORMATS = ("terminal", "json", "html")
"""The names in reporters.EXPLAIN_REPORTERS, written out so that parsing the options imports no reporter."""


@click.command(name="explain", epilog=EXPLAIN_EXIT_CODES_HELP)
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
    from ..explain import explain as run_explain
    from ..output import resolve_target, write_report
    from ..reporters import ReportOptions, get_explain_reporter

    cfg = load_run_config(ctx, verbose=verbose)
    # The message file named as ID is read too: `-o` must not replace it.
    inputs = (*logs, ident) if os.path.isfile(ident) else tuple(logs)
    if output and output != "-":
        resolve_target(output, "report", inputs, follow_links)
    run = run_settings(ctx, cfg, paths=tuple(logs))
    check_window(ctx, run)
    try:
        expl = run_explain(ident, run.scan)
    except MessageNotFound as exc:
        if not logs and not exc.suggestions and not exc.hint:
            # Only the index was searched: the message may be in logs it has never seen.
            exc.hint = "give the logs with --logs PATH, or scan them first"
        raise
    options = ReportOptions(color="never" if output else color, verbose=verbose, tool_version=__version__)
    in_error_loop = any(f.severity is Severity.ERROR for f in expl.findings)
    decided = decide(ctx, ExitCode.FINDINGS if in_error_loop else ExitCode.OK)
    reporter = get_explain_reporter(fmt, options)
    write_report(reporter, expl, output, report_stream(output), inputs=inputs, follow_links=follow_links)
    ctx.exit(decided)
