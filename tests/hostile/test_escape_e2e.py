"""End to end: hostile subjects and host names planted in a real loop reach no output format raw."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from imsdiag.cli import cli

from ..clirunner import cli_runner
from ..conftest import SAMPLES
from ..htmlcheck import parse, safety_problems

# Valid UTF-8, so each character survives decoding: an OSC title change ended by BEL, rich markup,
# a URL-encoded newline followed by a workflow command, a CDATA end, a NUL, a one-byte CSI (U+009B),
# a bidi override.
HOSTILE = "\x1b]0;owned\x07[bold red]PWN[/bold red]%0A::error::injected]]>\x00\u009b31m\u202eevil"
# A UTF-16 surrogate written as UTF-8 bytes (CESU/WTF-8), as a broken Windows tool might.
SURROGATE = b"\xed\xa0\x80"

FORMATS = ["terminal", "text", "json", "jsonl", "junit", "sarif", "github", "html"]
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def hostile_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Q178436 sample with the hostile text in every archived subject and in log lines."""
    root = tmp_path_factory.mktemp("hostile") / "q178436"
    shutil.copytree(SAMPLES / "q178436-site-connector", root)
    payload = HOSTILE.encode("utf-8")
    planted = 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        new = data.replace(b"Subject: Delivered: Quarterly figures", b"Subject: Delivered: Quarterly figures" + payload)
        new = new.replace(b">>> MAIL FROM: <>", b">>> MAIL FROM: <> X-TAG=" + payload)
        new = new.replace(b"<<< EHLO relay.company.com", b"<<< EHLO relay.company.com" + SURROGATE + payload)
        new = new.replace(b"relay=imc1.company.com.", b"relay=imc1.company.com." + payload.replace(b" ", b""))
        if new != data:
            planted += 1
            path.write_bytes(new)
    assert planted > 50
    return root


def _scan(root: Path, fmt: str, *extra: str) -> bytes:
    result = cli_runner().invoke(
        cli, ["scan", str(root), "--no-index", "-q", "-f", fmt, *extra], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output  # the loop is still found through the hostile text
    return result.stdout_bytes


def _assert_no_raw_controls(out: bytes, allow: str = "") -> str:
    text = out.decode("utf-8")  # strict: a lone surrogate cannot even be encoded, so none got out
    bad = sorted({f"U+{ord(c):04X}" for c in _RAW_CONTROL.findall(text) if c not in "\t\n" + allow})
    assert not bad, f"raw control characters in the output: {bad}"
    return text


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_raw_control_byte_in_any_format(hostile_logs: Path, fmt: str) -> None:
    text = _assert_no_raw_controls(_scan(hostile_logs, fmt))
    # Shown and made harmless where the report quotes that line (the text format quotes the first evidence only).
    assert "owned" in text or fmt in ("junit", "github", "jsonl", "json", "sarif", "text", "html")


def test_terminal_with_colour_keeps_only_its_own_sgr_codes(hostile_logs: Path) -> None:
    text = _scan(hostile_logs, "terminal", "--color", "always").decode("utf-8")
    # Colour on: rich's own `ESC [ ... m` codes are expected; nothing else may carry an ESC.
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b" not in stripped and "\x07" not in stripped
    assert "\\x1b]0;owned\\x07" in stripped  # the planted sequence is shown as text
    assert "[bold" in stripped and "[/bold" in stripped  # markup printed literally, not interpreted


def test_json_round_trips_the_hostile_text(hostile_logs: Path) -> None:
    doc = json.loads(_assert_no_raw_controls(_scan(hostile_logs, "json")))
    (finding,) = [f for f in doc["findings"] if f["rule_id"] == "Q178436"]
    texts = " ".join(e["text"] for e in finding["evidence"])
    assert "owned" in texts and "[bold red]PWN" in texts


def test_jsonl_every_line_parses(hostile_logs: Path) -> None:
    lines = _assert_no_raw_controls(_scan(hostile_logs, "jsonl")).splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r.get("rule_id") == "Q178436" for r in records)


def test_sarif_parses(hostile_logs: Path) -> None:
    doc = json.loads(_assert_no_raw_controls(_scan(hostile_logs, "sarif")))
    assert doc["version"] == "2.1.0"
    assert any(r["ruleId"] == "Q178436" for r in doc["runs"][0]["results"])


