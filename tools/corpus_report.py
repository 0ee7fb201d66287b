"""Per-file parse report over a folder (the real corpus by default): format, lines, events, unparsed share.

    python -m tools.corpus_report [FOLDER] [--all]

For every file: the format detected by content, the lines read, the events made, the lines a parser
could not use (`unparsed`: not-syslog lines, bad records, unknown lines) and the parse issues, so the
unparsed rate per file stays visible. Without `--all` only files with unparsed lines or issues are listed.
The reasons for what remains are written down in docs/input-formats.md ("What is not parsed").
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from imsdiag.engine import collect_inputs, parse_input
from imsdiag.models import Event
from imsdiag.settings import ScanSettings

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
UNPARSED_COUNTERS = ("unparsed", "bad-record", "unknown")


def main(argv: list[str]) -> int:
    show_all = "--all" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0]) if args else DEFAULT
    if not root.is_dir():
        print(f"no such folder: {root}", file=sys.stderr)
        return 3
    settings = ScanSettings(paths=(str(root),))
    files, _ = collect_inputs(settings)
    totals: Counter[str] = Counter()
    per_format: Counter[str] = Counter()
    rows = []
    for f in files:
        parsed = parse_input(f, settings)
        events = issues = 0
        codes: Counter[str] = Counter()
        for rec in parsed.records:
            if isinstance(rec, Event):
                events += 1
            else:
                issues += 1
                codes[rec.code] += 1
        lines = parsed.counters.get("lines", 0)
        unparsed = sum(parsed.counters.get(c, 0) for c in UNPARSED_COUNTERS)
        fmt = parsed.format or f"skipped ({parsed.skipped_reason})"
        per_format[fmt if parsed.format else "skipped"] += 1
        totals.update(lines=lines, events=events, unparsed=unparsed, issues=issues)
        if show_all or unparsed or issues:
            share = f"{unparsed / lines:.1%}" if lines else "-"
            why = ", ".join(f"{c} {n}" for c, n in codes.most_common(3))
            rows.append(f"{f.display}\t{fmt}\t{lines}\t{events}\t{unparsed}\t{share}\t{issues}\t{why}")
    print("file\tformat\tlines\tevents\tunparsed\tunparsed share\tissues\tissue codes")
    print("\n".join(rows))
    print()
    print("files per format: " + ", ".join(f"{k} {v}" for k, v in sorted(per_format.items())))
    share = totals["unparsed"] / totals["lines"] if totals["lines"] else 0.0
    print(
        f"total: {len(files)} files, {totals['lines']} lines, {totals['events']} events, "
        f"{totals['unparsed']} unparsed lines ({share:.2%}), {totals['issues']} issues"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
