"""Every CI format on a hand-made result: exact golden output, hostile log text, schema validation."""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from imsdiag.jsontext import iso_time
from imsdiag.models import Severity
from imsdiag.reporters import (
    AUDIT_REPORTERS,
    EXPLAIN_REPORTERS,
    FORMAT_CHOICES,
    REPORTERS,
    Reporter,
    ReportOptions,
    choose_format,
    get_reporter,
)
from imsdiag.reporters.github import GithubReporter, escape_data, escape_property
from imsdiag.reporters.json_report import JsonReporter
from imsdiag.reporters.jsonl import JsonLinesReporter
from imsdiag.reporters.records import at_or_above
from imsdiag.reporters.sarif import SarifReporter, artifact_uri
from imsdiag.reporters.text import TextReporter
from imsdiag.result import ScanResult
from tests import factories
from tests.conftest import ROOT, SCHEMAS

from .conftest import HOSTILE, OPTIONS, check_golden

SCAN_SCHEMA = ROOT / "docs" / "schema" / "scan-v1.schema.json"
CI_FORMATS = ("text", "json", "jsonl", "sarif", "junit", "github", "gitlab")


def render(reporter: Reporter[ScanResult], result: ScanResult) -> str:
    out = io.StringIO()
    reporter.report(result, out)
    return out.getvalue()


def make(name: str, fail_on: str = "error") -> Reporter[ScanResult]:
    return get_reporter(name, ReportOptions(tool_version=OPTIONS.tool_version, fail_on=fail_on))


# --- registry ---


def test_registry_holds_every_format() -> None:
    assert set(REPORTERS) == {"terminal", "html", *CI_FORMATS}
    assert FORMAT_CHOICES[0] == "auto"
    for name, cls in REPORTERS.items():
        assert cls.name == name and cls.description


def test_registries_name_each_class_by_its_own_name() -> None:
    # The registries import a reporter's module only when its format is used: their names are written out.
    for registry in (REPORTERS, EXPLAIN_REPORTERS, AUDIT_REPORTERS):
        for name, cls in registry.items():
            assert cls.name == name and cls.description


