"""Apply-test machinery: moto server, accounts, staged copies, Terraform, the deployed handler.

- One moto server process per session (``_moto_server.py``, with its test-only patches).
- One moto *account* per deployment (STS AssumeRole into a fresh account id; moto maps the
  returned keys to that account). Deployments are isolated without resetting the server, so
  several examples can be applied at the same time.
- Terraform runs in a tmp copy of the module and one root (an example or the README block), with a
  test-only ``moto_override.tf`` and tfvars; nothing is written into the repository.
  pytest-terraform's ``TerraformRunner`` drives init/apply/plan/destroy; ``Runner`` only gives each
  deployment its own environment and log file (so deployments can run in threads).
- The deployed zip is downloaded through ``get_function`` and its handler imported and run
  in-process, with the deployed environment, against the same server.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import hcl2
from botocore.config import Config
from pytest_terraform.tf import TerraformRunner, TerraformState

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).with_name("_moto_server.py")
OVERRIDE_FILE = "moto_override.tf"
TFVARS_FILE = "zz-apply-test.auto.tfvars.json"
ECHO_FILE = "zz_apply_test_echo.tf"
INPUTS_OUTPUT = "apply_test_module_inputs"
OUTPUTS_OUTPUT = "apply_test_module_outputs"
MODULE_META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}
COMMAND_TIMEOUT = 420


################################################################################
# moto server and accounts
################################################################################


class MotoServer:
    """The patched moto server in its own process (``_moto_server.py``)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(SERVER_SCRIPT), "--host", "127.0.0.1", "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"moto server did not start:\n{log_path.read_text()}")
        self.url = line.split()[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def account(self, account_id: str, region: str) -> Account:
        """Credentials of a (new or existing) moto account, obtained like a pipeline would."""
        session = boto3.session.Session(  # not the default session: this runs in threads
            aws_access_key_id="apply-tests", aws_secret_access_key="apply-tests"
        )
        sts = session.client("sts", endpoint_url=self.url, region_name=region)
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/apply-tests",
            RoleSessionName="apply-tests",
        )["Credentials"]
        account = Account(
            server_url=self.url,
            region=region,
            account_id=account_id,
            access_key_id=creds["AccessKeyId"],
            secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
        )
        actual = account.client("sts").get_caller_identity()["Account"]
        assert actual == account_id, f"moto mapped the credentials to {actual}, not {account_id}"
        return account

    def lambda_deliveries(self, function_arn: str) -> list[dict[str, Any]]:
        """Events SNS delivered to this function (recorded by the server, see _moto_server.py)."""
        query = urllib.parse.urlencode({"function_arn": function_arn})
        with urllib.request.urlopen(f"{self.url}/_test/sns-deliveries?{query}") as response:
            return json.load(response)


@dataclass(frozen=True)
class Account:
    server_url: str
    region: str
    account_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            session = boto3.session.Session(
                aws_access_key_id=self.access_key_id,
                aws_secret_access_key=self.secret_access_key,
                aws_session_token=self.session_token,
                region_name=self.region,
            )
            self._clients[service] = session.client(
                service,
                endpoint_url=self.server_url,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
            )
        return self._clients[service]

    def environment(self) -> dict[str, str]:
        """How a pipeline (or the Lambda runtime) would hand these credentials to a process."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.server_url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


################################################################################
# Terraform
################################################################################


class TerraformFailed(subprocess.CalledProcessError):
    def __init__(self, returncode: int, cmd: list[str], log_path: Path, output: str) -> None:
        super().__init__(returncode, cmd, output)
        self.log_path = log_path

    def __str__(self) -> str:
        tail = "\n".join(self.output.splitlines()[-60:])
        command = " ".join(self.cmd[1:3])
        return f"{command} exited {self.returncode} (full log: {self.log_path})\n{tail}"


class Runner(TerraformRunner):
    """pytest-terraform's runner with a per-deployment environment and log file.

    The stock runner reads ``os.environ`` and writes to the test's stdout; several deployments run
    at once here, each with its own credentials, so both are made explicit.
    """

    def __init__(
        self, module_dir: Path, work_dir: Path, tf_bin: str, env: dict[str, str], log: Path
    ) -> None:
        super().__init__(str(work_dir), module_dir=str(module_dir), tf_bin=tf_bin)
        self.env = {**env, "TF_DATA_DIR": str(work_dir), "TF_IN_AUTOMATION": "1"}
        self.log_path = log

    def _run_cmd(self, args: list[str], output: bool = False) -> bytes:
        with open(self.log_path, "a") as log:
            log.write(f"\n$ {' '.join(args)}\n")
            log.flush()
            result = subprocess.run(
                args,
                cwd=self.module_dir,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            text = result.stdout.decode(errors="replace")
            if not output:
                log.write(text)
        if result.returncode not in (0,):
            raise TerraformFailed(result.returncode, args, self.log_path, text)
        return result.stdout

    def plan_exit_code(self) -> tuple[int, str]:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes (with the plan text)."""
        args = self._get_cmd_args("plan", output="-detailed-exitcode")
        result = subprocess.run(
            args,
            cwd=self.module_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        with open(self.log_path, "a") as log:
            log.write(f"\n$ {' '.join(args)}\n{result.stdout}{result.stderr}")
        if result.returncode == 1:
            raise TerraformFailed(1, args, self.log_path, result.stdout + result.stderr)
        return result.returncode, result.stdout


def terraform_environment(server_url: str) -> dict[str, str]:
    """The caller's environment without anything that could redirect Terraform or AWS calls."""
    dropped = ("AWS_", "TF_VAR_", "TF_CLI_ARGS", "TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        {
            "AWS_ENDPOINT_URL": server_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "CHECKPOINT_DISABLE": "1",
            "TF_INPUT": "0",
        }
    )
    return env


