"""The loop bounces of the real third-party corpus against a truth table read by hand (issue 12 item 6).

`tests/truth/loop_bounces.tsv` was written from the raw files in ../shared/corpus before imsdiag's output for
them was looked at. One row per corpus file that reports a mail loop; each row is one test here. A row says:

* `address`: the address that looped, from Final-Recipient / the MTA's loop text, never the bounce's own
  recipient (usually the original sender);
* `ring`: the hosts the returned original's own Received chain shows looping (space separated, any order,
  lower case), or `unknown` when the returned headers are missing or cut;
* `hops`: the count the MTA states, else the Received lines of the returned original (`unknown` when neither);
* `why`: the line the row rests on.

How a finding is compared with a row:

* the file must give exactly one finding (every imsdiag rule is a loop rule);
* the finding's addresses, lower-cased, must be exactly {address}: the looping address and nothing else;
* hosts are compared lower-case with brackets and trailing dots stripped. A host may be named by a name or by an
  IP: where the raw file pairs an IP (or a second name) with a host, `SAME_HOST` below maps it to the name used
  in the table, so either form is accepted. No other aliasing (no DNS, no suffix matching);
* ring known: the finding's host set must equal the ring set;
* ring unknown: issue 12 says the tool must then say "ring unknown" and give only what is known (the reporting
  MTA, the hop count), so `hosts` must be empty or a single host that reported the loop (`REPORTERS` below: the
  MTA that wrote the loop text or generated the bounce, as read from the raw file). Two or more hosts is an
  invented ring; a host that only carried the bounce (the bounce's own transport hops) is not a reporter.

Corpus files that mention a loop but are not rows: `github_issue_loop_snippets/loop_log_lines_from_issues.txt`
(six unrelated loops from six issue threads in one file, so "one finding per file" does not apply) and
`maillogs/postfix_grok_patterns_lines/postfix_message_bodies.tsv` (one Postfix `mail forwarding loop for
tom@example.com` body among 191 grok-pattern test bodies: a derived TSV without timestamps or hosts, in no log
format imsdiag reads).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from imsdiag import ScanSettings, scan
from imsdiag.models import RingShape

TABLE = Path(__file__).resolve().parent / "truth" / "loop_bounces.tsv"


@dataclass(frozen=True)
class Row:
    path: str
    address: str
    ring: frozenset[str] | None
    """None when the ring is unknown."""
    hops: str
    why: str


def _rows() -> list[Row]:
    with TABLE.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == ["path", "address", "ring", "hops", "why"]
        out = []
        for rec in reader:
            ring = None if rec["ring"] == "unknown" else frozenset(rec["ring"].lower().split())
            out.append(Row(rec["path"], rec["address"].lower(), ring, rec["hops"], rec["why"]))
        return out


ROWS = _rows()

# Names and IPs the raw file itself pairs with a host of the table (e.g. `from NAME (OTHER [IP])`), read by hand.
SAME_HOST: dict[str, dict[str, str]] = {
    "flufl_bounce/simple_18.txt": {
        # "Received: from mail.trusite.com (vendormail.truserv.com [64.94.39.5])"
        "vendormail.truserv.com": "mail.trusite.com",
        "64.94.39.5": "mail.trusite.com",
    },
    "sisimai/maildir_bsd/lhost-x2-07.eml": {
        # "Received: from ebd.example.co.jp (ip-192-0-2-55.ap-northeast-1.compute.internal [192.0.2.55])"
        "ip-192-0-2-55.ap-northeast-1.compute.internal": "ebd.example.co.jp",
        "192.0.2.55": "ebd.example.co.jp",
        # "192.0.2.1 failed after I sent the message. Remote host said ... [TY0PEP000000000.JPNP255.PROD.OUTLOOK.COM"
        "192.0.2.1": "ty0pep000000000.jpnp255.prod.outlook.com",
    },
}

# For rows whose ring is unknown: the hosts that reported the loop (wrote the loop text or generated the bounce).
REPORTERS: dict[str, frozenset[str]] = {
    # LSMTP on mail.trusite.com wrote the NDR; "Mailer mail.kesslersupply.com said: 554 Message looping"
    "flufl_bounce/simple_18.txt": frozenset({"mail.trusite.com", "mail.kesslersupply.com"}),
    # "Reporting-MTA: dns;relay2.neko.example.org", "Remote-MTA: smtp;neko22.example.org"
    "sisimai/maildir_bsd/lhost-domino-03.eml": frozenset({"relay2.neko.example.org", "neko22.example.org"}),
    # DSN from postmaster@ebd.example.co.jp; the 554 5.4.14 came from 192.0.2.1 / TY0PEP000000000...OUTLOOK.COM
    "sisimai/maildir_bsd/lhost-x2-07.eml": frozenset({"ebd.example.co.jp", "ty0pep000000000.jpnp255.prod.outlook.com"}),
    # "SMTP Server <192.0.2.223> refused ... 554 5.4.6"; bounce Message-ID "@x6-2.smtp.example.org"
    "sisimai/maildir_bsd/lhost-x6-01.eml": frozenset({"192.0.2.223", "x6-2.smtp.example.org"}),
}


def _canon(path: str, host: str) -> str:
    name = host.strip().strip("[]").rstrip(".").lower()
    return SAME_HOST.get(path, {}).get(name, name)


def test_table_is_well_formed() -> None:
    paths = [r.path for r in ROWS]
    assert len(paths) == len(set(paths))
    for row in ROWS:
        assert "@" in row.address and row.why
        assert row.ring is None or row.ring
        assert row.ring is not None or row.path in REPORTERS


# Where imsdiag disagrees with the table today (issue 12, measured 2026-11-30). Strict: a row that starts to
# agree fails until its entry is removed here, so the list only ever shrinks with real fixes.
KNOWN_WRONG: dict[str, str] = {}


def _params() -> list[object]:
    return [
        pytest.param(r, id=r.path, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[r.path])])
        if r.path in KNOWN_WRONG
        else pytest.param(r, id=r.path)
        for r in ROWS
    ]


@pytest.mark.parametrize("row", _params())
def test_loop_bounce_agrees_with_truth_table(row: Row, corpus: Path) -> None:
    target = corpus / row.path
    assert target.is_file(), f"{row.path} is in the truth table but not in the corpus"
    result = scan(ScanSettings(paths=(str(target),), use_index=False))
    said = [(f.rule_id, f.addresses, f.hosts) for f in result.findings]
    assert len(result.findings) == 1, f"expected one loop finding, got {said}"
    finding = result.findings[0]

    addresses = {a.lower() for a in finding.addresses}
    assert addresses == {row.address}, f"address: truth {row.address!r}, imsdiag {finding.addresses} ({row.why})"

    hops = None if row.hops == "unknown" else int(row.hops)
    assert finding.hops == hops, f"hops: truth {row.hops}, imsdiag {finding.hops} ({row.why})"

    hosts = {_canon(row.path, h) for h in finding.hosts}
    if row.ring is not None:
        ring = {_canon(row.path, h) for h in row.ring}
        assert hosts == ring, f"ring: truth {sorted(ring)}, imsdiag {finding.hosts} ({row.why})"
        assert finding.shape is not RingShape.UNKNOWN
    else:
        reporters = REPORTERS[row.path]
        assert not hosts, f"ring unknown: imsdiag invented {finding.hosts} ({row.why})"
        assert finding.shape is RingShape.UNKNOWN
        assert finding.reporter is not None and _canon(row.path, finding.reporter) in reporters, (
            f"ring unknown: the reporting MTA should be one of {sorted(reporters)}, imsdiag says {finding.reporter}"
        )
        assert "Ring unknown" in finding.summary and finding.reporter in finding.summary


SAMPLE_TABLE = Path(__file__).resolve().parent / "truth" / "sample_bounces.tsv"
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "sample_logs"


def _sample_rows() -> list[dict[str, str]]:
    with SAMPLE_TABLE.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == ["path", "address", "ring", "hops", "passes", "why"]
        return list(reader)


@pytest.mark.parametrize("row", _sample_rows(), ids=lambda r: r["path"])
def test_sample_bounce_agrees_with_truth_table(row: dict[str, str]) -> None:
    """The shipped samples' bounces, read by hand (written before imsdiag's output was looked at): the bounce
    file alone gives the address, the ring, the hop count and the round trips."""
    result = scan(ScanSettings(paths=(str(SAMPLES_DIR / row["path"]),), use_index=False))
    assert len(result.findings) == 1, [(f.rule_id, f.addresses, f.hosts) for f in result.findings]
    f = result.findings[0]
    assert {a.lower() for a in f.addresses} == {row["address"].lower()}, row["why"]
    assert set(f.hosts) == set(row["ring"].split()), row["why"]
    assert f.hops == (None if row["hops"] == "unknown" else int(row["hops"])), row["why"]
    assert f.passes == (None if row["passes"] == "unknown" else int(row["passes"])), row["why"]
    # A bounce alone is evidence from another network: a warning, per the severity policy.
    assert f.severity.value == "warning"
