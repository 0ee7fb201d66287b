"""`--engine dask`: files read in tasks on a Dask cluster, an ordered tree merge on the workers, the rest here."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import __version__, dask_tasks, years
from .correlate import Correlator
from .errors import InputError
from .notes import year_note
from .outcome import FileOutcome, Totals, new_correlator, process_file
from .parsers.run import ProgressSink
from .settings import ScanSettings, max_jobs
from .sources import InputFile
from .urls import is_local_only

if TYPE_CHECKING:
    from distributed import Client, Future

CHUNK_BYTES = 8 << 20
CHUNK_FILES = 512
"""A task reads one file of CHUNK_BYTES or more alone, or neighbours up to these totals together."""
FAN_IN = 8
"""Correlators one merge task folds: 10 000 files merge in 5 levels, each task holding 8 small summaries."""
HEADS_FIRST = 1 << 40
"""Dask runs higher priorities first; a task reading files has its size in MiB as priority, far below this."""
CONNECT_TIMEOUT = "20s"
"""How long to wait for `--scheduler ADDRESS` before saying it cannot be reached."""
INSTALL_HINT = "pip install 'imsdiag[dask]' (on the workers too, with the same imsdiag version)"


def require() -> None:
    """InputError (exit 3) naming the extra to install when Dask's distributed scheduler is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        err = InputError("--engine dask needs Dask's distributed scheduler, which is not installed")
        err.hint = INSTALL_HINT
        raise err from None


def read_all(
    files: list[InputFile], settings: ScanSettings, progress: ProgressSink | None, totals: Totals
) -> tuple[years.Dating, str]:
    """Fold every file into `totals` as `engine._read_all` does, the parsing and merging done on the cluster."""
    require()
    # Workers write no index (a SQLite file on this machine) and need no baseline (a set of fingerprints).
    settings = replace(settings, use_index=False, baseline=frozenset())
    if not files:  # nothing to start a cluster for (the engine then says no files were found)
        return years.Dating(settings.year_hint, {}), ""
    with connect(settings) as client:
        return _Run(client, files, settings, progress).fold(totals)


@contextmanager
def connect(settings: ScanSettings) -> Iterator[Client]:
    """A client of `settings.scheduler`, or of a local cluster of `settings.jobs` one-thread worker processes."""
    from distributed import Client, LocalCluster

    if settings.scheduler:
        try:
            client = Client(settings.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an address Dask cannot parse
            raise InputError(f"cannot reach the Dask scheduler at {settings.scheduler}: {exc}") from None
        try:
            _check_versions(client)
            yield client
        finally:
            client.close()
        return
    n = max(1, min(settings.jobs, max_jobs()))
    import dask

    # A worker gets only the task it runs, none queued behind it: a file that kills its worker then takes
    # no innocent neighbour's retries with it (Dask counts a death against every task the worker held).
    with _interrupts_deferred() as interrupted, dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        # Its web server on a free port (8787 may be another cluster's); no worker log chatter under the report.
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.CRITICAL
        )
    with cluster, Client(cluster) as client:
        if interrupted:
            raise KeyboardInterrupt
        yield client


@contextmanager
def _interrupts_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C while a local cluster starts (2-3 s): one interrupted half way leaves workers that Dask's
    exit hook then fails to close, with a traceback under "interrupted". The list says whether it came."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
        signal.SIG_IGN,
        None,
    ):
        yield got
        return
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield got
    finally:
        signal.signal(signal.SIGINT, old)


def _check_versions(client: Client) -> None:
    """Refuse a cluster whose workers lack imsdiag or run another version (its records could differ)."""
    try:
        seen = client.run(dask_tasks.worker_version)
    except Exception as exc:
        err = InputError(f"the Dask workers cannot run imsdiag: {type(exc).__name__}: {exc}")
        err.hint = INSTALL_HINT
        raise err from None
    other = sorted({f"{addr} runs imsdiag {v}" for addr, v in seen.items() if v != __version__})
    if other:
        err = InputError(f"this is imsdiag {__version__}, but {'; '.join(other[:3])}")
        err.hint = INSTALL_HINT
        raise err


