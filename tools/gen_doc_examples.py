"""Refresh the output examples in README.md and docs/ from the golden files: `python -m tools.gen_doc_examples`.

The golden files are what the shipped scenarios really print (tests/test_scenarios.py checks them against
fresh runs), so an example here can never drift from what a user sees. A fenced block is an example when
the line before it is a marker:

    <!-- example: q178436-site-connector/text.txt -->
    <!-- example: q178436-site-connector/terminal.txt command="imsdiag scan sample_logs/q178436-site-connector" -->
    <!-- example: q178436-site-connector/sarif.sarif json="runs.0.results.0" -->
    <!-- example: exim-hop-limit/junit.xml lines=12 -->

`json=` picks one value out of a JSON golden (dotted keys and list indexes); `lines=N` keeps the first N
lines and ends with `...`; `command=` puts `$ command` first. `--check` exits 1 when a file is out of date.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
DOCS = (ROOT / "README.md", ROOT / "docs" / "output-formats.md", ROOT / "docs" / "audit.md")
_MARKER = re.compile(r"^<!-- example: (.+?) -->$")


def example(spec: str) -> str:
    """The text one marker asks for (without the fence)."""
    golden, *options = shlex.split(spec)
    opts = dict(option.split("=", 1) for option in options)
    text = (GOLDEN / golden).read_text(encoding="utf-8")
    if "json" in opts:
        value = json.loads(text)
        for key in opts["json"].split("."):
            value = value[int(key)] if isinstance(value, list) else value[key]
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if "lines" in opts:
        lines = text.splitlines()
        keep = int(opts["lines"])
        text = "\n".join(lines[:keep]) + ("\n...\n" if len(lines) > keep else "\n")
    if "command" in opts:
        text = f"$ {opts['command']}\n{text}"
    return text


def render(doc: str) -> str:
    """`doc` with every marked fenced block replaced by its example."""
    lines = doc.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        marker = _MARKER.match(lines[i].rstrip("\n"))
        i += 1
        if marker is None:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            raise ValueError(f"an example marker must stand right before a fenced block: {marker.group(0)}")
        out.append(lines[i])  # the opening fence, with its language
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        out.append(example(marker.group(1)))
        out.append(lines[end])
        i = end + 1
    return "".join(out)


def main(argv: list[str]) -> int:
    stale = []
    for path in DOCS:
        old = path.read_text(encoding="utf-8")
        new = render(old)
        if new != old:
            stale.append(path)
            if "--check" not in argv:
                path.write_text(new, encoding="utf-8")
    if stale and "--check" in argv:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"{names}: examples out of date: run python -m tools.gen_doc_examples", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
