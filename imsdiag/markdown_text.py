"""Rule documentation written in Markdown, as plain text: SARIF's `help.text` and `imsdiag rules` in a pipe."""

from __future__ import annotations

import re

_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_STRONG = re.compile(r"\*\*([^*]{1,300})\*\*|__([^_]{1,300})__")  # a span may wrap onto the next line
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])|(?<![\w_])_([^_\n]+)_(?![\w_])")
_CODE = re.compile(r"`([^`]{1,300})`")
_RULE_LINE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def plain_text(markdown: str) -> str:
    """The same words without Markdown's marks: `code`, **strong**, *emphasis*, [text](url) as "text (url)".

    Tables keep their cells separated by `|` (still readable as text) but lose the `|---|` rule line.
    """
    lines = [line for line in markdown.splitlines() if not _RULE_LINE.match(line)]
    text = "\n".join(lines)
    text = _LINK.sub(r"\1 (\2)", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(lambda m: m.group(1) or m.group(2), text)
    return _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)
