"""The demo's entry point run as `make demo` runs it: `PYTHONPATH=tools python -m demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tooling import REPO_ROOT

DEMO_TIMEOUT = 600


class DemoRun:
    """`PYTHONPATH=tools python -m demo ARGS` from the repository root, output to a file."""

    def __init__(self, workdir: Path, args: tuple[str, ...] = (), env: dict | None = None) -> None:
        self.workdir = workdir
        self.output_path = workdir / "demo-output.txt"
        python_path = os.pathsep.join(
            filter(None, [str(REPO_ROOT / "tools"), os.environ.get("PYTHONPATH")])
        )
        with open(self.output_path, "w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "demo", *args],
                cwd=REPO_ROOT,
                env={**os.environ, **(env or {}), "PYTHONPATH": python_path},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()
        self.seconds = 0.0

    @property
    def output(self) -> str:
        return self.output_path.read_text()

    def wait(self, timeout: float = DEMO_TIMEOUT) -> int:
        try:
            code = self.process.wait(timeout=max(1, timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"the demo ran over {timeout} s:\n{self.output}", pytrace=False)
        self.seconds = time.monotonic() - self.started
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the demo cleans up on SIGTERM as on Ctrl-C
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
