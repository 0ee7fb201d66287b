"""Tests of tools.loggen: the committed samples are exactly what the generator writes, in the KB shapes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tools.loggen.__main__ import main, parse_size
from tools.loggen.common import fmt_ims, fmt_tracking

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
SCENARIOS = ("q178436-site-connector", "healthy", "postfix-forwarding-loop", "exim-hop-limit")
Q = SAMPLES / "q178436-site-connector"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    assert main(["samples", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_regeneration_is_byte_identical(regenerated: Path, name: str) -> None:
    committed = _files(SAMPLES / name)
    fresh = _files(regenerated / name)
    assert sorted(committed) == sorted(fresh)
    changed = [k for k in fresh if fresh[k] != committed[k]]
    assert changed == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenarios_stay_small_and_documented(name: str) -> None:
    files = _files(SAMPLES / name)
    assert "README.md" in files
    assert sum(len(v) for v in files.values()) < 1_000_000


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("latin-1").split("\r\n")


def _proto_lines() -> list[str]:
    out: list[str] = []
    for p in sorted((Q / "imc1" / "Exchsrvr" / "Imcdata" / "Log").glob("L*.LOG")):
        out += _lines(p)
    return out


def test_protocol_logs_use_crlf_and_kb_line_shapes() -> None:
    logs = sorted((Q / "imc1" / "Exchsrvr" / "Imcdata" / "Log").glob("L*.LOG"))
    assert [p.name for p in logs] == ["L0000000.LOG", "L0000001.LOG", "L0000002.LOG"]
    raw = logs[0].read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")
    lines = _proto_lines()
    bodies = {line.split(" : ", 1)[1] for line in lines if " : " in line}
    for expected in (
        "A connection was accepted from relay.company.com.",
        ">>> 220 imc1.company.com ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.1960.3) Ready.",
        ">>> 250-imc1.company.com Hello [relay.company.com]",
        ">>> 250 OK - mail from <>",
        "<<< RCPT TO:<user2@company.com>",
        ">>> 250 OK - Recipient <user2@company.com>",
        ">>> 354 Send data.  End with CRLF.CRLF",
        "A connection to 120.120.120.5 was established.",
        ">>> EHLO imc1.company.com",
        ">>> MAIL FROM: <>",
        "<<< IO: |250 <>... Sender ok",
        ">>> QUIT",
        ">>> 221 closing connection",
    ):
        assert expected in bodies, expected
    # EHLO continuations carry no time stamp (Q262945).
    assert "250-XEXCH50" in lines and "250 AUTH=LOGIN" in lines
    assert "3/15/99 9:12:41 AM : A connection to 120.120.120.5 was established." in lines
    assert sum(1 for b in lines if b.endswith(": <<< MAIL FROM:<> SIZE=" + b.rsplit("=", 1)[-1])) >= 42


def test_ring_has_42_passes_in_every_log() -> None:
    lines = _proto_lines()
    null_out = [line for line in lines if line.endswith(" : >>> MAIL FROM: <>")]
    # 42 ring passes plus the two one-off NDRs IMC1 sent.
    assert len(null_out) == 44
    relay = (Q / "relay" / "maillog").read_text("ascii").splitlines()
    looped = [
        line
        for line in relay
        if "to=<user2@company.com>" in line and "relay=imc1.company.com. [120.120.120.120]" in line
    ]
    assert len(looped) == 42
    assert looped[0].startswith("Mar 15 09:12:4")
    assert ", mailer=esmtp, " in looped[0] and "stat=Sent (" in looped[0]
    froms = [line for line in relay if "from=<>," in line and "relay=imc1.company.com [120.120.120.120]" in line]
    assert len(froms) == 44
    assert "class=0, pri=" in froms[0] and "proto=ESMTP" in froms[0]


def test_archive_envelope_and_growing_received_chain() -> None:
    folder = Q / "imc1" / "Exchsrvr" / "Imcdata" / "In" / "Archive"
    ring = []
    for p in sorted(folder.iterdir()):
        data = p.read_bytes()
        assert len(p.name) == 8 and p.name.isalnum() and p.name == p.name.upper()
        assert data.startswith(b"\xf7\x00\x00\x00ImCr")
        if b"Subject: Delivered: Quarterly figures" in data:
            ring.append(data)
    assert len(ring) == 42
    counts = sorted(d.count(b"by relay.company.com (8.9.3/8.9.3) with ESMTP id") for d in ring)
    assert counts == list(range(1, 43))
    longest = max(ring, key=len)
    head, message = longest.split(b"EwLs", 1)
    assert b"relay.company.com\x00<>\x00c=US;a= ;p=Company;l=IMC1-99031515" in head
    assert b"<user2@company.com>\x00" in head
    assert message.startswith(b"Received: from relay.company.com ([120.120.120.5]) by imc1.company.com with SMTP")
    spool = message.split(b"\r\n\tid ", 1)[1][:8].decode()
    assert (folder / spool).read_bytes() == longest
    # No IMS hop between the relay's lines: exactly one IMS inbound line per copy.
    assert message.count(b"with SMTP (Microsoft Exchange Internet Mail Service") == 1
    assert b"Received: by imc1" not in message


def test_tracking_log_records() -> None:
    lines = _lines(Q / "imc1" / "Exchsrvr" / "Tracking.log" / "19990315.log")
    records = [line.split("\t") for line in lines if line and not line.startswith("\t")]
    assert all(len(r) == 13 for r in records)
    events = [r[1] for r in records]
    for ev in ("1000", "1010", "1011", "1012", "1013", "1016", "1017"):
        assert ev in events
    dr = [r for r in records if r[1] == "1017" and r[4] == "company.com"]
    assert len(dr) == 42
    assert dr[0][3] == "/o=Company/ou=Site1/cn=Configuration/cn=Connections/cn=Internet Mail Service (IMC1)"
    assert dr[0][6] == "" and dr[0][11].startswith("c=US;a= ;p=Company;l=IMC2-9903151412Z-")
    assert dr[0][2] == "1999.3.15 14:12:39"
    assert {r[11] for r in dr} == {dr[0][11]}
    idx = lines.index("\t".join(dr[0]))
    assert lines[idx + 1] == "\tuser2@company.com\t0"


def test_postfix_and_exim_shapes() -> None:
    mx1 = (SAMPLES / "postfix-forwarding-loop" / "mx1.example.org" / "mail.log").read_text("ascii")
    assert "dsn=5.4.6, status=bounced (mail forwarding loop for alice@example.org)" in mx1
    assert "sender non-delivery notification: " in mx1 and "status=sent (forwarded as " in mx1
    eml = (SAMPLES / "postfix-forwarding-loop" / "bounce-alice.eml").read_bytes()
    assert b"multipart/report; report-type=delivery-status" in eml and b"Content-Type: message/rfc822" in eml
    assert eml.count(b"Delivered-To: alice@example") == 2
    a = (SAMPLES / "exim-hop-limit" / "a.example.com" / "exim4" / "mainlog").read_text("ascii")
    assert '** bob@example.com: Too many "Received" headers - suspected mail loop' in a
    assert " <= <> R=" in a and " U=Debian-exim P=local " in a
    bounce = (SAMPLES / "exim-hop-limit" / "bounce-bob.eml").read_bytes()
    assert bounce.count(b"\r\nReceived: from ") == 31
    assert b"Content-Type: text/rfc822-headers" in bounce


def test_formats() -> None:
    assert fmt_ims(datetime(1999, 3, 15, 21, 4, 5)) == "3/15/99 9:04:05 PM"
    assert fmt_ims(datetime(2001, 2, 7, 0, 1, 20)) == "2/7/01 12:01:20 AM"
    assert fmt_tracking(datetime(1999, 3, 15, 14, 14, 3)) == "1999.3.15 14:14:3"
    assert parse_size("2M") == 2 << 20 and parse_size("1G") == 1 << 30


def test_bench_small(tmp_path: Path) -> None:
    assert main(["bench", "--size", "2M", "--out", str(tmp_path), "--seed", "3"]) == 0
    expected = json.loads((tmp_path / "expected.json").read_text())
    kinds = {loop["kind"]: loop for loop in expected["loops"]}
    assert set(kinds) == {"q178436", "postfix-forwarding-loop", "exim-hop-limit"}
    assert kinds["q178436"]["address"] == "user2@company.com" and kinds["q178436"]["passes"] >= 6
    total = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert 1.5 * (1 << 20) < total < 4 * (1 << 20)
    for rel in ("imc1/Imcdata/Log/L0000000.LOG", "relay/maillog", "pf1/mail.log", "ex1/mainlog"):
        assert (tmp_path / rel).stat().st_size > 0
    pf1 = (tmp_path / "pf1" / "mail.log").read_text("ascii")
    assert "mail forwarding loop for alice@example.org" in pf1