Group = tuple[list[int], "Future"]
"""One task's files (their input indices) and the future of their outcomes, which stay on a worker."""


class _Run:
    """One scan's futures: every file's outcome stays on the workers until the scan ends."""

    def __init__(
        self, client: Client, files: list[InputFile], settings: ScanSettings, progress: ProgressSink | None
    ) -> None:
        self.client = client
        self.files = files
        self.settings = settings
        self.progress = progress
        self.futures: list[Future] = []
        # Once, not in every task; as a task's result, not scattered: a result lost with its worker is
        # computed again, scattered data is gone for good.
        self.shared = self._submit(dask_tasks.given, settings)

    def fold(self, totals: Totals) -> tuple[years.Dating, str]:
        try:
            return self._fold(totals)
        except BaseException:
            # Ctrl-C (or any error): drop every queued and running task now; the cluster closes after.
            with contextlib.suppress(Exception):  # a broken connection must not hide what stopped the scan
                self.client.cancel(self.futures, force=True)
            raise

    def _fold(self, totals: Totals) -> tuple[years.Dating, str]:
        groups, heads = self._read(chunks(self.files), self.files, self.settings, self.progress)
        dated_root = self._tree([self._submit(dask_tasks.dated_part, leaf, self.shared) for _, leaf in groups])
        where = {self.files[i].display: (leaf, j) for idx, leaf in groups for j, i in enumerate(idx)}
        held: list[FileOutcome] = []
        for h in heads:
            if h.stat.path in where and dask_tasks.is_yearless(h, self.settings):
                held.append(h)
            else:
                totals.absorb(replace(h, correlator=new_correlator(self.settings)))
        totals.corr.merge(self._result(dated_root))
        return self._date(held, where, totals)

    def _date(
        self, held: list[FileOutcome], where: dict[str, tuple[Future, int]], totals: Totals
    ) -> tuple[years.Dating, str]:
        """`engine._read_all`'s dating of year-less files, from their heads; their correlators move on the workers."""
        dating, note = years.Dating(self.settings.year_hint, {}), ""
        if held and totals.corr.years:

            def read_again(again: list[InputFile], s: ScanSettings) -> list[FileOutcome]:
                for f in again:  # a file lost on its second reading must not be merged from its first
                    where.pop(f.display, None)
                groups, outs = self._read([[i] for i in range(len(again))], again, s, None)
                where.update({again[idx[0]].display: (leaf, 0) for idx, leaf in groups})
                return outs

            by_path = {f.display: f for f in self.files}
            held, dating = years.redate(held, totals.corr, self.settings, read_again, by_path)
            note = year_note(len(held), dating)
        parts = []
        for h in held:
            path = h.stat.path
            totals.absorb(replace(h, correlator=new_correlator(self.settings)))
            if path not in where:
                continue  # lost on a re-read: counted as an issue by its head
            leaf, j = where[path]
            if path in dating.shifts:
                parts.append(self._submit(dask_tasks.shifted, leaf, j, dating.shifts[path]))
            else:
                parts.append(self._submit(dask_tasks.correlator_of, leaf, j))
        if parts:
            totals.corr.merge(self._result(self._tree(parts)))
        return dating, note

    def _read(
        self, groups: list[list[int]], files: list[InputFile], settings: ScanSettings, progress: ProgressSink | None
    ) -> tuple[list[Group], list[FileOutcome]]:
        """Every file read on the cluster: the groups that were read, in input order, and each file's head.

        A worker that dies is replaced and its tasks run again (Dask allows each task
        `distributed.scheduler.allowed-failures` deaths, 3 by default). A task that still kills its
        workers is split into one task per file, and a file that does it alone (say, one that exhausts
        memory) ends as a counted `worker-lost` issue, like a damaged file.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        heads: list[FileOutcome | None] = [None] * len(files)
        read: list[Group] = []
        pending = groups
        while pending:
            leaves = self._leaves(pending, files, settings)
            by_key = {}
            for idx, leaf in leaves:
                # As soon as its files are read, before any other file: the progress bar moves as they end.
                fut = self._submit(dask_tasks.heads, leaf, self.shared, priority=HEADS_FIRST)
                by_key[fut.key] = (idx, leaf)
            retry: list[list[int]] = []
            for fut in as_completed([f for f in self.futures if f.key in by_key]):
                idx, leaf = by_key[fut.key]
                try:
                    # Its own round trip: a result whose worker died since is computed again, and waited for.
                    res = fut.result()
                except KilledWorker:  # anything else is no file's fault: a bug or a broken cluster, raised
                    if len(idx) > 1:
                        retry += [[i] for i in idx]
                        continue
                    message = f"every worker reading this file died ({_failures() + 1} tries); skipped"
                    heads[idx[0]] = dask_tasks.failed(files[idx[0]], settings, "worker-lost", message)
                else:
                    read.append((idx, leaf))
                    for i, h in zip(idx, res, strict=True):
                        heads[i] = h
                self._advance(progress, [files[i] for i in idx])
            pending = retry
        read.sort(key=lambda g: g[0][0])
        return read, [h for h in heads if h is not None]

    def _leaves(self, groups: list[list[int]], files: list[InputFile], settings: ScanSettings) -> list[Group]:
        """Submit each group's reading; a stream or a `memory://` file is read here (no worker can) and handed over."""
        shared = self.shared if settings is self.settings else settings
        out: list[Group] = []
        for idx in groups:
            mine = [files[i] for i in idx]
            if any(_here(f) for f in mine):  # `chunks` gives such a file a group of its own
                # Handed over as a task's argument, not scattered, for the same reason as the settings.
                out.append((idx, self._submit(dask_tasks.given, [process_file(f, settings) for f in mine])))
            else:
                # Largest first, as `--jobs` orders its chunks: a big file started last would finish alone.
                out.append((idx, self._submit(dask_tasks.parse_chunk, mine, shared, priority=_mib(mine))))
        return out

    def _advance(self, progress: ProgressSink | None, done: list[InputFile]) -> None:
        for f in done if progress else ():
            assert progress is not None
            progress.file_started(f.display)
            progress.advance(f.size)
            progress.file_done()

    def _submit(self, func: Any, *args: Any, priority: int = 0) -> Future:
        fut = self.client.submit(func, *args, pure=False, priority=priority)
        self.futures.append(fut)
        return fut

    def _tree(self, parts: Sequence[Future]) -> Future | None:
        """Merge neighbours, FAN_IN at a time and left to right, until one correlator is left (on a worker)."""
        level = list(parts)
        while len(level) > 1:
            level = [
                self._submit(dask_tasks.merge_many, self.shared, *level[i : i + FAN_IN])
                for i in range(0, len(level), FAN_IN)
            ]
        return level[0] if level else None

    def _result(self, root: Future | None) -> Correlator:
        return new_correlator(self.settings) if root is None else root.result()


def _mib(files: list[InputFile]) -> int:
    return sum(f.size for f in files) >> 20


def _here(f: InputFile) -> bool:
    """Only this process can read it: standard input, a FIFO, a `memory://` URL."""
    return f.path is None and (f.url is None or is_local_only(f.url))


def chunks(files: list[InputFile]) -> list[list[int]]:
    """One task per large file, small neighbours together (up to CHUNK_BYTES or CHUNK_FILES), in input order.

    Like `workers.chunks`: a task costs a few milliseconds of scheduling and a round trip, more than
    parsing a 2 KB archived message. A file this process must read itself travels alone.
    """
    out: list[list[int]] = []
    size = 0
    for i, f in enumerate(files):
        alone = _here(f)
        if not out or alone or _here(files[out[-1][0]]) or size + f.size > CHUNK_BYTES or len(out[-1]) >= CHUNK_FILES:
            out.append([])
            size = 0
        out[-1].append(i)
        size += f.size
    return out


def _failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures", 3))
