"""A folder walk names each file as `_display` and `server_from_path` name it alone, from any working folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imsdiag.sources import InputFile, _display, discover, server_from_path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for rel in (
        "imc1/Imcdata/Log/L1.LOG",
        "imc1/Imcdata/In/Archive/A.ARC",
        "relay/maillog",
        "deep/a/b/c/f",
        "top.log",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x\n")
    (root / "deep/a/b/c/sub").mkdir()
    return root


def _walked(arg: str) -> list[InputFile]:
    return [f for f in discover([arg]) if isinstance(f, InputFile)]


# (working folder below the tree's parent, the path given): absolute and relative roots, a root reached
# through `..`, files in the working folder, one and two levels up (the last is shown by its absolute path).
CASES = [
    (".", "logs", 5),
    (".", "./logs/../logs", 5),
    ("logs", ".", 5),
    ("logs/deep/a", "..", 1),
    ("logs/deep/a", "../..", 5),
    ("logs/deep/a/b/c/sub", "../../../..", 1),
    ("logs/deep/a/b/c/sub", "../../../../..", 5),
    ("logs/imc1/Imcdata", "../../relay", 1),
    ("logs/deep/a/b/c/sub", "ABS", 5),
    ("logs/deep/a/b/c", "ABS", 5),
    ("logs/deep", "ABS", 5),
    ("logs", "ABS", 5),
    # A file named alone: its own folder is the root.
    (".", "logs/relay/maillog", 1),
    ("logs/deep/a", "../../relay/maillog", 1),
    ("logs/deep/a/b/c/sub", "../../../../../relay/maillog", 1),
    ("logs/deep", "ABS/relay/maillog", 1),
]


@pytest.mark.parametrize(("cwd", "arg", "count"), CASES)
def test_walk_names_each_file_as_alone(
    tree: Path, cwd: str, arg: str, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree.parent / cwd)
    root = arg.replace("ABS", str(tree), 1)
    files = _walked(root)
    assert len(files) == count
    for f in files:
        assert f.path is not None
        assert f.display == _display(f.path)
        start = Path(root) if Path(root).is_dir() else Path(root).parent
        assert f.server_hint == server_from_path(f.path, start)


def test_walk_names_are_the_expected_ones(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written out once: relative below the working folder, `../` one level up, absolute further up."""
    monkeypatch.chdir(tree / "deep")
    shown = {f.display: f.server_hint for f in _walked(str(tree))}
    assert shown == {
        "../top.log": None,
        "a/b/c/f": "c",
        "../imc1/Imcdata/In/Archive/A.ARC": "imc1",
        "../imc1/Imcdata/Log/L1.LOG": "imc1",
        "../relay/maillog": "relay",
    }
    monkeypatch.chdir(tree / "deep/a")
    assert {f.display for f in _walked(str(tree)) if "relay" in f.display} == {
        os.path.join(str(tree), "relay", "maillog")
    }
