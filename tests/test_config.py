"""Configuration files: discovery, TOML and INI forms, every key, and errors that name key and file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imsdiag.config import KNOWN_KEYS, Config, load_config, parse_server_tz_option, parse_severity_option
from imsdiag.errors import ConfigError
from imsdiag.models import Severity

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)
UTC = timezone.utc

FULL_TOML = """\
fail-on = "warning"
select = ["Q178436", "LOOP003"]
ignore = ["auto-reply-volley"]
since = "2h"
until = 2024-03-10T11:00:00Z
tz = "America/New_York"
min-passes = 5
window = "30m"
format = "sarif"
baseline = "ci/imsdiag-baseline.json"
jobs = 4

[severity]
LOOP003 = "error"

[server-tz]
"IMC1.Company.com" = "Europe/Berlin"
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_empty_config(tmp_path: Path) -> None:
    assert load_config(None, tmp_path, NOW) == Config()


def test_every_key_from_imsdiag_toml(tmp_path: Path) -> None:
    _write(tmp_path, "imsdiag.toml", FULL_TOML)
    cfg = load_config(None, tmp_path, NOW)
    assert cfg.fail_on is Severity.WARNING
    assert cfg.select == ("Q178436", "LOOP003")
    assert cfg.ignore == ("LOOP006",)  # a slug becomes the stable id
    assert cfg.severity == (("LOOP003", Severity.ERROR),)
    assert cfg.since == datetime(2024, 3, 10, 10, 0, tzinfo=UTC)
    assert cfg.until == datetime(2024, 3, 10, 11, 0, tzinfo=UTC)
    assert cfg.tz is not None and datetime(2001, 2, 7, tzinfo=cfg.tz).utcoffset() == timedelta(hours=-5)
    assert cfg.server_tz is not None and cfg.server_tz[0][0] == "imc1.company.com"  # normalised host
    assert cfg.min_passes == 5
    assert cfg.window == timedelta(minutes=30)
    assert cfg.format == "sarif"
    assert cfg.baseline == tmp_path / "ci" / "imsdiag-baseline.json"  # relative to the config file
    assert cfg.jobs == 4
    assert cfg.source == tmp_path / "imsdiag.toml"


def test_tool_imsdiag_table_in_explicit_pyproject(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n[tool.imsdiag]\nfail-on = "info"\n')
    cfg = load_config(Path("pyproject.toml"), tmp_path, NOW)
    assert cfg.fail_on is Severity.INFO and cfg.source == tmp_path / "pyproject.toml"


def test_pyproject_without_table(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"^pyproject.toml: no \[tool.imsdiag\] table$"):
        load_config(Path("pyproject.toml"), tmp_path, NOW)


def test_setup_cfg_section(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "setup.cfg",
        "[metadata]\nname = x\n\n[imsdiag]\nfail-on = warning\nselect = Q178436, LOOP001\n"
        "severity =\n    LOOP003=error\n    LOOP006=info\nserver-tz = relay.company.com=+01:00\n"
        "since = 2024-03-01\nmin-passes = 4\nwindow = 3600\n",
    )
    cfg = load_config(None, tmp_path, NOW)
    assert cfg.fail_on is Severity.WARNING
    assert cfg.select == ("Q178436", "LOOP001")
    assert cfg.severity == (("LOOP003", Severity.ERROR), ("LOOP006", Severity.INFO))
    assert cfg.server_tz is not None and cfg.server_tz[0][0] == "relay.company.com"
    assert cfg.server_tz[0][1].utcoffset(None) == timedelta(hours=1)
    assert cfg.since == datetime(2024, 3, 1, tzinfo=UTC)
    assert (cfg.min_passes, cfg.window) == (4, timedelta(hours=1))


def test_setup_cfg_without_section_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path, "setup.cfg", "[metadata]\nname = x\n")
    assert load_config(None, tmp_path, NOW) == Config()


