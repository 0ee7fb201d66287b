"""Bench mode: a large mixed log set (IMS, Sendmail, Postfix, Exim) with planted loops and expected.json."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from . import ims_traffic as tr
from . import scenario_exim as ex
from . import scenario_postfix as pf
from .common import Ids, Sink, at, epoch
from .ims_world import gmt

# Share of the requested size per log family, and rough bytes per ordinary transaction (to space them).
SHARE = {"ims": 0.42, "postfix": 0.40, "exim": 0.18}
TX_BYTES = {"ims": 2600, "postfix": 1050, "exim": 330}
ARCHIVE_CAP = 2000
FLUSH_EVERY = 5000


def _drive(
    budget: int,
    per_tx: int,
    start: datetime,
    sinks: Callable[[], list[Sink]],
    step: Callable[[datetime], None],
    rng: random.Random,
) -> None:
    """Call `step` at increasing times until the sinks hold `budget` bytes; flush behind the clock."""
    spacing = 86400.0 * per_tx / max(budget, 1)
    clock = 0.0
    done = 0
    while sum(s.written for s in sinks()) < budget:
        clock += spacing * (0.5 + rng.random())
        t = at(start, clock)
        step(t)
        done += 1
        if done % FLUSH_EVERY == 0:
            # Sessions end within seconds of their start, so an hour behind the clock is safe.
            for s in sinks():
                s.flush(t - timedelta(hours=1))
    for s in sinks():
        s.flush()


def _scale(size: float) -> float:
    return max(size / (100 << 20), 0.01) ** 0.5


def run(out: Path, size: int, seed: int) -> dict[str, object]:
    """Write the bench set under `out` and return what expected.json says."""
    began = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ids = Ids(rng, unique=False)
    loops: list[dict[str, object]] = [
        _ims(out, rng, ids, int(size * SHARE["ims"])),
        _postfix(out, rng, ids, int(size * SHARE["postfix"])),
        _exim(out, rng, ids, int(size * SHARE["exim"])),
    ]
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.name != "expected.json")
    expected = {"seed": seed, "requested_bytes": size, "written_bytes": written, "loops": loops}
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="ascii")
    print(f"wrote {written / (1 << 20):.1f} MiB to {out} in {time.monotonic() - began:.1f} s")
    return expected


def _iso(t: datetime) -> str:
    return f"{t:%Y-%m-%dT%H:%M:%S}Z"


def _ims(out: Path, rng: random.Random, ids: Ids, budget: int) -> dict[str, object]:
    site = tr.make_site(out, rng, ids, imc_root="", archive_cap=ARCHIVE_CAP)
    day = datetime(1999, 3, 15)
    passes = max(6, int(24 * _scale(budget / SHARE["ims"])))
    ring = tr.q178436_ring(site, day.replace(hour=9, minute=12, second=14), passes)
    kinds = (tr.external_inbound, tr.external_inbound, tr.internet_outbound, tr.internet_outbound, tr.internal_cron)
    count = 0

    def step(t: datetime) -> None:
        nonlocal count
        count += 1
        if count % 400 == 0:
            tr.ndr_unknown_user(site, t)
        elif count % 7 == 0:
            tr.site_connector(site, t, count % 2 == 0)
        else:
            rng.choice(kinds)(site, t)

    _drive(budget, TX_BYTES["ims"], day, site.all_sinks, step, rng)
    return {
        "kind": "q178436",
        "hosts": [tr.IMC1.name, tr.RELAY.name],
        "address": "user2@company.com",
        "passes": ring.passes,
        "first_utc": _iso(gmt(ring.first_out)),
        "last_utc": _iso(gmt(ring.last_in)),
        "logs": ["imc1/", "imc2/", "relay/maillog"],
    }


def _postfix(out: Path, rng: random.Random, ids: Ids, budget: int) -> dict[str, object]:
    mx1 = pf.make_host(*pf.MX1, out / "pf1" / "mail.log", ids, rng)
    day = pf.DAY
    messages = max(1, int(3 * _scale(budget / SHARE["postfix"])))
    times = [at(day, 3600 + i * (20 * 3600 // messages)) for i in range(messages)]
    for t in times:
        pf.loop(mx1, None, t)

    def step(t: datetime) -> None:
        (pf.inbound if rng.random() < 0.55 else pf.outbound)(mx1, t)

    _drive(budget, TX_BYTES["postfix"], day, lambda: [mx1.sink], step, rng)
    return {
        "kind": "postfix-forwarding-loop",
        "hosts": [pf.MX1[0], pf.MX2[0]],
        "address": "alice@example.org",
        "passes": 1,
        "messages": messages,
        "first_local": f"{times[0]:%Y-%m-%dT%H:%M:%S}+02:00",
        "logs": ["pf1/mail.log"],
    }


def _exim(out: Path, rng: random.Random, ids: Ids, budget: int) -> dict[str, object]:
    sink = Sink(out / "ex1" / "mainlog")
    day = ex.DAY
    messages = max(1, int(2 * _scale(budget / SHARE["exim"])))
    starts = [at(day, 7200 + i * (18 * 3600 // messages)) for i in range(messages)]
    for t in starts:
        ex.loop({ex.A[0]: sink}, ids, t)

    def step(t: datetime) -> None:
        ex.background(sink, ex.A[0], ids, rng, t)

    _drive(budget, TX_BYTES["exim"], day, lambda: [sink], step, rng)
    return {
        "kind": "exim-hop-limit",
        "hosts": [ex.A[0], ex.B[0]],
        "address": ex.RCPT,
        "passes": ex.LIMIT,
        "messages": messages,
        "first_utc": _iso(starts[0]),
        "logs": ["ex1/mainlog"],
    }


__all__ = ["epoch", "run"]