def stage_module(destination: Path) -> Path:
    """Copy the module (root *.tf and lambda/) to destination; returns it."""
    destination.mkdir(parents=True)
    for tf_file in REPO_ROOT.glob("*.tf"):
        shutil.copy2(tf_file, destination / tf_file.name)
    shutil.copytree(
        REPO_ROOT / "lambda",
        destination / "lambda",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache"),
    )
    return destination


def stage_example(destination: Path, example: str) -> Path:
    """Copy module + examples/<example> keeping their relative layout; returns the example dir."""
    module = stage_module(destination)
    target = module / "examples" / example
    shutil.copytree(
        REPO_ROOT / "examples" / example,
        target,
        ignore=shutil.ignore_patterns(
            ".terraform",
            ".terraform.lock.hcl",
            "*.tfstate*",
            "builds",
            "*_override.tf",
            "override.tf",
            "*.auto.tfvars*",
            "terraform.tfvars*",
            "tf_resources.json",
        ),
    )
    return target


def provider_override(region: str) -> str:
    """Test-only provider settings for moto (credentials come from the environment)."""
    return f"""\
# Written by the apply tests (tests/apply/_harness.py); never part of the module.
provider "aws" {{
  region                      = "{region}"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
}}
"""


def module_calls(root: Path) -> dict[str, dict[str, Any]]:
    """The root's module blocks (name -> arguments as parsed by python-hcl2)."""
    calls: dict[str, dict[str, Any]] = {}
    for tf_file in sorted(root.glob("*.tf")):
        with open(tf_file) as fh:
            parsed = hcl2.load(fh)
        for block in parsed.get("module", []):
            for name, body in block.items():
                calls[name.strip('"')] = body
    return calls


def module_echo(root: Path) -> str:
    """Outputs with the one module call's evaluated arguments and all of its outputs.

    Terraform evaluates the root's own expressions (variables, locals, resource attributes); the
    tests derive the expected deployment from those inputs with _contract.py, and read the
    module's outputs whether or not the root re-exports them.
    """
    calls = module_calls(root)
    assert len(calls) == 1, f"expected exactly one module block in {root}, found {sorted(calls)}"
    ((name, body),) = calls.items()
    arguments = {
        k: v for k, v in body.items() if k not in MODULE_META_ARGUMENTS and not k.startswith("__")
    }
    document = {
        "output": [
            {f'"{INPUTS_OUTPUT}"': {"value": arguments, "__is_block__": True}},
            {f'"{OUTPUTS_OUTPUT}"': {"value": f"${{module.{name}}}", "__is_block__": True}},
        ]
    }
    return "# Written by the apply tests: echoes the module call's inputs and outputs.\n" + (
        hcl2.dumps(document)
    )


@dataclass
class Deployment:
    """One root (example or README block) applied into its own moto account."""

    key: str
    account: Account
    root: Path
    runner: Runner
    facts: dict[str, Any]
    state: TerraformState | None = None

    @property
    def outputs(self) -> dict[str, Any]:
        assert self.state is not None, f"{self.key} is not applied"
        return {k: v["value"] for k, v in self.state.outputs.items()}

    @property
    def inputs(self) -> dict[str, Any]:
        """The module call's arguments, as Terraform evaluated them."""
        return self.outputs[INPUTS_OUTPUT]

    @property
    def module_outputs(self) -> dict[str, Any]:
        return self.outputs[OUTPUTS_OUTPUT]


def prepare_root(
    root: Path, account: Account, variables: dict[str, Any], tf_bin: str, server_url: str
) -> Runner:
    (root / OVERRIDE_FILE).write_text(provider_override(account.region))
    (root / TFVARS_FILE).write_text(json.dumps(variables, indent=2))
    (root / ECHO_FILE).write_text(module_echo(root))
    env = {**terraform_environment(server_url), **account.environment()}
    return Runner(root, root.parent / f".{root.name}-tfdata", tf_bin, env, root / "terraform.log")


################################################################################
# Several deployments at once
################################################################################


@dataclass(frozen=True)
class Scenario:
    """How to stage, prepare and apply one root.

    stage(tmp dir) -> root dir; prepare(account, root) -> (tfvars, facts), creating prerequisites.
    """

    key: str
    account_id: str
    region: str
    stage: Callable[[Path], Path]
    prepare: Callable[[Account, Path], tuple[dict[str, Any], dict[str, Any]]]


class Fleet:
    """Applies the wanted scenarios concurrently, then destroys them concurrently on request.

    The AWS provider's SQS waiters make each apply/destroy mostly sleep (see moto-findings.md), so
    doing them side by side keeps the suite fast on two cores.
    """

    def __init__(
        self, server: MotoServer, workdir: Path, tf_bin: str, scenarios: list[Scenario]
    ) -> None:
        self.server = server
        self.workdir = workdir
        self.tf_bin = tf_bin
        self._scenarios = {s.key: s for s in scenarios}
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(scenarios)))
        self._lock = threading.Lock()
        self._applied: dict[str, Future[Deployment]] = {
            s.key: self._pool.submit(self._apply, s) for s in scenarios
        }
        self._destroyed: dict[str, Future[Deployment]] | None = None

    def _apply(self, scenario: Scenario) -> Deployment:
        account = self.server.account(scenario.account_id, scenario.region)
        root = scenario.stage(self.workdir / scenario.key)
        variables, facts = scenario.prepare(account, root)
        runner = prepare_root(root, account, variables, self.tf_bin, self.server.url)
        deployment = Deployment(scenario.key, account, root, runner, facts)
        runner.init()
        deployment.state = runner.apply()
        return deployment

    def applied(self, key: str) -> Deployment:
        if key not in self._applied:
            raise KeyError(f"scenario {key!r} was not scheduled")
        with self._lock:
            if self._destroyed is not None:
                raise RuntimeError(f"{key} is already destroyed (tests ran out of order)")
        return self._applied[key].result()

    def destroyed(self, key: str) -> Deployment:
        """Destroy every applied deployment (once, concurrently); return this one."""
        with self._lock:
            if self._destroyed is None:
                self._destroyed = {
                    k: self._pool.submit(self._destroy, f) for k, f in self._applied.items()
                }
        return self._destroyed[key].result()

    @staticmethod
    def _destroy(applied: Future[Deployment]) -> Deployment:
        deployment = applied.result()
        deployment.runner.destroy()
        deployment.state = None
        return deployment

    def close(self) -> None:
        """Session end: destroy what no test destroyed, then delete the staged copies.

        A deployment that failed to apply or destroy keeps its copy (with terraform.log).
        """
        with self._lock:
            if self._destroyed is None:
                self._destroyed = {
                    k: self._pool.submit(self._destroy, f) for k, f in self._applied.items()
                }
        for key, future in self._destroyed.items():
            if future.exception() is None:
                shutil.rmtree(self.workdir / key, ignore_errors=True)
        self._pool.shutdown(wait=True)


################################################################################
# The deployed handler, in-process
################################################################################


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("AWS_"):
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _fresh_import_path(path: Path, package: str) -> Iterator[None]:
    """Import `package` from `path` only, and put back whatever was imported before."""
    saved = {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}
    for name in saved:
        del sys.modules[name]
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
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        sys.modules.update(saved)


@dataclass
class LambdaContext:
    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "apply-test-request"
    invoked_function_arn: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def download_deployed_code(account: Account, function_name: str, destination: Path) -> dict:
    """get_function -> Code.Location -> the zip, extracted into destination. Returns the config."""
    function = account.client("lambda").get_function(FunctionName=function_name)
    with urllib.request.urlopen(function["Code"]["Location"]) as response:
        data = response.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(destination)
    return function["Configuration"]


def run_deployed_handler(
    account: Account, function_name: str, event: dict[str, Any], workdir: Path
) -> tuple[Any, Path]:
    """Run the deployed package's handler on `event`, as Lambda would, against the emulator."""
    code_dir = workdir / f"code-{function_name}"
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
    with _environment(env), _fresh_import_path(code_dir, package):
        module = importlib.import_module(module_name)
        origin = Path(module.__file__ or "").resolve()
        assert origin.is_relative_to(code_dir.resolve()), f"{module_name} came from {origin}"
        handler = getattr(module, handler_name)
        context = LambdaContext(function_name, invoked_function_arn=config["FunctionArn"])
        return handler(event, context), code_dir
