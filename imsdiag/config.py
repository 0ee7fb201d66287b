"""Configuration files: `--config FILE`, else the nearest imsdiag.toml, pyproject.toml or setup.cfg with our table."""

from __future__ import annotations

import configparser
import difflib
import errno
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from .audit.options import parse_ims_option, parse_mx_option, parse_site_option
from .errors import ConfigError
from .models import Severity
from .names import normalize_host
from .settings import ENGINES, MIN_PASSES_RANGE, max_jobs
from .textsafe import safe_text
from .timewindow import parse_duration, parse_when, parse_zone, to_utc

TOML_NAME = "imsdiag.toml"
PYPROJECT = "pyproject.toml"
SETUP_CFG = "setup.cfg"
INI_SECTION = "imsdiag"
FAIL_ON_CHOICES = tuple(s.value for s in Severity)
CONFIG_LIMIT = 4 << 20
"""Largest config file read: real ones are a few hundred bytes."""


@dataclass(frozen=True)
class Config:
    """Settings read from a configuration file; None means "not set here" (see `RunSettings.from_sources`)."""

    fail_on: Severity | None = None
    select: tuple[str, ...] | None = None
    """Rule ids or slugs to run (all when unset)."""
    ignore: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] | None = None
    """Added to `select` (and to a `--select` given on the command line), as ruff's `extend-select`."""
    extend_ignore: tuple[str, ...] | None = None
    severity: tuple[tuple[str, Severity], ...] | None = None
    """(rule id or slug, severity) overrides."""
    since: datetime | None = None
    until: datetime | None = None
    tz: tzinfo | None = None
    """Zone of zone-less local stamps."""
    server_tz: tuple[tuple[str, tzinfo], ...] | None = None
    """(server, zone) pairs; the server name is normalised like every host name."""
    host_alias: tuple[tuple[str, str], ...] | None = None
    """(name, other name) pairs: two names of one machine."""
    min_passes: int | None = None
    window: timedelta | None = None
    format: str | None = None
    baseline: Path | None = None
    """Resolved against the folder of the config file."""
    jobs: int | None = None
    engine: str | None = None
    """`local` or `dask`."""
    scheduler: str | None = None
    """A running Dask scheduler's address (implies the dask engine)."""
    mx: tuple[tuple[str, str], ...] | None = None
    """`imsdiag audit`: (domain, host) pairs, as `--mx` gives them."""
    ims: tuple[tuple[str, str], ...] | None = None
    """`imsdiag audit`: (IMS host, build) pairs, as `--ims` gives them."""
    site: tuple[tuple[str, str], ...] | None = None
    """`imsdiag audit`: (Exchange server, site) pairs, as `--site` gives them."""
    zone: tuple[Path, ...] | None = None
    """`imsdiag audit`: BIND zone files, resolved against the folder of the config file."""
    source: Path | None = None
    """The file these values came from (None when no file was found)."""

    def given(self) -> dict[str, Any]:
        """The values this file sets, by name: what the command line is layered over."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "source"}
        return {name: value for name, value in values.items() if value is not None}


# --- value parsers: each takes a raw TOML/INI value and raises ValueError with a short reason ---


def parse_severity(text: str) -> Severity:
    """`error`, `warning` or `info` (case-insensitive)."""
    try:
        return Severity(text.strip().lower())
    except ValueError:
        raise ValueError(f"{text!r} is not one of {', '.join(FAIL_ON_CHOICES)}") from None


def check_rule_name(name: str) -> str:
    """A rule id or slug (returned as the stable id), or an id prefix or ALL (returned upper-cased)."""
    from .ruleinfo import match_rules
    from .rules import rule_infos  # the registry, imported when a name is checked (config loads first)

    name = name.strip()
    if not name:
        raise ValueError("empty rule name")
    try:
        matched = match_rules(name, rule_infos())
    except KeyError:
        raise ValueError(f"unknown rule {name!r}") from None
    exact = [m.id for m in matched if name.lower() in (m.id.lower(), m.slug)]
    return exact[0] if exact else name.upper()


def parse_engine(text: str) -> str:
    """`local` or `dask` (case-insensitive)."""
    name = text.strip().lower()
    if name not in ENGINES:
        raise ValueError(f"{text!r} is not one of {', '.join(ENGINES)}")
    return name


def parse_severity_option(text: str) -> tuple[str, Severity]:
    """One `ID=level` pair, as in `--severity LOOP003=error`."""
    rule, sep, level = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r} is not RULE=LEVEL (e.g. LOOP003=error)")
    return check_rule_name(rule), parse_severity(level)


def parse_server_tz_option(text: str) -> tuple[str, tzinfo]:
    """One `server=zone` pair, as in `--server-tz imc1.company.com=America/New_York`."""
    server, sep, zone = text.partition("=")
    name = normalize_host(server.strip()) if sep else None
    if not name:
        raise ValueError(f"{text!r} is not SERVER=ZONE (e.g. imc1.company.com=Europe/Berlin)")
    return name, parse_zone(zone)


def parse_host_alias_option(text: str) -> tuple[str, str]:
    """One `name=other-name` pair, as in `--host-alias relay=relay.company.com`: two names of one machine."""
    a, sep, b = text.partition("=")
    na, nb = (normalize_host(a.strip()), normalize_host(b.strip())) if sep else (None, None)
    if not na or not nb or na == nb:
        raise ValueError(f"{text!r} is not NAME=OTHER-NAME (e.g. relay=relay.company.com or imc1=10.1.1.1)")
    return na, nb


def _split_list(value: Any) -> list[str]:
    """A TOML list of strings, or a string separated by commas or newlines (INI style)."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ValueError("expected a list of strings")


