"""The shipped scenarios end to end: what each must find, and golden output for every format.

Golden files live in tests/golden/<scenario>/<format>; regenerate them after an intended change with
`IMSDIAG_REGEN_GOLDEN=1 python -m pytest tests/test_scenarios.py` and review the diff.
"""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from imsdiag.engine import scan
from imsdiag.models import Severity
from imsdiag.reporters import REPORTERS, ReportOptions, get_reporter
from imsdiag.result import ScanResult
from imsdiag.settings import ScanSettings

from .conftest import LOG_SAMPLES, ROOT, SCHEMAS

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = list(LOG_SAMPLES)
REGEN = os.environ.get("IMSDIAG_REGEN_GOLDEN") == "1"
EXTENSIONS = {
    "json": "json",
    "jsonl": "jsonl",
    "sarif": "sarif",
    "junit": "xml",
    "github": "txt",
    "gitlab": "json",
    "text": "txt",
    "html": "html",
}


@pytest.fixture(scope="module")
def results() -> dict[str, ScanResult]:
    # Paths relative to the checkout, as a user would type them from its root.
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return {name: scan(ScanSettings(paths=(f"sample_logs/{name}",), jobs=1)) for name in SCENARIOS}
    finally:
        os.chdir(cwd)


def render(result: ScanResult, fmt: str) -> str:
    out = io.StringIO()
    get_reporter(fmt, ReportOptions(color="never", width=100, tool_version="test")).report(result, out)
    return normalise(out.getvalue(), fmt)


def normalise(text: str, fmt: str) -> str:
    """Drop what changes from run to run (durations), nothing else."""
    if fmt in ("json", "sarif"):
        text = re.sub(r'"seconds": [0-9.]+', '"seconds": 0', text)
    if fmt == "junit":
        text = re.sub(r' time="[0-9.]+"', ' time="0"', text)
        text = re.sub(r' timestamp="[^"]*"', "", text)
    return text


def test_scenarios_are_shipped() -> None:
    assert SCENARIOS == [
        "exim-hop-limit",
        "healthy",
        "postfix-forwarding-loop",
        "q178436-relay-only",
        "q178436-site-connector",
        "q178436-two-ims",
    ]


def test_q178436_scenario(results: dict[str, ScanResult]) -> None:
    r = results["q178436-site-connector"]
    assert [f.rule_id for f in r.findings] == ["Q178436"]
    f = r.findings[0]
    assert f.severity is Severity.ERROR and f.confidence == "high"
    assert f.hosts == ("imc1.company.com", "relay.company.com")
    assert f.addresses == ("user2@company.com",)
    assert f.passes == 42 and f.messages == 42  # round trips; a new message each pass
    assert f.hops is None  # no message makes more than one pass: there is no hop count to state
    assert f.build_verdict == "imc1.company.com 5.5.1960.3 = Exchange 5.5 (no service pack), needs 5.5.2186.0"
    assert ("imc1.company.com", "5.5.1960.3") in f.builds
    sources = {e.location.path.split("/")[2] for e in f.evidence}
    assert {"imc1", "relay"} <= sources  # both servers' logs back the finding
    kinds = " ".join(e.note for e in f.evidence)
    for source in ("ims-protocol", "ims-tracking", "ims-archive", "sendmail"):
        assert source in kinds
    assert any("user2@imc2.company.com" in reason for reason in f.confidence_reasons)
    assert r.issue_total == 0


def test_healthy_scenario_has_no_finding(results: dict[str, ScanResult]) -> None:
    r = results["healthy"]
    assert r.findings == ()
    assert r.issue_total == 0
    # It is not empty: real traffic with reports went through the detector.
    assert r.events > 500


def test_postfix_forwarding_loop(results: dict[str, ScanResult]) -> None:
    r = results["postfix-forwarding-loop"]
    assert [(f.rule_id, f.addresses) for f in r.findings] == [("LOOP005", ("alice@example.org",))]
    f = r.findings[0]
    assert f.hosts == ("mx1.example.org", "mx2.example.net")
    # Postfix stops it at the first return (Delivered-To): one round trip, one bounced message, four hops.
    assert (f.passes, f.messages, f.hops) == (1, 1, 4)


