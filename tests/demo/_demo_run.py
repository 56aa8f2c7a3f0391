"""The demo's entry point run as `make demo` runs it: `PYTHONPATH=tools python -m demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tooling import REPO_ROOT, interruptible_children

from emulator import jobs
from emulator.environ import environ_copy

# The full demo on an idle 2-core machine takes about 150 s; its timeout is scaled from that
# (emulator.jobs: 600 s with POST_SCAN_JOBS=1), plus whatever it spent waiting for a Terraform slot
# while the apply tests held them.
DEMO_SECONDS = 150


class DemoRun:
    """`PYTHONPATH=tools python -m demo ARGS` from the repository root, output to a file."""

    def __init__(self, workdir: Path, args: tuple[str, ...] = (), env: dict | None = None) -> None:
        self.workdir = workdir
        self.output_path = workdir / "demo-output.txt"
        python_path = os.pathsep.join(
            filter(None, [str(REPO_ROOT / "tools"), os.environ.get("PYTHONPATH")])
        )
        with open(self.output_path, "w") as output, interruptible_children():
            self.process = subprocess.Popen(
                [sys.executable, "-m", "demo", *args],
                cwd=REPO_ROOT,
                env={**environ_copy(), **(env or {}), "PYTHONPATH": python_path},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()
        self.seconds = 0.0

    @property
    def output(self) -> str:
        return self.output_path.read_text()

    def wait(self, timeout: float | None = None) -> int:
        """The demo's exit code, once it ends; fails the test when it runs longer than `timeout`
        (default: scaled from DEMO_SECONDS) plus the time it waited for Terraform slots."""
        budget = timeout if timeout is not None else jobs.scaled(DEMO_SECONDS)
        while True:
            if self.process.poll() is not None:  # it may have ended long before it is asked
                return self._ended()
            waited = jobs.waited(self.process.pid)
            left = budget + waited - (time.monotonic() - self.started)
            if left <= 0:
                self.stop()
                pytest.fail(
                    f"the demo ran over {budget:.0f} s (plus {waited:.0f} s waiting for a "
                    f"Terraform slot):\n{self.output}",
                    pytrace=False,
                )
            try:
                self.process.wait(timeout=min(left, 10))
            except subprocess.TimeoutExpired:
                continue
            return self._ended()

    def _ended(self) -> int:
        if not self.seconds:
            self.seconds = time.monotonic() - self.started
        return self.process.returncode

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the demo cleans up on SIGTERM as on Ctrl-C
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
