"""WorkerPool: results come back on the GUI thread; waiting copes with workers already deleted."""
from __future__ import annotations

import shiboken6

from imgen_desktop.ui.workers import FunctionWorker, WorkerPool


def test_results_and_errors_arrive_with_their_tags(qtbot):
    pool = WorkerPool()
    got = []
    pool.start(lambda a, b: a + b, 2, 3, on_done=lambda r, tag: got.append((r, tag)), tag="sum")
    pool.start(lambda: 1 / 0, on_error=lambda message, tag: got.append((message, tag)), tag="div")
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10_000)
    assert (5, "sum") in got and ("ZeroDivisionError: division by zero", "div") in got
    assert pool.wait_all(10_000)
    qtbot.waitUntil(lambda: not pool.busy(), timeout=10_000)


def test_waiting_on_a_worker_whose_object_is_already_deleted(qtbot):
    """A finished worker's slot (deleteLater) runs on its own thread; a shutdown that waits at that
    moment met a deleted C++ object and raised (seen once in CI). It counts as finished."""
    pool = WorkerPool()
    worker = FunctionWorker(lambda: None)
    pool._workers.add(worker)
    shiboken6.delete(worker)
    assert not pool.busy()
    assert pool.wait_all(1000)
    assert worker not in pool._workers
