"""Plan time of the organisation-scale configuration (1,000 buckets, 301 topics: emulator.scale).

The module and its root are staged into a temporary folder and planned against the emulator's moto
server, where the 100 storage stacks and the account scanner stack exist (their outputs are read at
plan time) and the 200 other topics are given by ARN. Each delivery mode is planned RUNS times
after one `terraform init` without reading the 900 listed buckets (check_bucket_names = "off"),
then RUNS times reading each of them (the default "plan"; they exist in the emulator); the first
plan of a new deployment is what is timed (nothing in the state to refresh). Needs terraform on
the PATH; without it the section says so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from emulator import MotoServer
from emulator import scale as config
from emulator.staging import (
    TerraformFailed,
    provider_override,
    run_logged,
    terraform_environment,
)

REGION = "eu-west-1"
ACCOUNTS = {"direct": "720000000001", "queue": "720000000002"}
OFFLINE_SETUP = Path(__file__).resolve().parents[2] / "shared/tools/offline-terraform/setup"


@dataclass(frozen=True)
class PlanTiming:
    mode: str
    check_bucket_names: str
    resources: int
    runs_s: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)


def _terraform_config() -> dict[str, str]:
    """TF_CLI_CONFIG_FILE of the offline provider mirrors where this machine needs them (a
    configured file that exists wins; a setting naming a missing file counts as none)."""
    configured = os.environ.get("TF_CLI_CONFIG_FILE")
    if (configured and Path(configured).is_file()) or not OFFLINE_SETUP.is_file():
        return {}
    done = subprocess.run(
        [str(OFFLINE_SETUP)], capture_output=True, text=True, timeout=300, check=True
    )
    match = re.search(r"TF_CLI_CONFIG_FILE='([^']+)'", done.stdout)
    return {"TF_CLI_CONFIG_FILE": match.group(1)} if match else {}


def measure_plans(workdir: Path, runs: int) -> list[PlanTiming] | str:
    """Median plan seconds per delivery mode, or why it was not measured."""
    terraform = shutil.which("terraform")
    if terraform is None:
        return "not measured: no terraform on the PATH"
    server = MotoServer(workdir / "plan-moto-server.log")
    try:
        foreign = config.create_foreign_topics(
            [server.account(owner, REGION) for owner in config.FSS_ACCOUNTS]
        )
        return [
            timing
            for mode in ACCOUNTS
            for timing in _plan_mode(server, workdir, terraform, mode, foreign, runs)
        ]
    except TerraformFailed as exc:  # the other sections stay printed
        return f"not measured: {' '.join(exc.cmd[1:3])} failed:\n\n```\n{exc.tail(15)}\n```"
    finally:
        server.stop()


def _plan_mode(
    server: MotoServer,
    workdir: Path,
    terraform: str,
    mode: str,
    foreign: dict[str, str],
    runs: int,
) -> list[PlanTiming]:
    """The mode's plans without and with the check that the 900 listed buckets exist (one
    HeadBucket each through the aws_s3_bucket data source: check_bucket_names = "plan")."""
    account = server.account(ACCOUNTS[mode], REGION)
    stacks, _, _ = config.create_storage_stacks(account)
    config.create_account_scanner(account)
    config.create_listed_buckets(account)
    root = config.stage_root(workdir / f"plan-{mode}")
    (root / "moto_override.tf").write_text(provider_override(REGION))
    env = {**terraform_environment(server.url), **account.environment(), **_terraform_config()}
    log = root / "terraform.log"
    run_logged([terraform, "init", "-input=false", "-no-color"], root, env, log)
    found = []
    for check in ("off", "plan"):
        variables = config.root_variables(account, mode, stacks, foreign, check)
        (root / "terraform.tfvars.json").write_text(json.dumps(variables))
        timings = []
        output = ""
        for _ in range(runs):
            started = time.monotonic()
            output = run_logged(
                [terraform, "plan", "-input=false", "-no-color", "-lock=false"], root, env, log
            )
            timings.append(time.monotonic() - started)
        match = re.search(r"Plan: (\d+) to add", output)
        found.append(PlanTiming(mode, check, int(match.group(1)) if match else 0, timings))
    return found
