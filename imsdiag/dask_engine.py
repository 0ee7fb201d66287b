"""`--engine dask`: one task per file on a Dask cluster, an ordered tree merge on the workers, the rest here."""

from __future__ import annotations

import logging
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

FAN_IN = 8
"""Correlators one merge task folds: 10 000 files merge in 5 levels, each task holding 8 small summaries."""
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
    with connect(settings) as client:
        return _Run(client, files, settings, progress).fold(totals)


@contextmanager
def connect(settings: ScanSettings) -> Iterator[Client]:
    """A client of `settings.scheduler`, or of a local cluster of `settings.jobs` one-thread worker processes."""
    from distributed import Client, LocalCluster

    if settings.scheduler:
        try:
            client = Client(settings.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {settings.scheduler}: {exc}") from None
        try:
            _check_versions(client)
            yield client
        finally:
            client.close()
        return
    n = max(1, min(settings.jobs, max_jobs()))
    # No dashboard (it needs bokeh and a port); the cluster's own log lines would land in the report's stderr.
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


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


class _Run:
    """One scan's futures: every file's outcome stays on the workers until the scan ends."""

    def __init__(
        self, client: Client, files: list[InputFile], settings: ScanSettings, progress: ProgressSink | None
    ) -> None:
        self.client = client
        self.files = files
        self.settings = settings
        self.progress = progress
        self.shared = client.scatter(settings, broadcast=True)  # once, not once per task
        self.futures: list[Future] = []

    def fold(self, totals: Totals) -> tuple[years.Dating, str]:
        try:
            return self._fold(totals)
        except BaseException:
            # Ctrl-C (or any error): drop every queued and running task now; the cluster closes after.
            self.client.cancel(self.futures, force=True)
            raise

    def _fold(self, totals: Totals) -> tuple[years.Dating, str]:
        leaves = [self._leaf(f, self.settings) for f in self.files]
        ok = list(range(len(leaves)))
        dated_root = self._tree([self._submit(dask_tasks.dated_part, leaves[i], self.shared) for i in ok])
        heads, lost = self._heads(leaves, self.files, self.progress)
        if lost:  # the tree holds futures of lost files: build it again over the others
            ok = [i for i in ok if i not in lost]
            dated_root = self._tree([self._submit(dask_tasks.dated_part, leaves[i], self.shared) for i in ok])
        held: list[FileOutcome] = []
        leaf_of: dict[str, Future] = {}
        for i, h in enumerate(heads):
            if i not in lost and dask_tasks.is_yearless(h, self.settings):
                held.append(h)
                leaf_of[h.stat.path] = leaves[i]
            else:
                totals.absorb(replace(h, correlator=new_correlator(self.settings)))
        totals.corr.merge(self._result(dated_root))
        return self._date(held, leaf_of, totals)

    def _date(self, held: list[FileOutcome], leaf_of: dict[str, Future], totals: Totals) -> tuple[years.Dating, str]:
        """`engine._read_all`'s dating of year-less files, from their heads; their correlators move on the workers."""
        dating, note = years.Dating(self.settings.year_hint, {}), ""
        reread: dict[str, Future] = {}
        if held and totals.corr.years:

            def read_again(again: list[InputFile], s: ScanSettings) -> list[FileOutcome]:
                fresh = [self._leaf(f, s) for f in again]
                outs, gone = self._heads(fresh, again, None)
                for j, f in enumerate(again):
                    reread[f.display] = fresh[j]
                    if j in gone:
                        reread[f.display] = self.client.scatter(dask_tasks.failed(f, s, "worker-lost", "lost"))
                return outs

            by_path = {f.display: f for f in self.files}
            held, dating = years.redate(held, totals.corr, self.settings, read_again, by_path)
            note = year_note(len(held), dating)
        parts = []
        for h in held:
            path = h.stat.path
            if path in reread:
                parts.append(self._submit(dask_tasks.correlator_of, reread[path]))
            elif path in dating.shifts:
                parts.append(self._submit(dask_tasks.shifted, leaf_of[path], dating.shifts[path]))
            else:
                parts.append(self._submit(dask_tasks.correlator_of, leaf_of[path]))
            totals.absorb(replace(h, correlator=new_correlator(self.settings)))
        if parts:
            totals.corr.merge(self._result(self._tree(parts)))
        return dating, note

    def _leaf(self, f: InputFile, settings: ScanSettings) -> Future:
        """The file's outcome on a worker; a stream or a `memory://` file is read here and handed over."""
        if f.path is None and (f.url is None or is_local_only(f.url)):
            fut = self.client.scatter(process_file(f, settings), hash=False)
            self.futures.append(fut)
            return fut
        shared = self.shared if settings is self.settings else settings
        return self._submit(dask_tasks.parse_task, f, shared, pure=False)

    def _submit(self, func: Any, *args: Any, pure: bool = False) -> Future:
        fut = self.client.submit(func, *args, pure=pure)
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

    def _heads(
        self, leaves: list[Future], files: list[InputFile], progress: ProgressSink | None
    ) -> tuple[list[FileOutcome], set[int]]:
        """Each file's head in input order, gathered as they finish (driving the progress bar); lost files too.

        A worker that dies is replaced and its tasks run again (Dask allows each task
        `distributed.scheduler.allowed-failures` deaths, 3 by default); a file that kills every worker it
        meets (say, one that exhausts memory) ends as a counted `worker-lost` issue, like a damaged file.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        index = {}
        for i, leaf in enumerate(leaves):
            fut = self._submit(dask_tasks.head, leaf, self.shared)
            index[fut.key] = (i, fut)
        heads: list[FileOutcome | None] = [None] * len(leaves)
        lost: set[int] = set()
        for fut in as_completed([f for _, f in index.values()]):
            i, _ = index[fut.key]
            f = files[i]
            if progress:
                progress.file_started(f.display)
            if fut.status == "error":
                exc = fut.exception()
                if not isinstance(exc, KilledWorker):
                    raise exc  # not the file's fault: a bug or a broken cluster, reported as such
                lost.add(i)
                message = f"the workers reading this file died {_failures()} time(s); skipped ({exc})"
                heads[i] = dask_tasks.failed(f, self.settings, "worker-lost", message)
            else:
                heads[i] = fut.result()
            if progress:
                progress.advance(f.size)
                progress.file_done()
        return [h for h in heads if h is not None], lost


def _failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures", 3))
