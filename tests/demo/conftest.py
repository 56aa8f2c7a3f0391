"""Runs the demo's entry point (what `make demo` runs) as a user would, in a subprocess.

The full demo takes about two minutes, mostly the AWS provider waiting on SQS. So that the suite
does not wait for it, the run starts in the background as soon as collection shows that the
smoke test will run, and the test collects its output at the end. Without terraform it is not
started, and the test skips (or fails under POST_SCAN_REQUIRE_TOOLS=1).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _demo_run import DemoRun
from tooling import require_terraform, terraform_binary, use_offline_provider_mirrors

_background: DemoRun | None = None


def _wants_smoke_run(session: pytest.Session) -> bool:
    return any("demo_run" in getattr(item, "fixturenames", ()) for item in session.items)


def pytest_collection_finish(session: pytest.Session) -> None:
    global _background
    config = session.config
    if config.option.collectonly or hasattr(config, "workerinput") or _background is not None:
        return  # xdist workers start it from the fixture instead
    if not _wants_smoke_run(session) or terraform_binary() is None:
        return
    try:
        use_offline_provider_mirrors()
    except RuntimeError:
        return  # the fixture reports it
    _background = DemoRun(Path(tempfile.mkdtemp(prefix="demo-smoke-")))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _background is not None:
        _background.stop()
        if _background.process.returncode == 0:
            shutil.rmtree(_background.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_run() -> Iterator[DemoRun]:
    """The finished full demo run (emulator target)."""
    require_terraform()
    try:
        use_offline_provider_mirrors()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    global _background
    if _background is None:
        _background = DemoRun(Path(tempfile.mkdtemp(prefix="demo-smoke-")))
    _background.wait()
    yield _background
