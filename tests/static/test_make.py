"""The Makefile's entry points work from a fresh clone: `make test` and `make check` install the
virtualenvs they need first (as `make demo` does), pass JOBS on as POST_SCAN_JOBS, and `make check`
leaves out only the long `terraform test` run. Read with `make -n` (print, run nothing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tooling import REPO_ROOT, missing_tool


def _dry_run(directory: Path, *args: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        missing_tool("make not found on PATH")
    result = subprocess.run(
        [make, "-n", "-C", str(directory), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if not line.startswith("make")]


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """The Makefile and the requirements, without any virtualenv."""
    for name in ("Makefile", "requirements-dev.txt", "requirements-checkov.txt"):
        shutil.copy2(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def _position(lines: list[str], fragment: str) -> int:
    found = [i for i, line in enumerate(lines) if fragment in line]
    assert found, f"no command with {fragment!r} in:\n" + "\n".join(lines)
    return found[0]


@pytest.mark.parametrize("target", ["test", "check", "demo"])
def test_a_fresh_clone_installs_the_tools_first(fresh_clone: Path, target: str):
    lines = _dry_run(fresh_clone, target)
    first_use = _position(lines, "-m venv .venv")
    assert _position(lines, "-r requirements-dev.txt") > first_use
    if target != "demo":
        assert _position(lines, "-m venv .venv-checkov") > first_use
        assert _position(lines, "-r requirements-checkov.txt") < _position(lines, "-m pytest")
        assert _position(lines, "ruff check") < _position(lines, "-m pytest")


def test_installed_tools_are_not_reinstalled():
    for target in ("test", "check"):
        lines = _dry_run(REPO_ROOT, target)
        assert not [line for line in lines if " -m venv " in line or "pip install" in line], lines


def test_jobs_reach_the_tests_and_check_skips_the_slow_static_checks(fresh_clone: Path):
    (pytest_line,) = [line for line in _dry_run(fresh_clone, "test") if "-m pytest" in line]
    assert "POST_SCAN_JOBS" not in pytest_line, "without JOBS the suite picks 4 per core"
    (pytest_line,) = [
        line for line in _dry_run(fresh_clone, "test", "JOBS=1") if "-m pytest" in line
    ]
    assert "POST_SCAN_JOBS=1 " in pytest_line
    (check_line,) = [line for line in _dry_run(fresh_clone, "check") if "-m pytest" in line]
    assert '-m "not tftest and not slowstatic"' in check_line
    assert "tests/unit tests/static" in check_line
    assert "-n auto" in check_line
