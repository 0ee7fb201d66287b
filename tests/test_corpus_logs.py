"""Every real MTA log in the third-party corpus is detected as its format and parses cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from imsdiag.models import Direction, Event, LoopSignal, ReportKind
from imsdiag.parsers import ParseContext, by_name, detect
from imsdiag.parsers.common import classify_loop_text

MINE = {"postfix", "sendmail", "exim", "exchange-tracking"}
# Expected format per corpus file; None: not a format of ours (courier, qmail, Domino, the bodies-only tsv).
EXPECTED: dict[str, str | None] = {
    "maillogs/exim_ddgrey_mainlog/mainlog": "exim",
    "maillogs/fail2ban/courier-smtp": None,
    "maillogs/fail2ban/domino-smtp": None,
    "maillogs/fail2ban/exim": "exim",
    "maillogs/fail2ban/exim-spam": "exim",
    "maillogs/fail2ban/postfix": "postfix",
    "maillogs/fail2ban/qmail": None,
    "maillogs/fail2ban/sendmail-auth": "sendmail",
    "maillogs/fail2ban/sendmail-reject": "sendmail",
    "maillogs/loghub_thunderbird_sendmail/Thunderbird_2k_sendmail_lines.log": "sendmail",
    "maillogs/postfix_NoLE_activeweb/mail.log": "postfix",
    "maillogs/postfix_digineo_exporter_testdata/mail.log": "postfix",
    "maillogs/postfix_grok_patterns_lines/postfix_message_bodies.tsv": None,
    "maillogs/sendmail_postfix_gomaillex/maillog": "postfix",
    "exchange_msgtrk/elastic-beats_bom8_MSGTRK_ex2010.log": "exchange-tracking",
    "exchange_msgtrk/elastic-integrations_test-messagetracking.log": "exchange-tracking",
}
MAX_UNPARSED_SHARE = 0.01


def _corpus_files(corpus: Path) -> list[str]:
    files = [p for d in ("maillogs", "exim_testsuite/log", "exchange_msgtrk") for p in (corpus / d).rglob("*")]
    return sorted(str(p.relative_to(corpus)) for p in files if p.is_file())


def _parse(path: Path, parser_name: str | None = None) -> tuple[list[Event], ParseContext]:
    head = path.read_bytes()[:16384]
    parser, _ = detect(head, path.name)
    assert parser is not None and (parser_name is None or parser.name == parser_name)
    ctx = ParseContext(path=str(path), year_hint=2020, server_hint="corpus-host", server_hint_source="path")
    with path.open("rb") as stream:
        records = list(parser.parse(stream, ctx))
    events = [r for r in records if isinstance(r, Event)]
    return events, ctx


def test_every_corpus_file_is_listed(corpus: Path) -> None:
    listed = set(EXPECTED) | {f for f in _corpus_files(corpus) if f.startswith("exim_testsuite/")}
    assert set(_corpus_files(corpus)) == listed


def test_detection_and_clean_parse(corpus: Path) -> None:
    report: list[str] = []
    for rel in _corpus_files(corpus):
        expected = EXPECTED.get(rel, "exim")
        parser, score = detect((corpus / rel).read_bytes()[:16384], Path(rel).name)
        name = parser.name if parser else None
        if expected is None:
            assert name not in MINE, f"{rel} detected as {name}"
            continue
        assert name == expected, f"{rel}: expected {expected}, detected {name} ({score})"
        events, ctx = _parse(corpus / rel)
        lines = ctx.counters.get("lines", 0) - ctx.counters.get("comments", 0)
        unparsed = ctx.counters.get("unparsed", 0)
        report.append(f"{rel}: {name} {score} lines={lines} events={len(events)} unparsed={unparsed}")
        assert lines > 0 and unparsed / lines <= MAX_UNPARSED_SHARE, report[-1]
        assert ctx.issues == [], f"{rel}: {ctx.issues[:3]}"
    print("\n".join(report))


def test_exim_testsuite_bounces_link_parents(corpus: Path) -> None:
    events, _ = _parse(corpus / "exim_testsuite/log/0021", "exim")
    bounces = [(e.queue_id, e.about_id) for e in events if e.report_kind is ReportKind.NDR and e.event_code == "<="]
    assert bounces[:2] == [
        ("10HmbD-000000005vi-0000", "10HmaY-000000005vi-0000"),
        ("10HmbF-000000005vi-0000", "10HmaZ-000000005vi-0000"),
    ]


def test_ddgrey_mainlog_bounces_and_counts(corpus: Path) -> None:
    events, _ = _parse(corpus / "maillogs/exim_ddgrey_mainlog/mainlog", "exim")
    bounces = [e for e in events if e.event_code == "<=" and e.sender == "" and e.about_id]
    assert [(e.location.line, e.queue_id, e.about_id) for e in bounces] == [
        (1947, "1j5Nye-0004Xw-5I", "1j5NyY-0004Xp-NZ"),
        (2847, "1j5PVN-00068m-O3", "1j5PVL-00068g-Vf"),
    ]
    assert all(e.direction is Direction.GENERATED and e.report_kind is ReportKind.NDR for e in bounces)
    assert all(e.server == "corpus-host" and e.server_source == "path" for e in events)
    flags = [e.event_code for e in events]
    assert (flags.count("<="), flags.count("=>"), flags.count("**")) == (43, 41, 6)


def test_gomaillex_links_sendmail_to_postfix(corpus: Path) -> None:
    events, _ = _parse(corpus / "maillogs/sendmail_postfix_gomaillex/maillog", "postfix")
    handoffs = [e for e in events if e.source == "sendmail" and e.next_id]
    postfix_ids = {e.queue_id for e in events if e.source == "postfix" and e.direction is Direction.IN}
    assert len(handoffs) == 68
    linked = [e for e in handoffs if e.next_id in postfix_ids]
    assert len(linked) >= 60
    first = handoffs[0]
    assert (first.queue_id, first.next_id, first.status) == ("s5T68YTv003569", "C05A07C2CA0", "sent")
    bounces = [e for e in events if e.direction is Direction.GENERATED]
    assert len(bounces) == 5 and all(e.sender == "" and e.report_kind is ReportKind.NDR for e in bounces)


def test_issue_snippets_loops_back_to_myself(corpus: Path) -> None:
    path = corpus / "github_issue_loop_snippets/loop_log_lines_from_issues.txt"
    ctx = ParseContext(path=str(path), year_hint=2017)
    with path.open("rb") as stream:
        events = [r for r in by_name("postfix").parse(stream, ctx) if isinstance(r, Event)]
    loops_back = [e for e in events if e.loop_signal is LoopSignal.LOOPS_BACK and e.source == "postfix"]
    # The pasted DSN lines of mailcow #246 and #614 have no syslog prefix: kept as loop-text evidence.
    pasted = [e for e in events if e.source == "loop-text"]
    assert [e.loop_signal for e in pasted] == [
        LoopSignal.LOOPS_BACK,
        LoopSignal.LOOPS_BACK,
        LoopSignal.HOP_LIMIT,
        LoopSignal.ROUTING_LOOP,
    ]
    bounced = [(e.queue_id, e.dsn, e.status) for e in loops_back if e.status]
    assert bounced == [("CC98880154", "5.4.6", "bounced"), ("B418AA5291", "5.4.6", "bounced")]
    assert {e.peer_host for e in loops_back} == {"mx.mojomail.services", "mail.kwrzesinska.com"}
    assert len(loops_back) == 4  # two bounces and two "greeted me with my own hostname" warnings


def test_grok_tsv_forwarding_loop_body(corpus: Path) -> None:
    path = corpus / "maillogs/postfix_grok_patterns_lines/postfix_message_bodies.tsv"
    signals: dict[str, LoopSignal | None] = {}
    for row in path.read_text(encoding="utf-8").splitlines()[1:]:
        cells = row.split("\t", 3)
        if len(cells) == 4:  # continuation lines of a multi-line body carry no source column
            signals[cells[0]] = classify_loop_text(cells[3])
    assert signals["test/pipe_0003.yaml"] is LoopSignal.FORWARDING_LOOP
    assert signals["test/bounce_0001.yaml"] is None


@pytest.mark.parametrize("rel", ["exchange_msgtrk/elastic-integrations_test-messagetracking.log"])
def test_elastic_headerless_rows(corpus: Path, rel: str) -> None:
    events, _ = _parse(corpus / rel, "exchange-tracking")
    assert [e.status for e in events] == ["HAREDIRECTFAIL", "RECEIVE", "RECEIVE", "SEND", "SENDEXTERNAL", "NOTIFYMAPI"]
    external = events[4]
    assert external.sender == "" and external.direction is Direction.OUT and external.server == "helloworld"
    assert external.message_id == "1736846922.907742.2942@foo.bar.local" and external.size == 136349
    assert events[0].subject == "Undelivered Mail Returned to Sender"
