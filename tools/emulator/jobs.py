"""How many Terraform runs the tests (and a demo they start) may have going at once.

`POST_SCAN_JOBS` (`make test JOBS=n`) sets it; the default follows the machine: 4 per core. An
apply against the emulator spends most of its time asleep in the AWS provider's SQS waits (25 s per
queue resource) and uses a core about a fifth of the time, so a few per core keep the cores busy
without piling work on them. `POST_SCAN_JOBS=1` runs one Terraform command at a time, strictly.

The limit holds across threads and processes: each `terraform plan/apply/destroy/test/refresh/
import` waits for one of the slot files in `POST_SCAN_JOBS_DIR` (set by the test session; without
it there is no limit, as in `make demo`) and holds an exclusive lock on it while it runs. A process
that dies releases its lock.

Timeouts scale with the same setting (`scaled`): a step that takes t seconds on an idle machine
gets `4 x t x max(1, (jobs + 1) / cores)`: four times over for a runner shared with others, and as
many times more as the suite's own runs (plus the test itself) outnumber the cores.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

JOBS_ENV = "POST_SCAN_JOBS"
SLOTS_ENV = "POST_SCAN_JOBS_DIR"
PER_CORE = 4
HEADROOM = 4
# Terraform commands that take a slot: the ones that plan (and start the providers); init, output,
# show, fmt and version are short and light.
HEAVY_COMMANDS = frozenset({"plan", "apply", "destroy", "refresh", "import", "test"})
_POLL_SECONDS = 0.2


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def jobs() -> int:
    """POST_SCAN_JOBS if set (a positive integer), else PER_CORE per core."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if not value:
        return PER_CORE * cores()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{JOBS_ENV} must be a positive integer, not {value!r}")
    return int(value)


def scaled(seconds_alone: float) -> float:
    """A timeout for a step that takes `seconds_alone` on an idle machine."""
    return seconds_alone * HEADROOM * max(1.0, (jobs() + 1) / cores())


def is_heavy(args: list[str]) -> bool:
    """Whether a Terraform command line (binary first) takes a slot."""
    command = next((a for a in args[1:] if not a.startswith("-")), "")
    return command in HEAVY_COMMANDS


@contextlib.contextmanager
def slot(directory: str | os.PathLike[str] | None = None) -> Iterator[int | None]:
    """Hold one of the `jobs()` slots in `directory` (default: $POST_SCAN_JOBS_DIR) while the
    block runs; yields its number. Without a directory there is no limit (yields None)."""
    folder = directory if directory is not None else os.environ.get(SLOTS_ENV)
    if not folder:
        yield None
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    count = jobs()
    started = time.monotonic()
    while True:
        for number in range(count):
            handle = open(path / f"slot-{number}", "a")  # noqa: SIM115 (held past this loop)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _record_wait(path, time.monotonic() - started)
            try:
                yield number
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(_POLL_SECONDS)


def _record_wait(path: Path, seconds: float) -> None:
    with open(path / f"waited-{os.getpid()}", "a") as log:
        log.write(f"{seconds:.3f}\n")


def waited(pid: int, directory: str | os.PathLike[str] | None = None) -> float:
    """Seconds the process `pid` has spent waiting for slots so far (for the timeouts of work
    that runs in another process, such as the demo the tests start)."""
    folder = directory if directory is not None else os.environ.get(SLOTS_ENV)
    if not folder:
        return 0.0
    try:
        lines = (Path(folder) / f"waited-{pid}").read_text().split()
    except FileNotFoundError:
        return 0.0
    return sum(float(line) for line in lines)
