"""The command line through click's CliRunner: exit codes, formats, selection, baselines, stdin, errors."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result

from imsdiag import __version__
from imsdiag.cli import cli, main

from .clirunner import cli_runner
from .conftest import SAMPLES

Q = SAMPLES / "q178436-site-connector"
HEALTHY = SAMPLES / "healthy"


def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return cli_runner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def test_log_format_takes_the_names_the_docs_give() -> None:
    # Plain names on every click: click 8.2+ would offer an enum choice by its NAME (IMS_PROTOCOL).
    assert "[ims-protocol|ims-tracking|ims-archive|mbox|" in run("scan", "--help").output
    assert run("scan", "--no-index", "-q", "--log-format", "ims-protocol", str(Q)).exit_code == 1
    assert run("scan", "--no-index", "-q", "--log-format", "IMS_PROTOCOL", str(Q)).exit_code == 2


def test_version_and_help() -> None:
    assert __version__ in run("--version").output
    out = run("scan", "--help").output
    assert "Exit codes:" in out and "--fail-on" in out and "Examples:" in out


def test_loop_exits_1_and_healthy_exits_0() -> None:
    r = run("scan", "--no-index", str(Q))
    assert r.exit_code == 1, r.output
    assert "LOOP FOUND" in r.output and "Q178436" in r.output
    r = run("scan", "--no-index", str(HEALTHY))
    assert r.exit_code == 0, r.output
    assert "No mail loops found" in r.output


def test_json_output_is_the_only_thing_on_stdout() -> None:
    r = cli_runner().invoke(cli, ["scan", "--no-index", "-f", "json", str(Q)], catch_exceptions=False)
    doc = json.loads(r.stdout)
    assert doc["version"] == 1
    assert [f["rule_id"] for f in doc["findings"]] == ["Q178436"]
    f = doc["findings"][0]
    assert f["passes"] == 42 and f["addresses"] == ["user2@company.com"]


@pytest.mark.parametrize(("fail_on", "code"), [("error", 1), ("warning", 1), ("info", 1), ("never", 0)])
def test_fail_on_thresholds(fail_on: str, code: int) -> None:
    assert run("scan", "--no-index", "-f", "text", "--fail-on", fail_on, str(Q)).exit_code == code


def test_severity_follows_where_the_loop_is() -> None:
    # Exim's own mainlog wrote the hop limit: mail is lost on a scanned server, an error that fails the run.
    exim = SAMPLES / "exim-hop-limit"
    r = run("scan", "--no-index", "-f", "text", str(exim))
    assert r.exit_code == 1 and " error LOOP003 " in r.output
    # The same kind of loop known only from a bounce another network sent is a warning: it passes at the
    # default threshold and fails at --fail-on warning.
    bounce = SAMPLES / "postfix-forwarding-loop" / "bounce-alice.eml"
    r = run("scan", "--no-index", "-f", "text", str(bounce))
    assert r.exit_code == 0 and " warning LOOP005 " in r.output
    assert run("scan", "--no-index", "-f", "text", "--fail-on", "warning", str(bounce)).exit_code == 1


def test_ignoring_the_specific_rule_does_not_resurface_it_as_generic() -> None:
    r = run("scan", "--no-index", "-f", "text", "--ignore", "Q178436", str(Q))
    assert r.exit_code == 0
    assert "LOOP001" not in r.output


def test_select_by_slug_and_severity_override() -> None:
    r = run("scan", "--no-index", "-f", "text", "--select", "ims-receipt-loop", "--severity", "Q178436=warning", str(Q))
    assert r.exit_code == 0
    assert " warning Q178436 " in r.output


def test_unknown_rule_is_an_input_error() -> None:
    r = cli_runner().invoke(cli, ["scan", "--no-index", "--select", "LOOP999", str(Q)])
    assert r.exit_code in (2, 3)


def test_missing_path_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--no-index", str(tmp_path / "nope")])
    assert exc.value.code == 3
    assert "imsdiag: error:" in capsys.readouterr().err


def test_empty_folder_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--no-index", str(tmp_path)])
    assert exc.value.code == 3
    assert "no files found" in capsys.readouterr().err


def test_folder_of_junk_exits_3_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "notes.txt").write_text("shopping list\neggs\n")
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--no-index", str(tmp_path)])
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert "no mail evidence" in err and "Traceback" not in err


def test_bad_option_value_is_a_usage_error() -> None:
    assert cli_runner().invoke(cli, ["scan", "--since", "yesterdayish", str(Q)]).exit_code == 2
    assert cli_runner().invoke(cli, ["scan", "--format", "xml", str(Q)]).exit_code == 2


def test_output_file_is_written_and_stdout_stays_empty(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    r = run("scan", "--no-index", "-f", "sarif", "-o", str(out), str(Q))
    assert r.exit_code == 1
    assert r.stdout == ""
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    assert doc["runs"][0]["results"][0]["ruleId"] == "Q178436"


def test_auto_format_is_github_inside_actions() -> None:
    r = run("scan", "--no-index", str(Q), env={"GITHUB_ACTIONS": "true"})
    assert "::error " in r.stdout and "title=Q178436" in r.stdout


def test_no_color_env_gives_plain_text() -> None:
    r = run("scan", "--no-index", "--color", "auto", str(Q), env={"NO_COLOR": "1"})
    assert "\x1b[" not in r.output


def test_force_color_env_gives_colour_in_a_pipe_unless_no_color() -> None:
    # CI logs render colour but are not terminals; NO_COLOR still wins when both are set.
    assert "\x1b[" in run("scan", "--no-index", str(Q), env={"FORCE_COLOR": "1"}).output
    assert "\x1b[" not in run("scan", "--no-index", str(Q), env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).output
    assert "\x1b[" not in run("scan", "--no-index", "--color", "never", str(Q), env={"FORCE_COLOR": "1"}).output


def test_color_always_gives_colour() -> None:
    r = run("scan", "--no-index", "--color", "always", str(Q))
    assert "\x1b[" in r.output


def test_stdin_is_read(tmp_path: Path) -> None:
    log = next((Q / "imc1").rglob("L0000000.LOG")).read_bytes()
    r = cli_runner().invoke(cli, ["scan", "--no-index", "-f", "json", "-"], input=log, catch_exceptions=False)
    doc = json.loads(r.stdout)
    assert doc["files"][0]["path"] == "<stdin>"
    assert doc["files"][0]["format"] == "ims-protocol"


def test_gzipped_input_is_read_transparently(tmp_path: Path) -> None:
    target = tmp_path / "q"
    shutil.copytree(Q, target)
    for log in target.rglob("L*.LOG"):
        log.with_name(log.name + ".gz").write_bytes(gzip.compress(log.read_bytes()))
        log.unlink()
    r = run("scan", "--no-index", "-f", "json", str(target))
    doc = json.loads(r.stdout)
    assert [f["rule_id"] for f in doc["findings"]] == ["Q178436"]
    assert any(f["compression"] == "gzip" for f in doc["files"])


def test_baseline_survives_rotation_and_a_new_loop_still_fails(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(Q, logs)
    base = tmp_path / "baseline.json"
    assert run("scan", "--no-index", "-f", "text", "--write-baseline", str(base), str(logs)).exit_code == 1
    # Rotate: every protocol log becomes .1.gz, the relay log is renamed: line numbers and paths change.
    for log in list(logs.rglob("L*.LOG")):
        log.with_name(log.name + ".1.gz").write_bytes(gzip.compress(log.read_bytes()))
        log.unlink()
    (logs / "relay" / "maillog").rename(logs / "relay" / "maillog.0")
    r = run("scan", "--no-index", "-f", "json", "--baseline", str(base), str(logs))
    assert r.exit_code == 0, r.stdout
    doc = json.loads(r.stdout)
    assert doc["findings"] == [] and doc["summary"]["suppressed"] == 1
    # A new loop elsewhere is still reported and fails the run.
    shutil.copytree(SAMPLES / "postfix-forwarding-loop", logs / "pf")
    r = run("scan", "--no-index", "-f", "text", "--fail-on", "warning", "--baseline", str(base), str(logs))
    assert r.exit_code == 1
    assert "LOOP005" in r.output and "Q178436" not in r.output


def test_config_file_sets_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imsdiag.toml").write_text('fail-on = "warning"\nformat = "text"\n')
    r = run("scan", "--no-index", str(SAMPLES / "exim-hop-limit"))
    assert r.exit_code == 1
    assert "LOOP003" in r.output and "╭" not in r.output


def test_bad_config_key_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "imsdiag.toml"
    cfg.write_text('fail_onn = "warning"\n')
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--no-index", "--config", str(cfg), str(Q)])
    assert exc.value.code == 3
    assert "fail_onn" in capsys.readouterr().err


def test_rules_listing_and_one_rule() -> None:
    out = run("rules").output
    assert "Q178436" in out and "LOOP007" in out
    one = run("rules", "q178436")
    assert one.exit_code == 0
    assert "What it means" in one.output and "2186.0" in one.output
    # Piped: the Markdown itself (to paste into a page); in a terminal: rendered, no raw `**` marks.
    assert "**What it means.**" in one.output
    shown = run("rules", "q178436", env={"FORCE_COLOR": "1"}).output
    assert "What it means" in shown and "**" not in shown and "\x1b[1m" in shown


def test_each_rule_names_its_references_once_with_every_one_of_them() -> None:
    import re

    from imsdiag.rules import all_rules

    for rule in all_rules():
        shown = run("rules", rule.id).output
        assert shown.count("References") == 1, rule.id
        para = re.search(r"\*\*References\.\*\*(.*?)(?:\n\n|$)", rule.doc(), re.S)
        if para is None:
            continue
        text = " ".join(para[1].split())
        # The paragraph says what each reference is for; every reference the findings carry is in it.
        missing = [ref for ref in rule.references if ref.split()[-1] not in text]
        assert not missing, f"{rule.id}: {missing}"


def test_module_entry_point() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "imsdiag", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in r.stdout


def test_installed_entry_point_exit_codes() -> None:
    # Through the real entry point (not CliRunner): the exit code must reach the shell.
    import subprocess
    import sys

    def code(*args: str) -> int:
        cmd = [sys.executable, "-m", "imsdiag", "scan", "--no-index", "-q", "-f", "text", *args]
        return subprocess.run(cmd, capture_output=True, check=False).returncode

    assert code(str(Q)) == 1
    assert code(str(HEALTHY)) == 0
    assert code("--fail-on", "never", str(Q)) == 0
    assert code(str(Q / "no-such-folder")) == 3


# -- ruff-style selection, statistics, environment and config discovery ---------------------------------


def _rule_ids(r: Result) -> list[str]:
    return [f["rule_id"] for f in json.loads(r.stdout)["findings"]]


def test_select_by_prefix_and_extend() -> None:
    base = ("scan", "--no-index", "-q", "--format", "json")
    assert _rule_ids(run(*base, "--select", "Q", str(Q))) == ["Q178436"]
    assert _rule_ids(run(*base, "--select", "LOOP", str(Q))) == []
    assert _rule_ids(run(*base, "--select", "LOOP001", "--extend-select", "q178436", str(Q))) == ["Q178436"]
    assert _rule_ids(run(*base, "--extend-ignore", "Q", str(Q))) == []
    assert _rule_ids(run(*base, "--select", "ALL", str(Q))) == ["Q178436"]
    bad = run(*base, "--select", "LOOP9", str(Q))
    assert bad.exit_code == 3 and "no such rule: 'LOOP9'" in bad.stderr


def test_format_from_the_environment() -> None:
    assert json.loads(run("scan", "--no-index", "-q", str(Q), env={"IMSDIAG_FORMAT": "json"}).stdout)["version"] == 1
    # The command line wins over the environment.
    assert run("scan", "--no-index", "-q", "-f", "text", str(Q), env={"IMSDIAG_FORMAT": "json"}).stdout[0] != "{"
    assert run("scan", "--no-index", str(Q), env={"IMSDIAG_FORMAT": "bogus"}).exit_code == 2


def test_config_found_up_the_tree_named_with_v_and_skipped_with_isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.imsdiag]\nignore = ["Q"]\n')
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    found = run("scan", "--no-index", "-v", "--format", "json", str(Q))
    assert f"imsdiag: config: {tmp_path / 'pyproject.toml'}" in found.stderr
    assert _rule_ids(found) == []
    isolated = run("scan", "--no-index", "-v", "--isolated", "--format", "json", str(Q))
    assert "imsdiag: config: none (--isolated)" in isolated.stderr
    assert _rule_ids(isolated) == ["Q178436"]


def test_statistics_counts_findings_per_rule() -> None:
    text = run("scan", "--no-index", "--statistics", str(SAMPLES))
    assert text.exit_code == 1  # the exit code still follows the findings
    lines = text.stdout.splitlines()
    assert lines[0].split()[:4] == ["3", "Q178436", "ims-receipt-loop", "error"]
    assert sorted(line.split()[1] for line in lines) == ["LOOP003", "LOOP005", "Q178436"]
    doc = json.loads(run("scan", "--no-index", "-q", "--statistics", "-f", "json", str(SAMPLES)).stdout)
    assert [(r["rule_id"], r["count"]) for r in doc] == [("Q178436", 3), ("LOOP003", 1), ("LOOP005", 1)]
    clean = run("scan", "--no-index", "--statistics", str(SAMPLES / "healthy"))
    assert (clean.exit_code, clean.stdout) == (0, "No findings.\n")


def test_log_format_names_are_the_parsers_and_any_case_works() -> None:
    assert "[ims-protocol|ims-tracking|ims-archive|mbox|message|postfix|sendmail|exim|exchange-tracking]" in " ".join(
        run("scan", "--help").output.split()
    )
    log = str(SAMPLES / "postfix-forwarding-loop" / "mx1.example.org" / "mail.log")
    assert run("scan", "--no-index", "-q", "--log-format", "POSTFIX", log).exit_code == 1  # read, loop found
    bad = run("scan", "--no-index", "--log-format", "IMS_PROTOCOL", log)
    assert bad.exit_code == 2 and "'ims-protocol'" in bad.output


def test_the_cli_starts_without_loading_the_parsers() -> None:
    # Start-up counts for `explain` and `--version`: the parsers load only when a file is read.
    import subprocess
    import sys

    code = "import sys, imsdiag.cli; print(sorted(m for m in sys.modules if m.startswith('imsdiag.parsers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
