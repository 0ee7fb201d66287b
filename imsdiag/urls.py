"""fsspec URL inputs (`file://`, `memory://`, `s3://`, ...): listed like folders, opened like files."""

from __future__ import annotations

import errno
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from .errors import InputError
from .models import Location, ParseIssue
from .sources import InputFile, server_from_path
from .textsafe import safe_text

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(?:::[A-Za-z][A-Za-z0-9+.-]*)*://")
"""A scheme (or fsspec's chained `simplecache::s3://`) before `://`; a Windows drive (`C:\\`) never matches."""

FSSPEC_HINT = "pip install 'imsdiag[dask]' (it brings fsspec; s3://, gs://, ... need their driver too, e.g. s3fs)"


def is_url(raw: str) -> bool:
    """Whether a path named on the command line is an fsspec URL rather than a local path."""
    return _URL.match(raw) is not None


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem serving `url` and the path inside it; InputError (exit 3) when it cannot be had."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise _missing(f"reading {safe_text(url, 200)} needs fsspec", FSSPEC_HINT) from None
    try:
        return cast(tuple[Any, str], url_to_fs(url))
    except ImportError as exc:  # a known protocol whose driver is not installed: "Install s3fs to access S3"
        raise _missing(f"no fsspec driver for {_scheme(url)}://: {exc}", "install that driver package") from None
    except ValueError as exc:  # "Protocol not known"
        raise _missing(f"no fsspec driver for {_scheme(url)}://: {exc}", "") from None


def _scheme(url: str) -> str:
    return url.split("://", 1)[0]


def _missing(message: str, hint: str) -> InputError:
    err = InputError(message)
    err.hint = hint
    return err


def discover_url(raw: str) -> Iterator[InputFile | ParseIssue]:
    """Every file under a URL, in name order, hidden files skipped as in a folder walk (see `sources.discover`)."""
    fs, root = filesystem(raw)
    try:
        if not fs.exists(root):
            yield ParseIssue(Location(raw), "missing-path", f"cannot read {safe_text(raw, 300)}: no such file")
            return
        found = fs.find(root, detail=True) if fs.isdir(root) else {root: fs.info(root)}
    except Exception as exc:  # a remote store fails in its own ways (credentials, network): one clear line
        raise InputError(f"cannot list {safe_text(raw, 300)}: {type(exc).__name__}: {exc}") from None
    base = Path(root) if fs.isdir(root) else Path(root).parent
    for path in sorted(found):
        info = found[path]
        if info.get("type", "file") != "file" or Path(path).name.startswith("."):
            continue
        yield InputFile(
            display=fs.unstrip_protocol(path),
            path=None,
            size=int(info.get("size") or 0),
            mtime=_mtime(info),
            server_hint=server_from_path(Path(path), base),
            url=fs.unstrip_protocol(path),
        )


def _mtime(info: dict[str, Any]) -> float:
    """The modification time a store reports (local: `mtime`, S3: `LastModified`, memory: `created`), or 0."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
    return 0.0


def open_url(url: str) -> BinaryIO:
    """Open a URL for reading bytes; whatever the store raises becomes an OSError (a counted unreadable file)."""
    fs, path = filesystem(url)
    try:
        f = fs.open(path, "rb")
    except OSError:
        raise
    except Exception as exc:
        raise OSError(errno.EIO, f"{type(exc).__name__}: {exc}") from exc
    # The readers peek at the head (UTF-16?); memory:// hands out a BytesIO, which cannot.
    return cast(BinaryIO, f if hasattr(f, "peek") else io.BufferedReader(f))


def is_local_only(url: str) -> bool:
    """A URL only this process can read (`memory://` lives in one process): read on the client, not a worker."""
    return _scheme(url).rsplit("::", 1)[-1] == "memory"
