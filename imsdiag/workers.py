"""Per-file outcomes in input order: read in this process, or by `--jobs` worker processes that die with the scan."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from .outcome import FileOutcome, RecordSink, indexed, new_correlator, process_file
from .parsers.run import ProgressSink, Ticker
from .settings import ScanSettings, max_jobs
from .sources import InputFile
from .years import YEARLESS_FORMATS

if TYPE_CHECKING:
    from .index import EventIndex

CHUNK_BYTES = 8 << 20
CHUNK_FILES = 512


def outcomes(
    files: list[InputFile],
    settings: ScanSettings,
    index: EventIndex | None,
    progress: ProgressSink | None,
    watch: RecordSink | None = None,
) -> Iterator[FileOutcome]:
    """Per-file outcomes in input order: in this process, or in `settings.jobs` worker processes.

    `watch` sees every record, so the files are then read here: records do not cross process boundaries.
    """
    if watch is None and settings.jobs > 1 and sum(1 for f in files if f.path is not None) > 1:
        yield from _in_pool(files, settings, index, progress)
    else:
        yield from _in_process(files, settings, index, progress, watch)


def _in_process(
    files: list[InputFile],
    settings: ScanSettings,
    index: EventIndex | None,
    progress: ProgressSink | None,
    watch: RecordSink | None,
) -> Iterator[FileOutcome]:
    for f in files:
        ticker = Ticker(progress) if progress else None
        if progress:
            progress.file_started(f.display)
        if index is not None and watch is None:
            yield indexed(f, settings, index, ticker)
        else:
            yield process_file(f, settings, ticker=ticker, sink=watch)
        if progress and ticker is not None:
            progress.advance(max(0, f.size - ticker.advanced))
            progress.file_done()


def _in_pool(
    files: list[InputFile], settings: ScanSettings, index: EventIndex | None, progress: ProgressSink | None
) -> Iterator[FileOutcome]:
    # Small files travel in chunks (an archive folder holds thousands of 2 KB messages, and one task
    # per file cost more in pickling than in parsing); largest chunks first keeps both workers busy
    # to the end; results are merged in input order, so the report does not depend on scheduling.
    groups = chunks(files)
    order = sorted(range(len(groups)), key=lambda c: -sum(files[i].size for i in groups[c]))
    # Never more processes than there is work for, nor than the machine can take (a config may ask for 100000).
    n_workers = max(1, min(settings.jobs, max_jobs(), len(groups)))
    pool = ProcessPoolExecutor(max_workers=n_workers, initializer=worker_init, initargs=(os.getpid(),))
    try:
        futures = {c: pool.submit(process_chunk, [files[i] for i in groups[c]], settings) for c in order}
        yield from _in_order(files, groups, futures, index, progress)
    except BaseException:
        # Ctrl-C (or a consumer that stops early): drop the queued work and stop the workers now,
        # rather than letting `shutdown(wait=True)` run every queued chunk to the end first.
        _stop_now(pool)
        raise
    pool.shutdown()


def _in_order(
    files: list[InputFile],
    groups: list[list[int]],
    futures: dict[int, Future[list[FileOutcome]]],
    index: EventIndex | None,
    progress: ProgressSink | None,
) -> Iterator[FileOutcome]:
    """The workers' outcomes in input order, their index warnings passed to the parent's index."""
    for c, members in enumerate(groups):
        for i, outcome in zip(members, futures[c].result(), strict=True):
            if index is not None:
                for warning in outcome.index_warnings:
                    index.warn(warning)
            if progress:
                progress.file_started(files[i].display)
            yield outcome
            if progress:
                progress.advance(files[i].size)
                progress.file_done()


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued chunks and terminate the workers without waiting for them."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    # Taken before `shutdown`, which sets the pool's attribute to None.
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()
    if isinstance(manager, threading.Thread):
        _forget_manager(manager)


def _forget_manager(manager: threading.Thread) -> None:
    """After Ctrl-C: let the pool's manager thread end, and keep the interpreter's exit hook off it.

    That hook (`concurrent.futures.process._python_exit`) wakes each manager through its pipe, unlocked, and
    may write to it while the manager closes it: an `OSError: Bad file descriptor` traceback under the one-line
    "interrupted" (seen under load on 3.10 and 3.11, when the manager outlived the join below). `shutdown`
    already woke the manager, so its entry gets a wake-up that does nothing: the hook still joins a manager
    that is alive, and never writes to its pipe. The entry is replaced before the join: the hook cannot
    run before this returns, but the manager may close its pipe at any moment.
    """
    from concurrent.futures import process

    wakeups = getattr(process, "_threads_wakeups", None)
    if wakeups is None or manager not in wakeups:
        return
    wakeups[manager] = _Woken()
    manager.join(timeout=0.5)
    if not manager.is_alive():
        wakeups.pop(manager, None)


class _Woken:
    """A manager's wake-up after `shutdown` woke it: the exit hook's call does nothing."""

    def wakeup(self) -> None:
        return None


def worker_init(parent: int | None = None) -> None:
    """Workers ignore Ctrl-C (the parent stops them, so the terminal shows no worker tracebacks) and die
    with their parent: a parent killed with SIGKILL or SIGTERM must not leave workers parsing on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is None:
        return
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="imsdiag-parent-watch").start()
    if os.getppid() != parent:  # the parent died before this worker got here
        os._exit(1)


def _die_with_parent() -> bool:
    """Ask Linux to send SIGKILL to this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Elsewhere: notice the parent is gone (we were re-parented) and leave at once."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def chunks(files: list[InputFile]) -> list[list[int]]:
    """Contiguous runs of input indices (input order) of at most CHUNK_BYTES or CHUNK_FILES each."""
    out: list[list[int]] = []
    size = 0
    for i, f in enumerate(files):
        if not out or size + f.size > CHUNK_BYTES or len(out[-1]) >= CHUNK_FILES:
            out.append([])
            size = 0
        out[-1].append(i)
        size += f.size
    return out


def process_chunk(files: list[InputFile], settings: ScanSettings) -> list[FileOutcome]:
    """`process_file` for consecutive files; their correlators are merged into the first one's.

    Merging in input order here and then in the parent gives the same result as merging every
    file in the parent, and the small files' outcomes cross the process boundary nearly empty.
    Year-less logs keep their own correlator: the scan may re-read them with another year, and
    what their first reading gave must then be dropped, not found merged into a neighbour.
    """
    done = [process_file(f, settings) for f in files]
    dated = [o for o in done if o.stat.format not in YEARLESS_FORMATS]
    for o in dated[1:]:
        dated[0].correlator.merge(o.correlator)
        o.correlator = new_correlator(settings)
    return done
