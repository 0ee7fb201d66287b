"""The HTML report without a browser: self-contained, escaped, deterministic, and the drawings match the finding."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from imsdiag.models import EdgePasses, Evidence, Location, RingShape
from imsdiag.reporters import EXPLAIN_REPORTERS, ReportOptions, get_reporter
from imsdiag.reporters.html_layout import implied_edges, ring_layout, timeline_layout
from imsdiag.result import ScanResult
from tests.htmlcheck import parse, safety_problems

from .conftest import OPTIONS, Q178436_FINDING, check_golden, make_result

T0 = datetime(2001, 2, 7, 22, 1, 20, tzinfo=timezone.utc)
EDGES = (
    EdgePasses("imc1.company.com", "relay.company.com", 3, tuple(T0 + timedelta(minutes=5 * i) for i in range(3))),
    EdgePasses("relay.company.com", "imc1.company.com", 3, tuple(T0 + timedelta(minutes=5 * i + 1) for i in range(3))),
)
ROLES = (("imc1.company.com", "IMS"), ("relay.company.com", "relay"))


def html(result: ScanResult) -> str:
    out = io.StringIO()
    get_reporter("html", ReportOptions(tool_version=OPTIONS.tool_version, fail_on="error")).report(result, out)
    return out.getvalue()


@pytest.fixture
def drawn() -> ScanResult:
    return make_result(replace(Q178436_FINDING, edges=EDGES, roles=ROLES, passes=3))


def test_golden(result: ScanResult) -> None:
    check_golden("scan.html", html(result))


def test_self_contained_and_well_formed(result: ScanResult, drawn: ScanResult, clean_result: ScanResult) -> None:
    for res in (result, drawn, clean_result):
        assert safety_problems(html(res)) == []


def test_same_page_every_time(drawn: ScanResult) -> None:
    assert html(drawn) == html(drawn)


def test_ring_has_one_node_per_host_and_one_arrow_per_hop(drawn: ScanResult) -> None:
    page = parse(html(drawn))
    nodes = page.find("g", "node")
    assert [n.attrs["data-host"] for n in nodes] == ["imc1.company.com", "relay.company.com"]
    assert [n.classes for n in nodes] == [("node", "ims"), ("node", "relay")]  # the IMS and the relay told apart
    hops = page.find("g", "hop")
    assert [(h.attrs["data-source"], h.attrs["data-count"]) for h in hops] == [
        ("imc1.company.com", "3"),
        ("relay.company.com", "3"),
    ]
    assert "looping: user2@company.com" in page.all_text


def test_timeline_has_a_mark_per_pass_per_hop(drawn: ScanResult) -> None:
    page = parse(html(drawn))
    assert [r.attrs["data-marks"] for r in page.find("g", "row")] == ["3", "3"]
    assert len(page.find("line", "pass-mark")) == 6
    text = page.all_text
    assert "period every 5m 00s" in text and "span 2001-02-07 22:01 → 2001-02-08 01:26 UTC" in text
    assert "pass 1 of imc1.company.com → relay.company.com: 2001-02-07 22:01:20 UTC" in text


def test_finding_without_edges_draws_its_stated_ring(result: ScanResult) -> None:
    page = parse(html(result))
    # Q178436_FINDING has hosts but no counted hops: the ring statement's hops, without counts.
    hops = page.find("g", "hop")
    assert hops and all("data-count" not in h.attrs for h in hops)
    assert not page.find("g", "row")  # no times, no timeline


def test_summary_header(result: ScanResult) -> None:
    text = parse(html(result)).all_text
    assert "LOOPS FOUND: 3 loops (1 error, 1 warning, 1 info) in 2 files, 2 servers, 820 lines" in text
    for fact in ("Inputs", "Servers", "Formats", "Parse issues", "4 issues", "hidden by the baseline"):
        assert fact in text
    assert "unparseable time '2/30/01 25:61:00 PM'" in text


def test_key_sentence_and_fix_come_before_the_drawings(drawn: ScanResult) -> None:
    page = html(drawn)
    summary = page.index(Q178436_FINDING.summary)
    fix = page.index(Q178436_FINDING.fix[0])
    assert summary < fix < page.index('<svg class="ring"') < page.index('<svg class="timeline"')
    assert page.index('<svg class="timeline"') < page.index('class="evidence"')


def test_hostile_text_is_text(hostile_result: ScanResult) -> None:
    out = html(hostile_result)
    assert safety_problems(out) == []
    assert "\x1b" not in out and "\x00" not in out and "\u202e" not in out
    assert "\\x1b]0;owned\\x07" in parse(out).all_text  # shown, escaped


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '"><svg onload=alert(1)>',
        "' onmouseover='alert(1)",
        "javascript:alert(1)",
        "</title></svg><img src=x onerror=alert(1)>",
        "\u202egpj.exe\u2066",
        "a\x00b\x1b[31mc\x9bd",
    ],
)
def test_log_text_never_becomes_markup(payload: str) -> None:
    hostile = replace(
        Q178436_FINDING,
        title=payload,
        summary=payload,
        hosts=(payload, "relay.company.com"),
        addresses=(payload,),
        roles=((payload, "IMS"), ("relay.company.com", "relay")),
        edges=(
            EdgePasses(payload, "relay.company.com", 2, (T0, T0 + timedelta(minutes=1))),
            EdgePasses("relay.company.com", payload, 2, (T0, T0 + timedelta(minutes=2))),
        ),
        evidence=(Evidence(Location(payload, 3), payload, payload),),
        message_ids=(payload,),
        fix=(payload,),
        details=((payload, payload),),
    )
    out = html(make_result(hostile))
    assert safety_problems(out) == []
    page = parse(out)
    assert not page.find("script") and not page.find("img")
    assert not [e for e in page.elements if any(a.startswith("on") for a in e.attrs)]
    visible = page.all_text
    if "<" in payload:
        assert payload in visible or payload[:40] in visible  # shown literally
    for bad in ("\x00", "\x1b", "\x9b", "\u202e", "\u2066"):
        assert bad not in out


def test_layout_places_hosts_on_a_circle() -> None:
    ring = ring_layout(["a", "b", "c"], implied_edges(["a", "b", "c"]), ())
    assert ring is not None
    assert [n.name for n in ring.nodes] == ["a", "b", "c"] and len(ring.arrows) == 3
    cx = sum(n.x for n in ring.nodes) / 3
    cy = sum(n.y for n in ring.nodes) / 3
    radii = {round(((n.x - cx) ** 2 + (n.y - cy) ** 2) ** 0.5) for n in ring.nodes}
    assert len(radii) == 1  # equidistant from the centre
    for n in ring.nodes:
        assert 0 < n.x < ring.width and 0 < n.y < ring.height
    # Three hosts or more: names beside the side nodes, pointing away from the centre.
    assert [n.anchor for n in ring.nodes] == ["middle", "start", "end"]
    two = ring_layout(["a", "b"], implied_edges(["a", "b"]), ())
    assert two is not None and [n.anchor for n in two.nodes] == ["middle", "middle"]
    hub = ring_layout(["h", "a", "b"], implied_edges(["h", "a", "b"], hub=True), (), hub=True)
    assert hub is not None and len(hub.arrows) == 4
    one = ring_layout(["a"], implied_edges(["a"]), ())
    assert one is not None and one.arrows[0].source == one.arrows[0].target == "a"
    assert ring_layout([], [], ()) is None


def test_timeline_axis() -> None:
    tl = timeline_layout([("x", [(T0, "a"), (T0 + timedelta(hours=1), "b")]), ("y", [])])
    assert tl is not None
    assert tl.rows[0].marks[0].x == tl.x0 and tl.rows[0].marks[-1].x == tl.x1
    assert [t.label for t in tl.ticks] == ["22:10", "22:20", "22:30", "22:40", "22:50", "23:00"]
    assert timeline_layout([("x", [])]) is None
    single = timeline_layout([("x", [(T0, "a")])])
    assert single is not None and single.rows[0].marks[0].x == (single.x0 + single.x1) / 2


def test_unknown_ring_draws_nothing() -> None:
    f = replace(Q178436_FINDING, hosts=(), shape=RingShape.UNKNOWN, edges=())
    assert not parse(html(make_result(f))).find("svg")


def test_registered_for_scan_and_explain() -> None:
    from imsdiag.cli.explain_cmd import EXPLAIN_FORMATS

    assert "html" in EXPLAIN_REPORTERS and set(EXPLAIN_FORMATS) == set(EXPLAIN_REPORTERS)


def test_jinja2_only_when_a_page_is_written() -> None:
    code = (
        "import sys, io, imsdiag.cli\n"
        "from imsdiag.reporters import get_reporter\n"
        "assert 'jinja2' not in sys.modules, 'imported with the CLI'\n"
        "from tests.reporters.conftest import make_result\n"
        "get_reporter('json').report(make_result(), io.StringIO())\n"
        "assert 'jinja2' not in sys.modules, 'imported for JSON'\n"
        "get_reporter('html').report(make_result(), io.StringIO())\n"
        "assert 'jinja2' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explain_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    """explain --format html on the hand-written relay-only sample, pinned like the scan pages."""
    import os

    from imsdiag.explain import explain
    from imsdiag.reporters import get_explain_reporter
    from imsdiag.settings import ScanSettings
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)  # paths as a user types them from the checkout's root
    expl = explain(
        "CEECE9B398B7D011BD4800A0C90D616D067A@exch1.example.com",
        ScanSettings(paths=("sample_logs/q178436-relay-only",), jobs=1),
    )
    out = io.StringIO()
    get_explain_reporter("html", ReportOptions(tool_version="test")).report(expl, out)
    text = out.getvalue()
    assert safety_problems(text) == []
    path = ROOT / "tests" / "golden" / "q178436-relay-only" / "explain.html"
    if os.environ.get("IMSDIAG_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8")