def test_toml_wins_over_setup_cfg(tmp_path: Path) -> None:
    _write(tmp_path, "setup.cfg", "[imsdiag]\nfail-on = info\n")
    _write(tmp_path, "imsdiag.toml", 'fail-on = "warning"\n')
    assert load_config(None, tmp_path, NOW).fail_on is Severity.WARNING


def test_explicit_cfg_needs_section(tmp_path: Path) -> None:
    _write(tmp_path, "ci.cfg", "[other]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"^ci.cfg: no \[imsdiag\] section$"):
        load_config(Path("ci.cfg"), tmp_path, NOW)


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    _write(tmp_path, "imsdiag.toml", 'fail_onn = "error"\n')
    with pytest.raises(ConfigError, match=r'^imsdiag.toml: unknown key "fail_onn" \(did you mean "fail-on"\?\)$'):
        load_config(None, tmp_path, NOW)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('fail-on = "fatal"', r'bad value for "fail-on": \'fatal\' is not one of info, warning, error'),
        ("min-passes = 1", r'bad value for "min-passes": must be at least 2'),
        ("min-passes = true", r'bad value for "min-passes": expected a whole number'),
        ("jobs = 0", r'bad value for "jobs": must be at least 1'),
        ('engine = "spark"', r'bad value for "engine": \'spark\' is not one of local, dask'),
        ("scheduler = 8786", r'bad value for "scheduler": expected a non-empty string'),
        ('since = "last week"', r'bad value for "since": invalid time'),
        ('tz = "Mars/Olympus"', r'bad value for "tz": unknown time zone'),
        ('window = "soon"', r'bad value for "window": invalid duration'),
        ('format = "pdf"', r'bad value for "format": \'pdf\' is not one of auto, terminal'),
        ('select = ["NOPE999"]', r'bad value for "select": unknown rule \'NOPE999\''),
        ("select = [1, 2]", r'bad value for "select": expected a list of strings'),
        ('severity = ["LOOP003"]', r'bad value for "severity": \'LOOP003\' is not RULE=LEVEL'),
        ('server-tz = ["=UTC"]', r'bad value for "server-tz": \'=UTC\' is not SERVER=ZONE'),
    ],
)
def test_bad_values(tmp_path: Path, line: str, message: str) -> None:
    _write(tmp_path, "imsdiag.toml", line + "\n")
    with pytest.raises(ConfigError, match="^imsdiag.toml: " + message):
        load_config(None, tmp_path, NOW)


def test_since_after_until(tmp_path: Path) -> None:
    _write(tmp_path, "imsdiag.toml", 'since = "2024-03-02"\nuntil = "2024-03-01"\n')
    with pytest.raises(ConfigError, match='"since" is later than "until"'):
        load_config(None, tmp_path, NOW)


def test_invalid_toml_and_ini(tmp_path: Path) -> None:
    _write(tmp_path, "imsdiag.toml", "fail-on = \n")
    with pytest.raises(ConfigError, match=r"^imsdiag.toml: invalid TOML"):
        load_config(None, tmp_path, NOW)
    _write(tmp_path, "bad.cfg", "no section header\n")
    with pytest.raises(ConfigError, match=r"^bad.cfg: invalid INI file"):
        load_config(Path("bad.cfg"), tmp_path, NOW)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nowhere.toml: cannot read config"):
        load_config(Path("nowhere.toml"), tmp_path, NOW)


def test_option_helpers() -> None:
    assert parse_severity_option("loop003=Warning") == ("LOOP003", Severity.WARNING)
    assert parse_severity_option("hop-limit-exceeded=info") == ("LOOP003", Severity.INFO)
    name, zone = parse_server_tz_option("IMC1.company.com.=America/New_York")
    assert name == "imc1.company.com"
    assert datetime(2001, 7, 1, tzinfo=zone).utcoffset() == timedelta(hours=-4)
    with pytest.raises(ValueError, match="unknown rule"):
        parse_severity_option("LOOP999=error")


def test_known_keys_match_config_fields() -> None:
    from dataclasses import fields

    attrs = {k.replace("-", "_") for k in KNOWN_KEYS}
    assert attrs | {"source"} == {f.name for f in fields(Config)}


