"""Click types for option values a config file may also hold: each wraps the validator the config reader uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import click
import click.shell_completion

from .audit.options import parse_ims_option, parse_mx_option, parse_separator, parse_site_option
from .config import parse_host_alias_option, parse_server_tz_option, parse_severity_option
from .timewindow import parse_duration, parse_when, parse_zone


def split_commas(text: str) -> tuple[str, ...]:
    """`a, b,,c` -> (a, b, c)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def joined(ctx: click.Context, param: click.Parameter, value: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """Option callback: `--select a,b --select c` -> (a, b, c)."""
    return tuple(item for group in value for item in group)


class Checked(click.ParamType):
    """A value checked by one validator shared with `config.py`, so a bad one reads the same from either."""

    def __init__(
        self, name: str, validate: Callable[[str], Any], *, hint: str | None = None, blank_is_unset: bool = False
    ) -> None:
        self.name = name
        self.validate = validate
        self.hint = hint
        """Name of the option in messages, when not the option's own (`--since/--until` for either end)."""
        self.blank_is_unset = blank_is_unset
        """An empty value means "not given": `--tz "$ZONE"` with ZONE unset takes the config file's zone."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # already converted: click may convert a value twice
        if self.blank_is_unset and not value:
            return None
        try:
            return self.validate(value)
        except ValueError as exc:
            # The option's name without click's quotes, as these messages have always named it.
            hint = self.hint or (max(param.opts, key=len) if param is not None and param.opts else None)
            raise click.BadParameter(str(exc), ctx, param, param_hint=hint) from None


def _when(text: str) -> datetime:
    return parse_when(text, datetime.now(timezone.utc))


def _severities(text: str) -> tuple[Any, ...]:
    return tuple(parse_severity_option(part) for part in split_commas(text))


ZONE = Checked("ZONE", parse_zone, blank_is_unset=True)
DURATION = Checked("DURATION", parse_duration, blank_is_unset=True)
WHEN = Checked("WHEN", _when, hint="--since/--until", blank_is_unset=True)
SERVER_ZONE = Checked("NAME=ZONE", parse_server_tz_option)
HOST_ALIAS = Checked("NAME=NAME", parse_host_alias_option)
SEVERITIES = Checked("RULE=LEVEL", _severities)
"""Comma-separated `RULE=LEVEL` pairs; use with `callback=joined` on a repeatable option."""


class RuleNames(Checked):
    """Comma-separated rule ids, slugs or prefixes; the shell completes the one being typed."""

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        from .rules import rule_infos  # only when the shell asks

        done, _, word = incomplete.rpartition(",")
        lead = f"{done}," if done else ""
        names = [n for info in rule_infos() for n in (info.id, info.slug)]
        return [
            click.shell_completion.CompletionItem(lead + n) for n in names if n.lower().startswith(word.strip().lower())
        ]


RULES = RuleNames("RULES", split_commas)
"""Comma-separated rule ids or slugs, checked later against the rules (an unknown one exits 3)."""


_FISH_SPLIT = '(string split "," $completion)'


def use_comma_safe_fish_completion() -> None:
    """Make click's fish script keep a comma-separated value whole (`LOOP001,LOOP002`).

    click answers fish with `plain,VALUE` lines and its fish script splits them at every comma, so fish
    got `LOOP001` for `--select LOOP001,LOOP00` and offered nothing; splitting at the first comma only is
    what bash and zsh already do. `main` calls this only when a shell asks for completion, so a program that
    uses imsdiag as a library keeps click's own fish completion.
    """

    class CommaSafeFishComplete(click.shell_completion.FishComplete):
        source_template = click.shell_completion.FishComplete.source_template.replace(
            _FISH_SPLIT, _FISH_SPLIT.replace("split", "split -m 1")
        )

    click.shell_completion.add_completion_class(CommaSafeFishComplete, "fish")


class LazyChoice(click.Choice):  # click 8.1 (the minimum) has no Choice[...] at run time
    """A choice among names a registry owns, looked up when first needed (not when the CLI is imported).

    Importing every parser or reporter costs a sixth of a second, which `imsdiag --version` and `explain`
    should not pay; and the names are never copied into the CLI, where they could drift from the registry.
    """

    def __init__(self, names: Callable[[], tuple[str, ...]], what: str, case_sensitive: bool = True) -> None:
        self._names = names
        self._what = what
        self.case_sensitive = case_sensitive

    @property  # click sets `choices` in __init__; here it is read when needed
    def choices(self) -> tuple[str, ...]:
        return self._names()

    @choices.setter
    def choices(self, value: tuple[str, ...]) -> None:
        raise AttributeError(f"the choices are {self._what}")


def _parser_names() -> tuple[str, ...]:
    from .parsers import PARSERS

    return tuple(str(p.name) for p in PARSERS)


def _scan_format_names() -> tuple[str, ...]:
    from .reporters import FORMAT_CHOICES

    return FORMAT_CHOICES


def _audit_format_names() -> tuple[str, ...]:
    from .reporters import AUDIT_REPORTERS

    return tuple(AUDIT_REPORTERS)


MX = Checked("DOMAIN=HOST", parse_mx_option)
IMS_BUILD = Checked("HOST=BUILD", parse_ims_option)
SERVER_SITE = Checked("SERVER=SITE", parse_site_option)
SEPARATOR = Checked("CHAR", parse_separator)
AUDIT_FORMAT = LazyChoice(_audit_format_names, "the audit reporters' names")
"""`audit --format NAME`: every registered audit reporter."""
LOG_FORMAT = LazyChoice(_parser_names, "the parsers' names", case_sensitive=False)
"""`--log-format NAME`, any case."""
SCAN_FORMAT = LazyChoice(_scan_format_names, "the scan reporters' names")
"""`scan --format NAME`: `auto` and every registered reporter."""
