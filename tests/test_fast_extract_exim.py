"""The fast Exim extractor against the full Exim parser (issue 14): real, generated and hostile mainlogs.

`test_fast_extract.compare` reads each file both ways and compares everything the later stages read; here
the block size is shrunk too, so every line of these logs is cut at a block boundary somewhere.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imsdiag.engine import scan
from imsdiag.outcome import process_file
from imsdiag.parsers.fast import exim_blocks
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile, discover

from .conftest import CORPUS, SAMPLES
from .test_fast_extract import compare

BLOCKS = [None, 64, 97, 4096]


def compare_exim(paths: list[Path], settings: ScanSettings | None = None, block: int | None = None) -> int:
    """`compare` with the Exim extractor's blocks `block` bytes long (None: the default), and whole events.

    `compare` checks a few fields of the kept events; detection reads all of them (size, Message-ID,
    subject, bounce links, peers), so here the kept events must be equal field for field too.
    """
    with pytest.MonkeyPatch.context() as mp:
        if block is not None:
            mp.setattr(exim_blocks, "BLOCK_SIZE", block)
        base = settings or ScanSettings(paths=tuple(str(p) for p in paths))
        for f in discover([str(p) for p in paths]):
            if isinstance(f, InputFile):
                full = process_file(f, dataclasses.replace(base, full_parse=True)).correlator
                fast = process_file(f, base).correlator
                for name in ("candidates", "signals", "cyclic", "auto_replies"):
                    assert getattr(full, name) == getattr(fast, name), (f.display, name)
        return compare(paths, settings)


def _exim_logs(root: Path) -> list[Path]:
    """The files under `root` that the scan reads as Exim mainlogs."""
    from imsdiag.parsers.run import parse_input

    settings = ScanSettings(paths=(str(root),))
    out = []
    for f in discover([str(root)]):
        if isinstance(f, InputFile) and f.path is not None:
            pf = parse_input(f, settings)
            if pf.format == "exim":
                out.append(Path(f.path))
            for _ in pf.records:  # read to the end, so the file is closed
                pass
    return out


@pytest.mark.parametrize("block", BLOCKS)
def test_corpus_exim_logs(block: int | None) -> None:
    logs = CORPUS / "maillogs"
    if not logs.is_dir():
        pytest.skip(f"corpus not found at {logs}")
    exim = _exim_logs(logs)
    assert len(exim) >= 3, exim  # exim_ddgrey_mainlog, fail2ban/exim, fail2ban/exim-spam
    assert compare_exim(exim, block=block) == len(exim)


@pytest.mark.parametrize("block", BLOCKS)
def test_shipped_exim_sample(block: int | None) -> None:
    assert compare_exim([SAMPLES / "exim-hop-limit"], block=block) >= 2


def _findings(settings: ScanSettings) -> list[tuple[object, ...]]:
    res = scan(settings)
    return [(f.rule_id, f.addresses, f.hosts, f.passes, f.first_seen, f.fingerprint) for f in res.findings]


def test_generated_exim_loops(tmp_path: Path) -> None:
    """The bench generator's Exim mainlog: planted hop-limit loops among ordinary traffic, found both ways."""
    from tools.loggen import bench

    expected = bench.run(tmp_path, 4_000_000, 7)
    exim = [tmp_path / "ex1" / "mainlog"]
    assert compare_exim(exim) == 1
    assert compare_exim(exim, block=1000) == 1
    settings = ScanSettings(paths=(str(tmp_path),), jobs=1, use_index=False)
    fast = _findings(settings)
    assert fast == _findings(dataclasses.replace(settings, full_parse=True))
    planted = next(lp for lp in expected["loops"] if lp["kind"] == "exim-hop-limit")  # type: ignore[index]
    assert any(planted["address"] in f[1] for f in fast), fast


def test_sample_findings_same_with_the_fast_path_off() -> None:
    settings = ScanSettings(paths=(str(SAMPLES / "exim-hop-limit"),), jobs=1, use_index=False)
    fast = _findings(settings)
    assert fast
    assert fast == _findings(dataclasses.replace(settings, full_parse=True))


