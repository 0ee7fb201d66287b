"""Command line: `python -m tools.loggen samples [--out DIR]` and `python -m tools.loggen bench --size 1G --out DIR`."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import scenario_exim, scenario_healthy, scenario_postfix, scenario_q178436
from .common import write_text


def parse_size(text: str) -> int:
    """`100M`, `1G`, `2048K` or a plain byte count."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def samples(out: Path) -> None:
    """Regenerate every shipped scenario (each folder is replaced, so the result is byte-exact)."""
    for module in (scenario_q178436, scenario_healthy, scenario_postfix, scenario_exim):
        target = out / module.NAME
        if target.exists():
            shutil.rmtree(target)
        module.generate(out)
    write_text(out / "README.md", INDEX)


INDEX = """# sample_logs: shipped scenarios

Every file here is written by `python -m tools.loggen samples` (standard library only, fixed seeds);
`tests/test_loggen.py` fails if a file differs from a fresh run, so never edit them by hand.

| Folder | Servers | What `imsdiag scan` must find |
|---|---|---|
| `q178436-site-connector/` | IMS imc1 + imc2, Sendmail relay | Q178436: user2@company.com, imc1 <-> relay, 42 passes |
| `healthy/` | the same three servers, an ordinary day | nothing (receipts, NDRs, OOF, long chains) |
| `postfix-forwarding-loop/` | Postfix mx1.example.org, mx2.example.net | alias loop for alice@example.org, dsn 5.4.6 |
| `exim-hop-limit/` | Exim a.example.com, b.example.com | routing loop for bob@example.com, 31 Received |

Each folder's README.md names the files, the hosts, the address, the number of passes, the first and
last time and the cause. `python -m tools.loggen bench --size 1G --out DIR` writes a large mixed set
with the same kinds of loops planted and `DIR/expected.json` describing them.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loggen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_samples = sub.add_parser("samples", help="regenerate sample_logs/")
    p_samples.add_argument("--out", type=Path, default=Path("sample_logs"))
    p_bench = sub.add_parser("bench", help="write a large mixed log set with planted loops")
    p_bench.add_argument("--size", default="100M")
    p_bench.add_argument("--out", type=Path, required=True)
    p_bench.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "samples":
        samples(args.out)
    else:
        from . import bench

        bench.run(args.out, parse_size(args.size), args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