def _pairs(value: Any) -> list[str]:
    """A TOML table or a list of `key=value` strings, as `key=value` strings."""
    if isinstance(value, dict):
        if not all(isinstance(v, str) for v in value.values()):
            raise ValueError("expected a table of strings")
        return [f"{k}={v}" for k, v in value.items()]
    return _split_list(value)


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _int(value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool):  # bool is an int subclass; `true` is not a count
        raise ValueError("expected a whole number")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if not isinstance(value, int):
        raise ValueError("expected a whole number")
    if value < minimum:
        raise ValueError(f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"must be at most {maximum}")
    return value


def _when(value: Any, now: datetime) -> datetime:
    if isinstance(value, (datetime, date)):  # TOML has native dates and datetimes
        return to_utc(value)
    return parse_when(_string(value), now)


def _window(value: Any) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return parse_duration(_string(value))


def _format(value: Any) -> str:
    from .reporters import FORMAT_CHOICES  # the registry is the list of valid names

    name = _string(value).lower()
    if name not in FORMAT_CHOICES:
        raise ValueError(f"{name!r} is not one of {', '.join(FORMAT_CHOICES)}")
    return name


_Converter = Callable[[Any, datetime, Path], Any]

_KEYS: dict[str, tuple[str, _Converter]] = {
    "fail-on": ("fail_on", lambda v, now, base: parse_severity(_string(v))),
    "select": ("select", lambda v, now, base: tuple(check_rule_name(n) for n in _split_list(v))),
    "ignore": ("ignore", lambda v, now, base: tuple(check_rule_name(n) for n in _split_list(v))),
    "extend-select": ("extend_select", lambda v, now, base: tuple(check_rule_name(n) for n in _split_list(v))),
    "extend-ignore": ("extend_ignore", lambda v, now, base: tuple(check_rule_name(n) for n in _split_list(v))),
    "severity": ("severity", lambda v, now, base: tuple(parse_severity_option(p) for p in _pairs(v))),
    "since": ("since", lambda v, now, base: _when(v, now)),
    "until": ("until", lambda v, now, base: _when(v, now)),
    "tz": ("tz", lambda v, now, base: parse_zone(_string(v))),
    "server-tz": ("server_tz", lambda v, now, base: tuple(parse_server_tz_option(p) for p in _pairs(v))),
    "host-alias": ("host_alias", lambda v, now, base: tuple(parse_host_alias_option(p) for p in _pairs(v))),
    "min-passes": ("min_passes", lambda v, now, base: _int(v, *MIN_PASSES_RANGE)),
    "window": ("window", lambda v, now, base: _window(v)),
    "format": ("format", lambda v, now, base: _format(v)),
    "baseline": ("baseline", lambda v, now, base: base / _string(v)),
    "jobs": ("jobs", lambda v, now, base: _int(v, 1, max_jobs())),
    "engine": ("engine", lambda v, now, base: parse_engine(_string(v))),
    "scheduler": ("scheduler", lambda v, now, base: _string(v)),
    "mx": ("mx", lambda v, now, base: tuple(parse_mx_option(p) for p in _pairs(v))),
    "ims": ("ims", lambda v, now, base: tuple(parse_ims_option(p) for p in _pairs(v))),
    "site": ("site", lambda v, now, base: tuple(parse_site_option(p) for p in _pairs(v))),
    "zone": ("zone", lambda v, now, base: tuple(base / p for p in _split_list(v))),
}
KNOWN_KEYS: tuple[str, ...] = tuple(_KEYS)


