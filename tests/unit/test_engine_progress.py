"""Progress moves inside one large file, and adds up to the input's size."""

from __future__ import annotations

from pathlib import Path

from imsdiag.engine import scan
from imsdiag.settings import ScanSettings

from ..conftest import SAMPLES


class Recorder:
    def __init__(self) -> None:
        self.total = 0
        self.advances: list[int] = []
        self.files: list[str] = []

    def start(self, total_files: int, total_bytes: int) -> None:
        self.total = total_bytes

    def file_started(self, display: str) -> None:
        self.files.append(display)

    def advance(self, nbytes: int) -> None:
        self.advances.append(nbytes)

    def file_done(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_progress_advances_within_one_big_file(tmp_path: Path) -> None:
    log = tmp_path / "relay" / "maillog"
    log.parent.mkdir()
    log.write_bytes((SAMPLES / "q178436-site-connector" / "relay" / "maillog").read_bytes() * 200)
    rec = Recorder()
    scan(ScanSettings(paths=(str(tmp_path),), jobs=1), rec)
    # The file is named as the report names it (relative to the working folder when that is shorter).
    assert [Path(f).resolve() for f in rec.files] == [log.resolve()]
    # Many steps while the one file is read, not one at its end: at least one per MiB (the fast extractor's
    # block; the full parser ticks more often).
    assert len(rec.advances) >= log.stat().st_size >> 20 >= 5
    assert max(rec.advances) <= 1 << 20
    assert sum(rec.advances) == rec.total == log.stat().st_size
    assert all(n >= 0 for n in rec.advances)
