"""Roots and Terraform runs the way a pipeline makes them: a module call written out, a saved plan,
`terraform show -json`, separate jobs in separate copies.

A root here is a directory with `main.tf.json` (one module call with literal inputs, plus
whatever else the test adds), the emulator's provider override and its own state. The module is
staged next to it, or under `.terraform/modules/<name>` as `terraform init` would put a module
that comes from git or the registry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _harness import Account, MotoServer, stage_module

from emulator.environ import environ_copy
from emulator.staging import (
    OVERRIDE_FILE,
    provider_override,
    run_logged,
    run_plan_exit_code,
    terraform_environment,
)

MODULE_CALL = "post_scan"


def write_root(
    root: Path,
    account: Account,
    module_source: str,
    inputs: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write root/main.tf.json calling the module with `inputs` (JSON syntax, literal values),
    exporting every module output, plus `extra` top-level blocks; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "module": {MODULE_CALL: {"source": module_source, **inputs}},
        "output": {"module": {"value": f"${{module.{MODULE_CALL}}}"}},
    }
    for block, body in (extra or {}).items():
        document.setdefault(block, {}).update(body)
    (root / "main.tf.json").write_text(json.dumps(document, indent=2))
    (root / OVERRIDE_FILE).write_text(provider_override(account.region))
    return root


def operator_environment(account: Account) -> dict[str, str]:
    """The environment of an operator's shell that runs the replay CLI: the account's credentials,
    no PYTHON* settings of this process, and a python3 with boto3 (this one's) first on the PATH."""
    environment = environ_copy(("AWS_", "PYTHON"))
    environment.update(account.environment())
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment["PATH"]])
    return environment


class Job:
    """Terraform in one root, with one account's credentials and its own log file."""

    def __init__(self, root: Path, tf_bin: str, server: MotoServer, account: Account) -> None:
        self.root = root
        self.tf_bin = tf_bin
        self.env = {**terraform_environment(server.url), **account.environment()}
        self.log = root / "terraform.log"

    def run(self, *args: str) -> str:
        return run_logged([self.tf_bin, *args], self.root, self.env, self.log)

    def init(self) -> str:
        return self.run("init", "-input=false", "-no-color")

    def plan(self, out: str = "tfplan", *extra: str) -> str:
        return self.run("plan", "-input=false", "-no-color", f"-out={out}", *extra)

    def apply(self, plan_file: str = "tfplan") -> str:
        return self.run("apply", "-input=false", "-no-color", "-auto-approve", plan_file)

    def show_json(self, plan_file: str = "tfplan") -> dict[str, Any]:
        return json.loads(
            run_logged(
                [self.tf_bin, "show", "-json", plan_file],
                self.root,
                self.env,
                self.log,
                keep_output=False,
            )
        )

    @classmethod
    def module_root(
        cls,
        workdir: Path,
        server: MotoServer,
        account: Account,
        tf_bin: str,
        inputs: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Job:
        """The module staged in workdir/module and a root calling it with `inputs` (and `extra`
        top-level blocks, e.g. more module calls), initialised."""
        stage_module(workdir / "module")
        root = write_root(workdir / "root", account, "../module", inputs, extra=extra)
        job = cls(root, tf_bin, server, account)
        job.init()
        return job

    def outputs(self) -> dict[str, Any]:
        raw = run_logged(
            [self.tf_bin, "output", "-json"], self.root, self.env, self.log, keep_output=False
        )
        return {k: v["value"] for k, v in json.loads(raw).items()}


################################################################################
# Reading a saved plan
################################################################################

# Resources that are nothing but a policy: every argument the module sets must be known at plan,
# except the identifiers of the resource they attach to, which exist only once it is created.
POLICY_TYPES = {
    "aws_iam_policy",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_lambda_permission",
    "aws_sns_topic_policy",
    "aws_sqs_queue_policy",
}
ATTACHMENT_IDENTIFIERS = {"queue_url"}
INSTANCE_KEY = re.compile(r'\[(?:"[^"]*"|\d+)\]')


def any_unknown(value: Any) -> bool:
    """Whether an `after_unknown` structure of `terraform show -json` marks anything unknown."""
    if isinstance(value, dict):
        return any(any_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(any_unknown(v) for v in value)
    return value is True


def _module_resources(module: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict]]:
    for resource in module.get("resources", []):
        yield f"{prefix}{resource['address']}", resource
    for name, call in module.get("module_calls", {}).items():
        yield from _module_resources(call.get("module", {}), f"{prefix}module.{name}.")


def configured_arguments(plan: dict[str, Any]) -> dict[str, set[str]]:
    """Resource config address (no instance key) -> the arguments its configuration sets."""
    root = plan["configuration"]["root_module"]
    return {address: set(r.get("expressions", {})) for address, r in _module_resources(root, "")}


def unknown_policy_arguments(plan: dict[str, Any]) -> list[str]:
    """`address.argument` of every policy argument the module sets that is unknown at plan.

    Policy arguments: every argument of a policy resource (POLICY_TYPES) but the identifier it
    attaches to, and any argument whose name ends in `policy` on other resources (queue redrive
    policies, subscription redrive and filter policies, the role's trust policy).
    """
    configured = configured_arguments(plan)
    found: list[str] = []
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed" or not change["address"].startswith("module."):
            continue
        if change["change"]["actions"] in (["no-op"], ["delete"]):
            continue
        config_address = INSTANCE_KEY.sub("", change["address"])
        arguments = configured.get(config_address, set())
        unknown = change["change"].get("after_unknown", {})
        for argument in sorted(arguments):
            if not any_unknown(unknown.get(argument)):
                continue
            is_policy = argument.endswith("policy") or (
                change["type"] in POLICY_TYPES and argument not in ATTACHMENT_IDENTIFIERS
            )
            if is_policy:
                found.append(f"{change['address']}.{argument}")
    return found


def planned_actions(plan: dict[str, Any]) -> dict[str, list[str]]:
    """Address -> planned actions, for every resource that changes."""
    return {
        c["address"]: c["change"]["actions"]
        for c in plan.get("resource_changes", [])
        if c["change"]["actions"] != ["no-op"] and c.get("mode") == "managed"
    }


################################################################################
# A module repository and a consumer's pipeline jobs
################################################################################


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=tests", "-c", "user.email=tests@example.com", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def module_repository(path: Path, tag: str) -> Path:
    """A git repository holding the module as it ships (stage_module), tagged `tag`; consumers
    source it as git::file://PATH?ref=TAG, so `terraform init` clones it into
    .terraform/modules/<name> exactly as from GitHub."""
    stage_module(path)
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "module")
    _git(path, "tag", tag)
    return path


