"""The fast extractors against the full parsers (issue 14): the same facts for detection, file by file and scan-wide.

Each file is read both ways by `outcome.process_file` (the full parser forced with `ScanSettings.full_parse`) and
everything the later stages read from the outcome is compared: candidates, signals, cyclic and auto-reply events,
host evidence, servers, builds, addresses, years, days, spans, counts, FileStat and parse issues.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from imsdiag.engine import scan
from imsdiag.outcome import FileOutcome, process_file
from imsdiag.parsers.fast import syslog_blocks
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile, discover

from .conftest import CORPUS, SAMPLES
from .matrix.report import SEED, random_combos
from .matrix.world import build_world


def _events(events: list[Any]) -> list[tuple[object, ...]]:
    return [(e.location, e.time, e.server, e.sender, e.recipients, e.queue_id, e.loop_signal, e.text) for e in events]


def facts(o: FileOutcome) -> dict[str, object]:
    """What the stages after correlation read from one file's outcome."""
    c = o.correlator
    return {
        "stat": o.stat,
        "issue_counts": dict(o.issue_counts),
        "issue_examples": o.issue_examples,
        "dated_stamps": o.dated_stamps,
        "candidates": _events(c.candidates),
        "dropped": c.candidates_dropped,
        "signals": _events(c.signals),
        "cyclic": _events(c.cyclic),
        "auto_replies": _events(c.auto_replies),
        "hosts": dataclasses.asdict(c.hosts),
        "builds": dict(c.builds),
        "software": dict(c.software),
        "ims_servers": c.ims_servers,
        "servers": c.servers,
        "addresses": dict(c.addresses),
        "seen": (c.events_seen, c.events_outside_window),
        "times": (c.first_time, c.last_time, c.years, c.days, c.spans),
    }


def compare(paths: list[Path], settings: ScanSettings | None = None, block: int | None = None) -> int:
    """Assert both readings agree on every file under `paths`; the number of files compared."""
    base = settings or ScanSettings(paths=tuple(str(p) for p in paths))
    files = [f for f in discover([str(p) for p in paths]) if isinstance(f, InputFile)]
    for f in files:
        full = facts(process_file(f, dataclasses.replace(base, full_parse=True)))
        if block is None:
            fast = facts(process_file(f, base))
        else:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(syslog_blocks, "BLOCK_SIZE", block)
                fast = facts(process_file(f, base))
        diff = [k for k in full if full[k] != fast[k]]
        assert not diff, f"{f.display}: {diff}: {[(full[k], fast[k]) for k in diff][:1]}"
    return len(files)


@pytest.mark.parametrize("block", [None, 64, 4096])
def test_corpus_mail_logs(block: int | None) -> None:
    logs = CORPUS / "maillogs"
    if not logs.is_dir():
        pytest.skip(f"corpus not found at {logs}")
    assert compare([logs], block=block) >= 10


@pytest.mark.parametrize("block", [None, 64])
def test_shipped_samples(block: int | None) -> None:
    assert compare([SAMPLES], block=block) >= 10


def test_generated_bench_logs(tmp_path: Path) -> None:
    from tools.loggen import bench

    bench.run(tmp_path, 3_000_000, 5)
    assert compare([tmp_path]) >= 3
    assert compare([tmp_path], block=777) >= 3


@pytest.mark.parametrize("combo", random_combos(6), ids=lambda c: c.id)
def test_matrix_worlds(combo: Any, tmp_path: Path) -> None:
    build_world(combo, SEED, tmp_path)
    compare([tmp_path])
    compare([tmp_path], block=64)


