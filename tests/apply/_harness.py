"""Apply-test machinery: accounts, Terraform runs, several deployments at once.

The emulator itself (moto server with its patches, accounts, staged copies with a provider
override, the deployed handler run in-process) lives in tools/emulator, shared with the demo.

- One moto server process per session.
- One moto *account* per deployment (STS AssumeRole into a fresh account id; moto maps the
  returned keys to that account). Deployments are isolated without resetting the server, so
  several examples can be applied at the same time.
- Terraform runs in a tmp copy of the module and one root (an example or the README block), with
  the emulator's ``moto_override.tf`` and tfvars; nothing is written into the repository.
  pytest-terraform's ``TerraformRunner`` drives init/apply/plan/destroy; ``Runner`` only gives each
  deployment its own environment and log file (so deployments can run in threads).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from pytest_terraform.tf import TerraformRunner, TerraformState

from emulator import jobs
from emulator.lambda_runner import run_deployed_handler
from emulator.launcher import Account, MotoServer
from emulator.staging import (
    OVERRIDE_FILE,
    REPO_ROOT,
    TerraformFailed,
    provider_override,
    run_logged,
    run_plan_exit_code,
    stage_example,
    stage_module,
    terraform_environment,
)

# Used by _scenarios.py and the tests through this module.
__all__ = [
    "REPO_ROOT",
    "Account",
    "MotoServer",
    "run_deployed_handler",
    "stage_example",
    "stage_module",
]

TFVARS_FILE = "zz-apply-test.auto.tfvars.json"
ECHO_FILE = "zz_apply_test_echo.tf"
INPUTS_OUTPUT = "apply_test_module_inputs"
OUTPUTS_OUTPUT = "apply_test_module_outputs"
MODULE_META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}


################################################################################
# Terraform
################################################################################


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
        log_output = not output  # pytest-terraform asks for output only for `output -json`
        return run_logged(
            args, Path(self.module_dir), self.env, self.log_path, keep_output=log_output
        ).encode()

    def saved_plan(self) -> dict[str, Any]:
        """The plan `apply` saved and applied (work_dir/tfplan), as `terraform show -json`."""
        args = [self.tf_bin, "show", "-json", str(Path(self.work_dir) / "tfplan")]
        output = run_logged(args, Path(self.module_dir), self.env, self.log_path, keep_output=False)
        return json.loads(output)

    def plan_exit_code(self) -> tuple[int, str]:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes (with the plan text)."""
        args = self._get_cmd_args("plan", output="-detailed-exitcode")
        return run_plan_exit_code(args, Path(self.module_dir), self.env, self.log_path)


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
    # `terraform plan -detailed-exitcode` right after the apply: (exit code, plan text) or what
    # made it fail.
    second_plan: tuple[int, str] | TerraformFailed | None = None
    # The saved plan of the first apply (`terraform show -json`): what a reviewer read.
    plan: dict[str, Any] | None = None

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
    """Applies the wanted scenarios side by side, then destroys them side by side on request.

    The AWS provider's SQS waiters make each apply/destroy mostly sleep, so doing them side by side
    keeps the suite fast on two cores; at most POST_SCAN_JOBS of them at once (emulator.jobs: one
    thread per job here, and a slot per Terraform command across the whole test session).
    """

    def __init__(
        self, server: MotoServer, workdir: Path, tf_bin: str, scenarios: list[Scenario]
    ) -> None:
        self.server = server
        self.workdir = workdir
        self.tf_bin = tf_bin
        self._scenarios = {s.key: s for s in scenarios}
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(len(scenarios), jobs.jobs())))
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
        deployment.plan = runner.saved_plan()
        try:
            deployment.second_plan = runner.plan_exit_code()
        except TerraformFailed as failed:  # its own test reports it
            deployment.second_plan = failed
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
