"""`--format json`: one versioned JSON document (docs/schema/scan-v1.schema.json), nothing else on stdout."""

from __future__ import annotations

from typing import TextIO

from ..jsontext import dumps
from ..result import ScanResult
from .base import Reporter
from .records import scan_document


class JsonReporter(Reporter[ScanResult]):
    """The whole scan as one JSON document with stable key order and sorted lists."""

    name = "json"
    description = "versioned JSON document (schema docs/schema/scan-v1.schema.json)"

    def report(self, result: ScanResult, out: TextIO) -> None:
        doc = scan_document(result, fail_on=self.options.fail_on, version=self.options.tool_version)
        out.write(dumps(doc) + "\n")
