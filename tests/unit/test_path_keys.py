"""The index keys a file by its resolved path, reached by the one-lstat shortcut; and a walk names files as relpath."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imsdiag.index.ids import abs_path, path_key
from imsdiag.sources import _display


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """logs/mx1/maillog, a folder link `ln` -> logs/mx1, a file link logs/current -> mx1/maillog, a dangling link."""
    (tmp_path / "logs" / "mx1").mkdir(parents=True)
    (tmp_path / "logs" / "mx1" / "maillog").write_text("x\n")
    (tmp_path / "ln").symlink_to("logs/mx1")
    (tmp_path / "logs" / "current").symlink_to("mx1/maillog")
    (tmp_path / "dangling").symlink_to("/nonexistent-imsdiag-target")
    monkeypatch.chdir(tmp_path)
    abs_path.cache_clear()
    return tmp_path


ROUTES = [
    "logs/mx1/maillog",
    "./logs/mx1/maillog",
    "ln/maillog",  # through a folder link
    "logs/current",  # the file itself is a link
    "ln/../mx1/maillog",  # `..` after a link is taken after resolving it, as the kernel does
    "logs/mx1/../mx1/maillog",
    "dangling",
    "logs/mx1/not-yet",
    "ln/",
    "ln/.",
]


@pytest.mark.parametrize("route", ROUTES)
def test_a_path_key_is_the_resolved_path(tree: Path, route: str) -> None:
    assert path_key(route) == str(Path(route).resolve())
    assert path_key(Path(route)) == path_key(str(tree / route)) == str(Path(route).resolve())


def test_every_route_to_one_file_has_one_key(tree: Path) -> None:
    keys = {path_key(r) for r in ("logs/mx1/maillog", "ln/maillog", "logs/current", "ln/../mx1/maillog")}
    assert keys == {str((tree / "logs" / "mx1" / "maillog").resolve())}


def test_a_relative_key_follows_the_working_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache is keyed by the absolute text: the same relative path after a chdir is another file."""
    assert path_key("maillog") == str(tree.resolve() / "maillog")
    monkeypatch.chdir(tree / "logs" / "mx1")
    assert path_key("maillog") == str((tree / "logs" / "mx1" / "maillog").resolve())


@pytest.mark.parametrize("text", ["a/b", "./a", "a//b", ".", "a/./b/", "x", "../x", "a/../../x", "/tmp/x"])
def test_a_walked_file_is_named_as_relpath_names_it(tree: Path, text: str) -> None:
    p = Path(text)
    rel = os.path.relpath(p)
    assert _display(p) == (str(p) if rel.startswith(".." + os.sep + "..") else rel)
