"""The background worker: results arrive, Stop keeps partial results, the newest job wins."""

from __future__ import annotations

import threading

import ipywidgets

import paramshare_viz.app.worker as worker_module
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
    assert not worker.wait(0)  # still counting
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


def test_progress_reaches_the_page_at_most_ten_times_a_second(monkeypatch):
    clock = iter([0.0, 0.05, 0.1, 0.25, 0.3, 0.34, 0.4])  # the job's seven progress calls, in seconds

    class Clock:
        @staticmethod
        def monotonic():
            return next(clock)

    monkeypatch.setattr(worker_module, "time", Clock)
    worker, shown = Worker(), []

    def work(stop, progress):
        for step in range(7):
            progress(step)
        return "done"

    worker.start(work, shown.append, shown.append, shown.append)
    assert worker.wait(5)
    # 0.1 s apart at least: 0 (t=0), 2 (t=0.1), 3 (t=0.25), 6 (t=0.4); the outcome after them
    assert shown == [0, 2, 3, 6, "done"]


def test_a_dropped_job_shows_neither_progress_nor_outcome():
    worker, shown, go_on = Worker(), [], threading.Event()

    def work(stop, progress):
        go_on.wait(5)
        progress("late")
        return "late result"

    worker.start(work, shown.append, shown.append, shown.append)
    worker.drop()  # what Compare does when the form changes under a sweep
    go_on.set()
    assert worker.wait(5)
    assert shown == []


def test_a_widget_edited_from_the_worker_fails_and_from_its_outcome_works():
    box, worker, seen = ipywidgets.HTML(), Worker(), []
    worker.start(lambda stop: setattr(box, "value", "from the worker"), seen.append,
                 lambda err: seen.append(type(err).__name__))
    assert worker.wait(5)
    assert seen == ["AssertionError"]  # the test mode refuses it (tests/conftest.py)
    worker.start(lambda stop: "on the kernel's thread", lambda value: setattr(box, "value", value), seen.append)
    assert worker.wait(5)
    assert box.value == "on the kernel's thread"
