"""The command line's one error boundary: every way a command can end becomes stderr text and an exit code."""

from __future__ import annotations

import errno
import os
import sys
import traceback
from typing import Any

import click

from .errors import AmbiguousId, ExitCode, ImsdiagError, MessageNotFound
from .textsafe import safe_text

_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT, errno.EFBIG})
"""Errors of writing the report out: exit 3 with one line, not an internal error."""

_DECIDED = "imsdiag.decided"
"""`ctx.meta` key of the exit code a command decided before writing its report (see `decide`)."""


def decide(ctx: click.Context, code: int) -> int:
    """Remember the exit code the findings decide, so a broken pipe while writing still exits with it."""
    ctx.meta[_DECIDED] = code
    return code


class ImsdiagGroup(click.Group):
    """Runs a command and turns whatever stops it into one message on stderr and its exit code.

    Usage errors (exit 2) and the code a command exits with pass through to click, which prints and
    returns them. The group's own options (`--help`, `--version`) are handled by click before this runs.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except (KeyboardInterrupt, Exception) as exc:
            # Here, not in main(): click's own handlers would exit 1 on Ctrl-C and on a broken pipe.
            raise SystemExit(int(_report(exc, ctx))) from None


def _report(exc: BaseException, ctx: click.Context) -> int:
    """Say on stderr what stopped the command; the exit code."""
    if isinstance(exc, ImsdiagError):
        return _error(*_describe(exc), exc.exit_code)
    if isinstance(exc, (KeyboardInterrupt, click.exceptions.Abort)):
        if isinstance(exc, KeyboardInterrupt):
            click.echo(err=True)  # ends the line the terminal's ^C echo started
        click.echo("imsdiag: interrupted", err=True)
        return ExitCode.INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        return _quiet_broken_pipe(ctx)
    if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
        # A full disk or a closed descriptor behind stdout: an output error, not a bug.
        return _error(f"cannot write the report: {exc.strerror or exc}", "", ExitCode.INPUT)
    return _internal_error(exc, debug=bool(ctx.find_root().params.get("debug")))


def _describe(exc: ImsdiagError) -> tuple[str, str]:
    """The message and the hint for an error raised on purpose."""
    if isinstance(exc, AmbiguousId):
        return "\n  ".join([str(exc), *exc.candidates]), exc.hint
    if isinstance(exc, MessageNotFound) and exc.suggestions:
        return str(exc), "did you mean: " + ", ".join(exc.suggestions)
    return str(exc), exc.hint


def _error(message: str, hint: str, code: int) -> int:
    click.echo(f"imsdiag: error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    return code


def _internal_error(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    # One line, escaped: the message may quote log text (control characters, newlines).
    click.echo(
        f"imsdiag: internal error: {type(exc).__name__}: {safe_text(str(exc), 300)}: this is a bug, "
        "please report it with the command you ran" + ("" if debug else " (--debug shows the traceback)"),
        err=True,
    )
    return ExitCode.INTERNAL


def _quiet_broken_pipe(ctx: click.Context) -> int:
    """`imsdiag scan ... | head`: the reader left; exit quietly with the code the findings decided.

    The exit code must not depend on how much of the report fitted in the pipe before the reader left.
    """
    try:
        # Python flushes stdout once more on the way out: into the closed pipe that would print an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
    return int(ctx.meta.get(_DECIDED, ExitCode.OK))