# Line shapes from real mainlogs (docs/prior-art.md §4.4, the corpus, Exim's spec), and damage around them.
_A, _B, _C = "1kYERi-0007oc-5P", "1tk2Uq-00000000FrB-3Jl1", "1c3KOi-0000BR-CX"
_HOSTILE = [
    f"2020-10-29 20:22:59.803 [30056] {_A} <= alice@a.example H=imc2 (imc2.company.com) [10.0.0.2]:4321 "
    f'P=esmtp S=1234 id=x1@a.example T="re: H=fake [9.9.9.9]" for bob@b.example carol@c.example\n',
    f"2020-10-29 20:23:00.1 +0100 [30056] {_A} => bob@b.example <bob@alias.example> R=dnslookup T=remote_smtp "
    f'H=mx.b.example [192.0.2.1] X=TLS1.2:RSA_AES_128_CBC_SHA1:128 C="250 OK id={_B}"\n',
    f"2020-10-29 20:23:00 {_A} -> carol@c.example R=dnslookup T=remote_smtp H=shop.c.example [192.0.2.3]\n",
    f"2020-10-29 20:23:00 {_A} *> dave@d.example R=dnslookup T=remote_smtp\n",
    f"2020-10-29 20:23:01 {_A} == erin@e.example R=dnslookup T=remote_smtp defer (-44) H=mx.e.example "
    f"[192.0.2.9]: SMTP error from remote mail server after RCPT TO:<erin@e.example>: 451 4.7.1 Greylisted\n",
    f"2020-10-29 20:23:01 {_A} ** frank@f.example: Unrouteable address\n",
    f'2020-10-29 20:23:02 {_A} ** hop@f.example R=x: Too many "Received" headers - suspected mail loop\n',
    f"2020-10-29 20:23:02 {_A} == shop@f.example R=x T=y defer (-53): retry time not reached\n",
    f"2020-10-29 20:23:03 {_A} Completed\n",
    f"2016-11-06 13:10:00 {_C} <= <> H=mout-bounce.perfora.net [74.208.4.205] P=esmtps "
    f"X=TLS1.0:DHE_RSA_AES_256_CBC_SHA1:32 S=4452 from <> for vansavicius@anothersite.ru\n",
    f"2016-11-06 13:10:01 {_C} => vansavicius <vansavicius@anothersite.ru> R=local_user T=mail_spool\n",
    f"2016-11-06 13:10:01 {_C} Completed\n",
    f"2025-02-17 17:53:20 {_B} <= <> R={_A} U=mailnull P=local S=2025 "
    f'T="Mail delivery failed : returning message to sender" for alice@a.example\n',
    f"2025-02-17 17:53:21 {_B} => alice@a.example R=dnslookup T=remote_smtp H=mx.a.example [192.0.2.7]\n",
    f"2025-02-17 17:53:21 {_B} <= grace@g.example H=mx.g.example [192.0.2.8] P=esmtp S=99\n",
    f"2025-02-17 17:53:22 {_B} => heidi@h.example R=dnslookup T=remote_smtp H=mx.h.example [192.0.2.10]\n",
    f"2025-02-17 17:53:22 {_B} Completed\n",
    "2025-02-17 17:53:23 1abcde-fghijk-LM => ivan@i.example R=dnslookup T=remote_smtp H=mx.i.example [192.0.2.11]\n",
    f"2025-02-17 17:53:23 {_C} Frozen (delivery error message)\n",
    f"2025-02-17 17:53:23 {_C} Completedx\n",
    f"2025-02-17 17:53:24 {_C} <=\n",
    f"2025-02-17 17:53:24 {_C} <= \n",
    "2025-02-17 17:53:24 Start queue run: pid=1234\n",
    "2025-02-17 17:53:25 H=mx.j.example [192.0.2.12] F=<j@j.example> rejected RCPT <k@k.example>: "
    'Too many "Received" headers - suspected mail loop\n',
    "2025-02-17 17:53:25 H=mx.j.example [192.0.2.12] F=<shop@j.example> rejected RCPT <k@k.example>: relay denied\n",
    "2025-02-17 17:53:26 H=mx.j.example [192.0.2.12] F=<a@j.example> rejected RCPT <b@k>: Routing LOOP detected\n",
    f"2025-02-17 17:53:26 {_A} == c@k.example R=dnslookup T=remote_smtp defer (-1): 554 5.4.14 HOP count exceeded\n",
    f"2025-02-17 17:53:26 {_A} == d@k.example R=dnslookup T=remote_smtp defer (-1): 554 5.4.14 try later\n",
    "2025-02-17 17:53:27 SMTP connection from mx.k.example [192.0.2.26] closed: greeted me with my own hostname\n",
    "op loop hop 2025-02-17 17:53:27 op\n",
    "2025-02-17 17:53:27 Loops Back To Myself: op, stop, drop, hoop\n",
    f"mail.example.com exim[3751842]: 2021-07-17 23:20:49 {_A} <= judy@j.example H=mx.j.example [192.0.2.12] S=5\n",
    f"mail.example.com exim[3751842]: 2021-07-17 23:20:49 {_A} => kim@k.example R=r T=t H=mx.k.example [192.0.2.13]\n",
    "2019-10-22 03:39:17 mx1.fqdn.local exim[29786]: dovecot_login authenticator failed for (User) [192.0.2.37]\n",
    f"2020-13-45 25:61:61 {_A} <= liam@l.example H=mx.l.example [192.0.2.14] P=esmtp S=1\n",
    f"2020-10-29 20:22:59.1234567 {_A} <= mia@m.example H=mx.m.example [192.0.2.15] P=esmtp S=1\n",
    f'2020-10-29 20:24:00 +0100 {_A} <= "quoted name"@n.example H=mx.n.example [192.0.2.16] P=esmtp S=1\n',
    f"2020-10-29 20:24:00 {_A} => nils@n.example R=dnslookup T=remote_smtp H=mx.n.example [192.0.2.16]\n",
    f'2020-10-29 20:24:01 {_A} <= oli@o.example H=mx.o.example [192.0.2.17] S=1 T="Gr\u00f6\u00dfe" for p@p.example\n',
    f"2020-10-29 20:24:01 {_A} => p@p.example R=dnslookup T=remote_smtp H=mx.p.example [192.0.2.18]\n",
    "\n# a comment\n   \n******** SERVER ********\n",
    # An id reused after its bounce completed: a delivery with no arrival is no candidate.
    f"2016-11-06 13:11:00 {_C} <= <> H=mx.q.example [192.0.2.21] P=esmtp S=1 for q@q.example\n",
    f"2016-11-06 13:11:00 {_C} Completed\n",
    f"2016-11-06 13:11:01 {_C} => q@q.example R=dnslookup T=remote_smtp H=mx.q.example [192.0.2.21]\n",
    # An id reused after a bounce that never completed: the next arrival is an ordinary sender's.
    f"2016-11-06 13:11:02 {_C} <= <> R={_B} U=mailnull P=local S=77 for t@t.example\n",
    f"2016-11-06 13:11:03 {_C} <= ulla@u.example H=mx.u.example [192.0.2.22] P=esmtp S=88 id=u1@u.example\n",
    f"2016-11-06 13:11:04 {_C} => v@v.example R=dnslookup T=remote_smtp H=mx.v.example [192.0.2.23]\n",
    f"2016-11-06 13:11:05 {_C} <= walt@w.example H=mx.w.example [192.0.2.24] P=esmtp S=9 for x@x.example\n",
    f"2016-11-06 13:11:06 {_C} => y@y.example R=dnslookup T=remote_smtp H=mx.y.example [192.0.2.25]\n",
    f"2020-10-29 20:24:01 +9999 {_A} => z@z.example R=dnslookup T=remote_smtp H=mx.z.example [192.0.2.27]\n",
    f"2020-10-29 20:24:01 -2359 {_A} => z@z.example R=dnslookup T=remote_smtp H=mx.z.example [192.0.2.27]\n",
    f"9999-12-31 23:59:30 -0001 {_A} => z@z.example R=dnslookup T=remote_smtp H=mx.z.example [192.0.2.27]\n",
    f"0001-01-01 00:00:30 +0001 {_A} => z@z.example R=dnslookup T=remote_smtp H=mx.z.example [192.0.2.27]\n",
    f"9999-12-31 23:59:30 {_A} => z@z.example R=dnslookup T=remote_smtp H=mx.z.example [192.0.2.27]\n",
    "2020-10-29 20:24:02\n",
    "2020-10-29 20:24:02 +0100\n",
]
_RAW = [
    f"2020-10-29 20:24:03 {_A} => r\xe9@r.example R=dnslookup T=remote_smtp H=mx.r.example [192.0.2.19]\n".encode(
        "cp1252"
    ),
    f"2020-10-29 20:24:03 {_A} => nul\x00@r.example R=dnslookup T=remote_smtp\n".encode(),
    f"2020-10-29 20:24:04 {_A} => s@s.example R=dnslookup T=remote_smtp H=mx.s.example [192.0.2.20]\r\n".encode(),
    f"2020-10-29 20:24:04 {_A} Completed".encode(),
]


