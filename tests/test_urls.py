"""fsspec URLs as scan paths (`urls.py`): listed like a folder, read like files, a missing driver is exit 3."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imsdiag.engine import scan
from imsdiag.settings import ScanSettings
from imsdiag.urls import is_local_only, is_url
from tests.conftest import SAMPLES


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("s3://bucket/logs/", True),
        ("file:///var/log/mail.log", True),
        ("simplecache::s3://bucket/x", True),
        ("memory://pf", True),
        ("/var/log/mail.log", False),
        ("logs/s3:", False),
        ("C:\\logs", False),
        ("-", False),
    ],
)
def test_what_counts_as_a_url(raw: str, url: bool) -> None:
    assert is_url(raw) is url


def test_only_memory_urls_are_read_by_the_client() -> None:
    assert is_local_only("memory://x") and is_local_only("simplecache::memory://x")
    assert not is_local_only("s3://bucket/x") and not is_local_only("file:///x")


def test_a_memory_url_scans_like_the_folder_it_holds() -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    folder = SAMPLES / "q178436-site-connector"
    for p in folder.rglob("*"):
        if p.is_file():
            fs.pipe(f"/site/{p.relative_to(folder).as_posix()}", p.read_bytes())
    fs.pipe("/site/.hidden.swp", b"editor swap file")
    try:
        by_url = scan(ScanSettings(paths=("memory://site",)))
        local = scan(ScanSettings(paths=(str(folder),)))
    finally:
        fs.rm("/site", recursive=True)
    key = [(f.rule_id, f.addresses, f.hosts, f.passes, f.fingerprint) for f in local.findings]
    assert [(f.rule_id, f.addresses, f.hosts, f.passes, f.fingerprint) for f in by_url.findings] == key
    assert by_url.files_read == local.files_read and by_url.lines_read == local.lines_read
    assert {s.server for s in by_url.files} == {s.server for s in local.files}  # servers named by folders too


def _scan_exit(*args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{prelude}from imsdiag.cli import main; main({['scan', '--no-index', *args]!r})"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_url_without_fsspec_exits_3_naming_the_extra() -> None:
    proc = _scan_exit("s3://bucket/logs", prelude="import sys; sys.modules['fsspec'] = None; ")
    assert proc.returncode == 3 and "needs fsspec" in proc.stderr and "imsdiag[dask]" in proc.stderr


def test_a_url_whose_driver_is_missing_exits_3() -> None:
    pytest.importorskip("fsspec")
    proc = _scan_exit("nosuchdriver://bucket/logs")
    assert proc.returncode == 3 and "no fsspec driver for nosuchdriver://" in proc.stderr


def test_a_missing_url_exits_3() -> None:
    pytest.importorskip("fsspec")
    proc = _scan_exit("memory://nothing/here")
    assert proc.returncode == 3 and "cannot read memory://nothing/here" in proc.stderr