def test_exim_hop_limit(results: dict[str, ScanResult]) -> None:
    r = results["exim-hop-limit"]
    assert [(f.rule_id, f.addresses) for f in r.findings] == [("LOOP003", ("bob@example.com",))]
    f = r.findings[0]
    assert set(f.hosts) == {"a.example.com", "b.example.com"}
    assert f.passes == 15  # the returned original: 31 Received lines, a -> b repeated 15 times
    assert (f.messages, f.hops) == (1, 31)


def _panels(text: str) -> list[list[str]]:
    """The finding panels of a plain terminal report, each as its lines (borders included)."""
    panels: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("╭"):
            panels.append([])
        if panels and (len(panels[-1]) == 0 or not panels[-1][-1].startswith("╰")):
            panels[-1].append(line)
    return panels


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "healthy"])
def test_default_finding_reads_in_ten_seconds(results: dict[str, ScanResult], scenario: str) -> None:
    """Issue 12: the default view is the key facts, three fix steps and three evidence lines, in 40 lines at 100
    columns; no internal wording; the title whole; one line saying what -v adds."""
    text = render(results[scenario], "terminal")
    panels = _panels(text)
    assert len(panels) == len(results[scenario].findings)
    for panel, finding in zip(panels, results[scenario].findings, strict=True):
        body = "\n".join(panel)
        assert len(panel) <= 40, f"{finding.rule_id} panel is {len(panel)} lines"
        assert all(len(line) <= 100 for line in panel)
        assert "Detector" not in body and "busiest edge" not in body and " -> " not in body
        assert "How it was found" not in body  # -v only
        assert finding.title in body.replace("│", "")  # wrapped, never cut at the border
        assert panel[0].startswith(f"╭─ {finding.severity.value.upper()} {finding.rule_id} {finding.slug}")
        assert sum(line.lstrip("│ ").startswith(("1. ", "2. ", "3. ", "4. ")) for line in panel) <= 3
        if len(finding.fix) > 3 or len(finding.evidence) > 3:
            assert "-v adds" in body


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_golden_machine_formats(results: dict[str, ScanResult], scenario: str, fmt: str) -> None:
    got = render(results[scenario], fmt)
    path = GOLDEN / scenario / f"{fmt}.{EXTENSIONS[fmt]}"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}: run with IMSDIAG_REGEN_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("verbose", [0, 1])
def test_golden_terminal_report(results: dict[str, ScanResult], scenario: str, verbose: int) -> None:
    from imsdiag.reporters.terminal import render_plain

    got = render_plain(results[scenario], width=100, verbose=verbose)
    path = GOLDEN / scenario / ("terminal-verbose.txt" if verbose else "terminal.txt")
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


def test_every_format_has_goldens() -> None:
    assert set(EXTENSIONS) | {"terminal"} == set(REPORTERS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_json_matches_published_schema(scenario: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "schema" / "scan-v1.schema.json").read_text())
    doc = json.loads((GOLDEN / scenario / "json.json").read_text())
    jsonschema.validate(doc, schema)
    for line in (GOLDEN / scenario / "jsonl.jsonl").read_text().splitlines():
        assert json.loads(line)["version"] == 1


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_sarif_matches_the_official_schema(scenario: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = SCHEMAS / "sarif-schema-2.1.0.json"
    if not schema_path.is_file():
        pytest.skip(f"SARIF schema not found at {schema_path}")
    schema = json.loads(schema_path.read_text())
    doc = json.loads((GOLDEN / scenario / "sarif.sarif").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_junit_is_well_formed(scenario: str) -> None:
    root = ET.fromstring((GOLDEN / scenario / "junit.xml").read_text())
    assert root.tag == "testsuites"
    failures = int(root.get("failures", "0"))
    errors_expected = 0 if scenario == "healthy" else 1  # every shipped loop is proven in its own logs
    assert failures == errors_expected
