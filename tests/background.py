"""Slow work the tests need later, started in a thread as soon as collection shows they need it.

An apply test spends most of its time in Terraform asleep (the AWS provider waits 25 s on each SQS
queue resource), so the deployments, the pipeline flows and the scale test start when collection
finishes and run while the tests that need the CPU (unit, static, bench) go first (tests/conftest.py
orders the tiers). `emulator.jobs` bounds how many Terraform runs go at once (POST_SCAN_JOBS).

Each piece of work is registered under the name of the fixture that hands out its result:

    @background.work("fleet")
    def _start_fleet(session: pytest.Session) -> Fleet: ...

    @pytest.fixture(scope="session")
    def fleet(request: pytest.FixtureRequest) -> Fleet:
        return background.result("fleet", request.session)

`result` waits for the work (starting it now if collection did not, e.g. under xdist or
--collect-only) and raises what it raised, a skip included. Clean-ups registered with `at_exit` run
at the end of the session, last registered first.

Background work never writes to stdout or stderr (no print, no subprocess that inherits them):
pytest captures the file descriptors for the test running in the foreground, so a line would land
in that test's output (a unit test reads the handler's log lines from it). Report through the
result, and print from the fixture of the test that asks for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

_starters: dict[str, Callable[[pytest.Session], Any]] = {}
_started: dict[str, Future[Any]] = {}
_cleanups: list[Callable[[], None]] = []
_lock = threading.Lock()


def work(fixture: str) -> Callable[[Callable[[pytest.Session], Any]], Callable[..., Any]]:
    """Register `starter(session)` as the work behind `fixture`."""

    def register(starter: Callable[[pytest.Session], Any]) -> Callable[[pytest.Session], Any]:
        _starters[fixture] = starter
        return starter

    return register


def needed(session: pytest.Session, fixture: str) -> bool:
    """Whether a selected test uses `fixture` (directly or through other fixtures)."""
    return any(fixture in getattr(item, "fixturenames", ()) for item in session.items)


def start_needed(session: pytest.Session) -> None:
    """Start every registered piece of work a selected test needs (collection has finished)."""
    for fixture in _starters:
        if needed(session, fixture):
            _start(fixture, session)


def _start(fixture: str, session: pytest.Session) -> Future[Any]:
    with _lock:
        if fixture not in _started:
            future: Future[Any] = Future()
            thread = threading.Thread(
                target=_run,
                args=(_starters[fixture], session, future),
                name=f"background-{fixture}",
                daemon=True,
            )
            _started[fixture] = future
            thread.start()
        return _started[fixture]


def _run(starter: Callable[[pytest.Session], Any], session: pytest.Session, future: Future) -> None:
    try:
        future.set_result(starter(session))
    except BaseException as exc:  # a skip or a failure reaches the test that needs it
        future.set_exception(exc)


def result(fixture: str, session: pytest.Session) -> Any:
    """The work's result, once it is there (its exception, raised here, if it failed)."""
    return _start(fixture, session).result()


def at_exit(cleanup: Callable[[], None]) -> None:
    """Run `cleanup` at the end of the session (after every test)."""
    with _lock:
        _cleanups.append(cleanup)


def finish() -> None:
    """Session end: wait for the work still running, then run the clean-ups, last first."""
    for future in list(_started.values()):
        with contextlib.suppress(BaseException):  # its test has reported it
            future.result()
    while _cleanups:
        with _lock:
            cleanup = _cleanups.pop()
        cleanup()
