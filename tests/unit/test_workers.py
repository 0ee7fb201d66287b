"""The pool's stop on Ctrl-C: the interpreter's exit hook must never write to a manager's closing pipe."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, process

from imsdiag import workers


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_stop_now_leaves_the_exit_hook_nothing_to_write() -> None:
    # The exit hook (`_python_exit`) calls `wakeup()` on every entry of `_threads_wakeups`; a real
    # `_ThreadWakeup` there after the stop is the race that printed "Bad file descriptor" in CI.
    pool = ProcessPoolExecutor(max_workers=1, initializer=workers.worker_init)
    pool.submit(_nap, 5.0)
    pool.submit(_nap, 5.0)
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    assert manager is not None and manager in process._threads_wakeups
    started = time.monotonic()
    workers._stop_now(pool)
    assert time.monotonic() - started < 3.0
    entry = process._threads_wakeups.get(manager)
    assert entry is None or isinstance(entry, workers._Woken)
    manager.join(timeout=5.0)
    assert not manager.is_alive()
