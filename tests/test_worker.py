"""The background worker: results arrive, Stop keeps partial results, the newest job wins."""

from __future__ import annotations

import threading

from paramshare_viz.app.worker import Worker


def test_result_arrives_off_the_calling_thread():
    worker, seen = Worker(), {}
    worker.start(lambda stop: threading.current_thread().name, lambda r: seen.update(done=r), print)
    assert worker.wait(5)
    assert seen["done"].startswith("psv-worker-")


def test_stop_keeps_partial_results():
    worker, seen, started = Worker(), {}, threading.Event()

    def count(stop):
        steps = 0
        while not stop.is_set():
            steps += 1
            started.set()
            stop.wait(0.01)
        return steps

    worker.start(count, lambda r: seen.update(done=r), lambda e: seen.update(error=e))
    started.wait(5)
    assert worker.running
    worker.stop()
    assert worker.wait(5)
    assert seen["done"] >= 1 and "error" not in seen


def test_newer_job_supersedes_older_and_errors_are_reported():
    worker, seen, release = Worker(), [], threading.Event()
    worker.start(lambda stop: release.wait(5) and "old", seen.append, seen.append)
    worker.start(lambda stop: "new", seen.append, seen.append)
    assert worker.wait(5)
    release.set()
    worker.start(lambda stop: 1 / 0, seen.append, lambda e: seen.append(type(e).__name__))
    assert worker.wait(5)
    assert seen == ["new", "ZeroDivisionError"]  # "old" finished after being superseded: dropped
