"""Run the deployed function's handler in-process, as Lambda would, against the emulator.

moto cannot run Lambda functions without Docker, so the deployed zip is downloaded through
``get_function`` (the server serves ``Code.Location``), extracted, imported from there only, and
its handler called with the deployed environment and the emulator's credentials.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import shutil
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import boto3

from emulator.environ import environ_copy

# A handler run changes process-wide state (os.environ, sys.modules, boto3's default session, the
# root logger): one at a time, and never while another user of that state (the engine's unit
# tests, which run while the apply tests deploy in the background) holds this lock.
IN_PROCESS = threading.RLock()


class _Account(Protocol):
    def client(self, service: str) -> Any: ...

    def environment(self) -> dict[str, str]: ...


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The function's environment in os.environ: no AWS_* of this process, then `values`.

    Only the keys it changes are touched and put back (never the whole environment cleared), so
    other threads of a test keep their PATH and the like meanwhile.
    """
    changed = {k: v for k, v in environ_copy().items() if k.startswith("AWS_") or k in values}
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("AWS_") or k in values]:
            os.environ.pop(key, None)
        os.environ.update(changed)


def _imported(package: str) -> dict[str, ModuleType]:
    """`package` and its submodules as imported now.

    sys.modules is copied in one step (list): other threads (the apply fleet) import meanwhile, and
    a Python-level loop over the live dict would fail when its size changes.
    """
    return {
        n: m for n, m in list(sys.modules.items()) if n == package or n.startswith(package + ".")
    }


@contextlib.contextmanager
def _fresh_import_path(path: Path, package: str) -> Iterator[None]:
    """Import `package` from `path` only, and put back whatever was imported before."""
    saved = _imported(package)
    for name in saved:
        sys.modules.pop(name, None)
    sys.path.insert(0, str(path))
    saved_session = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None  # the handler's boto3.client() must see this environment
    root_logger = logging.getLogger()
    saved_level, saved_handlers = root_logger.level, list(root_logger.handlers)
    try:
        yield
    finally:
        root_logger.setLevel(saved_level)  # the handler sets LOG_LEVEL on the root logger
        root_logger.handlers[:] = saved_handlers
        boto3.DEFAULT_SESSION = saved_session
        sys.path.remove(str(path))
        for name in _imported(package):
            sys.modules.pop(name, None)
        sys.modules.update(saved)


@dataclass
class LambdaContext:
    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "emulated-request"
    invoked_function_arn: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def download_deployed_code(account: _Account, function_name: str, destination: Path) -> dict:
    """get_function -> Code.Location -> the zip, extracted into destination. Returns the config."""
    function = account.client("lambda").get_function(FunctionName=function_name)
    with urllib.request.urlopen(function["Code"]["Location"]) as response:
        data = response.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(destination)
    return function["Configuration"]


@contextlib.contextmanager
def warm_deployed_handler(
    account: _Account, function_name: str, workdir: Path, code_name: str = "warm"
) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """The deployed package's handler, downloaded and imported once, as one execution
    environment: within the block, each call is an invocation that reuses it (like Lambda reusing
    a warm container). The handler's prints go to this process's stdout, as they would go to the
    function's log stream."""
    code_dir = workdir / f"{code_name}-{function_name}"
    if code_dir.exists():
        shutil.rmtree(code_dir)
    config = download_deployed_code(account, function_name, code_dir)
    module_name, handler_name = config["Handler"].rsplit(".", 1)
    env = {
        **config.get("Environment", {}).get("Variables", {}),
        **account.environment(),
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config["MemorySize"]),
    }
    package = module_name.split(".")[0]
    with IN_PROCESS, _environment(env), _fresh_import_path(code_dir, package):
        module = importlib.import_module(module_name)
        origin = Path(module.__file__ or "").resolve()
        if not origin.is_relative_to(code_dir.resolve()):
            raise RuntimeError(f"{module_name} was imported from {origin}, not the deployed zip")
        handler = getattr(module, handler_name)
        context = LambdaContext(function_name, invoked_function_arn=config["FunctionArn"])
        yield lambda event: handler(event, context)


def run_deployed_handler(
    account: _Account, function_name: str, event: dict[str, Any], workdir: Path
) -> tuple[Any, Path]:
    """Run the deployed package's handler on `event`, as a cold start (fresh download and
    import); returns (its result, the code dir)."""
    with warm_deployed_handler(account, function_name, workdir, code_name="code") as invoke:
        return invoke(event), workdir / f"code-{function_name}"


def write_function_log(account: _Account, function_name: str, lines: list[str]) -> None:
    """What the Lambda runtime does with a function's output: one log stream per run, in the
    function's log group."""
    logs = account.client("logs")
    group = f"/aws/lambda/{function_name}"
    stream = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines if line.strip()]
    if events:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
