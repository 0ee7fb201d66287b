"""The hand-written Q178436 folders (not made by tools.loggen): the verdicts written in their README.md files.

`sample_logs/q178436-relay-only/` is one Postfix relay's syslog; `sample_logs/q178436-two-ims/` is two IMS
servers' protocol logs in different time zones. Both were written from the KB line shapes, without looking
at imsdiag's parsers, so these tests check the product against evidence it was not shaped to.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from imsdiag import Finding, ScanSettings, Severity, scan

ROOT = Path(__file__).resolve().parent.parent
RELAY_ONLY = ROOT / "sample_logs" / "q178436-relay-only"
TWO_IMS = ROOT / "sample_logs" / "q178436-two-ims"

# Every name a machine goes by in the evidence; a ring must name each machine once, by any one of them.
RELAY_MACHINES = {
    "gate": {"gate", "gate.example.com", "192.0.2.25"},
    "exch1": {"exch1", "exch1.example.com", "192.0.2.10"},
}
IMS_MACHINES = {
    "imc1": {"imc1", "imc1.company.com", "10.1.1.1"},
    "imc2": {"imc2", "imc2.company.com", "10.1.1.2"},
}
EST = timezone(timedelta(hours=-5), "EST")
PST = timezone(timedelta(hours=-8), "PST")


def _scan(folder: Path, **kwargs: object) -> tuple[Finding, ...]:
    return scan(ScanSettings(paths=(str(folder),), use_index=False, **kwargs)).findings  # type: ignore[arg-type]


def _machine(host: str, machines: dict[str, set[str]]) -> str:
    names = {t.strip(".") for t in re.split(r"[^a-z0-9.\-]+", host.lower()) if t.strip(".")}
    hits = sorted(m for m, known in machines.items() if names & known)
    assert len(hits) == 1, f"ring host {host!r} is not exactly one of the machines {sorted(machines)}: {hits}"
    return hits[0]


def _assert_ring(finding: Finding, machines: dict[str, set[str]]) -> None:
    seen = sorted(_machine(h, machines) for h in finding.hosts)
    assert seen == sorted(machines), f"ring {finding.hosts} must name each of {sorted(machines)} exactly once"


def _text(finding: Finding) -> str:
    parts = [finding.title, finding.summary, finding.build_verdict, finding.cause, *finding.fix]
    parts += [f"{k} {v}" for k, v in finding.details]
    return "\n".join(parts)


def _only_finding(findings: tuple[Finding, ...]) -> Finding:
    got = [(f.rule_id, f.hosts, f.addresses, f.passes) for f in findings]
    assert len(findings) == 1, f"expected exactly one finding, got {got}"
    return findings[0]


def _only_q178436(findings: tuple[Finding, ...]) -> Finding:
    finding = _only_finding(findings)
    assert finding.rule_id == "Q178436", (finding.rule_id, finding.title)
    assert finding.severity == Severity.ERROR
    return finding


# ---------------------------------------------------------------- q178436-relay-only


def test_relay_only_finds_the_q178436_loop() -> None:
    finding = _only_q178436(_scan(RELAY_ONLY))
    assert {a.lower() for a in finding.addresses} == {"jsmith@example.com"}
    _assert_ring(finding, RELAY_MACHINES)
    assert abs(finding.passes - 25) <= 1, finding.passes
    # No build is in this evidence: the finding must not invent one.
    assert not [b for _, b in finding.builds if re.fullmatch(r"\d+(\.\d+)+", b)], finding.builds


def test_relay_only_loop_leaves_out_the_unrelated_ndr() -> None:
    """The Internet NDR to jsmith (from Google, relayed to exch1 once at 10:37:19) is not a pass of the ring."""
    finding = _only_finding(_scan(RELAY_ONLY))
    assert not [i for i in finding.message_ids if "mx.google.com" in i or i == "ED27933DB9"], finding.message_ids
    assert finding.passes == 25, finding.passes


def test_relay_only_times() -> None:
    finding = _only_finding(_scan(RELAY_ONLY, tz=timezone.utc, year_hint=2026))
    assert finding.first_seen is not None and finding.last_seen is not None
    first = datetime(2026, 3, 16, 10, 2, 11, tzinfo=timezone.utc)
    last = datetime(2026, 3, 16, 10, 50, 30, tzinfo=timezone.utc)
    assert abs((finding.first_seen - first).total_seconds()) <= 5, finding.first_seen
    assert abs((finding.last_seen - last).total_seconds()) <= 5, finding.last_seen


def _relay_without_loop(text: str) -> str:
    """Drop every line of the 25 looping messages and of the smtpd sessions that carried them."""
    lines = text.splitlines(keepends=True)
    qid_re = re.compile(r"\]: ([0-9A-F]{10}): ")
    by_qid: dict[str, list[str]] = {}
    for line in lines:
        m = qid_re.search(line)
        if m:
            by_qid.setdefault(m.group(1), []).append(line)
    loop = {
        q
        for q, ls in by_qid.items()
        if any("client=exch1.example.com[192.0.2.10]" in x for x in ls)
        and any("from=<>," in x for x in ls)
        and any("to=<jsmith@example.com>" in x for x in ls)
    }
    assert len(loop) == 25
    drop: set[int] = set()
    sessions: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        m = qid_re.search(line)
        if m and m.group(1) in loop:
            drop.add(i)
        s = re.search(r" postfix/smtpd\[(\d+)\]: (.*)", line)
        if not s:
            continue
        pid, rest = s.groups()
        if rest.startswith("connect from "):
            sessions[pid] = []
        sessions.setdefault(pid, []).append(i)
        if rest.startswith("disconnect from "):
            session = sessions.pop(pid)
            if any(q in lines[j] for j in session for q in loop):
                drop.update(session)
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def test_relay_only_without_the_loop_finds_nothing(tmp_path: Path) -> None:
    folder = tmp_path / RELAY_ONLY.name
    shutil.copytree(RELAY_ONLY, folder)
    log = folder / "mail.log"
    log.write_text(_relay_without_loop(log.read_text("ascii")), "ascii")
    assert "from=<>," in log.read_text("ascii")  # the one-off NDRs and receipt stay
    findings = _scan(folder)
    assert findings == (), [(f.rule_id, f.hosts, f.addresses, f.passes) for f in findings]


# ---------------------------------------------------------------- q178436-two-ims


def test_two_ims_finds_the_q178436_loop() -> None:
    finding = _only_q178436(_scan(TWO_IMS))
    addresses = {a.lower() for a in finding.addresses}
    assert "user2@company.com" in addresses and addresses <= {"user2@company.com", "user2@imc2.company.com"}
    _assert_ring(finding, IMS_MACHINES)
    assert abs(finding.passes - 30) <= 1, finding.passes
    assert finding.builds, "both banners show 5.5.1960.3"
    assert {b for _, b in finding.builds} == {"5.5.1960.3"}, finding.builds
    assert sorted({_machine(server, IMS_MACHINES) for server, _ in finding.builds}) == ["imc1", "imc2"]
    text = _text(finding)
    assert "5.5.1960.3" in text and "2186" in text, text


def test_two_ims_times_with_each_servers_zone() -> None:
    zones = tuple((name, EST) for name in IMS_MACHINES["imc1"] | {"IMC1"})
    zones += tuple((name, PST) for name in IMS_MACHINES["imc2"] | {"IMC2"})
    finding = _only_finding(_scan(TWO_IMS, server_tz=zones))
    assert finding.first_seen is not None and finding.last_seen is not None
    first = datetime(1999, 3, 17, 14, 21, 7, tzinfo=timezone.utc)
    last = datetime(1999, 3, 17, 15, 49, 25, tzinfo=timezone.utc)
    assert abs((finding.first_seen - first).total_seconds()) <= 60, finding.first_seen
    assert abs((finding.last_seen - last).total_seconds()) <= 60, finding.last_seen


def test_two_ims_loop_duration_without_zones() -> None:
    """Without zones the times are each server's local clock, but the loop still lasted 88 minutes, not 4.5 h."""
    finding = _only_finding(_scan(TWO_IMS))
    assert finding.first_seen is not None and finding.last_seen is not None
    minutes = (finding.last_seen - finding.first_seen).total_seconds() / 60
    assert 80 <= minutes <= 95, (finding.first_seen, finding.last_seen)


