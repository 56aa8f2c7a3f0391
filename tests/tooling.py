"""Finding the external tools the suite drives (terraform, checkov, the schema linter).

A developer without a tool gets a skip that says what is missing; CI sets
POST_SCAN_REQUIRE_TOOLS=1 so that a missing tool fails the run instead of hiding tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import jobs

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRE_TOOLS = os.environ.get("POST_SCAN_REQUIRE_TOOLS", "") == "1"
OFFLINE_SETUP = REPO_ROOT.parent / "shared" / "tools" / "offline-terraform" / "setup"
_MIRRORS_LOCK = threading.Lock()  # background work sets the mirrors up from threads


def missing_tool(reason: str) -> None:
    """Skip the current test, or fail it when CI requires every tool."""
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason} (POST_SCAN_REQUIRE_TOOLS=1)", pytrace=False)
    pytest.skip(reason)


def terraform_binary() -> str | None:
    """The terraform binary (never tofu: the module is tested with Terraform)."""
    return os.environ.get("TERRAFORM_BINARY") or shutil.which("terraform")


def require_terraform() -> str:
    binary = terraform_binary()
    if binary is None:
        missing_tool("terraform binary not found on PATH (set TERRAFORM_BINARY to override)")
    return binary


def use_offline_provider_mirrors() -> None:
    """Use the offline provider mirrors when the caller has not (CI evals the setup itself).

    Sets TF_CLI_CONFIG_FILE for this process and the Terraform runs it starts; raises
    RuntimeError when the setup script fails.
    """
    with _MIRRORS_LOCK:
        _use_offline_provider_mirrors()


def _use_offline_provider_mirrors() -> None:
    if os.environ.get("TF_CLI_CONFIG_FILE") or not OFFLINE_SETUP.is_file():
        return
    result = subprocess.run(
        [str(OFFLINE_SETUP)],
        capture_output=True,
        text=True,
        timeout=jobs.scaled(75),
        check=False,
    )
    match = re.search(r"TF_CLI_CONFIG_FILE='([^']+)'", result.stdout)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"{OFFLINE_SETUP} failed:\n{result.stdout}\n{result.stderr}")
    os.environ["TF_CLI_CONFIG_FILE"] = match.group(1)


def terraform_ready() -> str:
    """The terraform binary, with the offline provider mirrors in place where this machine needs
    them; skips (or fails, in CI) without terraform, fails when the mirrors cannot be set up."""
    binary = require_terraform()
    try:
        use_offline_provider_mirrors()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return binary


def checkov_binary() -> str | None:
    candidate = os.environ.get("CHECKOV") or str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov")
    return candidate if Path(candidate).is_file() else shutil.which("checkov")


def tfschema_lint_script() -> Path | None:
    configured = os.environ.get("TFSCHEMA_LINT")
    candidate = (
        Path(configured)
        if configured
        else REPO_ROOT.parent / "shared" / "tools" / "tfschema" / "tf_schema_lint.py"
    )
    return candidate if candidate.is_file() else None


@contextlib.contextmanager
def interruptible_children() -> Iterator[None]:
    """Children started in the block get Ctrl-C's default action, as in a terminal, even when
    this process runs where SIGINT is ignored (a background job of a script, which its children
    inherit: a test's Ctrl-C would never reach them)."""
    ignored = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    )
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # reset to default on exec
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
