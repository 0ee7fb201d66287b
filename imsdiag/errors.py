"""Error types and exit codes: the only exceptions the library raises on purpose."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in README and `--help`."""

    OK = 0
    """Nothing at or above the fail threshold."""
    FINDINGS = 1
    """Findings at or above the fail threshold."""
    USAGE = 2
    """Bad command line (click's own code)."""
    INPUT = 3
    """No readable input, a missing path, a bad config, an unknown id for `explain`."""
    INTERNAL = 4
    """A bug: an exception nobody raised on purpose."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C."""


class ImsdiagError(Exception):
    """Base of every error imsdiag raises deliberately; the CLI prints it as one line."""

    exit_code: ExitCode = ExitCode.INPUT
    hint: str = ""


class InputError(ImsdiagError):
    """A path is missing or nothing readable was found."""


class ConfigError(ImsdiagError):
    """A configuration file or option value is invalid (the message names the key and the file)."""


class MessageNotFound(ImsdiagError):
    """`explain` was given an id that no log mentions."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class AmbiguousId(ImsdiagError):
    """`explain` was given an id that matches several different messages."""

    def __init__(self, message: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates
