"""The one Jinja2 environment of the HTML reports: autoescaping on, and every value made safe before it is escaped.

Jinja2 is imported only when an HTML report is written, so `imsdiag scan` in any other format never loads it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..textsafe import safe_text

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
"""Package data: the page templates and the style sheet they inline."""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The page may load nothing: no script, font, image or request; only its own inline styles."""

TEXT_LIMIT = 2000
"""A value longer than this (a hostile 1 MB subject) is cut with an ellipsis."""


def _finalize(value: Any) -> Any:
    # Runs on every `{{ }}` before autoescaping: control characters, lone surrogates and bidi overrides from a
    # log become visible `\xNN` text, so no template can forget it; autoescaping then stops markup. What the
    # templates made themselves (a macro's output, already escaped Markup) passes as it is.
    if hasattr(value, "__html__"):
        return value
    if isinstance(value, str):
        return safe_text(value, TEXT_LIMIT)
    if value is None:
        return ""
    return value


def _cut(value: str | None, limit: int) -> str:
    return safe_text(value, limit)


def _num(n: int) -> str:
    return f"{n:,}"


def _px(v: float) -> str:
    # A coordinate computed in a template (a label below its node) with one decimal, as html_layout writes them.
    return f"{v:.1f}"


@functools.cache
def environment() -> Environment:
    """The environment, built once per process."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cut"] = _cut
    env.filters["num"] = _num
    env.filters["px"] = _px
    env.globals["CSP"] = CSP
    return env


def render(template: str, **context: Any) -> str:
    """The named template rendered with `context`."""
    return environment().get_template(template).render(**context)