def test_junit_is_well_formed_xml(hostile_logs: Path) -> None:
    # C0 controls, NUL and surrogates are gone; C1 controls and bidi overrides are shown escaped.
    text = _assert_no_raw_controls(_scan(hostile_logs, "junit"))
    root = ET.fromstring(text)
    failures = root.findall(".//failure")
    assert failures and any("Q178436" in (f.get("message") or "") + (f.text or "") for f in failures)


def test_github_one_command_per_finding(hostile_logs: Path) -> None:
    doc = json.loads(_scan(hostile_logs, "json"))
    text = _assert_no_raw_controls(_scan(hostile_logs, "github"))
    commands = [line for line in text.splitlines() if line.startswith("::")]
    errors = [line for line in commands if line.startswith("::error")]
    assert len(errors) == sum(1 for f in doc["findings"] if f["severity"] == "error")
    assert not any(line.startswith("::error::injected") for line in text.splitlines())
    for line in errors:
        assert re.match(r"::error file=[^,:]+,line=\d+,title=[^:]+::", line), line


def test_text_format_one_line_per_finding(hostile_logs: Path) -> None:
    doc = json.loads(_scan(hostile_logs, "json"))
    text = _assert_no_raw_controls(_scan(hostile_logs, "text"))
    assert not any(line.startswith("::") for line in text.splitlines())
    assert sum(1 for line in text.splitlines() if "Q178436" in line) >= 1
    assert len(doc["findings"]) >= 1


# Markup, attribute breakouts and URLs, with a bidi override and controls, where an HTML report shows log text.
HTML_PAYLOAD = (
    '<script>alert(1)</script>"\'><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>'
    "<svg onload=alert(1)>\u202egnp.exe\u2066\x1b[2J\x00"
)


@pytest.fixture(scope="module")
def html_hostile_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Q178436 sample with HTML attacks in subjects, MAIL FROM lines, host names and a file's name."""
    root = tmp_path_factory.mktemp("hostile-html") / "q178436"
    shutil.copytree(SAMPLES / "q178436-site-connector", root)
    payload = HTML_PAYLOAD.encode("utf-8")
    planted = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        new = data.replace(b"Subject: Delivered: Quarterly figures", b"Subject: Delivered: Quarterly figures" + payload)
        new = new.replace(b">>> MAIL FROM: <>", b">>> MAIL FROM: <> X-TAG=" + payload)
        new = new.replace(b"<<< EHLO relay.company.com", b"<<< EHLO relay.company.com" + payload)
        new = new.replace(b"relay=imc1.company.com.", b"relay=imc1.company.com." + payload.replace(b" ", b""))
        if new != data:
            planted += 1
            path.write_bytes(new)
    assert planted > 50
    # A file name is log text too: it is shown as the evidence's path.
    archive = root / "imc1" / "Exchsrvr" / "Imcdata" / "Out" / "Archive" / "XWPXLIEX"  # an evidence line's file
    archive.rename(archive.with_name('<script>alert(2)<\u202e>"onmouseover=x'))
    return root


def test_html_report_keeps_log_text_as_text(html_hostile_logs: Path) -> None:
    text = _assert_no_raw_controls(_scan(html_hostile_logs, "html"))
    assert safety_problems(text) == []
    page = parse(text)
    assert not page.find("script") and not page.find("img")
    assert all(a.attrs.get("href", "#").startswith("#") for a in page.find("a"))
    shown = page.all_text
    # The attacks are there to read, as text.
    assert "<script>alert(1)</script>" in shown
    assert "onerror=alert(1)>" in shown
    assert '/<script>alert(2)<\\u202e>"onmouseover=x:1' in shown  # the file name, with its bidi override shown
    assert "\\u202egnp.exe" in shown  # the bidi override made visible
    assert "\u202e" not in text and "\x1b" not in text


def test_html_explain_keeps_log_text_as_text(html_hostile_logs: Path) -> None:
    result = cli_runner().invoke(
        cli,
        [
            "explain",
            "47CE0B8704CBB1EB0296855D0288EA65@imc1.company.com",
            "--logs",
            str(html_hostile_logs),
            "--no-index",
            "-f",
            "html",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    text = _assert_no_raw_controls(result.stdout_bytes)
    assert safety_problems(text) == []
    assert "<script>alert(1)</script>" in parse(text).all_text