_SESSION_START = re.compile(r"^\d{1,2}/\d{1,2}/\d\d \d{1,2}:\d\d:\d\d [AP]M : A connection ")


def _ims_without_loop(raw: bytes) -> tuple[bytes, int]:
    """Drop every session that carries a null-sender message to user2@company.com."""
    sessions: list[list[str]] = []
    for line in raw.decode("ascii").split("\r\n")[:-1]:
        if _SESSION_START.match(line) or not sessions:
            sessions.append([])
        sessions[-1].append(line)
    kept, dropped = [], 0
    for session in sessions:
        body = "\n".join(session)
        if re.search(r"MAIL FROM: ?<>", body, re.I) and re.search(r"RCPT TO: ?<user2@company\.com>", body, re.I):
            dropped += 1
        else:
            kept += session
    return ("\r\n".join(kept) + "\r\n").encode("ascii"), dropped


def test_two_ims_without_the_loop_finds_nothing(tmp_path: Path) -> None:
    folder = tmp_path / TWO_IMS.name
    shutil.copytree(TWO_IMS, folder)
    dropped = {}
    for log in sorted(folder.rglob("L*.LOG")):
        data, n = _ims_without_loop(log.read_bytes())
        log.write_bytes(data)
        server = log.relative_to(folder).parts[0]
        dropped[server] = dropped.get(server, 0) + n
    assert dropped == {"IMC1": 60, "IMC2": 60}
    findings = _scan(folder)
    assert findings == (), [(f.rule_id, f.hosts, f.addresses, f.passes) for f in findings]
