"""README.md shows the finding a user gets: its sample panel is the shipped scenario's pinned terminal report."""

from __future__ import annotations

from .conftest import ROOT


def _panel(text: str) -> str:
    start = text.index("╭")
    return text[start : text.index("╯", start) + 1]


def test_readme_panel_is_the_golden_default_view() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    golden = (ROOT / "tests" / "golden" / "q178436-site-connector" / "terminal.txt").read_text(encoding="utf-8")
    assert _panel(readme) == _panel(golden)


def test_readme_starts_with_the_two_fresh_machine_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[: readme.index("## ")]
    assert "python3 -m pip install . && imsdiag scan sample_logs/q178436-site-connector" in head
    assert "python3 -m pip install -e '.[test,dask]' && python -m pytest" in head


def test_doc_examples_are_the_golden_outputs() -> None:
    # The goldens are fresh runs of the shipped scenarios (test_scenarios.py): the examples cannot drift.
    from tools.gen_doc_examples import DOCS, render

    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "<!-- example:" in text, doc
        assert render(text) == text, f"{doc.name}: run python -m tools.gen_doc_examples"
