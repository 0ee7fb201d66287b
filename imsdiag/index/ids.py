"""The ids the index keys events by, which of them may link two messages, and the paths it keys files by."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..models import Event, Source
from ..names import normalize_message_id

ID_FIELDS = ("message_id", "queue_id", "mts_id", "about_id", "next_id")
"""Event fields that carry an id of the message itself or of a message it links to."""

KINDS = (*ID_FIELDS, "received_id", "file")
"""Every id kind `event_ids` names; the index stores a kind as its position here."""
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}

SERVER_LOCAL_KINDS = frozenset({"queue_id"})
"""Id kinds unique only within one server: the same queue id on two servers is two messages."""

Origin = tuple[str, "str | None"]
"""(id kind, server) of an event an id was learned from."""


def norm_id(ident: str | None) -> str | None:
    """The form every id is indexed and looked up in: no angle brackets, no spaces around, lower case."""
    m = normalize_message_id(ident)
    return m.lower() if m else None


def event_ids(event: Event) -> list[tuple[str, str]]:
    """(normalised id, kind) for every id an event carries, including each Received hop's `id`."""
    out: list[tuple[str, str]] = []
    for kind in ID_FIELDS:
        n = norm_id(getattr(event, kind))
        if n:
            out.append((n, kind))
    for hop in event.received:
        n = norm_id(hop.id)
        if n:
            out.append((n, "received_id"))
    if event.source == Source.IMS_ARCHIVE:
        # An IMS archive file is named after its spool id: users paste the file name.
        stem = norm_id(Path(event.location.path).stem)
        if stem:
            out.append((stem, "file"))
    return list(dict.fromkeys(out))


def link_allowed(kind: str, server: str | None, origins: Iterable[Origin]) -> bool:
    """May an event holding an id as `kind` on `server` be linked through it to events it came from?

    A queue id joins only events of the same server; `queued as` (next_id) and the other ids
    cross servers, which is how a message is followed from one server to the next.
    """
    return any(
        not (kind in SERVER_LOCAL_KINDS and okind in SERVER_LOCAL_KINDS and oserver != server)
        for okind, oserver in origins
    )


@functools.lru_cache(maxsize=65536)
def abs_path(path: str | Path) -> str:
    """The absolute, symlink-resolved path that keys a file in the index, computed once per path.

    Resolving walks every component with lstat: done four times per file for a 4,000-file log set,
    it was most of an `explain` run. A file that is no symlink is its folder's resolved path joined
    with its name, and a log set has few folders: one lstat per file instead of one per component.
    """
    head, name = os.path.split(str(path))
    if name in ("", ".", "..") or os.path.islink(path):
        return str(Path(path).resolve())
    folder = head if os.path.isabs(head) else os.path.join(os.getcwd(), head)  # no getcwd call per file
    return os.path.join(_real_folder(folder), name)


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    """A folder's resolved path, keyed by its absolute text (a relative one would outlive a `chdir`)."""
    return str(Path(folder).resolve())


def path_key(path: str | Path) -> str:
    """`abs_path` keyed by the path's absolute text: a str and a Path of the same file share one cache entry,
    and a relative path is not answered from before a `chdir`."""
    text = os.fspath(path)
    return abs_path(text if os.path.isabs(text) else os.path.join(os.getcwd(), text))


def stat_key(path: Path) -> tuple[str, int, int] | None:
    """(absolute path, size, mtime_ns) of a file now, or None when it cannot be stat'ed."""
    text = os.fspath(path)
    try:
        st = os.stat(text)  # Path.stat costs twice the call itself, once per file of a large log set
    except OSError:
        return None
    return path_key(text), st.st_size, st.st_mtime_ns


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Slices of at most `size` items: SQLite caps the parameters of one statement."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
