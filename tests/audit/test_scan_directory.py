"""`scan --directory EXPORT`: the Q178436 finding takes the user's proxies from the export and names who else
is at risk through the same IMS, without looping yet."""

from __future__ import annotations

import json
from pathlib import Path

from imsdiag.cli import cli

from ..clirunner import cli_runner
from ..conftest import ROOT

LOGS = str(ROOT / "sample_logs" / "q178436-site-connector")
EXPORT = str(ROOT / "sample_logs" / "directory" / "company-dsexport.csv")


def scan(*args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    r = cli_runner().invoke(cli, ["scan", "--no-index", "-q", "-f", "json", *args], catch_exceptions=False)
    return r.exit_code, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr


def details(doc: dict) -> dict[str, list[str]]:  # type: ignore[type-arg]
    out: dict[str, list[str]] = {}
    for d in doc["findings"][0]["details"]:
        out.setdefault(d["label"], []).append(d["value"])
    return out


def test_the_export_confirms_the_proxies_and_names_the_users_not_looping_yet() -> None:
    code, doc, _ = scan(LOGS, "--directory", EXPORT)
    assert code == 1 and [f["rule_id"] for f in doc["findings"]] == ["Q178436"]
    finding = doc["findings"][0]
    reasons = " ".join(finding["confidence_reasons"])
    assert "the directory export confirms it: user2@company.com is the user's primary SMTP proxy" in reasons
    assert "company-dsexport.csv:3" in reasons
    got = details(doc)
    assert got["Directory"][0].startswith("user2 at ") and "home server IMC2, site West" in got["Directory"][0]
    also = got["Also at risk"][0]
    assert "2 other mailbox(es)" in also and "jdoe (line 4), grace (line 9)" in also and "kate" not in also
    assert any("directory: 12 mailbox(es)" in n for n in doc["notes"])


def test_without_the_export_the_proxies_are_guessed_from_the_logs() -> None:
    _, doc, _ = scan(LOGS)
    reasons = " ".join(doc["findings"][0]["confidence_reasons"])
    assert "the user has another SMTP proxy: user2@imc2.company.com" in reasons
    assert "Directory" not in details(doc) and "Also at risk" not in details(doc)


def test_an_export_without_the_user(tmp_path: Path) -> None:
    export = tmp_path / "other.csv"
    export.write_text("Display Name,E-mail Addresses\nX,SMTP:x@company.com%smtp:x@imc2.company.com\n")
    _, doc, _ = scan(LOGS, "--directory", str(export))
    assert details(doc)["Directory"] == ["no mailbox of the directory export has the proxy user2@company.com"]


def test_an_export_that_cannot_be_read_is_an_input_error(tmp_path: Path) -> None:
    code, _, err = scan(LOGS, "--directory", str(tmp_path / "missing.csv"))
    assert code == 3 and "cannot read directory export" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("not,an,export\n")
    code, _, err = scan(LOGS, "--directory", str(empty))
    assert code == 3 and "no mailbox found in the directory export" in err


def test_the_report_never_replaces_the_directory_export(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(Path(EXPORT).read_bytes())
    code, _, err = scan(LOGS, "--directory", str(export), "-o", str(export))
    assert code == 3 and "refusing to write" in err and export.read_bytes() == Path(EXPORT).read_bytes()
