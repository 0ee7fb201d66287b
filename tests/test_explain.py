"""`explain`: each id kind, unknown and ambiguous ids, index refresh only when needed, loops, JSON and terminal."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imsdiag import engine, logsearch, logspans, outcome
from imsdiag.errors import AmbiguousId, ExitCode, MessageNotFound
from imsdiag.explain import Explanation, build_explanation, explain
from imsdiag.index import open_index
from imsdiag.index.spanfile import SpanFile
from imsdiag.models import (
    Direction,
    Event,
    Evidence,
    Hop,
    Location,
    LogSpan,
    ReportKind,
    Severity,
    Source,
)
from imsdiag.parsers.fast import exim_blocks, syslog_blocks
from imsdiag.parsers.received import parse_received
from imsdiag.reporters.base import ReportOptions
from imsdiag.reporters.explain_json import explanation_dict
from imsdiag.reporters.explain_terminal import ExplainTerminalReporter
from imsdiag.settings import ScanSettings
from imsdiag.sources import InputFile
from tests.conftest import LOG_SAMPLES, ROOT, SAMPLES
from tests.factories import finding

MX1 = """\
Mar  3 10:00:05 mx1 postfix/smtpd[123]: 4F1A2B3C: client=mail.example.com[192.0.2.1]
Mar  3 10:00:05 mx1 postfix/cleanup[124]: 4F1A2B3C: message-id=<abc.123@example.com>
Mar  3 10:00:05 mx1 postfix/qmgr[125]: 4F1A2B3C: from=<alice@example.com>, size=1234, nrcpt=1 (queue active)
Mar  3 10:00:06 mx1 postfix/smtp[126]: 4F1A2B3C: to=<bob@example.net>, relay=mx2.example.net[198.51.100.2]:25, \
delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9D8E7F6A)
Mar  3 10:00:06 mx1 postfix/qmgr[125]: 4F1A2B3C: removed
"""

MX2 = """\
Mar  3 10:00:06 mx2 postfix/smtpd[200]: 9D8E7F6A: client=mx1.example.com[203.0.113.1]
Mar  3 10:00:06 mx2 postfix/cleanup[201]: 9D8E7F6A: message-id=<abc.123@example.com>
Mar  3 10:00:06 mx2 postfix/qmgr[202]: 9D8E7F6A: from=<alice@example.com>, size=1300, nrcpt=1 (queue active)
Mar  3 10:00:07 mx2 postfix/local[203]: 9D8E7F6A: to=<bob@example.net>, relay=local, delay=0.5, \
delays=0.1/0/0/0.4, dsn=2.0.0, status=sent (delivered to mailbox)
Mar  3 11:00:00 mx2 postfix/smtpd[210]: 4F1A2B3C: client=other.example.org[192.0.2.99]
Mar  3 11:00:00 mx2 postfix/cleanup[211]: 4F1A2B3C: message-id=<zzz.999@example.org>
Mar  3 11:00:00 mx2 postfix/qmgr[212]: 4F1A2B3C: from=<carol@example.org>, size=99, nrcpt=1 (queue active)
"""


MX1_HOST, MX2_HOST = "mx1.example.com", "mx2.example.net"
SCHEMAS = ("scan-v1", "explain-v2")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "mx1").mkdir(parents=True)
    (root / "mx2").mkdir()
    (root / "mx1" / "maillog").write_text(MX1)
    (root / "mx2" / "maillog").write_text(MX2)
    return root


def settings_for(logs: Path, tmp_path: Path, use_index: bool = True) -> ScanSettings:
    return ScanSettings(paths=(str(logs),), use_index=use_index, index_path=str(tmp_path / "ix.sqlite"))


def lines(expl: Explanation) -> list[tuple[str | None, int]]:
    return [(s.event.server, s.event.location.line) for s in expl.sightings]


# -- through the real engine and parsers ----------------------------------------------------------


@pytest.mark.parametrize("use_index", [True, False])
def test_message_id_any_form_finds_every_server(logs: Path, tmp_path: Path, use_index: bool) -> None:
    for ident in ("<abc.123@example.com>", "ABC.123@EXAMPLE.COM"):
        expl = explain(ident, settings_for(logs, tmp_path, use_index))
        # Sightings carry the scan's machine names: syslog host `mx1` is the `mx1.example.com` mx2 names.
        assert lines(expl) == [(MX1_HOST, 3), (MX1_HOST, 4), (MX2_HOST, 3), (MX2_HOST, 4)]
        assert {m.kind for m in expl.matches} == {"message_id"}
        assert expl.used_index is use_index
        assert expl.sightings[1].event.next_id == "9D8E7F6A"
        assert expl.sightings[1].event.status == "sent"


@pytest.mark.parametrize("use_index", [True, False])
def test_next_id_queue_id_is_followed_to_the_next_server(logs: Path, tmp_path: Path, use_index: bool) -> None:
    expl = explain("9d8e7f6a", settings_for(logs, tmp_path, use_index))
    assert {(m.kind, m.server) for m in expl.matches} == {("next_id", MX1_HOST), ("queue_id", MX2_HOST)}
    # mx1's sender line is linked in by the shared Message-ID, one step away.
    assert lines(expl) == [(MX1_HOST, 3), (MX1_HOST, 4), (MX2_HOST, 3), (MX2_HOST, 4)]
    linked = [s for s in expl.sightings if s.relation == "linked"]
    assert [(s.event.location.line, s.via) for s in linked] == [(3, "message_id")]


@pytest.mark.parametrize("use_index", [True, False])
def test_queue_id_on_two_servers_is_ambiguous(logs: Path, tmp_path: Path, use_index: bool) -> None:
    with pytest.raises(AmbiguousId) as err:
        explain("4F1A2B3C", settings_for(logs, tmp_path, use_index))
    assert err.value.exit_code == ExitCode.INPUT
    assert [c.split()[0] for c in err.value.candidates] == ["mx1:4F1A2B3C", "mx2:4F1A2B3C"]
    assert "carol@example.org" in err.value.candidates[1]
    # SERVER:ID takes any of the server's names: the syslog host or the name other logs give it.
    for server in ("mx2", "MX2.example.net."):
        picked = explain(f"{server}:4F1A2B3C", settings_for(logs, tmp_path, use_index))
        assert [(s.event.server, s.event.message_id) for s in picked.sightings] == [(MX2_HOST, "zzz.999@example.org")]


def test_unknown_id_exits_3_with_suggestions(logs: Path, tmp_path: Path) -> None:
    with pytest.raises(MessageNotFound) as err:
        explain("abc.124@example.com", settings_for(logs, tmp_path))
    assert err.value.exit_code == ExitCode.INPUT
    assert int(err.value.exit_code) == 3
    assert err.value.suggestions[0] == "abc.123@example.com"


def test_index_refreshed_only_when_a_file_is_stale(logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(logs, tmp_path)
    first = explain("abc.123@example.com", settings)
    assert any("2 new or changed file(s)" in n for n in first.notes)
    calls: list[ScanSettings] = []
    real_scan = engine.scan

    def counting_scan(s: ScanSettings) -> object:
        calls.append(s)
        return real_scan(s)

    monkeypatch.setattr(engine, "scan", counting_scan)
    explain("abc.123@example.com", settings)
    assert calls == []  # everything current: no scan at all
    with (logs / "mx2" / "maillog").open("a") as fh:
        fh.write("Mar  3 12:00:00 mx2 postfix/cleanup[300]: 1A1A1A1A: message-id=<abc.123@example.com>\n")
    third = explain("abc.123@example.com", settings)
    assert len(calls) == 1
    assert any("1 new or changed file(s)" in n for n in third.notes)
    assert (MX2_HOST, 8) not in lines(third)  # a cleanup line alone is not an event; the file was still re-read
    assert len(third.sightings) == 4


def test_message_file_path_is_explained_directly(tmp_path: Path) -> None:
    msg = tmp_path / "looping.eml"
    msg.write_text(
        "Received: from imc1.company.com ([10.0.0.1]) by relay.company.com (8.9.3/8.9.3) with ESMTP id KAA02 "
        "for <user2@company.com>; Wed, 7 Feb 2001 17:02:20 -0500\r\n"
        "Received: from relay.company.com ([10.0.0.9]) by imc1.company.com with SMTP id D2VQ2; "
        "Wed, 7 Feb 2001 17:01:50 -0500\r\n"
        "Received: from imc1.company.com ([10.0.0.1]) by relay.company.com (8.9.3/8.9.3) with ESMTP id KAA01 "
        "for <user2@company.com>; Wed, 7 Feb 2001 17:01:20 -0500\r\n"
        "Received: from client ([10.0.0.50]) by imc1.company.com with SMTP id D2VQ1; "
        "Wed, 7 Feb 2001 17:01:30 -0500\r\n"
        "From: user1@company.com\r\nTo: user2@company.com\r\nSubject: Delivered: Budget\r\n"
        "Message-ID: <DR.1@imc1.company.com>\r\n\r\nbody\r\n"
    )
    expl = explain(str(msg), ScanSettings(paths=()))
    assert expl.chain is not None
    assert [r.hop.id for r in expl.chain.rows] == ["D2VQ1", "KAA01", "D2VQ2", "KAA02"]
    assert [r.skew for r in expl.chain.rows] == [False, True, False, False]
    assert expl.chain.rows[1].delay_seconds == -10.0
    assert expl.chain.cycle is not None
    assert expl.chain.cycle.hosts == ("imc1.company.com", "relay.company.com")
    assert expl.sightings[0].event.message_id == "DR.1@imc1.company.com"
    assert {h.mta: h.remaining for h in expl.headroom}["Sendmail"] == 21


# -- hand-built records: loops and findings ------------------------------------------------------

T0 = datetime(2001, 2, 7, 22, 1, 0, tzinfo=timezone.utc)


def dr_pass(n: int, server: str, peer: str) -> Event:
    """One pass of a Q178436 delivery receipt: a new message each time, null sender."""
    return Event(
        location=Location(f"{server}/L0000001.LOG", 10 * n),
        source=Source.IMS_PROTOCOL,
        text=f"MAIL FROM:<> pass {n}",
        time=T0 + timedelta(minutes=2 * n),
        server=server,
        direction=Direction.OUT,
        peer_host=peer,
        sender="",
        recipients=("user2@company.com",),
        message_id=f"DR.{n}@imc1.company.com",
        about_id="ORIG.1@company.com",
        subject="Delivered: Budget",
        report_kind=ReportKind.DELIVERY_RECEIPT,
    )


PASSES = [dr_pass(n, "imc1" if n % 2 else "relay", "relay.company.com" if n % 2 else "imc1") for n in (1, 2, 3, 4)]

Q178436 = finding(
    "Q178436",
    title="Delivery receipt loops between imc1 and relay",
    summary="A null-sender delivery receipt for user2@company.com passed 4 times.",
    hosts=("imc1", "relay"),
    addresses=("user2@company.com",),
    first_seen=PASSES[0].time,
    last_seen=PASSES[-1].time,
    passes=4,
    period_seconds=240.0,
    evidence=tuple(Evidence(p.location, p.text) for p in PASSES),
    cause="The IMS addresses the receipt to the primary SMTP proxy [bold]user2@company.com[/bold].",
    fix=("Apply Exchange 5.5 SP2 (IMS build 2186.0 or later).", "Clean the queue."),
    references=("Q178436", "Q189270"),
    message_ids=("ORIG.1@company.com",),
    fingerprint="fp-q178436",
)
UNRELATED = finding(
    "LOOP001",
    severity=Severity.WARNING,
    confidence="low",
    title="x",
    summary="y",
    message_ids=("other@x",),
)


def test_loop_passes_numbered_in_time_order() -> None:
    original = Event(
        location=Location("imc1/track.log", 5),
        source=Source.EXCHANGE_TRACKING,
        time=T0,
        server="imc1",
        message_id="ORIG.1@company.com",
        received=(
            Hop(raw="by imc1 ; Wed, 7 Feb 2001 17:00:00 -0500", by_host="imc1", date=T0 - timedelta(minutes=1)),
            Hop(raw="garbled ((", defects=("unclosed-comment",)),
        ),
    )
    expl = build_explanation(
        "ORIG.1@company.com",
        [("message_id", original)],
        list(reversed(PASSES)),
        [UNRELATED, Q178436],
    )
    assert expl.findings == (Q178436,)  # exactly the scan's Finding object
    # A pass is one trip round the ring, counted on one observer (here imc1's outbound receipts),
    # as the detector counts them: the relay's sightings of the same trips are not new passes.
    assert [s.pass_number for s in expl.sightings] == [None, 1, None, 2, None]
    assert [s.relation for s in expl.sightings] == ["match", "linked", "linked", "linked", "linked"]
    assert expl.sightings[1].via == "about_id"
    (loop,) = expl.loops
    assert loop.ring == ("imc1", "relay")
    assert loop.first_pass == Location("imc1/L0000001.LOG", 10)
    assert loop.pass_sightings == (1, 3)
    assert expl.chain_location == Location("imc1/track.log", 5)
    assert expl.chain is not None
    assert expl.chain.defects == 1


def test_explain_from_index_alone_with_stored_findings(tmp_path: Path) -> None:
    log = tmp_path / "L0000001.LOG"
    log.write_text("x\n")
    ix = open_index(tmp_path / "ix.sqlite")
    w = ix.begin_file(InputFile(display="imc1/L0000001.LOG", path=log), "ims-protocol", None)
    for p in PASSES:
        w.add(p)
    w.commit({})
    ix.store_findings([Q178436], [str(log)])
    ix.close()
    settings = ScanSettings(paths=(), use_index=True, index_path=str(tmp_path / "ix.sqlite"))
    expl = explain("<DR.3@IMC1.company.com>", settings)
    assert expl.matches[0].kind == "message_id"
    assert [s.pass_number for s in expl.sightings] == [1, None, 2, None]  # linked through the shared about_id
    assert expl.findings == (Q178436,)
    with pytest.raises(MessageNotFound) as err:
        explain("DR.9@imc1.company.com", settings)
    assert "dr.1@imc1.company.com" in err.value.suggestions


def test_json_document_shape() -> None:
    expl = build_explanation("ORIG.1@company.com", [("about_id", PASSES[0])], PASSES[1:], [Q178436])
    doc = explanation_dict(expl)
    assert list(doc)[:5] == ["version", "query", "matches", "sightings", "received"]
    assert {"headroom", "findings", "loops", "notes"} <= set(doc)
    assert doc["version"] == 2
    validate_explain(doc)
    assert doc["query"] == "ORIG.1@company.com"
    assert doc["matches"] == [{"kind": "about_id", "server": "imc1", "path": "imc1/L0000001.LOG", "line": 10}]
    assert doc["sightings"][0]["sender"] == ""
    assert doc["sightings"][0]["pass"] == 1
    assert doc["sightings"][0]["time"] == "2001-02-07T22:03:00+00:00"
    assert doc["findings"][0]["rule_id"] == "Q178436"
    assert doc["findings"][0]["fix"] == list(Q178436.fix)
    assert doc["loops"][0]["ring"] == ["imc1", "relay"]
    assert doc["received"] == [] and doc["headroom"] == []
    json.dumps(doc)  # serialisable as is


def test_terminal_report_escapes_log_text_and_flags_skew(tmp_path: Path) -> None:
    hostile = Event(
        location=Location("mx/maillog", 7),
        source=Source.POSTFIX,
        server="mx",
        sender="[bold red]evil\x1b]0;pwned\x07",
        message_id="ORIG.1@company.com",
        received=(
            parse_received("from a by b.example with SMTP id 2; Tue, 3 Mar 2020 10:00:00 +0000"),
            parse_received("from client by a.example with SMTP id 1; Tue, 3 Mar 2020 10:05:00 +0000"),
        ),
    )
    expl = build_explanation("orig.1@company.com", [("message_id", hostile)], [], [Q178436])
    out = io.StringIO()
    ExplainTerminalReporter(ReportOptions(color="never", width=200)).report(expl, out)
    text = out.getvalue()
    assert "\x1b" not in text
    assert "[bold red]evil\\x1b]0;pwned\\x07" in text
    assert "-5m 00s" in text and "clock skew" in text
    assert "Sendmail" in text and "Q178436 loop never reaches" in text
    assert "[bold]user2@company.com[/bold]" in text  # the finding's cause, verbatim
    assert "fix 1: Apply Exchange 5.5 SP2" in text
    assert "ring: imc1 → relay → imc1" in text


# -- the command line ----------------------------------------------------------------------------


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from imsdiag.cli import main

    code: object = 0
    try:
        main(args)
    except SystemExit as done:  # errors exit; success returns (click standalone_mode=False)
        code = done.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 0), out, err


def test_cli_unknown_id_exits_3_with_suggestions(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["explain", "abc.124@example.com", "--logs", str(logs), "--index", str(tmp_path / "ix.sqlite")]
    code, out, err = run_cli(args, capsys)
    assert code == 3
    assert out == ""
    assert "no log mentions 'abc.124@example.com'" in err
    assert "did you mean: abc.123@example.com" in err


def test_cli_ambiguous_id_lists_candidates(logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["explain", "4f1a2b3c", "--logs", str(logs), "--no-index"], capsys)
    assert code == 3
    assert "mx1:4f1a2b3c" in err and "mx2:4f1a2b3c" in err


def test_cli_json_document(logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explain", "<abc.123@example.com>", "--logs", str(logs), "--no-index", "--format", "json"]
    code, out, _ = run_cli(args, capsys)
    assert code == 0  # found and told; no loop
    doc = json.loads(out)
    assert doc["version"] == 2
    validate_explain(doc)
    assert doc["query"] == "<abc.123@example.com>"
    assert [(s["server"], s["line"], s["status"]) for s in doc["sightings"]] == [
        (MX1_HOST, 3, None),
        (MX1_HOST, 4, "sent"),
        (MX2_HOST, 3, None),
        (MX2_HOST, 4, "sent"),
    ]
    assert doc["index"] is False


def test_corpus_postfix_bounce_chain(corpus: Path) -> None:
    """A real Postfix bounce: relayed to a qmail host and back, with the two servers' clocks 16 s apart."""
    expl = explain(str(corpus / "bounceparser_corpus" / "postfix.msg"), ScanSettings(paths=()))
    (sighting,) = expl.sightings
    assert sighting.event.message_id == "20060527213405.68C8B2E6096@mta.domain-1.com"
    assert sighting.event.report_kind is ReportKind.NDR
    assert expl.chain is not None
    rows = expl.chain.rows
    assert [(r.hop.by_host, r.hop.id) for r in (rows[0], rows[1], rows[4])] == [
        ("mta.domain-1.com", "68C8B2E6096"),
        ("host-2.domain-2.org", None),
        ("mta.domain-1.com", "B4D4A2E6069"),
    ]
    assert [r.delay_seconds for r in rows] == [None, 20.0, 0.0, 0.0, -16.0]
    assert [r.skew for r in rows] == [False, False, False, False, True]
    assert expl.chain.cycle is not None
    assert expl.chain.cycle.hosts == ("mta.domain-1.com", "host-2.domain-2.org")
    assert expl.chain.cycle.repeat_rows == (4,)
    assert {h.mta: h.on_path for h in expl.headroom}["Postfix"] is True


