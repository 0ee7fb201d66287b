"""The reporter contract: a reporter renders a finished result (a scan's, an explanation) to a stream, nothing else."""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TextIO, TypeVar

R = TypeVar("R")
"""What a reporter renders: `ScanResult` for scan's formats, `Explanation` for explain's."""


@dataclass(frozen=True)
class ReportOptions:
    """Presentation choices that do not change the result."""

    color: str = "auto"
    """`auto`, `always` or `never` (terminal reporter only)."""
    width: int | None = None
    verbose: int = 0
    fail_on: str = "error"
    """Threshold the run is judged by (JUnit and summaries show it)."""
    tool_version: str = ""


class Reporter(abc.ABC, Generic[R]):
    """One output format of one command."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, options: ReportOptions | None = None) -> None:
        self.options = options or ReportOptions()

    @abc.abstractmethod
    def report(self, result: R, out: TextIO) -> None:
        """Write the whole report for `result` to `out`."""


def common_folder(paths: Sequence[str]) -> str:
    """The folder every path shares, with a trailing separator, so tables can show the rest ('' if none)."""
    folders = [os.path.dirname(p) for p in paths]
    if len(paths) < 2 or not all(folders):
        return ""
    try:
        common = os.path.commonpath(folders)
    except ValueError:  # absolute and relative paths mixed
        return ""
    return common + os.sep if common else ""
