"""Tests for the Exchange 5.0/5.5 tracking-log parser and its GMT time-stamp helper (Q153188, Q173280, Q173364)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imsdiag.models import Direction, Event, Location, ParseIssue, ReportKind, TimeQuality
from imsdiag.parsers import detect
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.ims_time import parse_tracking_stamp
from imsdiag.parsers.ims_tracking import EVENT_NAMES, ImsTrackingParser, server_of

PARSER = ImsTrackingParser()
UTC = timezone.utc
MTS = "c=US;a= ;p=MICROSOFT;l=TAMRAJ2-960701173047Z-2"
MDB = "/o=MICROSOFT/ou=TAMRAJ/cn=Configuration/cn=Servers/cn=TAMRAJ2/cn=Microsoft Private MDB"
IMC = "/o=MICROSOFT/ou=TAMRAJ/cn=Configuration/cn=Connections/cn=Internet Mail Connector (TAMRAJ2)"


def run(
    text: str | bytes, path: str = "Tracking.log/19960701.log", **ctx_args: object
) -> tuple[list[Event], ParseContext]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    ctx = ParseContext(path, **ctx_args)  # type: ignore[arg-type]
    records = list(PARSER.parse(io.BytesIO(data), ctx))
    assert not [r for r in records if isinstance(r, ParseIssue)]
    return [r for r in records if isinstance(r, Event)], ctx


def row(*fields: str) -> str:
    return "\t".join(fields) + "\n"


# Q153188's two records with their tabs restored (the article turned tabs into spaces and wrapped
# the DNs; the field mapping is ims-reference.md §3).
Q153188 = (
    row(MTS, "1000", "1996.7.1 17:30:48", MDB, MDB, "", "/O=MICROSOFT/OU=TAMRAJ/CN=RECIPIENTS/CN=TAMRAJ1")[:-1]
    + "\t0\t454\t0\t1\t\t1\n"
    + "\t/O=MICROSOFT/OU=TAMRAJ/CN=RECIPIENTS/CN=Tamraj1\n"
    + row(
        MTS,
        "1003",
        "1996.7.1 18:32:9",
        IMC,
        "alpine.microsoft.com",
        "<c=US%a=_%p=MICROSOFT%l=TAMRAJ2-960701173047Z-2@tamraj.microsoft.com>[PBZ70AAB]",
        "/o=MICROSOFT/ou=TAMRAJ/cn=RECIPIENTS/cn=TAMRAJ1",
        "0",
        "2907",
        "0",
        "0",
        "",
        "1",
    )
    + "\tIMCEAEX-_O=MICROSOFT_OU=ALPINE_cn=RECIPIENTS_cn=ALPINE1@alpine.microsoft.com\n"
)


def test_q153188_local_delivery_record() -> None:
    events, ctx = run(Q153188)
    assert len(events) == 2
    ev = events[0]
    assert ev.location == Location("Tracking.log/19960701.log", 1)
    assert ev.source == "ims-tracking"
    assert (ev.event_code, ev.status) == ("1000", "Local Delivery")
    assert (ev.time, ev.time_quality) == (datetime(1996, 7, 1, 17, 30, 48, tzinfo=UTC), TimeQuality.EXACT)
    assert (ev.mts_id, ev.queue_id, ev.message_id) == (MTS, None, None)
    assert (ev.server, ev.server_source) == ("tamraj2", "content")
    assert ev.direction is Direction.LOCAL
    assert ev.peer_host is None  # the partner is a DN, not a host
    assert ev.sender is None  # the originator is a DN
    assert ev.size == 454
    assert ev.recipients == ("/o=microsoft/ou=tamraj/cn=recipients/cn=tamraj1",)
    assert ev.report_kind is ReportKind.NONE
    assert ev.about_id is None
    assert ctx.counters == {"lines": 4, "records": 2}


def test_q153188_gateway_transfer_out_record() -> None:
    ev = run(Q153188)[0][1]
    assert ev.location.line == 3
    assert (ev.event_code, ev.status) == ("1003", "Gateway Transfer Out")
    assert ev.time == datetime(1996, 7, 1, 18, 32, 9, tzinfo=UTC)
    assert ev.mts_id == MTS
    assert ev.message_id == "c=US%a=_%p=MICROSOFT%l=TAMRAJ2-960701173047Z-2@tamraj.microsoft.com"
    assert ev.queue_id == "PBZ70AAB"
    assert ev.peer_host == "alpine.microsoft.com"
    assert (ev.server, ev.direction, ev.size) == ("tamraj2", Direction.OUT, 2907)
    assert ev.recipients == ("imceaex-_o=microsoft_ou=alpine_cn=recipients_cn=alpine1@alpine.microsoft.com",)


def test_q153188_as_rendered_in_the_article_is_not_mistaken_for_records() -> None:
    # The article's rendering lost the tabs: no line is a record, nothing is invented.
    text = (
        "c=US;a= ;p=MICROSOFT;l=TAMRAJ2-960701173047Z-2 1000 1996.7.1\n17:30:48\n"
        "/o=MICROSOFT/ou=TAMRAJ/cn=Configuration/cn=Servers/cn=TAMRAJ\n2/cn=Microsoft Private MDB\n"
    )
    events, ctx = run(text)
    assert events == []
    assert ctx.counters == {"lines": 4, "ignored": 4}


# A Q178436 storm as IMC1's tracking log would show it: the IMS generates a DR with a null P1 sender,
# sends it out, and gets it back from the relay.
STORM = (
    row(
        "c=US;a= ;p=Company;l=IMC1-990601120000Z-7",
        "1017",
        "1999.6.1 12:00:00",
        "/o=Company/ou=Site1/cn=Configuration/cn=Connections/cn=Internet Mail Service (IMC1)",
        "",
        "",
        "/o=Company/ou=Site1/cn=Recipients/cn=user2",
        "0",
        "1803",
        "0",
        "1",
        "c=US;a= ;p=Company;l=IMC1-990601115959Z-6",
        "1",
    )
    + "\tuser2@company.com\t0\n"
    + row(
        "NQ1NQYQK",
        "1016",
        "1999.6.1 12:00:01",
        "",
        "relay.company.com",
        "<DR-1@imc1.company.com>[NQ1NQYQK]",
        "/o=Company/ou=Site1/cn=Recipients/cn=user2",
        "0",
        "1803",
        "0",
        "1",
        "c=US;a= ;p=Company;l=IMC1-990601115959Z-6",
        "1",
        "<User2@Company.com>",
        "0",
    )
    + row("W707852B", "1012", "1999.6.1 12:00:05", "", "relay.company.com", "<m1@x.com>[W707852B]", "a@X.com")
    + "b@company.com\n"
    + row("c=US;a= ;p=Company;l=IMC1-990601120010Z-8", "1007", "1999.6.1 12:00:10", "", "", "", "/o=Company")
    + row("c=US;a= ;p=Company;l=IMC1-990601120011Z-9", "1015", "1999.6.1 12:00:11", "", "imc2.company.com", "", "x")
    + "\tuser2@company.com\t1\n\tuser3@company.com\t0\n"
    + row("c=US;a= ;p=Company;l=IMC1-990601120012Z-9", "1018", "1999.6.1 12:00:12", "", "", "", "x", "", "", "", "")
    + row("c=US;a= ;p=Company;l=IMC1-990601120013Z-9", "33", "1999.6.1 12:00:13")
)


def test_report_generated_is_a_delivery_receipt_with_null_sender() -> None:
    ev = run(STORM)[0][0]
    assert (ev.event_code, ev.status) == ("1017", "SMTP Report Generated")
    assert ev.sender == ""
    assert ev.report_kind is ReportKind.DELIVERY_RECEIPT
    assert ev.about_id == "c=US;a= ;p=Company;l=IMC1-990601115959Z-6"
    assert ev.mts_id == "c=US;a= ;p=Company;l=IMC1-990601120000Z-7"
    assert (ev.server, ev.server_source, ev.direction) == ("imc1", "content", Direction.GENERATED)
    assert ev.recipients == ("user2@company.com",)


def test_recipient_and_status_on_the_record_line() -> None:
    ev = run(STORM)[0][1]
    assert (ev.location.line, ev.event_code, ev.direction) == (3, "1016", Direction.OUT)
    assert (ev.queue_id, ev.message_id, ev.mts_id) == ("NQ1NQYQK", "DR-1@imc1.company.com", None)
    assert ev.recipients == ("user2@company.com",)
    assert ev.report_kind is ReportKind.DELIVERY_RECEIPT
    assert ev.peer_host == "relay.company.com"
    assert (ev.server, ev.server_source) == (None, None)


def test_smtp_received_inbound_sender_and_recipient_without_tab() -> None:
    ev = run(STORM, server_hint="imc1", server_hint_source="path")[0][2]
    assert (ev.event_code, ev.status, ev.direction) == ("1012", "SMTP Received Inbound", Direction.IN)
    assert (ev.sender, ev.recipients) == ("a@x.com", ("b@company.com",))
    assert (ev.queue_id, ev.message_id) == ("W707852B", "m1@x.com")
    assert (ev.server, ev.server_source) == ("imc1", "path")
    assert ev.report_kind is ReportKind.NONE
    assert ev.size is None


def test_report_kinds_and_absorption_events() -> None:
    events, ctx = run(STORM)
    by_code = {e.event_code: e for e in events}
    assert by_code["1007"].report_kind is ReportKind.NDR  # a gateway NDR by definition
    assert by_code["1007"].direction is Direction.GENERATED
    assert by_code["1015"].report_kind is ReportKind.NDR  # one recipient status is 1
    assert by_code["1015"].recipients == ("user2@company.com", "user3@company.com")
    assert by_code["1015"].direction is Direction.IN
    assert (by_code["1018"].status, by_code["1018"].sender) == ("SMTP Report Absorbed", "")
    assert by_code["1018"].report_kind is ReportKind.NONE
    assert (by_code["33"].status, by_code["33"].sender, by_code["33"].recipients) == ("Report Absorption", None, ())
    assert ctx.counters["records"] == 7


def test_malformed_records_are_issues() -> None:
    text = (
        row(MTS, "x12", "1996.7.1 17:30:48", "", "", "", "", "0", "1", "0", "1", "", "1")
        + "\tstray@recipient.com\n"
        + row(MTS, "1000", "1996.13.1 17:30:48", "", "", "", "", "0", "1", "0", "1", "", "1")
        + row(MTS, "9", "1996.7.1 17:30:49", MDB, "", "", "", "0", "1", "0", "1", "", "1")
        + "\tok@company.com\n"
    )
    events, ctx = run(text)
    assert [(e.location.line, e.status, e.recipients) for e in events] == [
        (4, "Message Delivered", ("ok@company.com",))
    ]
    assert [(i.location.line, i.code) for i in ctx.issues] == [(1, "bad-record"), (3, "bad-record")]
    assert ctx.counters == {"lines": 5, "records": 1, "ignored": 1}


def test_record_with_blank_message_id_and_blank_fields() -> None:
    events, _ = run(row("", "1012", "1999.6.1 1:2:3", "", "", "", "", "", "", "", "", "", "") + "\tB@Company.com\n")
    assert [(e.location.line, e.mts_id, e.queue_id, e.sender, e.size, e.peer_host, e.recipients) for e in events] == [
        (1, None, None, None, None, None, ("b@company.com",))
    ]


def test_unknown_event_number_keeps_the_code() -> None:
    events, _ = run(row(MTS, "77", "1996.7.1 1:2:3"))
    assert [(e.event_code, e.status, e.direction) for e in events] == [("77", None, Direction.UNKNOWN)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1996.7.1 18:32:9", datetime(1996, 7, 1, 18, 32, 9, tzinfo=UTC)),
        ("1996.7.1 17:30:48", datetime(1996, 7, 1, 17, 30, 48, tzinfo=UTC)),
        ("2001.12.31 0:0:0", datetime(2001, 12, 31, 0, 0, 0, tzinfo=UTC)),
        ("1996.13.1 1:1:1", None),
        ("1996.2.30 1:1:1", None),
        ("96.7.1 1:1:1", None),
        ("", None),
    ],
)
def test_parse_tracking_stamp(text: str, expected: datetime | None) -> None:
    assert parse_tracking_stamp(text) == expected


def test_server_of_dn_forms() -> None:
    assert server_of("", MDB) == "tamraj2"
    assert server_of(IMC) == "tamraj2"
    assert server_of("x", "Internet Mail Service (IMC1)") == "imc1"
    assert server_of("alpine.microsoft.com") is None


def test_event_table_covers_the_ims_events() -> None:
    assert {n for n in EVENT_NAMES if n >= 1010} == set(range(1010, 1019))
    assert EVENT_NAMES[1018] == "SMTP Report Absorbed"


def test_crlf_nul_binary_and_long_lines_do_not_raise() -> None:
    data = (
        bytes(range(256))
        + b"\r\n"
        + row(MTS, "1012", "1996.7.1 1:2:3", "", "h.com", "<a@b>[X]", "q@h.com").encode().replace(b"\n", b"\r\n")
        + b"\t"
        + b"r" * (1 << 20)
        + b"@x.com\r\n"
        + b"\tnul\x00@x.com\r\n"
    )
    events, ctx = run(data)
    assert len(events) == 1
    assert events[0].recipients[-1] == "nul\ufffd@x.com"
    assert len(events[0].recipients) == 2
    assert "line-too-long" in {i.code for i in ctx.issues}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["", "1017", "1996.7.1 1:2:3", "1996.99.1 1:2:3", "x", "0", "1", "<a@b>[Q]"]), max_size=16
        ),
        max_size=20,
    ),
    st.binary(max_size=100),
)
def test_fuzz_never_raises(rows: list[list[str]], junk: bytes) -> None:
    data = "\n".join("\t".join(r) for r in rows).encode() + junk
    events, _ = run(data)
    assert all(e.source == "ims-tracking" and e.time is not None for e in events)


def test_sniff_and_detect() -> None:
    data = Q153188.encode()
    parser, score = detect(data, "Tracking.log/19960701.log")
    assert parser is not None and parser.name == "ims-tracking"
    assert score == 70
    assert PARSER.sniff(data, r"C:\exchsrvr\Tracking.log\19960701.log") - PARSER.sniff(data, "x.txt") == 10
    assert PARSER.sniff(b"2/7/01 5:01:20 PM : A connection was accepted from a.com\n", "19960701.log") == 0


def test_sniff_rejects_other_logs_in_the_corpus(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "maillogs").rglob("*") if p.is_file())
    files += sorted(p for p in (corpus / "exchange_msgtrk").rglob("*") if p.is_file())
    assert files
    for path in files:
        assert PARSER.sniff(path.read_bytes()[:65536], path.name) < 30, path
