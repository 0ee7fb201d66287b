"""The one place rich consoles are built: colour policy (--color, NO_COLOR, pipes) and stderr progress."""

from __future__ import annotations

import errno
import os
import sys
from typing import TextIO

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "error": "bold red",
        "warning": "yellow",
        "info": "cyan",
        "muted": "dim",
        "host": "bold cyan",
        "addr": "bold magenta",
        "evidence": "default",
        "loc": "blue",
        "good": "green",
        "rule": "bold",
    }
)


def color_enabled(mode: str, stream: TextIO) -> bool:
    """Colour decision: `always`/`never` win; then NO_COLOR (off), FORCE_COLOR (on); `auto` means a terminal.

    NO_COLOR beats FORCE_COLOR when both are set: turning colour off is the safer reading of a conflict.
    """
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR", "") != "":
        return False
    if os.environ.get("FORCE_COLOR", "") != "":
        return True  # CI logs (GitHub Actions, GitLab) render colour but are not terminals
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _forced(mode: str) -> bool:
    return mode == "auto" and os.environ.get("FORCE_COLOR", "") != "" and os.environ.get("NO_COLOR", "") == ""


class _Console(Console):
    """A rich Console that lets a broken pipe reach the CLI, which exits with the code the findings decided.

    rich's own handler exits 1 whatever the scan found, so `imsdiag scan | head -1` on clean logs failed.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def make_console(stream: TextIO | None = None, color: str = "auto", width: int | None = None) -> Console:
    """A Console for reports on `stream` (stdout by default) that honours the colour policy.

    When colour is off the console also drops all terminal features (no cursor movement, no
    hyperlinks), so piped output is plain text a script can read.
    """
    out = stream if stream is not None else sys.stdout
    use_color = color_enabled(color, out)
    return _Console(
        file=out,
        theme=THEME,
        color_system="auto" if use_color else None,
        force_terminal=use_color if color == "always" or _forced(color) else None,
        no_color=not use_color,
        highlight=False,
        emoji=False,
        markup=True,
        width=width if width is not None else (None if use_color else 100),
        soft_wrap=False,
        legacy_windows=False,
    )


def make_error_console(color: str = "auto") -> Console:
    """Console for diagnostics and progress on stderr."""
    return make_console(sys.stderr, color)