def release(repository: Path, tag: str, changes: dict[str, str]) -> None:
    """Commit `changes` (path -> appended text) to the module repository and tag them."""
    for relative, text in changes.items():
        with open(repository / relative, "a") as handle:
            handle.write(text)
    _git(repository, "commit", "-q", "-a", "-m", f"release {tag}")
    _git(repository, "tag", tag)


class Consumer:
    """A consumer's repository (one root calling the module) and the jobs of its pipeline.

    Each job is a fresh checkout of the root (a new directory with only the committed files: no
    .terraform, no builds, no state) that runs `terraform init` itself; the state lives in one
    place outside every checkout, as a remote backend would keep it.
    """

    def __init__(self, workdir: Path, server: MotoServer, account: Account, tf_bin: str) -> None:
        self.workdir = workdir
        self.server = server
        self.account = account
        self.tf_bin = tf_bin
        self.source = workdir / "consumer"
        self.state = workdir / "state" / "terraform.tfstate"
        self.state.parent.mkdir(parents=True, exist_ok=True)
        self.jobs = 0

    def commit(self, module_source: str, inputs: dict[str, Any]) -> None:
        """The consumer's root as committed: the module call, its outputs, the shared state."""
        write_root(
            self.source,
            self.account,
            module_source,
            inputs,
            extra={
                "terraform": {"backend": {"local": {"path": str(self.state)}}},
                "output": {
                    "replay_command": {"value": f"${{module.{MODULE_CALL}.replay_command}}"}
                },
            },
        )

    def job(self, name: str, artifacts: dict[Path, str] | None = None) -> Job:
        """A fresh checkout in its own directory, initialised; `artifacts` (a file of an earlier
        job -> its name here) are what a pipeline hands from job to job, e.g. the saved plan."""
        self.jobs += 1
        root = self.workdir / f"job-{self.jobs:02d}-{name}"
        shutil.copytree(self.source, root)
        for path, target in (artifacts or {}).items():
            shutil.copy2(path, root / target)
        job = Job(root, self.tf_bin, self.server, self.account)
        job.init()
        return job


def module_dir(job: Job) -> Path:
    """Where `terraform init` put the module in this job's checkout."""
    return job.root / ".terraform" / "modules" / MODULE_CALL


def plan_exit_code(job: Job) -> int:
    """`terraform plan -detailed-exitcode`: 0 no changes, 2 changes (1 raises)."""
    args = [job.tf_bin, "plan", "-input=false", "-no-color", "-detailed-exitcode"]
    return run_plan_exit_code(args, job.root, job.env, job.log)[0]
