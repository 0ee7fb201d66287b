"""`--format jsonl`: one finding per line, each a JSON object with `version`; nothing else on stdout."""

from __future__ import annotations

from typing import TextIO

from ..jsontext import dumps
from ..result import SCHEMA_VERSION, ScanResult
from .base import Reporter
from .records import finding_dict


class JsonLinesReporter(Reporter[ScanResult]):
    """Findings as JSON Lines, for `jq`, log shippers and streaming consumers."""

    name = "jsonl"
    description = "one JSON finding per line (JSON Lines)"

    def report(self, result: ScanResult, out: TextIO) -> None:
        for finding in result.findings:
            out.write(dumps({"version": SCHEMA_VERSION, **finding_dict(finding)}, indent=None) + "\n")
