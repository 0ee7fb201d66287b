"""Rule documentation as plain text: the words stay, Markdown's marks go."""

from __future__ import annotations

import pytest

from imsdiag.markdown_text import plain_text
from imsdiag.rules import all_rules
from imsdiag.rules.base import Rule


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("**What it means.** A `MAIL FROM:<>` loop", "What it means. A MAIL FROM:<> loop"),
        ("the user's *primary* proxy", "the user's primary proxy"),
        ("see [KB Q178436](https://support.example/q178436)", "see KB Q178436 (https://support.example/q178436)"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "| a | b |\n| 1 | 2 |"),
        ("user_name and 2*3*4 stay", "user_name and 2*3*4 stay"),
    ],
)
def test_plain_text(markdown: str, text: str) -> None:
    assert plain_text(markdown) == text


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_doc_reads_without_marks(rule: type[Rule]) -> None:
    text = plain_text(rule.doc())
    assert "**" not in text and "`" not in text and "|---" not in text
