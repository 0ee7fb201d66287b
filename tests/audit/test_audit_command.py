"""`imsdiag audit` end to end: the shipped directory sample's verdicts, goldens per format, schema, exit codes,
hostile export content, and agreement with `scan` on the shipped Q178436 logs.

Regenerate the goldens after an intended change with `IMSDIAG_REGEN_GOLDEN=1 python -m pytest tests/audit`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imsdiag.audit.records import Verdict
from imsdiag.audit.run import AuditSettings, audit
from imsdiag.audit.summary import AuditResult
from imsdiag.cli import cli
from imsdiag.reporters import AUDIT_REPORTERS, ReportOptions, get_audit_reporter

from ..clirunner import cli_runner
from ..conftest import ROOT, SCHEMAS

D = "sample_logs/directory/"
GOLDEN = ROOT / "tests" / "golden" / "audit-directory"
REGEN = os.environ.get("IMSDIAG_REGEN_GOLDEN") == "1"
ZONES = (D + "company.com.zone", D + "company.net.zone")
IMS = (("imc1.company.com", "5.5.1960.3"), ("imc2.company.com", "5.5.1960.3"), ("imc3.company.com", "5.5.2232.9"))
ARGS = [
    "--zone", ZONES[0], "--zone", ZONES[1], "--mx", "company.co.uk=imc2.company.com", "--site", "IMC3=North",
    "--ims", "imc1.company.com=5.5.1960.3", "--ims", "imc2.company.com=5.5.1960.3",
    "--ims", "imc3.company.com=5.5.2232.9",
]  # fmt: skip
EXPECTED = {  # sample_logs/directory/README.md, written before the tool ran
    "user1": "safe",
    "user2": "at-risk",
    "jdoe": "at-risk",
    "carol": "safe",
    "dave": "safe",
    "frank": "safe",
    "grace": "at-risk",
    "heidi": "unknown",
    "ivan": "unknown",
    "judy": "safe",
    "kate": "at-risk",
    "leo": "unknown",
}
EXTENSIONS = {"terminal": "txt", "json": "json", "csv": "csv", "sarif": "sarif"}


@pytest.fixture(scope="module")
def result() -> AuditResult:
    cwd = Path.cwd()
    os.chdir(ROOT)  # paths as a user types them from the checkout's root
    try:
        return audit(
            AuditSettings(
                exports=(D + "company-dsexport.csv",),
                zones=ZONES,
                mx=(("company.co.uk", "imc2.company.com"),),
                ims=IMS,
                sites=(("IMC3", "North"),),
            )
        )
    finally:
        os.chdir(cwd)


def run(*args: str) -> tuple[int, str, str]:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        r = cli_runner().invoke(cli, ["audit", *args], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return r.exit_code, r.stdout, r.stderr


def render(result: AuditResult, fmt: str, verbose: int = 0) -> str:
    out = io.StringIO()
    get_audit_reporter(fmt, ReportOptions(color="never", width=100, tool_version="test", verbose=verbose)).report(
        result, out
    )
    return out.getvalue()


def test_the_sample_verdicts_are_the_readme_s(result: AuditResult) -> None:
    assert {v.mailbox.mailbox: v.verdict.value for v in result.verdicts} == EXPECTED
    first = result.patch_first
    assert first is not None and (first.server, first.at_risk, first.fixed_build) == ("IMC1", 3, "5.5.2186.0")
    assert [(s.server, s.at_risk) for s in result.ims if s.at_risk] == [("IMC1", 3), ("IMC2", 1)]
    assert [(s.site, s.at_risk) for s in result.sites if s.at_risk] == [("West", 2), ("East", 1), ("South", 1)]
    assert [(i.location.line, i.code) for i in result.issues] == [(12, "short-row"), (15, "bad-proxy")]
    assert result.files[0].skipped == (("Remote", 1),)


@pytest.mark.parametrize(
    ("export", "sites", "expected"),
    [
        ("company-attributes.csv", ("IMC3=North",), {"user1": "safe", "user2": "at-risk", "dave": "safe"}),
        ("company.ldf", ("IMC3=North", "IMC1=East"), {"user2": "at-risk", "zoe": "at-risk", "dave": "safe"}),
        ("company.ldf", ("IMC3=North",), {"user2": "unknown", "zoe": "unknown", "dave": "safe"}),
        ("company-proxyaddresses.csv", ("IMC3=North",), {"user2": "at-risk", "frank": "safe", "user1": "safe"}),
    ],
)
def test_the_other_exports(export: str, sites: tuple[str, ...], expected: dict[str, str]) -> None:
    args = [D + export, *ARGS[:4], *(a for s in sites for a in ("--site", s)), *ARGS[8:], "-f", "json", "-q"]
    code, out, _ = run(*args)
    doc = json.loads(out)
    assert {u["mailbox"]: u["verdict"] for u in doc["users"]} == expected
    assert code == (1 if "at-risk" in expected.values() else 0)


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_golden_outputs(result: AuditResult, fmt: str) -> None:
    path = GOLDEN / f"{fmt}.{EXTENSIONS[fmt]}"
    got = render(result, fmt)
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(got.encode("utf-8"))
    assert got == path.read_bytes().decode("utf-8")  # bytes: the CSV's CRLF line ends are part of it


def test_golden_terminal_verbose(result: AuditResult) -> None:
    path = GOLDEN / "terminal-verbose.txt"
    got = render(result, "terminal", verbose=1)
    if REGEN:
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")
    assert "judy" in got and "judy" not in render(result, "terminal")


def test_every_audit_format_has_a_golden() -> None:
    assert set(AUDIT_REPORTERS) == set(EXTENSIONS)


def test_the_command_writes_what_the_golden_holds() -> None:
    code, out, err = run(D + "company-dsexport.csv", *ARGS, "-f", "json")
    assert code == 1
    doc = json.loads(out)
    golden = json.loads((GOLDEN / "json.json").read_text())
    doc["tool"]["version"] = golden["tool"]["version"]
    assert doc == golden
    assert "imsdiag: 12 mailbox(es): 4 at risk, 5 safe, 3 unknown" in err


def test_json_matches_the_schema(result: AuditResult) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "schema" / "audit-v1.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads(render(result, "json"))
    jsonschema.validate(doc, schema)
    user = doc["users"][1]
    assert {k: user[k] for k in ("mailbox", "primary", "home_server", "site", "verdict")} == {
        "mailbox": "user2",
        "primary": "user2@company.com",
        "home_server": "IMC2",
        "site": "West",
        "verdict": "at-risk",
    }
    assert "smtp:user2@imc2.company.com" in user["proxies"] and user["reason"]


def test_sarif_matches_the_official_schema_and_points_at_export_lines(result: AuditResult) -> None:
    doc = json.loads(render(result, "sarif"))
    results = doc["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results][:2] == [
        ("Q178436", 3),
        ("Q178436", 4),
    ]
    assert {r["level"] for r in results} == {"error", "warning"} and len(results) == 7
    schema_path = SCHEMAS / "sarif-schema-2.1.0.json"
    if not schema_path.is_file():
        pytest.skip("SARIF schema not found beside the checkout")
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, json.loads(schema_path.read_text()))


def test_csv_has_a_row_per_mailbox(result: AuditResult) -> None:
    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert [(r["Mailbox"], r["Verdict"]) for r in rows] == list(EXPECTED.items())
    assert rows[1]["E-mail Addresses"].split("%")[1] == "SMTP:user2@company.com"


def test_exit_codes() -> None:
    base = [D + "company-dsexport.csv", *ARGS]
    assert run(*base, "-q", "-f", "json")[0] == 1
    assert run(*base, "-q", "-f", "json", "--fail-on", "never")[0] == 0
    clean = [D + "company-attributes.csv", "--zone", ZONES[0], "--ims", "imc1.company.com=5.5.2232.9"]
    assert run(*clean, "-q", "-f", "json")[0] == 0
    # Unknown verdicts are warnings: --fail-on warning fails on them.
    unknown = [D + "company-attributes.csv", "--zone", ZONES[0], "-q", "-f", "json"]
    assert run(*unknown)[0] == 0 and run(*unknown, "--fail-on", "warning")[0] == 1
    code, _, err = run(D + "no-such-export.csv")
    assert code == 3 and "cannot read export" in err
    code, _, err = run(D + "company.com.zone")
    assert code == 3 and "no mailbox found" in err
    code, _, err = run(D + "company-dsexport.csv", "--zone", D + "missing.zone")
    assert code == 3 and "cannot read zone file" in err
    assert run(D + "company-dsexport.csv", "--ims", "imc1=latest")[0] == 2
    assert run(D + "company-dsexport.csv", "--mx", "company.com")[0] == 2


def test_hostile_export_content_never_reaches_the_terminal_raw(tmp_path: Path) -> None:
    evil = "\x1b]0;pwned\x07\x1b[31m[bold]x[/bold]\u202e"
    export = tmp_path / "evil.csv"
    export.write_text(
        "Display Name,Alias Name,Home-Server,E-mail Addresses\n"
        f'"{evil}",{evil},IMC2,SMTP:user2@company.com%smtp:user2@imc2.company.com%X400:o={evil}\n'
        f"=cmd|' /C calc'!A0,=HYPERLINK(1),IMC2,SMTP:a@company.com%smtp:a@imc2.company.com\n",
        encoding="utf-8",
    )
    zone = ROOT / ZONES[0]
    for fmt in ("terminal", "json", "sarif", "csv"):
        facts = ("--zone", str(zone), "--ims", "imc1.company.com=5.5.1960.3", "--site", "IMC1=East")
        code, out, _ = run(str(export), *facts, "-v", "-f", fmt)
        assert code == 1
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    _, out, _ = run(str(export), "--zone", str(zone), "-v", "--color", "always")
    assert "\\x1b]0;pwned" in out and "[bold]x[/bold]" in out  # shown escaped, markup printed literally
    _, out, _ = run(str(export), "--zone", str(zone), "-f", "csv")
    assert "'=cmd|" in out and "'=HYPERLINK" in out  # no formula reaches a spreadsheet


def test_agrees_with_scan_on_the_shipped_q178436_logs() -> None:
    """scan finds user2@company.com looping in q178436-site-connector; audit, given those logs, says at risk."""
    code, out, _ = run(
        D + "company-dsexport.csv", "--zone", ZONES[0], "--logs", "sample_logs/q178436-site-connector", "-f", "json"
    )
    doc = json.loads(out)
    user2 = next(u for u in doc["users"] if u["mailbox"] == "user2")
    assert (user2["verdict"], user2["looping_passes"]) == ("at-risk", 42)
    assert user2["ims"] == {"host": "imc1.company.com", "server": "IMC1", "site": "East", "build": "5.5.1960.3"}
    assert "looping now in the logs given (42 passes" in user2["reason"]
    imc1 = next(i for i in doc["ims"] if i["server"] == "IMC1")
    assert imc1["build_source"].startswith("logs") and code == 1
    # Without the loop in the logs the same facts still put user2 at risk: the build is what decides.
    jdoe = next(u for u in doc["users"] if u["mailbox"] == "jdoe")
    assert (jdoe["verdict"], jdoe["code"], jdoe["looping_passes"]) == ("at-risk", "q178436", 0)


def test_import_of_the_cli_does_not_load_the_audit() -> None:
    code = "import sys, imsdiag.cli; print(sorted(m for m in sys.modules if m.startswith('imsdiag.audit.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['imsdiag.audit.options']"


def test_verdict_severity() -> None:
    assert Verdict.AT_RISK.severity is not None and Verdict.SAFE.severity is None


def test_routing_and_ims_facts_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "dns").mkdir()
    (tmp_path / "dns" / "company.com.zone").write_text((ROOT / ZONES[0]).read_text())
    (tmp_path / "imsdiag.toml").write_text(
        'zone = ["dns/company.com.zone"]\n'
        'mx = { "company.co.uk" = "imc2.company.com" }\n'
        'ims = { "imc1.company.com" = "5.5.2232.9", "imc2.company.com" = "5.5.1960.3" }\n'
        'site = { IMC3 = "North" }\n'
    )
    export = str(ROOT / D / "company-dsexport.csv")
    config = ["--config", str(tmp_path / "imsdiag.toml"), "-f", "json", "-q"]
    _, out, _ = run(export, *config)
    got = {u["mailbox"]: (u["verdict"], u["code"]) for u in json.loads(out)["users"]}
    assert got["user2"] == ("safe", "fixed-build") and got["kate"] == ("at-risk", "q178436")
    # The command line wins for the same host.
    _, out, _ = run(export, *config, "--ims", "imc1.company.com=5.5.1960.3")
    assert {u["mailbox"]: u["verdict"] for u in json.loads(out)["users"]}["user2"] == "at-risk"
    (tmp_path / "bad.toml").write_text('ims = { "imc1" = "latest" }\n')
    code, _, err = run(export, "--config", str(tmp_path / "bad.toml"))
    assert code == 3 and 'bad value for "ims"' in err


def test_output_file_and_refusing_to_overwrite_an_input(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes((ROOT / D / "company-attributes.csv").read_bytes())
    out = tmp_path / "audit.csv"
    code, stdout, _ = run(str(export), "--zone", str(ROOT / ZONES[0]), "-f", "csv", "-o", str(out), "-q")
    assert code == 0 and stdout == "" and out.read_text().startswith("Mailbox,Display Name,Home-Server")
    code, _, err = run(str(export), "-f", "csv", "-o", str(export))
    assert code == 3 and "input" in err and export.read_bytes() == (ROOT / D / "company-attributes.csv").read_bytes()
    assert run(str(export), "-f", "xml")[0] == 2


def test_the_terminal_lists_at_most_max_rows_at_risk_first(tmp_path: Path) -> None:
    from imsdiag.reporters.audit_terminal import MAX_ROWS

    rows = ["Alias Name,Home-Server,E-mail Addresses,Obj-Container"]
    rows += [f"safe{i},IMC1,SMTP:s{i}@company.com,/o=Company/ou=East/cn=Recipients" for i in range(5)]
    rows += [
        f"u{i},IMC2,SMTP:u{i}@company.com%smtp:u{i}@imc2.company.com,/o=Company/ou=West/cn=Recipients"
        for i in range(MAX_ROWS + 50)
    ]
    export = tmp_path / "many.csv"
    export.write_text("\n".join(rows) + "\n")
    args = [str(export), "--zone", str(ROOT / ZONES[0]), "--ims", "imc1.company.com=5.5.1960.3", "-v"]
    code, out, _ = run(*args)
    assert code == 1 and f"Mailboxes ({MAX_ROWS} of {MAX_ROWS + 55})" in out
    assert "55 more: -vv lists them all" in out and "safe0" not in out  # at risk first, the safe ones cut
    assert "safe0" in run(*args, "-v")[1]  # -v twice: every mailbox
