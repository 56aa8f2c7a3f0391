"""Whole-suite setup: the tools, how many Terraform runs at once, the order of the tiers.

- pytest-terraform must not abort the run where terraform is missing.
- POST_SCAN_JOBS (`make test JOBS=n`, default 4 per core) bounds the Terraform runs the session
  has going at once, across its threads and the demo it starts (emulator/jobs.py): this session's
  slot files live in a directory of its own.
- The tiers run in the order of tests/tiers.py: unit, static, bench, then the apply tests (their
  deployments started in the background when collection finished, tests/background.py), the demo
  last.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import background
import pytest
import tiers
from tooling import terraform_binary

from emulator import jobs

_slots: str | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest-terraform ends the session in its own pytest_configure when it finds no binary, and
    # it prefers `tofu`. Point it at terraform or, with none, at replay mode, which skips that
    # check: no test uses its replay fixtures, and tooling.py skips (or, in CI, fails) the
    # Terraform tests with a clear reason.
    if hasattr(config.option, "dest_tf_binary"):
        binary = terraform_binary()
        if binary:
            config.option.dest_tf_binary = binary
        else:
            config.option.dest_tf_replay = True
    try:
        jobs.jobs()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc
    global _slots
    if not os.environ.get(jobs.SLOTS_ENV):
        _slots = tempfile.mkdtemp(prefix="post-scan-jobs-")
        os.environ[jobs.SLOTS_ENV] = _slots


def pytest_unconfigure(config: pytest.Config) -> None:
    if _slots is not None:
        os.environ.pop(jobs.SLOTS_ENV, None)
        shutil.rmtree(_slots, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    return f"terraform runs at once: {jobs.jobs()} ({jobs.JOBS_ENV}; {jobs.cores()} cores)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=tiers.tier)


def pytest_collection_finish(session: pytest.Session) -> None:
    # An xdist worker collects every test but runs its share: its fixtures start what they need.
    if not session.config.option.collectonly and not hasattr(session.config, "workerinput"):
        background.start_needed(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    background.finish()