@pytest.mark.parametrize("block", [None, 64, 100, 300])
@pytest.mark.parametrize("cr", [False, True])
def test_hostile_exim_lines(tmp_path: Path, block: int | None, cr: bool) -> None:
    data = b"".join([s.encode() for s in _HOSTILE] + _RAW) + b"\n"
    data = data * 3
    if cr:
        data = data.replace(b"\n", b"\r\n")
    (tmp_path / "mainlog").write_bytes(data)
    (tmp_path / "cut.log").write_bytes(data[: len(data) // 2 + 7])
    (tmp_path / "huge.log").write_bytes(_HOSTILE[0].encode() + b"2020-10-29 20:24:04 " + b"y" * (1 << 21) + data)
    (tmp_path / "bare-cr.log").write_bytes(data.replace(b"Completed\n", b"Completed\r"))
    many = "".join(f"2020-10-29 20:24:05 {_A} ** u{i}@hop.example: loop\n" for i in range(400))
    (tmp_path / "many-odd.log").write_bytes(data + many.encode() + data)
    settings = ScanSettings(paths=(str(tmp_path),), log_format="exim")
    assert compare_exim([tmp_path], settings, block=block) == 5
    # A window that cuts messages in two: a delivery inside it, its arrival outside.
    window = dataclasses.replace(
        settings,
        since=datetime.fromisoformat("2016-11-06T13:11:04+00:00"),
        until=datetime.fromisoformat("2020-10-29T20:23:00+00:00"),
    )
    assert compare_exim([tmp_path], window, block=block) == 5


def test_zones_and_clock_changes(tmp_path: Path) -> None:
    """Zone-less stamps in a zone with summer time: the hour that repeats, the hour that never was, the years' ends."""
    from zoneinfo import ZoneInfo

    stamps = ["2020-10-25 02:30:00", "2020-10-25 02:59:59", "2020-10-25 03:00:01", "2020-03-29 02:30:00"]
    stamps += ["2020-03-29 01:59:59.5", "2020-03-29 03:00:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59"]
    lines = []
    for i, stamp in enumerate(stamps):
        mid = f"1kYERi-0007o{i}-5P"
        lines.append(f"{stamp} {mid} <= a{i}@a.example H=mx.a.example [192.0.2.{i}] P=esmtp S=1 for b@b.example\n")
        lines.append(f"{stamp} {mid} => b@b.example R=dnslookup T=remote_smtp H=mx.b.example [192.0.2.99]\n")
    (tmp_path / "mainlog").write_text("".join(lines) * 2)
    for tz in (ZoneInfo("Europe/Berlin"), timezone(timedelta(hours=-3)), None):
        settings = ScanSettings(paths=(str(tmp_path),), log_format="exim", tz=tz)
        assert compare_exim([tmp_path], settings, block=150) == 1


def test_time_window_and_zones() -> None:
    settings = ScanSettings(
        paths=(str(SAMPLES / "exim-hop-limit"),),
        since=datetime.fromisoformat("2024-06-03T14:02:30+00:00"),
        until=datetime.fromisoformat("2024-06-03T16:00:00+00:00"),
        tz=timezone(timedelta(hours=2)),
        server_tz=(("a.example.com", timezone(timedelta(hours=-5))),),
    )
    assert compare_exim([SAMPLES / "exim-hop-limit"], settings, block=200) >= 2
