"""The test machinery that fits the suite to a small runner: Terraform slots (emulator.jobs), the
background work (tests/background.py), the order of the tiers (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import background
import pytest
import tiers

from emulator import jobs

REPO = Path(__file__).resolve().parents[2]


def test_jobs_default_to_four_per_core_and_take_a_positive_setting(monkeypatch):
    monkeypatch.delenv(jobs.JOBS_ENV, raising=False)
    assert jobs.jobs() == jobs.PER_CORE * jobs.cores()
    monkeypatch.setenv(jobs.JOBS_ENV, "1")
    assert jobs.jobs() == 1
    for wrong in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(jobs.JOBS_ENV, wrong)
        with pytest.raises(ValueError, match=jobs.JOBS_ENV):
            jobs.jobs()


def test_timeouts_scale_with_the_jobs_per_core(monkeypatch):
    monkeypatch.setattr(jobs, "cores", lambda: 2)
    monkeypatch.setenv(jobs.JOBS_ENV, "1")
    assert jobs.scaled(150) == 600  # four times over; one run fits the cores
    monkeypatch.setenv(jobs.JOBS_ENV, "8")
    assert jobs.scaled(150) == 150 * 4 * 9 / 2  # eight runs and the test itself on two cores


def test_only_commands_that_plan_take_a_slot():
    heavy = [["terraform", c, "-no-color"] for c in ("plan", "apply", "destroy", "test")]
    light = [["terraform", c] for c in ("init", "output", "show", "version", "fmt")]
    assert all(jobs.is_heavy(args) for args in heavy)
    assert not any(jobs.is_heavy(args) for args in light)
    assert jobs.is_heavy(["/usr/local/bin/terraform", "-chdir=x", "apply"])


def test_no_slot_directory_means_no_limit(monkeypatch):
    monkeypatch.delenv(jobs.SLOTS_ENV, raising=False)
    with jobs.slot() as first, jobs.slot() as second:
        assert (first, second) == (None, None)


def test_one_job_runs_threads_strictly_one_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.JOBS_ENV, "1")
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with jobs.slot(tmp_path) as number:
            assert number == 0
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.3)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert jobs.waited(os.getpid(), tmp_path) > 0.5  # the others waited, and it was recorded


def test_slots_hold_across_processes_and_a_dead_holder_frees_its_slot(tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.JOBS_ENV, "2")
    holder = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from emulator import jobs\n"
        "with jobs.slot(sys.argv[2]) as n:\n    print(n, flush=True); time.sleep(60)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", holder, str(REPO / "tools"), str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env={"POST_SCAN_JOBS": "2", "PATH": "/usr/bin:/bin"},
        )
        for _ in range(2)
    ]
    try:
        assert sorted(int(p.stdout.readline()) for p in processes) == [0, 1]
        taken = threading.Event()

        def wait_for_a_slot() -> None:
            with jobs.slot(tmp_path):
                taken.set()

        waiter = threading.Thread(target=wait_for_a_slot)
        waiter.start()
        assert not taken.wait(1.0), "a third holder got in while two slots were held"
        processes[0].kill()  # its lock goes with it
        assert taken.wait(30)
        waiter.join()
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_background_work_starts_once_and_hands_out_its_result_or_its_exception(monkeypatch):
    monkeypatch.setattr(background, "_starters", {})
    monkeypatch.setattr(background, "_started", {})
    monkeypatch.setattr(background, "_cleanups", [])
    calls: list[str] = []

    @background.work("deployments")
    def _start(session):
        calls.append("started")
        return "deployed"

    @background.work("broken")
    def _broken(session):
        pytest.skip("no terraform")

    session = _Session(["deployments", "other"])
    background.start_needed(session)
    assert background.result("deployments", session) == "deployed"
    assert background.result("deployments", session) == "deployed"
    assert calls == ["started"]
    assert "broken" not in background._started, "no selected test needs it"
    with pytest.raises(pytest.skip.Exception, match="no terraform"):
        background.result("broken", session)  # started when asked for, its skip raised here
    order: list[int] = []
    background.at_exit(lambda: order.append(1))
    background.at_exit(lambda: order.append(2))
    background.finish()
    assert order == [2, 1]


class _Item:
    def __init__(self, path: str, name: str, fixturenames: tuple[str, ...] = ()) -> None:
        self.path = REPO / path
        self.name = name
        self.fixturenames = fixturenames


class _Session:
    def __init__(self, fixtures: list[str]) -> None:
        self.items = [_Item("tests/apply/test_x.py", "test_x", tuple(fixtures))]


def test_tiers_run_cpu_work_first_destroy_tests_after_the_apply_tests_and_the_demo_last():
    items = [
        _Item("tests/demo/test_demo.py", "test_demo"),
        _Item("tests/apply/test_apply_examples.py", "test_destroy_leaves_nothing_behind"),
        _Item("tests/apply/test_apply_examples.py", "test_function"),
        _Item("tests/static/test_static.py", "test_fmt"),
        _Item("tests/unit/test_engine.py", "test_parse"),
        _Item("tests/bench/test_benchmark_smoke.py", "test_bench"),
        _Item("tests/apply/test_apply_queue.py", "test_burst"),
    ]
    items.sort(key=tiers.tier)
    assert [i.name for i in items] == [
        "test_parse",
        "test_fmt",
        "test_bench",
        "test_function",
        "test_burst",
        "test_destroy_leaves_nothing_behind",
        "test_demo",
    ]
    assert tiers.TIERS == ("unit", "static", "bench", "apply", "demo")
