"""Fixtures of the apply tests: the terraform binary, the patched moto servers, the deployments.

Every root (example or README block) is applied into its own moto account of one server, all side
by side (at most POST_SCAN_JOBS Terraform runs at once), in the background as soon as collection
shows a test needs them (tests/background.py); the first destroy test destroys them all. See
_harness.py for why.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import background
import pytest
from _harness import Fleet, MotoServer
from _scenarios import scenarios
from tooling import terraform_ready

from emulator.lambda_runner import IN_PROCESS


@pytest.fixture(autouse=True)
def _owns_the_handler_output(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that reads what the deployed handler prints (capsys) holds the in-process handler
    lock while it runs: a pipeline flow running in the background would print its handler's lines
    into the same stdout. (No background work a test waits for needs that lock but the flows,
    whose tests read no output.)"""
    if "capsys" not in request.fixturenames:
        yield
        return
    with IN_PROCESS:
        yield


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    return terraform_ready()


_server_lock = threading.Lock()
_servers: list[MotoServer] = []


def _shared_server(session: pytest.Session) -> MotoServer:
    """The server of the deployments and of the tests that drive them (each in accounts of its
    own), started once, by whichever needs it first."""
    with _server_lock:
        if not _servers:
            workdir = session.config._tmp_path_factory.mktemp("apply")  # tmp_path_factory's
            _servers.append(MotoServer(workdir / "moto-server.log"))
            background.at_exit(_servers[0].stop)
        return _servers[0]


@pytest.fixture(scope="session")
def moto_server(request: pytest.FixtureRequest, terraform_binary: str) -> MotoServer:
    return _shared_server(request.session)


@background.work("fleet")
def _start_fleet(session: pytest.Session) -> Fleet:
    """The deployments the selected tests need, applying side by side."""
    terraform = terraform_ready()
    server = _shared_server(session)
    workdir = session.config._tmp_path_factory.mktemp("fleet")  # the tmp_path_factory fixture's
    wanted = {
        item.callspec.params["scenario"]
        for item in session.items
        if "fleet" in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")
    }
    deployments = Fleet(
        server, workdir, terraform, [s for s in scenarios(server) if s.key in wanted]
    )
    background.at_exit(deployments.close)
    return deployments


@pytest.fixture(scope="session")
def fleet(request: pytest.FixtureRequest) -> Fleet:
    return background.result("fleet", request.session)
