"""Tests for the shared syslog prefix, year and loop-text handling."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imsdiag.models import Event, LoopSignal, ParseIssue, TimeQuality
from imsdiag.parsers import ParseContext, by_name
from imsdiag.parsers.common import classify_loop_text
from imsdiag.parsers.exchange_tracking import ExchangeTrackingParser
from imsdiag.parsers.exim import EximParser
from imsdiag.parsers.syslog import SyslogLine, YearTracker, parse_prefix, parse_syslog_stream


def _prefix(text: str, ctx: ParseContext | None = None) -> SyslogLine | None:
    ctx = ctx or ParseContext(path="t", year_hint=2019)
    return parse_prefix(text, ctx, YearTracker(ctx))


def test_bsd_stamp_uses_year_hint_and_assumed_zone() -> None:
    line = _prefix("Mar  1 12:00:00 mx1 postfix/smtp[123]: ABCDEF123: to=<a@b>")
    assert line is not None
    assert line.time == datetime(2019, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert line.quality is TimeQuality.ZONE_ASSUMED
    assert (line.host, line.program, line.pid) == ("mx1", "postfix/smtp", 123)
    assert line.message == "ABCDEF123: to=<a@b>"


def test_bsd_stamp_with_known_zone_is_exact() -> None:
    ctx = ParseContext(path="t", year_hint=2019, tz_assumed=False)
    line = _prefix("Mar  1 12:00:00 mx1 sm-mta[9]: x", ctx)
    assert line is not None and line.quality is TimeQuality.EXACT


def test_rsyslog_high_precision_stamp_is_exact_utc() -> None:
    line = _prefix("2019-01-11T06:54:52.628611+07:00 dnet-004181 postfix/smtp[8988]: 43bNCH3MZXz17dn: to=<x@y>")
    assert line is not None
    assert line.time == datetime(2019, 1, 10, 23, 54, 52, 628611, tzinfo=timezone.utc)
    assert line.quality is TimeQuality.EXACT
    assert line.host == "dnet-004181"
    assert line.message.startswith("43bNCH3MZXz17dn:")


@pytest.mark.parametrize(
    "program",
    ["postfix/smtp", "postfix-secondary/qmgr", "postfix/submission/smtpd", "sm-mta", "sendmail", "sm-msp-queue"],
)
def test_program_names_with_slashes_and_instances(program: str) -> None:
    line = _prefix(f"Feb 11 16:49:25 letterman {program}[8204]: AAB4D259B3: removed")
    assert line is not None and line.program == program and line.message == "AAB4D259B3: removed"


def test_loghub_prefix_uses_epoch_as_exact_utc() -> None:
    text = (
        "- 1131566491 2005.11.09 eadmin1 Nov 9 12:01:31 src@eadmin1 sendmail[4306]: jA9J1UvC004306: from=root, "
        "size=629060, class=0, nrcpts=1, msgid=<200511091901.jA9J1UvC004306@eadmin1>, relay=#7#@localhost"
    )
    line = _prefix(text)
    assert line is not None
    assert line.time == datetime.fromtimestamp(1131566491, tz=timezone.utc)
    assert line.quality is TimeQuality.EXACT
    assert (line.host, line.program, line.pid) == ("eadmin1", "sendmail", 4306)


def test_docker_compose_prefix_and_priority_tag_are_skipped() -> None:
    line = _prefix("postfix-mailcow_1    | Sep  2 22:43:28 mx postfix/smtp[341]: CC98880154: to=<p@q>")
    assert line is not None and line.host == "mx" and line.program == "postfix/smtp"
    tagged = _prefix("Jun 17 14:37:39 <mail.notice> robin sm-mta[2794]: 55HIbcGI002794: x")
    assert tagged is not None and tagged.host == "robin" and tagged.program == "sm-mta"


def test_not_syslog_returns_none() -> None:
    assert _prefix("Reporting-MTA: dns; mail.domain.tld") is None
    assert _prefix("") is None
    assert _prefix("Mar 99 junk") is None


def test_year_rolls_over_from_december_to_january() -> None:
    ctx = ParseContext(path="t", year_hint=2020)
    years = YearTracker(ctx)
    dec = parse_prefix("Dec 31 23:59:59 h postfix/qmgr[1]: x", ctx, years)
    jan = parse_prefix("Jan  1 00:00:01 h postfix/qmgr[1]: x", ctx, years)
    assert dec is not None and jan is not None
    assert dec.time is not None and dec.time.year == 2020
    assert jan.time is not None and jan.time.year == 2021


def test_stamp_after_file_mtime_belongs_to_previous_year() -> None:
    ctx = ParseContext(path="t", year_hint=2021, file_mtime=datetime(2021, 1, 2, tzinfo=timezone.utc))
    years = YearTracker(ctx)
    dec = parse_prefix("Dec 30 10:00:00 h sendmail[1]: x", ctx, years)
    jan = parse_prefix("Jan  2 09:00:00 h sendmail[1]: x", ctx, years)
    assert dec is not None and dec.time is not None and dec.time.year == 2020
    assert jan is not None and jan.time is not None and jan.time.year == 2021


def test_feb_29_in_a_common_year_has_no_time_but_no_exception() -> None:
    line = _prefix("Feb 29 10:00:00 h sendmail[1]: x", ParseContext(path="t", year_hint=2019))
    assert line is not None and line.time is None and line.quality is TimeQuality.NONE


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("554 5.4.0 Error: too many hops", LoopSignal.HOP_LIMIT),
        ("warning: 1A2B3C: message rejected: hopcount exceeded", LoopSignal.HOP_LIMIT),
        ('** w@d.com: Too many "Received" headers - suspected mail loop', LoopSignal.HOP_LIMIT),
        ("554 5.4.6 Hop count exceeded - possible mail loop", LoopSignal.HOP_LIMIT),
        ("smtp;554 5.4.14 Hop count exceeded - possible mail loop ATTR34", LoopSignal.HOP_LIMIT),
        ("mail for example.net loops back to myself", LoopSignal.LOOPS_BACK),
        ("host mx[1.2.3.4]:25 greeted me with my own hostname mx", LoopSignal.LOOPS_BACK),
        ("mail forwarding loop for tom@example.com", LoopSignal.FORWARDING_LOOP),
        ("aliasing/forwarding loop broken", LoopSignal.FORWARDING_LOOP),
        ("5.4.6 routing loop detected", LoopSignal.ROUTING_LOOP),
        ("550 Loop detected", LoopSignal.ROUTING_LOOP),
        ("message looping", LoopSignal.ROUTING_LOOP),
        ("status=sent (250 2.0.0 Ok: queued as 153053D)", None),
        ("", None),
        (None, None),
    ],
)
def test_classify_loop_text(text: str | None, signal: LoopSignal | None) -> None:
    assert classify_loop_text(text) is signal


class _Collect:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def accepts(self, program: str) -> bool:
        return program.startswith("postfix")

    def handle(self, line: SyslogLine, lineno: int, text: str):  # type: ignore[no-untyped-def]
        self.seen.append(f"{lineno}:{line.program}")
        return iter(())

    def finish(self):  # type: ignore[no-untyped-def]
        return iter(())


def test_stream_dispatches_counts_and_reports_non_syslog_lines() -> None:
    data = (
        b"# failJSON: { }\n"
        b"Aug 30 06:40:55 h postfix/pickup[1]: 7E3F528BA0: uid=0 from=<root>\n"
        b"Aug 30 06:40:56 h dovecot: imap-login: Login\n"
        b"garbage \x00 here\n"
    )
    ctx = ParseContext(path="m.log", year_hint=2015)
    handler = _Collect()
    assert list(parse_syslog_stream(io.BytesIO(data), ctx, [handler])) == []
    assert handler.seen == ["2:postfix/pickup"]
    assert ctx.counters["comments"] == 1 and ctx.counters["ignored"] == 1 and ctx.counters["unparsed"] == 1
    assert [(i.location.line, i.code) for i in ctx.issues] == [(4, "not-syslog")]


SEEDS = (
    b"Mar  1 12:00:00 mx1 postfix/smtp[1]: ABCDEF123: to=<a@b>, relay=h[1.2.3.4]:25, dsn=5.4.6, status=bounced (x)\n",
    b"2019-01-11T06:54:52.6+07:00 h sm-mta[2]: p75Ej6eu010817: from=<>, size=1, msgid=<m@h>, relay=h [1.2.3.4]\n",
    b"2017-03-11 20:43:00.123 +0100 [99] 1cmsXD-003mi8-Iw <= <> R=1cmsXC-003mi8-Iw P=local S=9 for a@b\n",
    b'\xef\xbb\xbf#Fields: date-time,event-id\n2017-05-22T17:33:35.632Z,"DSN\n',
)


@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 200), junk=st.binary(max_size=200))
@settings(max_examples=150, deadline=None)
def test_every_parser_survives_any_bytes(seed: bytes, cut: int, junk: bytes) -> None:
    data = seed[:cut] + junk + seed[cut:] + junk
    for parser in (by_name("postfix"), by_name("sendmail"), EximParser(), ExchangeTrackingParser()):
        ctx = ParseContext(path="fuzz")
        assert 0 <= parser.sniff(data, "fuzz") <= 100
        for record in parser.parse(io.BytesIO(data), ctx):
            assert isinstance(record, (Event, ParseIssue))


def test_hostile_long_lines_stay_fast() -> None:
    line = b"Mar  1 12:00:00 h postfix/smtp[1]: ABCDEF123: to=<a@b>" + b", status=x (" * 40000 + b"\n"
    exim = b"2017-03-11 20:43:00 1cmsXD-003mi8-Iw <= a@b" + b" for x" * 40000 + b" H=" * 40000 + b"\n"
    for parser, data in ((by_name("postfix"), line), (EximParser(), exim)):
        records = list(parser.parse(io.BytesIO(data), ParseContext(path="big")))
        assert len(records) == 1
