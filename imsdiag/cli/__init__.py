"""The command line: options -> settings -> library -> reporter -> exit code. No diagnosis happens here.

One module per command (`scan_cmd`, `explain_cmd`, `rules_cmd`, `audit_cmd`); what they share is in `common`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from .. import __version__
from ..boundary import ImsdiagGroup
from ..params import use_comma_safe_fish_completion
from .audit_cmd import audit_cmd
from .common import EXIT_CODES_HELP
from .explain_cmd import explain_cmd
from .rules_cmd import rules_cmd
from .scan_cmd import scan

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

__all__ = ["cli", "main"]


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


cli.add_command(scan)
cli.add_command(explain_cmd)
cli.add_command(rules_cmd)
cli.add_command(audit_cmd)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `imsdiag` and `python -m imsdiag`: runs the command and exits with its code."""
    if os.environ.get("_IMSDIAG_COMPLETE"):  # a shell asks for completions or for its completion script
        use_comma_safe_fish_completion()
    cli.main(args=list(argv) if argv is not None else None, prog_name="imsdiag")
