"""Copies of the process environment survive other threads changing it.

CI once failed 13 apply tests at once: a fleet thread staged a Terraform run with
``{k: v for k, v in os.environ.items() ...}`` while pytest's main thread removed
``PYTEST_CURRENT_TEST``, and the key listed first was gone when it was read (``KeyError``).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import pytest

from emulator.environ import environ_copy

REPO = Path(__file__).resolve().parents[2]


class _RemovedWhileCopied(MutableMapping[str, str]):
    """An environment where reading `trigger` removes `removed`, as another thread would."""

    def __init__(self, data: dict[str, str], trigger: str, removed: str) -> None:
        self.data, self.trigger, self.removed = dict(data), trigger, removed

    def __getitem__(self, key: str) -> str:
        value = self.data[key]
        if key == self.trigger:
            self.data.pop(self.removed, None)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)


def _environment() -> _RemovedWhileCopied:
    return _RemovedWhileCopied(
        {"PATH": "/bin", "PYTEST_CURRENT_TEST": "t (call)", "AWS_REGION": "us-east-1"},
        trigger="PATH",
        removed="PYTEST_CURRENT_TEST",
    )


def test_a_key_removed_during_the_copy_is_left_out() -> None:
    with pytest.raises(KeyError):  # the way it was copied before
        {k: v for k, v in _environment().items()}
    assert environ_copy(environ=_environment()) == {"PATH": "/bin", "AWS_REGION": "us-east-1"}


def test_prefixes_are_left_out() -> None:
    copied = environ_copy(("AWS_", "PYTEST"), environ=_environment())
    assert copied == {"PATH": "/bin"}


def test_copies_never_fail_while_another_thread_churns_the_environment() -> None:
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            os.environ["POST_SCAN_ENVIRON_CHURN"] = "1"
            os.environ.pop("POST_SCAN_ENVIRON_CHURN", None)

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    try:
        for _ in range(2_000):
            assert "PATH" in environ_copy(("AWS_",))
    finally:
        stop.set()
        worker.join()


# Iterating os.environ itself: items()/keys()/values()/copy(), dict(os.environ), {**os.environ}.
_UNSAFE_COPY = re.compile(
    r"os\.environ\.(?:items|keys|values|copy)\(|dict\(os\.environ\)|\*\*os\.environ\b"
)


def test_test_and_tool_code_copies_the_environment_through_environ_copy() -> None:
    """The test session runs threads (apply fleet, background work, the in-process Lambda runner),
    so every copy of the environment in code that can run there goes through environ_copy."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("tools", "tests", "benchmarks")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path != REPO / "tools" / "emulator" / "environ.py" and path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _UNSAFE_COPY.search(line)
    ]
    assert offenders == []
