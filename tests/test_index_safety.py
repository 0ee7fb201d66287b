"""`--index PATH` is safe by default: nothing but an imsdiag index is ever changed, damage is never fatal.

Every test points `--index` into its own tmp_path; none touches a real device or system path.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from imsdiag.cli import cli
from imsdiag.errors import InputError
from imsdiag.index import APP_ID, SCHEMA_VERSION, core, open_index, schema
from imsdiag.models import Event, Location
from imsdiag.sources import InputFile

from .clirunner import cli_runner
from .conftest import SAMPLES, opened_index

LOOP = SAMPLES / "q178436-site-connector"
HEALTHY = SAMPLES / "healthy"
LOOP_ID = "47CE0B8704CBB1EB0296855D0288EA65@imc1.company.com"


def scan(index: Path, logs: Path = LOOP) -> Result:
    return cli_runner().invoke(cli, ["scan", str(logs), "--index", str(index), "-j", "1", "--format", "json"])


def index_notes(result: Result) -> list[str]:
    return [n for n in json.loads(result.stdout)["notes"] if n.startswith("index:")]


def findings(result: Result) -> list[str]:
    return sorted(f["fingerprint"] for f in json.loads(result.stdout)["findings"])


def tree(folder: Path) -> dict[str, bytes | str]:
    """Everything under `folder`, for a before/after comparison (a FIFO or link is compared by its kind)."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        mode = p.lstat().st_mode
        out[str(p.relative_to(folder))] = p.read_bytes() if stat.S_ISREG(mode) else stat.filemode(mode)
    return out


def assert_refused(result: Result, index: Path, what: str) -> None:
    assert result.exit_code == 3, result.output
    line = result.stderr.strip()
    assert str(index) in line and what in line and "not an imsdiag index" in line, line
    assert "\n" not in line
    assert not list(index.parent.glob(index.name + ".bad-*")), "nothing may be moved aside"
    assert not list(index.parent.glob(index.name + "-wal")) and not list(index.parent.glob(index.name + "-shm"))


# -- anything that is not an imsdiag index is refused and left as it was --------------------------------------------


def test_folder_at_index_path_is_refused_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "mail.log").write_text("precious\n")
    before = tree(tmp_path)
    assert_refused(scan(folder), folder, "a directory")
    assert tree(tmp_path) == before


def test_text_file_at_index_path_is_refused_byte_identical(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"my notes\x00\xff\n" * 1000)
    before = tree(tmp_path)
    assert_refused(scan(text), text, "not an SQLite database")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("app_id", [0, 0x12345678])
def test_foreign_sqlite_database_is_refused_untouched(tmp_path: Path, app_id: int) -> None:
    db = tmp_path / "other.sqlite"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA application_id = {app_id}")
    conn.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)")  # even our table names do not make it ours
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    conn.commit()
    conn.close()
    before = tree(tmp_path)
    assert_refused(scan(db), db, f"another program (application id {app_id:#x})")
    assert tree(tmp_path) == before  # journal mode, header and rows as they were


