"""Fixtures of the apply tests: the terraform binary, one patched moto server, the deployments.

Every root (example or README block) is applied into its own moto account, all at the same time,
when the first test needs one; the first destroy test destroys them all at the same time. See
_harness.py for why.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _harness import Fleet, MotoServer
from _scenarios import scenarios
from tooling import REPO_ROOT, require_terraform

OFFLINE_SETUP = REPO_ROOT.parent / "shared" / "tools" / "offline-terraform" / "setup"


def _offline_provider_config() -> None:
    """Use the offline provider mirrors when the caller has not (CI evals the setup itself)."""
    if os.environ.get("TF_CLI_CONFIG_FILE") or not OFFLINE_SETUP.is_file():
        return
    result = subprocess.run(
        [str(OFFLINE_SETUP)], capture_output=True, text=True, timeout=300, check=False
    )
    match = re.search(r"TF_CLI_CONFIG_FILE='([^']+)'", result.stdout)
    if result.returncode != 0 or match is None:
        pytest.fail(f"{OFFLINE_SETUP} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    os.environ["TF_CLI_CONFIG_FILE"] = match.group(1)


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    binary = require_terraform()
    _offline_provider_config()
    return binary


@pytest.fixture(scope="session")
def apply_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("apply")


@pytest.fixture(scope="session")
def moto_server(terraform_binary: str, apply_workdir: Path) -> Iterator[MotoServer]:
    server = MotoServer(apply_workdir / "moto-server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fleet(
    request: pytest.FixtureRequest,
    terraform_binary: str,
    moto_server: MotoServer,
    apply_workdir: Path,
) -> Iterator[Fleet]:
    """The deployments the selected tests need, applied side by side."""
    wanted = {
        item.callspec.params["scenario"]
        for item in request.session.items
        if "fleet" in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")
    }
    selected = [s for s in scenarios(moto_server) if s.key in wanted]
    deployments = Fleet(moto_server, apply_workdir, terraform_binary, selected)
    yield deployments
    deployments.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Destroy tests destroy every deployment at once: run them after all other apply tests,
    whichever file those are in."""
    items.sort(key=lambda item: item.name.startswith("test_destroy"))
