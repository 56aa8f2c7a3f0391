"""Fixtures of the apply tests: the terraform binary, one patched moto server, the deployments.

Every root (example or README block) is applied into its own moto account, all at the same time,
when the first test needs one; the first destroy test destroys them all at the same time. See
_harness.py for why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _harness import Fleet, MotoServer
from _scenarios import scenarios
from tooling import require_terraform, use_offline_provider_mirrors


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    binary = require_terraform()
    try:
        use_offline_provider_mirrors()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
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
