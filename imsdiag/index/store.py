"""The EventIndex (files, findings and lookups over one SQLite connection) and `open_index`, its one way in."""

from __future__ import annotations

from pathlib import Path

from .files import FileStore
from .findings import FindingStore
from .lookups import Lookups
from .opening import open_connection


class EventIndex(FileStore, FindingStore, Lookups):
    """The on-disk index; open it with `open_index`."""

    def __enter__(self) -> EventIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_index(path: Path | None) -> EventIndex:
    """Open (creating folders and schema) the index at `path` or the default one.

    Only an imsdiag index (SQLite header with our application id) is ever changed: one that is damaged
    (schema, `PRAGMA quick_check` when small) or of another schema version is moved aside and a fresh
    index built, with a warning. Anything else at `path` (a folder, device, FIFO, another program's file
    or database, or a symlink to one) is an InputError for `--index` and left untouched; at the default
    path it is a warning and the run goes without the index. When no index can be opened at all the
    returned index is inert (caches nothing) and says why.
    """
    opened = open_connection(path)
    return EventIndex(opened.target, opened.conn, opened.warnings, opened.real)
