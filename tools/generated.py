"""Write a generated file, or with `--check` say whether it is current: what every `tools.gen_*` command does."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(path: Path, text: str, argv: list[str], command: str) -> int:
    """Exit status for `command`: with `--check`, 1 when `path` differs from `text`; else write it, 0."""
    if "--check" in argv:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"{path.name} is out of date: run python -m {command}", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0