def _build(table: Mapping[str, Any], path: Path, display: str, now: datetime) -> Config:
    """Validate every key of the `imsdiag` table and convert its values."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        spec = _KEYS.get(key)
        if spec is None:
            near = difflib.get_close_matches(key.replace("_", "-"), KNOWN_KEYS, n=1)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise ConfigError(f'{display}: unknown key "{safe_text(key, 100)}"{hint}')
        attr, convert = spec
        try:
            values[attr] = convert(raw, now, path.parent)
        except ValueError as exc:
            raise ConfigError(f'{display}: bad value for "{key}": {safe_text(str(exc), 300)}') from None
    if values.get("since") and values.get("until") and values["since"] > values["until"]:
        raise ConfigError(f'{display}: "since" is later than "until"')
    return Config(**values, source=path)


if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as `tomli` (a dependency there)
    import tomli as tomllib


def _read_toml(text: str, display: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display}: invalid TOML: {safe_text(str(exc), 300)}") from None


def _toml_table(path: Path, display: str) -> dict[str, Any]:
    """The `[tool.imsdiag]` table, an `[imsdiag]` table, or the top level of an imsdiag.toml."""
    data = _read_toml(_read(path, display), display)
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("imsdiag"), dict):
        return dict(tool["imsdiag"])
    if set(data) == {"imsdiag"} and isinstance(data["imsdiag"], dict):
        return dict(data["imsdiag"])
    if path.name == "pyproject.toml":
        raise ConfigError(f"{display}: no [tool.imsdiag] table")
    return data


def _ini_table(path: Path, display: str, required: bool) -> dict[str, Any] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(_read(path, display), source=display)
    except configparser.Error as exc:
        raise ConfigError(f"{display}: invalid INI file: {safe_text(exc.message, 300)}") from None
    if not parser.has_section(INI_SECTION):
        if required:
            raise ConfigError(f"{display}: no [{INI_SECTION}] section")
        return None
    return dict(parser.items(INI_SECTION))


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_file(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError (with a one-line strerror) otherwise.

    A FIFO, device or folder is refused before it is read (never a hang, never endless input), and
    opened without blocking in case one is swapped in after the check.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, f"it is {_file_kind(st.st_mode)}, not a regular file")
    too_big = OSError(errno.EFBIG, f"a {what} file may be at most {limit >> 20} MiB")
    if st.st_size > limit:
        raise too_big
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"it is {_file_kind(st.st_mode)}, not a regular file")
        data = handle.read(limit + 1)  # a file still growing stops here too
    if len(data) > limit:
        raise too_big
    return data


def _read(path: Path, display: str) -> str:
    try:
        # utf-8-sig: a BOM written by Windows editors is not part of the first key.
        return read_regular_file(path, CONFIG_LIMIT, "config").decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read config: {getattr(exc, 'strerror', None) or exc}") from None


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def load_config(explicit: Path | None, cwd: Path, now: datetime | None = None, isolated: bool = False) -> Config:
    """Read `explicit` (`--config FILE`), else the nearest config found from `cwd` up to the root.

    In each folder, from `cwd` upwards, the first of: imsdiag.toml; pyproject.toml with a
    `[tool.imsdiag]` table; setup.cfg with an `[imsdiag]` section (as ruff and flake8 look for theirs).
    TOML files may hold the keys at the top level or in `[tool.imsdiag]`; `.cfg`/`.ini` files in an
    `[imsdiag]` section. Relative times (`since = "2h"`) count back from `now`. An unknown key or a
    bad value raises ConfigError naming the file and the key. `isolated` (`--isolated`), or no file
    at all, gives an empty Config.
    """
    now = now or datetime.now(timezone.utc)
    if explicit is not None:
        path = explicit if explicit.is_absolute() else cwd / explicit
        display = safe_text(str(explicit), 300)
        if path.suffix.lower() == ".toml":
            table = _toml_table(path, display)
        else:
            table = _ini_table(path, display, required=True) or {}
        return _build(table, path, display, now)
    if isolated:
        return Config()
    for folder in (cwd, *cwd.parents):
        found = _config_in(folder, cwd)
        if found is not None:
            table, path, display = found
            return _build(table, path, display, now)
    return Config()


def _config_in(folder: Path, cwd: Path) -> tuple[dict[str, Any], Path, str] | None:
    """The imsdiag table of the first config file in `folder` that has one, with its path and display name."""
    toml_path = folder / TOML_NAME
    if _is_file(toml_path):
        display = _display(toml_path, cwd)
        return _toml_table(toml_path, display), toml_path, display
    pyproject = folder / PYPROJECT
    if _is_file(pyproject):
        display = _display(pyproject, cwd)
        tool = _read_toml(_read(pyproject, display), display).get("tool")
        # A project's pyproject.toml without our table is somebody else's file: look further up.
        if isinstance(tool, dict) and isinstance(tool.get("imsdiag"), dict):
            return dict(tool["imsdiag"]), pyproject, display
    cfg_path = folder / SETUP_CFG
    if _is_file(cfg_path):
        display = _display(cfg_path, cwd)
        section = _ini_table(cfg_path, display, required=False)
        if section is not None:
            return section, cfg_path, display
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # an unreadable folder on the way up is no config
        return False