def test_fifo_at_index_path_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # A subprocess with a timeout: a regression that opens the FIFO would block for ever.
    proc = subprocess.run(
        [sys.executable, "-m", "imsdiag", "scan", str(HEALTHY), "--index", str(fifo), "-j", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert "is a FIFO, not an imsdiag index" in proc.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_private_char_device_is_refused_untouched(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    dev = tmp_path / "dev"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private node of the null device
    except OSError as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    before = dev.lstat()
    assert_refused(scan(dev, HEALTHY), dev, "a character device")
    after = dev.lstat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_symlink_to_a_folder_is_refused_and_the_link_kept(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    link = tmp_path / "ix.sqlite"
    link.symlink_to(tmp_path / "folder")
    assert_refused(scan(link, HEALTHY), link, "a symlink to a directory")
    assert link.is_symlink() and os.readlink(link) == str(tmp_path / "folder")
    assert list((tmp_path / "folder").iterdir()) == []


def test_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "ix.sqlite"
    link.symlink_to(tmp_path / "missing" / "target")
    assert_refused(scan(link, HEALTHY), link, "a symlink to a missing file")
    assert not (tmp_path / "missing").exists()


def test_symlink_to_an_index_is_used_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite"
    assert scan(real, HEALTHY).exit_code == 0
    link = tmp_path / "ix.sqlite"
    link.symlink_to(real)
    result = scan(link, HEALTHY)
    assert result.exit_code == 0, result.output
    assert index_notes(result) == []
    assert link.is_symlink()


def test_new_path_and_empty_file_become_an_index(tmp_path: Path) -> None:
    assert scan(tmp_path / "new" / "ix.sqlite", HEALTHY).exit_code == 0
    empty = tmp_path / "empty.sqlite"
    empty.touch()  # nothing to lose; also what a run killed while creating the index leaves
    result = scan(empty, HEALTHY)
    assert result.exit_code == 0 and index_notes(result) == []
    conn = sqlite3.connect(empty)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APP_ID
    conn.close()


def test_foreign_file_at_the_default_path_is_a_note_not_an_error(tmp_path: Path) -> None:
    # No --index: the user did not name the path, so the scan goes on without the index and says why.
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "imsdiag"
    cache.mkdir(parents=True, exist_ok=True)
    default = cache / f"index-v{SCHEMA_VERSION}.sqlite"
    default.write_text("not an index\n")
    result = cli_runner().invoke(cli, ["scan", str(HEALTHY), "-j", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert any("not an imsdiag index; left untouched" in n for n in index_notes(result))
    assert default.read_text() == "not an index\n"


# -- damage found before or after the index opened is never fatal -----------------------------------------------------


def garble_middle(path: Path, size: int = 60 * 1024) -> None:
    data = path.read_bytes()
    start = max(4096, len(data) // 2 - size // 2)  # page 1 (header, schema) survives: the file is still ours
    with open(path, "r+b") as fh:
        fh.seek(start)
        fh.write(random.Random(7).randbytes(size))


@pytest.mark.parametrize("quick_check", [True, False], ids=["checked-on-open", "found-while-reading"])
def test_garbage_in_the_middle_is_recovered_and_the_next_run_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_check: bool
) -> None:
    if not quick_check:  # as for a large index: the damage is met by the reads and writes of the scan itself
        monkeypatch.setattr(schema, "QUICK_CHECK_MAX_BYTES", 0)
    ix = tmp_path / "ix.sqlite"
    first = scan(ix)
    assert first.exit_code == 1, first.output
    garble_middle(ix)
    second = scan(ix)
    assert second.exit_code == 1, second.output  # the loop is still found: not exit 4
    assert findings(second) == findings(first)
    notes = index_notes(second)
    assert notes, "the damage must be reported"
    assert any("damaged" in n or "cannot be used" in n for n in notes), notes
    assert list(tmp_path.glob("ix.sqlite.bad-*")), "the damaged index is kept aside for inspection"
    third = scan(ix)
    assert third.exit_code == 1, third.output
    assert index_notes(third) == []
    assert findings(third) == findings(first)


def test_garbage_found_by_jobs_workers_is_recovered_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No check on open: each worker meets the damage itself; their warnings must reach the parent's notes.
    monkeypatch.setattr(schema, "QUICK_CHECK_MAX_BYTES", 0)
    ix = tmp_path / "ix.sqlite"
    first = scan(ix)
    garble_middle(ix)
    result = cli_runner().invoke(cli, ["scan", str(LOOP), "--index", str(ix), "-j", "2", "--format", "json"])
    assert result.exit_code == 1, result.output
    assert findings(result) == findings(first)
    assert any("damaged" in n for n in index_notes(result)), index_notes(result)
    third = scan(ix)
    assert third.exit_code == 1 and findings(third) == findings(first)
    assert index_notes(third) == []


def test_dropped_table_is_recovered(tmp_path: Path) -> None:
    ix = tmp_path / "ix.sqlite"
    assert scan(ix, HEALTHY).exit_code == 0
    conn = sqlite3.connect(ix)
    conn.execute("DROP TABLE blocks")
    conn.commit()
    conn.close()
    second = scan(ix, HEALTHY)
    assert second.exit_code == 0, second.output
    assert any("missing table(s): blocks" in n for n in index_notes(second))
    third = scan(ix, HEALTHY)
    assert third.exit_code == 0 and index_notes(third) == []


def test_table_dropped_while_open_is_recovered(tmp_path: Path) -> None:
    """Damage after open_index (another process drops a table): a warning and a fresh index, no exception."""
    path = tmp_path / "ix.sqlite"
    log = tmp_path / "mail.log"
    log.write_text("x\n")
    f = InputFile(display="mail.log", path=log, size=2, mtime=log.stat().st_mtime)
    ix = opened_index(path)
    assert ix.warnings == []
    other = sqlite3.connect(path)
    other.execute("DROP TABLE ids")
    other.commit()
    other.close()
    writer = ix.begin_file(f, "postfix", None)
    writer.add(Event(location=Location("mail.log", 1), source="postfix", queue_id="ABC123"))  # a row for `ids`
    writer.commit({"lines": 1})
    assert any("no such table: ids" in w for w in ix.warnings), ix.warnings
    assert any("moved aside" in w for w in ix.warnings), ix.warnings
    assert ix.conn is not None  # a fresh index took its place for the rest of the run
    ix.store_findings([], [str(log)])
    assert ix.has_findings_for([str(log)])
    ix.close()
    again = opened_index(path)
    assert again.warnings == []
    again.close()


def test_lookup_on_a_damaged_index_raises_sqlite_error_for_explain_to_read_the_logs(tmp_path: Path) -> None:
    path = tmp_path / "ix.sqlite"
    ix = opened_index(path)
    other = sqlite3.connect(path)
    other.execute("DROP TABLE blocks")
    other.commit()
    other.close()
    # An empty answer would be "no log mentions it"; explain catches sqlite3.Error and reads the logs.
    with pytest.raises(sqlite3.Error):
        ix.lookup_kinds("abc@example.com")
    with pytest.raises(sqlite3.Error):  # the fresh index is empty: still no "not found"
        ix.lookup("abc@example.com")
    assert ix.suggest("abc@example.com") == []
    assert ix.context_for(None) is None
    ix.close()
    assert opened_index(path).warnings == []


def test_explain_after_garbage_reads_the_logs(tmp_path: Path) -> None:
    ix = tmp_path / "ix.sqlite"
    assert scan(ix).exit_code == 1
    garble_middle(ix)
    args = ["explain", LOOP_ID, "--logs", str(LOOP), "--index", str(ix), "--format", "json"]
    result = cli_runner().invoke(cli, args)
    assert result.exit_code == 1, result.output  # told, and the message is in an error-level loop
    assert json.loads(result.stdout)["findings"]
    again = cli_runner().invoke(cli, args)
    assert again.exit_code == 1, again.output


def test_old_schema_version_is_moved_aside_with_a_note(tmp_path: Path) -> None:
    ix = tmp_path / "ix.sqlite"
    assert scan(ix, HEALTHY).exit_code == 0
    conn = sqlite3.connect(ix)
    conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    second = scan(ix, HEALTHY)
    assert second.exit_code == 0, second.output
    notes = index_notes(second)
    assert any(f"schema version 1, expected {SCHEMA_VERSION}" in n for n in notes), notes
    assert any("old file kept as" in n for n in notes), notes
    (aside,) = tmp_path.glob("ix.sqlite.bad-*[0-9]")
    old = sqlite3.connect(aside)
    assert old.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    old.close()
    assert index_notes(scan(ix, HEALTHY)) == []


def test_a_version_2_index_is_moved_aside_untouched(tmp_path: Path) -> None:
    """An index of the old layout (a JSON row per event) at an explicit path: a note, a fresh index, no traceback."""
    ix = tmp_path / "ix.sqlite"
    conn = sqlite3.connect(ix)
    conn.execute(f"PRAGMA application_id = {APP_ID}")
    conn.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '2'), ('app', 'imsdiag')")
    conn.execute("CREATE TABLE records(rowid INTEGER PRIMARY KEY, file_id INTEGER, seq INTEGER, kind TEXT, data TEXT)")
    conn.execute("CREATE TABLE ids(id_norm TEXT, kind TEXT, event_rowid INTEGER, file_id INTEGER)")
    conn.execute("INSERT INTO records VALUES (1, 1, 1, 'e', '{}')")
    conn.commit()
    conn.close()
    result = scan(ix, HEALTHY)
    assert result.exit_code == 0, result.output
    notes = index_notes(result)
    assert any(f"schema version 2, expected {SCHEMA_VERSION}" in n for n in notes), notes
    (aside,) = tmp_path.glob("ix.sqlite.bad-*[0-9]")
    old = sqlite3.connect(aside)  # kept as it was (opening it only switched it to WAL)
    assert old.execute("SELECT kind, data FROM records").fetchall() == [("e", "{}")]
    old.close()
    assert index_notes(scan(ix, HEALTHY)) == []


def test_index_warnings_reach_the_terminal_report(tmp_path: Path) -> None:
    ix = tmp_path / "ix.sqlite"
    assert scan(ix, HEALTHY).exit_code == 0
    conn = sqlite3.connect(ix)
    conn.execute("DROP TABLE findings")
    conn.commit()
    conn.close()
    result = cli_runner().invoke(cli, ["scan", str(HEALTHY), "--index", str(ix), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "missing table(s): findings" in result.output


def test_open_index_raises_input_error_only_for_an_explicit_path(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        open_index(tmp_path / "dir")


def test_warnings_are_capped(tmp_path: Path) -> None:
    ix = opened_index(tmp_path / "ix.sqlite")
    for i in range(100):
        ix.warn(f"index: warning {i}")
    assert len(ix.warnings) == core.MAX_WARNINGS + 1
    assert ix.warnings[-1] == "index: further index warnings not shown"
    ix.close()