def _doc_block(lang: str, marker: str) -> str:
    text = (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split(f"```{lang}\n")[1:]]
    return next(b for b in blocks if b.startswith(marker))


def test_ci_doc_examples_load(tmp_path: Path) -> None:
    """The configuration examples in docs/ci.md are real, loadable files."""
    _write(tmp_path, "imsdiag.toml", _doc_block("toml", "# imsdiag.toml"))
    cfg = load_config(None, tmp_path, NOW)
    assert cfg.fail_on is Severity.WARNING and cfg.ignore == ("LOOP006",) and cfg.jobs == 4
    assert cfg.severity == (("LOOP003", Severity.ERROR),)
    _write(tmp_path, "ci.cfg", _doc_block("ini", "# setup.cfg"))
    cfg = load_config(Path("ci.cfg"), tmp_path, NOW)
    assert cfg.select == ("Q178436", "LOOP001") and cfg.server_tz is not None


# -- discovery up the folder tree, pyproject.toml, --isolated ------------------------------------------


def test_nearest_config_up_the_tree(tmp_path: Path) -> None:
    deep = tmp_path / "site" / "logs" / "2024"
    deep.mkdir(parents=True)
    _write(tmp_path, "imsdiag.toml", 'fail-on = "info"\n')
    _write(tmp_path / "site", "pyproject.toml", '[tool.imsdiag]\nfail-on = "warning"\n')
    cfg = load_config(None, deep, now=NOW)
    assert cfg.fail_on is Severity.WARNING  # the nearest wins: site/pyproject.toml, not the root's
    assert cfg.source == tmp_path / "site" / "pyproject.toml"


def test_pyproject_without_our_table_is_passed_over(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _write(project, "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    _write(project, "setup.cfg", "[flake8]\nmax-line-length = 100\n")
    _write(tmp_path, "setup.cfg", "[imsdiag]\nfail-on = warning\n")
    cfg = load_config(None, project, now=NOW)
    assert (cfg.fail_on, cfg.source) == (Severity.WARNING, tmp_path / "setup.cfg")


def test_isolated_reads_no_file(tmp_path: Path) -> None:
    _write(tmp_path, "imsdiag.toml", 'fail-on = "info"\n')
    assert load_config(None, tmp_path, now=NOW, isolated=True) == Config()
    # --config still reads the file it names.
    assert load_config(Path("imsdiag.toml"), tmp_path, now=NOW, isolated=True).fail_on is Severity.INFO


def test_rule_prefixes_and_extend_keys(tmp_path: Path) -> None:
    _write(tmp_path, "imsdiag.toml", 'select = ["loop"]\nextend-select = ["Q178436"]\nextend-ignore = ["all"]\n')
    cfg = load_config(None, tmp_path, now=NOW)
    assert (cfg.select, cfg.extend_select, cfg.extend_ignore) == (("LOOP",), ("Q178436",), ("ALL",))
    _write(tmp_path, "imsdiag.toml", 'select = ["LOOP9"]\n')
    with pytest.raises(ConfigError, match="unknown rule 'LOOP9'"):
        load_config(None, tmp_path, now=NOW)


def test_engine_and_scheduler_layer_like_the_other_options(tmp_path: Path) -> None:
    from imsdiag.settings import RunSettings

    _write(tmp_path, "imsdiag.toml", 'scheduler = "tcp://10.0.0.9:8786"\n')
    given = load_config(None, tmp_path, NOW).given()
    assert given == {"scheduler": "tcp://10.0.0.9:8786"}
    scan = RunSettings.from_sources({"paths": ("logs",)}, given).scan
    assert (scan.engine, scan.scheduler) == ("dask", "tcp://10.0.0.9:8786")  # an address asks for the cluster
    assert RunSettings.from_sources({"paths": ("logs",), "engine": "dask"}, {}).scan.use_index is True
    assert RunSettings.from_sources({"paths": ("logs",)}, {}).scan.engine == "local"