# -- without the index: one read --------------------------------------------------------------------


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Reads per file, by the scan (`outcome`) and by explain's own second read (`engine.parse_input`)."""
    seen: Counter[str] = Counter()
    for module in (outcome, engine):
        real = module.parse_input

        def counting(f, settings, _real=real, **kw):  # type: ignore[no-untyped-def]
            seen[Path(f.display).parent.name] += 1
            return _real(f, settings, **kw)

        monkeypatch.setattr(module, "parse_input", counting)
    return seen


def _story(expl: Explanation) -> list[tuple[str | None, str, int, datetime | None, str]]:
    return [
        (s.event.server, s.event.location.path, s.event.location.line, s.event.time, s.relation) for s in expl.sightings
    ]


def test_without_index_each_log_is_read_once(logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _count_reads(monkeypatch)
    # mx1's qmgr line names the Message-ID after the smtpd line of the same queue id: a link learned
    # late, reached back to in memory.
    expl = explain("abc.123@example.com", settings_for(logs, tmp_path, use_index=False))
    assert reads == {"mx1": 1, "mx2": 1}
    assert _story(expl) == _story(explain("abc.123@example.com", settings_for(logs, tmp_path)))


def test_link_beyond_the_recent_events_rereads_only_the_files_before_it(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logsearch, "RECENT_EVENTS", 1)
    reads = _count_reads(monkeypatch)
    # Read by the full parser (as IMS logs are): the net's second read.
    expl = explain("9d8e7f6a", replace(settings_for(logs, tmp_path, use_index=False), full_parse=True))
    # mx1's sent line (queued as 9D8E7F6A) links to its queue id, whose earlier lines left the net:
    # mx1 is read again; mx2, read after the link was learned, is not.
    assert reads == {"mx1": 2, "mx2": 1}
    assert lines(expl) == [(MX1_HOST, 3), (MX1_HOST, 4), (MX2_HOST, 3), (MX2_HOST, 4)]


def test_logs_read_by_the_fast_extractor_are_searched_in_their_spans(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logsearch, "RECENT_EVENTS", 1)
    reads = _count_reads(monkeypatch)
    searched: Counter[str] = Counter()
    real_events = logspans.SpanReader.events

    def events(
        self: logspans.SpanReader, f: SpanFile, spans: list[LogSpan], norms: set[str], each: object = None
    ) -> list[Event]:
        searched[Path(f.display).parent.name] += 1
        return real_events(self, f, spans, norms, each)  # type: ignore[arg-type]

    monkeypatch.setattr(logspans.SpanReader, "events", events)
    expl = explain("9d8e7f6a", settings_for(logs, tmp_path, use_index=False))
    # The full parser reads no log twice: the lines of the late link are found in mx1's spans.
    assert reads == {"mx1": 1, "mx2": 1}
    assert searched["mx1"] >= 1 and searched["mx2"] >= 1
    assert lines(expl) == [(MX1_HOST, 3), (MX1_HOST, 4), (MX2_HOST, 3), (MX2_HOST, 4)]


@pytest.mark.parametrize(
    "odd",
    [
        "Mar  3 10:00:05 mx1 postfix/smtpd[123]: 4F1A2B3C: client=m\u00e4il.example.com[192.0.2.1]\n",  # not ASCII
        "Mar  3 10:00:05 mx1 postfix/smtpd[123]: 4F1A2B3C: client=mail.example.com[192.0.2.1]\rx\n",  # bare CR
    ],
)
def test_a_block_the_full_parser_read_is_searched_too(
    odd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The extractor gives such a block whole to the full parser; without the index it must be searched too.
    # Small blocks: the log's other blocks are walked, so the file is read with spans.
    monkeypatch.setattr(syslog_blocks, "BLOCK_SIZE", 256)
    filler = "".join(
        f"Mar  3 09:{m:02d}:00 mx1 postfix/anvil[9]: statistics: max connection rate 1/60s\n" for m in range(40)
    )
    root = tmp_path / "logs"
    (root / "mx1").mkdir(parents=True)
    (root / "mx1" / "maillog").write_text(filler + odd + MX1 + filler, encoding="utf-8")
    settings = ScanSettings(paths=(str(root),), use_index=False)
    found = explain("abc.123@example.com", settings)
    shift = 40 + odd.count("\n") + odd.count("\r")
    assert lines(found) == [("mx1", shift + 3), ("mx1", shift + 4)]
    assert _story(found) == _story(explain("abc.123@example.com", replace(settings, full_parse=True)))


def test_a_log_read_past_its_blocks_is_searched_whole(tmp_path: Path) -> None:
    # A line too long for a block (over 2 MiB here) stops the blocks: the full parser reads the rest of the log,
    # which no span covers. Without the index the message after it must still be found.
    filler = "".join(
        f"Mar  3 09:{m:02d}:00 mx1 postfix/anvil[9]: statistics: max connection rate 1/60s\n" for m in range(40)
    )
    junk = "Mar  3 09:59:00 mx1 postfix/smtpd[1]: warning: " + "x" * (3 << 20) + "\n"
    root = tmp_path / "logs"
    (root / "mx1").mkdir(parents=True)
    (root / "mx1" / "maillog").write_text(filler + junk + MX1)
    settings = ScanSettings(paths=(str(root),), use_index=False)
    found = explain("abc.123@example.com", settings)
    assert lines(found) == [("mx1", 44), ("mx1", 45)]
    assert _story(found) == _story(explain("abc.123@example.com", replace(settings, full_parse=True)))


def test_an_exim_block_the_full_parser_read_is_searched_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exim_blocks, "BLOCK_SIZE", 512)
    source = SAMPLES / "exim-hop-limit" / "a.example.com" / "exim4" / "mainlog"
    # A bare CR in the line before the arrival: Exim's extractor gives that block whole to the full parser.
    text = source.read_text().replace("1sE1fr-XzD8Jg-k2 Completed\n", "1sE1fr-XzD8Jg-k2 Completed\rx\n", 1)
    log = tmp_path / "logs" / "mainlog"
    log.parent.mkdir()
    log.write_text(text, encoding="utf-8")
    settings = ScanSettings(paths=(str(log.parent),), use_index=False)
    found = explain("017491169726.60666@mx.isp.test", settings)
    assert 5 in [s.event.location.line for s in found.sightings]  # the arrival, after the line the CR split
    assert _story(found) == _story(explain("017491169726.60666@mx.isp.test", replace(settings, full_parse=True)))


def test_a_log_changed_after_the_scan_is_said_and_its_spans_left_out(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_current = logspans.SpanReader.current

    def current(self: logspans.SpanReader, f: SpanFile) -> bool:  # mx2 rotated between the scan and the search
        return "mx2" not in f.display and real_current(self, f)

    monkeypatch.setattr(logspans.SpanReader, "current", current)
    expl = explain("9d8e7f6a", settings_for(logs, tmp_path, use_index=False))
    assert lines(expl) == [(MX1_HOST, 3), (MX1_HOST, 4)]
    assert any("changed while explain read it" in n and "mx2" in n for n in expl.notes)


@pytest.mark.parametrize("sample", LOG_SAMPLES)
def test_shipped_samples_tell_the_same_story_with_and_without_the_index(sample: str, tmp_path: Path) -> None:
    settings = ScanSettings(paths=(str(SAMPLES / sample),), use_index=True, index_path=str(tmp_path / "ix.sqlite"))
    ids = [fnd.message_ids[0] for fnd in engine.scan(settings).findings if fnd.message_ids]
    # Healthy has no finding; two-ims holds IMS protocol logs only, which log no Message-ID.
    assert bool(ids) is (sample not in {"healthy", "q178436-two-ims"})
    for ident in ids:
        indexed = explain(ident, settings)
        scanned = explain(ident, replace(settings, use_index=False))
        assert indexed.used_index and not scanned.used_index
        assert _story(scanned) == _story(indexed), ident
        assert [f.fingerprint for f in scanned.findings] == [f.fingerprint for f in indexed.findings]
        validate_explain(explanation_dict(indexed))


def test_cli_explains_from_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The scan reads standard input once; the search rides on that read (it used to read a closed stream).
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(MX1.encode())))
    code, out, err = run_cli(["explain", "abc.123@example.com", "--logs", "-", "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [(s["server"], s["line"]) for s in doc["sightings"]] == [("mx1", 3), ("mx1", 4)]


def validate_explain(doc: dict[str, object]) -> None:
    """Check an explain document against docs/schema/explain-v2.schema.json (its findings against the scan's)."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    schemas = {n: json.loads((ROOT / "docs" / "schema" / f"{n}.schema.json").read_text()) for n in SCHEMAS}
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in schemas.values()
    )
    validator = jsonschema.Draft202012Validator(schemas["explain-v2"], registry=registry)
    validator.validate(doc)


def test_cli_exit_code_1_when_the_message_is_in_an_error_level_loop(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explain", "47CE0B8704CBB1EB0296855D0288EA65@imc1.company.com", "--no-index", "--format", "json"]
    code, out, err = run_cli([*args, "--logs", str(SAMPLES / "q178436-site-connector")], capsys)
    assert code == 1, err
    doc = json.loads(out)
    validate_explain(doc)
    assert [(f["rule_id"], f["severity"]) for f in doc["findings"]] == [("Q178436", "error")]
    assert doc["loops"][0]["passes"] == 42


def test_explain_help_states_its_own_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["explain", "--help"], capsys)
    assert code == 0
    assert "part of an error-level loop" in out and "unknown or ambiguous id" in out
    assert "--fail-on" not in out