_HOSTILE = [
    b"Aug 30 06:40:55 mx postfix/smtpd[1]: 7E3F528BA0: client=a.example[10.0.0.1]\n",
    b"Aug 30 06:40:55 mx postfix/cleanup[2]: 7E3F528BA0: message-id=<x@y>\n",
    b"Aug 30 06:40:56 mx postfix/qmgr[3]: 7E3F528BA0: from=<>, size=936, nrcpt=1 (queue active)\n",
    b"Aug 30 06:40:57 mx postfix/smtp[4]: 7E3F528BA0: to=<u@b.example>, relay=b.example[10.0.0.2]:25, "
    b"delay=1, dsn=2.0.0, status=sent (250 ok)\n",
    b"Aug 30 06:40:57 mx postfix/smtp[4]: 7E3F528BA1: to=<v@b.example>, relay=none, delay=1, dsn=5.4.6, "
    b"status=bounced (mail forwarding loop for v@b.example)\n",
    b"Aug 30 06:40:58 mx postfix/qmgr[3]: 7E3F528BA0: removed\n",
    b"Aug 30 06:40:58 mx postfix/smtpd[1]: warning: 7E3F528BA2: hostname x does not resolve\n",
    b"Aug 30 06:40:58 mx last message repeated 3 times\n",
    b"Aug 30 06:40:59 mx postfix/bounce[5]: 7E3F528BA0: sender non-delivery notification: 7E3F528BA3\n",
    b"Aug 30 06:41:00 mx postfix/smtp[4]: 7E3F528BA3: to=<s@a.example>, relay=a.example[10.0.0.1]:25, "
    b"dsn=2.0.0, status=sent (250 ok)\n",
    b"Aug 30 06:41:00 mx postfix/smtp[4]: 7E3F528BA3: to=<s@a.example>, relay=a.exa\r\n",
    b"Aug 30 06:41:01 mx postfix/smtp[4]: 7E3F528BA4: to=<\xe9t\xe9@a.example>, relay=a.example[10.0.0.1]:25\n",
    b"Aug 30 06:41:01 mx postfix/smtp[4]: 7E3F528BA5: to=<nul\x00@a.example>, status=sent\n",
    b"Aug 30 06:41:02 mx postfix/smtp[4]: 7E3F528BA6: to=<long@a.example>, relay=" + b"x" * 5000 + b"\n",
    b"\n# a comment\n   \n",
    b"Aug 30 06:41:03 mx sendmail[9]: q1ABCDEF012345: from=<a@b>, size=1, nrcpts=1, relay=h [10.0.0.9]\n",
    b"Aug 30 06:41:03 mx sendmail[9]: q1ABCDEF012345: to=<c@d>, delay=0, mailer=esmtp, relay=e [10.0.0.8], stat=Sent\n",
    b"2019-01-11T06:54:52.628611+07:00 mx postfix/smtp[4]: 7E3F528BA7: to=<r@a.example>, status=sent\n",
    b"Dec 31 23:59:59 mx postfix/qmgr[3]: 7E3F528BA8: from=<q@a.example>, size=1, nrcpt=1 (queue active)\n",
    b"Jan  1 00:00:01 mx postfix/smtp[4]: 7E3F528BA8: to=<r@a.example>, relay=a.example[10.0.0.1]:25, status=sent\n",
    # qmgr lines the extractor's `from=` shortcut must leave to `parse_fields` (or read the same way)
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BA9: from=<a, status=x>, size=1, nrcpt=1 (queue active)\n",
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BAA: from=<>, size=2, nrcpt=1 (queue active) size=9\n",
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BAB: from=<e@a.example>, status=expired, returned to sender\n",
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BAC: from=<e@a.example>, size=, nrcpt=1 (queue active)\n",
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BAD: from=a=b@a.example, size=01, nrcpt=0 (queue active)\n",
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BAE: from=<cut, size=3, nrcpt=1 (queue active)\n",
    b"Jan  1 00:00:03 mx postfix/qmgr[3]: 7E3F528BAF: from=<a, status=sent (x)>, size=4, nrcpt=1 (queue active)\n",
    b"Jan  1 00:00:04 mx postfix/local[6]: 7E3F528BAA: to=<p@a.example>, relay=local, status=sent (delivered)\n",
    b"Jan  1 00:00:04 mx postfix/local[6]: 7E3F528BAD: to=<p@a.example>, relay=local, status=sent (delivered)\n",
    # A delay notice that qmgr says has a sender: still a report, so its delivery is a candidate.
    b"Jan  1 00:00:04 mx postfix/bounce[5]: 7E3F528BA8: sender delay notification: 7E3F528BB1\n",
    b"Jan  1 00:00:04 mx postfix/qmgr[3]: 7E3F528BB1: from=<d@a.example>, size=9, nrcpt=1 (queue active)\n",
    b"Jan  1 00:00:04 mx postfix/smtp[4]: 7E3F528BB1: to=<s@a.example>, relay=a.example[10.0.0.1]:25, status=sent\n",
    b"Jan  1 00:00:04 mx postfix/qmgr[3]: 7E3F528BA8: removed",
]


@pytest.mark.parametrize("block", [None, 64, 100, 300])
@pytest.mark.parametrize("cr", [False, True])
def test_hostile_lines(tmp_path: Path, block: int | None, cr: bool) -> None:
    data = b"".join(_HOSTILE * 3)
    if cr:
        data = data.replace(b"\n", b"\r\n")
    (tmp_path / "mail.log").write_bytes(data)
    (tmp_path / "cut.log").write_bytes(data[: len(data) // 2 + 7])
    (tmp_path / "huge.log").write_bytes(_HOSTILE[0] + b"Aug 30 06:41:02 mx postfix/smtp[4]: " + b"y" * (1 << 21) + data)
    settings = ScanSettings(paths=(str(tmp_path),), log_format="postfix")
    assert compare([tmp_path], settings, block=block) == 3


def test_time_window_and_zones() -> None:
    since, until = "2024-03-05T10:00:00+00:00", "2024-03-05T11:00:00+00:00"
    from datetime import datetime, timedelta, timezone

    settings = ScanSettings(
        paths=(str(SAMPLES),),
        since=datetime.fromisoformat(since),
        until=datetime.fromisoformat(until),
        tz=timezone(timedelta(hours=2)),
        server_tz=(("mx", timezone(timedelta(hours=-5))),),
    )
    compare([SAMPLES], settings)


def _findings(settings: ScanSettings) -> list[tuple[object, ...]]:
    res = scan(settings)
    return [(f.rule_id, f.addresses, f.hosts, f.passes, f.fingerprint) for f in res.findings]


def test_scan_findings_same_with_the_fast_path_off() -> None:
    paths = [str(SAMPLES)] + ([str(CORPUS / "maillogs")] if (CORPUS / "maillogs").is_dir() else [])
    settings = ScanSettings(paths=tuple(paths), jobs=1, use_index=False)
    fast = _findings(settings)
    assert fast == _findings(dataclasses.replace(settings, full_parse=True))
    assert fast