def test_choosing_a_format_imports_only_its_reporter() -> None:
    code = (
        "import sys\n"
        "from imsdiag.cli import main\n"
        "from imsdiag.reporters import get_reporter\n"
        "get_reporter('json')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('imsdiag.reporters.'))\n"
        "print(' '.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "imsdiag.reporters.json_report" in out
    assert not {"imsdiag.reporters.html", "imsdiag.reporters.audit_terminal", "imsdiag.reporters.terminal"} & set(out)


def test_get_reporter_unknown_lists_known() -> None:
    with pytest.raises(ValueError, match=r"unknown format 'xml' \(known: terminal, text"):
        get_reporter("xml")


@pytest.mark.parametrize(
    ("name", "env", "expected"),
    [
        ("auto", {"GITHUB_ACTIONS": "true"}, "github"),
        ("auto", {}, "terminal"),
        ("auto", {"GITHUB_ACTIONS": ""}, "terminal"),
        ("sarif", {"GITHUB_ACTIONS": "true"}, "sarif"),
    ],
)
def test_choose_format(name: str, env: dict[str, str], expected: str) -> None:
    assert choose_format(name, env) == expected


# --- golden output ---


@pytest.mark.parametrize(
    ("name", "golden"),
    [
        ("text", "text.txt"),
        ("json", "scan.json"),
        ("jsonl", "findings.jsonl"),
        ("sarif", "scan.sarif"),
        ("junit", "junit.xml"),
        ("github", "github.txt"),
    ],
)
def test_golden(name: str, golden: str, result: ScanResult) -> None:
    check_golden(golden, render(make(name), result))


def test_text_exact_lines(result: ScanResult) -> None:
    lines = render(TextReporter(OPTIONS), result).splitlines()
    assert lines[0] == (
        "q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG:12: error Q178436 ims-receipt-loop: "
        "Delivery receipt loops between imc1.company.com and relay.company.com for user2@company.com"
        " | 2/7/01 5:01:20 PM 10.0.0.2 RCPT TO:<user2@company.com>"
    )
    assert [line.split(": ", 2)[1] for line in lines] == [
        "error Q178436 ims-receipt-loop",
        "warning LOOP003 hop-limit-exceeded",
        "info LOOP006 auto-reply-volley",
    ]
    assert lines[2].startswith("archive/msg-0001.eml: info")  # line 0: the whole file, no `:0`


def test_github_exact_annotation(result: ScanResult) -> None:
    out = render(GithubReporter(OPTIONS), result).splitlines()
    assert out[0] == "::group::q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG"
    assert out[1].startswith(
        "::error file=q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG,line=12,"
        "title=Q178436 ims-receipt-loop::Delivery receipt loops between imc1.company.com"
    )
    assert out[2] == "::endgroup::"
    assert out[4].startswith("::warning file=postfix-cycle/mx1/maillog,line=7,title=LOOP003 hop-limit-exceeded::")
    # line 0 means the whole file: no `line=` property.
    assert out[7].startswith("::notice file=archive/msg-0001.eml,title=LOOP006 auto-reply-volley::")


def test_json_document_fields(result: ScanResult) -> None:
    doc = json.loads(render(JsonReporter(OPTIONS), result))
    assert list(doc) == [
        "version", "tool", "status", "fail_on", "summary", "findings", "parse_issues",
        "files", "servers", "formats", "notes", "host_map",
    ]  # fmt: skip
    assert doc["status"] == "loops-found"
    assert doc["summary"]["error"] == 1 and doc["summary"]["warning"] == 1 and doc["summary"]["info"] == 1
    assert doc["summary"]["suppressed"] == 1 and doc["summary"]["issues"] == 4
    q = doc["findings"][0]
    assert (q["rule_id"], q["passes"], q["hosts"]) == ("Q178436", 42, ["imc1.company.com", "relay.company.com"])
    assert q["first_seen"] == "2001-02-07T22:01:20Z"
    assert q["location"] == {"path": "q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG", "line": 12}
    assert doc["parse_issues"]["counts"] == {"bad-timestamp": 3, "unknown-format": 1}
    assert [f["path"] for f in doc["files"]] == sorted(f["path"] for f in doc["files"])


def test_json_clean(clean_result: ScanResult) -> None:
    doc = json.loads(render(JsonReporter(OPTIONS), clean_result))
    assert doc["status"] == "clean" and doc["findings"] == [] and doc["summary"]["findings"] == 0


def test_jsonl_one_finding_per_line(result: ScanResult, clean_result: ScanResult) -> None:
    lines = render(JsonLinesReporter(OPTIONS), result).splitlines()
    assert [json.loads(line)["rule_id"] for line in lines] == ["Q178436", "LOOP003", "LOOP006"]
    assert all(json.loads(line)["version"] == 1 for line in lines)
    assert render(JsonLinesReporter(OPTIONS), clean_result) == ""


def test_sarif_structure(result: ScanResult) -> None:
    run = json.loads(render(make("sarif"), result))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["Q178436", "LOOP001", "LOOP003", "LOOP006"]  # LOOP006 from its finding
    first = run["results"][0]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"] == "Q178436"
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert first["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "q178436-site-connector/relay/maillog"
    )
    assert first["partialFingerprints"] == {"imsdiagFingerprint/v1": "q178436-7d1e0c5a9b3f"}
    assert [r["level"] for r in run["results"]] == ["error", "warning", "note"]
    assert "region" not in run["results"][2]["locations"][0]["physicalLocation"]
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["toolExecutionNotifications"][0] == {
        "level": "warning",
        "message": {"text": "3 parse issue(s) bad-timestamp"},
        "descriptor": {"id": "bad-timestamp"},
    }


def test_sarif_uses_rule_registry(result: ScanResult, monkeypatch: pytest.MonkeyPatch) -> None:
    from imsdiag.rules import all_rules

    # As a scan makes it: the result carries every registered rule's metadata.
    result = replace(result, rules=factories.rules())
    driver = json.loads(render(SarifReporter(OPTIONS), result))["runs"][0]["tool"]["driver"]
    registered = [r.id for r in all_rules()]
    assert [r["id"] for r in driver["rules"]][: len(registered)] == registered
    q = driver["rules"][0]
    assert q["name"] == "ims-receipt-loop" and q["fullDescription"]["text"]
    # Markdown where viewers render it, plain words in `text`; no link to docs nobody published.
    assert "**What it means.**" in q["help"]["markdown"]
    assert "What it means." in q["help"]["text"] and "**" not in q["help"]["text"]
    assert "helpUri" not in q
    assert "informationUri" not in driver  # imsdiag has no published home page to link to
    # A site that publishes the rule docs gets links to them.
    monkeypatch.setenv("IMSDIAG_DOCS_URL", "https://wiki.example.com/imsdiag/rules")
    linked = json.loads(render(SarifReporter(OPTIONS), replace(result, rules=factories.rules())))
    q = linked["runs"][0]["tool"]["driver"]["rules"][0]
    assert q["helpUri"] == "https://wiki.example.com/imsdiag/rules#q178436-ims-receipt-loop"


# The only addresses imsdiag may print or link to: ones that exist whoever runs it. Its own repository and
# docs are not published (rule links come from IMSDIAG_DOCS_URL), and example.* hosts are examples.
KNOWN_URLS = {
    "https://json.schemastore.org/sarif-2.1.0.json",  # SARIF's schema, as GitHub's docs name it
    "http://www.w3.org/2000/svg",  # the SVG namespace of the HTML report's drawings
}


def test_the_package_links_only_to_addresses_that_exist() -> None:
    found = {
        url
        for path in (ROOT / "imsdiag").rglob("*")
        if path.is_file() and path.suffix in {".py", ".j2", ".css"}
        for url in re.findall(r"https?://[^\s\"'<>()`]+", path.read_text(encoding="utf-8"))
        if not re.match(r"https?://([\w-]+\.)*example\.(com|org|net)\b", url)
    }
    assert found <= KNOWN_URLS, sorted(found - KNOWN_URLS)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, by absolute name, and every string it hands to importlib."""
    package = "imsdiag.reporters"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            found.update(f"{module}.{alias.name}" for alias in node.names)
            found.add(module)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("import_module", "__import__")):
            found.update(arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant))
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "imsdiag" / "reporters").glob("*.py")), ids=lambda p: p.name)
def test_reporters_do_not_import_the_rules(path: Path) -> None:
    # The result carries the rule metadata; a reporter that reached for the registry would decide, not render.
    assert not [m for m in _imports(path) if m == "imsdiag.rules" or m.startswith("imsdiag.rules.")]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("logs/a b/L0000001.LOG", "logs/a%20b/L0000001.LOG"),
        ("logs\\imc1\\x.log", "logs/imc1/x.log"),
        ("/var/log/maillog", "file:///var/log/maillog"),
        ("C:\\Exchsrvr\\Imcdata\\Log\\L1.LOG", "file:///C:/Exchsrvr/Imcdata/Log/L1.LOG"),
        ("odd#name?.log", "odd%23name%3F.log"),
    ],
)
def test_sarif_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


def test_junit_structure(result: ScanResult) -> None:
    root = ET.fromstring(render(make("junit"), result))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "imsdiag"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [
        "Q178436 ims-receipt-loop", "LOOP001 null-sender-ping-pong", "LOOP003 hop-limit-exceeded",
        "LOOP006 auto-reply-volley",
    ]  # fmt: skip
    assert all(c.get("classname") == "imsdiag.rules" for c in cases.values())
    failure = cases["Q178436 ims-receipt-loop"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("Delivery receipt loops")
    assert "q178436-site-connector/imc1/Imcdata/Log/L0000001.LOG:12: 2/7/01" in (failure.text or "")
    assert cases["LOOP003 hop-limit-exceeded"].find("failure") is None
    assert cases["LOOP003 hop-limit-exceeded"].find("system-out") is not None
    assert suite.get("failures") == "1" and suite.get("tests") == "4"


def test_junit_fail_on_warning(result: ScanResult) -> None:
    root = ET.fromstring(render(make("junit", fail_on="warning"), result))
    assert [f.get("type") for f in root.iter("failure")] == ["error", "warning"]


def test_at_or_above() -> None:
    assert at_or_above(Severity.WARNING, "warning") and not at_or_above(Severity.INFO, "warning")
    assert at_or_above(Severity.ERROR, "info") and not at_or_above(Severity.ERROR, "never")


def test_iso_time_is_utc_z() -> None:
    from datetime import datetime, timedelta, timezone

    eastern = timezone(timedelta(hours=-5))
    assert iso_time(datetime(2001, 2, 7, 17, 1, 20, tzinfo=eastern)) == "2001-02-07T22:01:20Z"
    assert iso_time(datetime(2001, 2, 7, 17, 1, 20)) == "2001-02-07T17:01:20Z"  # naive is taken as UTC
    assert iso_time(None) is None


# --- schemas ---


def test_json_matches_schema(result: ScanResult, clean_result: ScanResult, hostile_result: ScanResult) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCAN_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for res in (result, clean_result, hostile_result):
        validator.validate(json.loads(render(JsonReporter(OPTIONS), res)))
    finding_schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/finding"}
    for line in render(JsonLinesReporter(OPTIONS), result).splitlines():
        jsonschema.Draft202012Validator(finding_schema).validate(json.loads(line))


def _sarif_validator() -> object:
    jsonschema = pytest.importorskip("jsonschema")
    path: Path = SCHEMAS / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip(f"SARIF schema not found at {path}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def test_sarif_matches_schema(result: ScanResult, clean_result: ScanResult, hostile_result: ScanResult) -> None:
    validator = _sarif_validator()
    for res in (result, clean_result, hostile_result):
        validator.validate(json.loads(render(make("sarif"), res)))  # type: ignore[attr-defined]
    every_rule = replace(result, rules=factories.rules())
    validator.validate(json.loads(render(SarifReporter(OPTIONS), every_rule)))  # type: ignore[attr-defined]


# --- hostile log text ---

RAW_DANGER = ("\x1b", "\x07", "\x00", "\r", "\ud800")


def _encodes(text: str) -> None:
    text.encode("utf-8")  # a lone surrogate would raise here, as it would on a real stdout


@pytest.mark.parametrize("name", CI_FORMATS)
def test_hostile_text_never_raw(name: str, hostile_result: ScanResult) -> None:
    out = render(make(name), hostile_result)
    _encodes(out)
    for char in RAW_DANGER:
        assert char not in out, (name, char)


def test_hostile_text_line(hostile_result: ScanResult) -> None:
    out = render(TextReporter(OPTIONS), hostile_result)
    assert out.count("\n") == 1
    assert out == (
        "logs/odd,name:1.log:3: error Q178436 ims-receipt-loop: Loop on Subject: \\x1b]0;owned\\x07 "
        "[bold red]boom[/] %0A::error::x ]]> nul\\x00here \\ud800 end\\nnext\\r | Subject: \\x1b]0;owned\\x07 "
        "[bold red]boom[/] %0A::error::x ]]> nul\\x00here \\ud800 end\\nnext\\r\n"
    )


def test_hostile_github_cannot_inject(hostile_result: ScanResult) -> None:
    lines = render(GithubReporter(OPTIONS), hostile_result).splitlines()
    assert len(lines) == 3
    assert lines[0] == "::group::logs/odd,name:1.log"
    assert lines[2] == "::endgroup::"
    annotation = lines[1]
    assert annotation.startswith(
        "::error file=logs/odd%2Cname%3A1.log,line=3,title=Q178436 ims-receipt-loop::"
        "Loop on Subject: \\x1b]0;owned\\x07 [bold red]boom[/] %250A::error::x ]]> nul\\x00here "
        "\\ud800 end\\nnext\\r%0A"
    )
    # The only real command separators are the property/message split: the injected text stays data.
    assert annotation.count("%0A") == 2 and "%250A::error::" in annotation


def test_github_escape_rules() -> None:
    assert escape_data("100%\r\n::x") == "100%25%0D%0A::x"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


@pytest.mark.parametrize("name", ["json", "jsonl", "sarif"])
def test_hostile_json_round_trips(name: str, hostile_result: ScanResult) -> None:
    out = render(make(name), hostile_result)
    doc = json.loads(out.splitlines()[0] if name == "jsonl" else out)
    expected = HOSTILE.replace("\ud800", "\ufffd")  # only the unencodable surrogate changes
    if name == "sarif":
        res = doc["runs"][0]["results"][0]
        assert res["locations"][0]["physicalLocation"]["region"]["snippet"]["text"] == expected
        assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "logs/odd%2Cname%3A1.log"
    else:
        finding = doc if name == "jsonl" else doc["findings"][0]
        assert finding["evidence"][0]["text"] == expected
        assert finding["title"] == f"Loop on {expected}"
    assert "\\u001b]0;owned\\u0007" in out and "\\u0000" in out


# GitLab's documented Code Quality fields (docs.gitlab.com/ci/testing/code_quality, "Code Quality report format").
GITLAB_ISSUE = {
    "type": "object",
    "required": ["description", "check_name", "fingerprint", "severity", "location"],
    "properties": {
        "description": {"type": "string", "minLength": 1},
        "check_name": {"type": "string", "minLength": 1},
        "fingerprint": {"type": "string", "minLength": 1},
        "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
        "location": {
            "type": "object",
            "required": ["path", "lines"],
            "properties": {
                "path": {"type": "string"},
                "lines": {"type": "object", "required": ["begin"], "properties": {"begin": {"type": "integer"}}},
            },
        },
    },
}


def test_gitlab_code_quality_fields(result: ScanResult, hostile_result: ScanResult) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    twice = replace(result, findings=(*result.findings, result.findings[0]))  # one loop split in two
    for res in (result, hostile_result, twice):
        doc = json.loads(render(make("gitlab"), res))
        jsonschema.validate(doc, {"type": "array", "items": GITLAB_ISSUE})
        assert len({i["fingerprint"] for i in doc}) == len(doc)  # GitLab keeps one issue per fingerprint
    first = json.loads(render(make("gitlab"), result))[0]
    assert (first["check_name"], first["severity"]) == ("Q178436 ims-receipt-loop", "critical")
    hostile = json.loads(render(make("gitlab"), hostile_result))[0]
    assert hostile["location"] == {"path": "logs/odd,name:1.log", "lines": {"begin": 3}}
    assert hostile["description"].startswith("Loop on " + HOSTILE.replace("\ud800", "\ufffd").rstrip("."))


def test_hostile_junit_well_formed(hostile_result: ScanResult) -> None:
    out = render(make("junit"), hostile_result)
    root = ET.fromstring(out.encode("utf-8"))  # expat rejects any ill-formed XML
    failure = next(root.iter("failure"))
    stripped = "Subject: ]0;owned [bold red]boom[/] %0A::error::x ]]> nulhere  end\nnext\n"
    assert failure.get("message") == f"Loop on {stripped}"
    assert f"logs/odd,name:1.log:3: {stripped}" in (failure.text or "")
    assert "]]&gt;" in out


def test_hostile_c1_and_bidi_escaped_in_json() -> None:
    from imsdiag.jsontext import dumps

    out = dumps({"t": "a\x9b31mb\u202ec\x7f"})
    assert out == '{\n  "t": "a\\u009b31mb\\u202ec\\u007f"\n}'
    assert json.loads(out) == {"t": "a\x9b31mb\u202ec\x7f"}


def test_every_format_documented() -> None:
    text = (ROOT / "docs" / "output-formats.md").read_text(encoding="utf-8")
    for name in FORMAT_CHOICES:
        assert f"| `{name}` |" in text, name
    for name in CI_FORMATS:
        assert f"\n## {name}\n" in text, name
