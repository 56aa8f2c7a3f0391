"""Stage the module and one root in a work dir, point it at the emulator, and run Terraform there.

Nothing is written into the repository: the root is a copy, with a provider override file
(``moto_override.tf``, git-ignored by ``*_override.tf`` anyway) and its own state.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from pathlib import Path

from emulator import jobs
from emulator.environ import environ_copy

REPO_ROOT = Path(__file__).resolve().parents[2]
OVERRIDE_FILE = "moto_override.tf"
# The longest Terraform command of the tests on an idle 2-core machine (the scale apply), from
# which each command's timeout is scaled (jobs.scaled: 600 s with POST_SCAN_JOBS=1).
COMMAND_SECONDS = 150

_CACHE_AND_BUILD_FILES = ("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")
_LOCAL_ROOT_FILES = (
    ".terraform",
    ".terraform.lock.hcl",
    "*.tfstate*",
    "builds",
    "*_override.tf",
    "override.tf",
    "*.auto.tfvars*",
    "terraform.tfvars*",
    "tf_resources.json",
)


# What a consumer gets with the module besides its *.tf files: the function's code, the saved Logs
# Insights queries, the replay CLI that the module output replay_command runs from the module's
# directory, and the report CLI that runs those queries.
MODULE_DIRECTORIES = ("lambda", "queries", "tools/replay", "tools/report")


def stage_module(destination: Path) -> Path:
    """Copy the module (root *.tf, lambda/, queries/, tools/replay/ and tools/report/) to
    destination; returns it."""
    destination.mkdir(parents=True)
    for tf_file in REPO_ROOT.glob("*.tf"):
        shutil.copy2(tf_file, destination / tf_file.name)
    for directory in MODULE_DIRECTORIES:
        shutil.copytree(
            REPO_ROOT / directory,
            destination / directory,
            ignore=shutil.ignore_patterns(*_CACHE_AND_BUILD_FILES),
        )
    return destination


def stage_example(destination: Path, example: str) -> Path:
    """Copy module + examples/<example> keeping their relative layout; returns the example dir.

    Whatever a user left in the example folder (state, lock file, tfvars, overrides) stays out.
    """
    module = stage_module(destination)
    target = module / "examples" / example
    shutil.copytree(
        REPO_ROOT / "examples" / example,
        target,
        ignore=shutil.ignore_patterns(*_LOCAL_ROOT_FILES),
    )
    return target


def provider_override(region: str) -> str:
    """Provider settings for the emulator (credentials and endpoint come from the environment)."""
    return f"""\
# Written for the local AWS emulator (tools/emulator); never part of the module.
provider "aws" {{
  region                      = "{region}"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
}}
"""


def terraform_environment(server_url: str | None) -> dict[str, str]:
    """The caller's environment without anything that could redirect Terraform's AWS calls.

    With a server URL every AWS call goes to the emulator. Without one (a real account) the
    caller's AWS_* settings (profile, credentials, region) are kept.
    """
    dropped = ("TF_VAR_", "TF_CLI_ARGS", "TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE")
    if server_url is not None:
        dropped += ("AWS_",)
    env = environ_copy(dropped)
    env.update({"CHECKPOINT_DISABLE": "1", "TF_INPUT": "0", "TF_IN_AUTOMATION": "1"})
    if server_url is not None:
        env.update({"AWS_ENDPOINT_URL": server_url, "AWS_EC2_METADATA_DISABLED": "true"})
    return env


class TerraformFailed(subprocess.CalledProcessError):
    """A Terraform command exited non-zero: says which, how, and where its full log is."""

    def __init__(self, returncode: int, cmd: list[str], log_path: Path, output: str) -> None:
        super().__init__(returncode, cmd, output)
        self.log_path = log_path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def __str__(self) -> str:
        command = " ".join(self.cmd[1:3])
        return f"{command} exited {self.returncode} (full log: {self.log_path})\n{self.tail()}"


def run_logged(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    *,
    keep_output: bool = True,
    timeout: float | None = None,
) -> str:
    """Run one Terraform command, appending the command and its output to log_path as it runs.

    Returns stdout+stderr; raises TerraformFailed on a non-zero exit. keep_output=False keeps the
    output out of the log (for `output -json`, whose values the log does not need). Terraform runs
    in its own session: a Ctrl-C (or a timeout) reaches it once, from here, so it can stop
    cleanly and write its state before the caller goes on to clean up. A plan, apply or destroy
    first waits for a slot (emulator.jobs); the timeout (default: scaled from COMMAND_SECONDS)
    counts from when it starts.
    """
    with jobs.slot() if jobs.is_heavy(args) else contextlib.nullcontext():
        return _run_logged(
            args, cwd, env, log_path, keep_output, timeout or jobs.scaled(COMMAND_SECONDS)
        )


def _run_logged(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    keep_output: bool,
    timeout: float,
) -> str:
    with open(log_path, "a") as log:
        log.write(f"\n$ {' '.join(args)}\n")
        log.flush()
        start = log.tell()
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=log if keep_output else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            captured, _ = process.communicate(timeout=timeout)
        except BaseException:
            _stop_gracefully(process)
            raise
    if captured is None:
        with open(log_path, "rb") as log:
            log.seek(start)
            captured = log.read()
    text = captured.decode(errors="replace")
    if process.returncode != 0:
        if not keep_output:
            with open(log_path, "a") as log:
                log.write(text)
        raise TerraformFailed(process.returncode, args, log_path, text)
    return text


def run_plan_exit_code(
    args: list[str], cwd: Path, env: dict[str, str], log_path: Path
) -> tuple[int, str]:
    """Run `terraform plan -detailed-exitcode` (args), logged like run_logged: returns (0 no
    changes or 2 changes, the plan text); any other exit raises TerraformFailed."""
    with jobs.slot():
        result = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=jobs.scaled(COMMAND_SECONDS),
            check=False,
        )
    with open(log_path, "a") as log:
        log.write(f"\n$ {' '.join(args)}\n{result.stdout}{result.stderr}")
    if result.returncode not in (0, 2):
        raise TerraformFailed(result.returncode, args, log_path, result.stdout + result.stderr)
    return result.returncode, result.stdout


def _stop_gracefully(process: subprocess.Popen, grace: float = 120) -> None:
    """One SIGINT (Terraform's graceful stop), then wait; a second Ctrl-C or the grace kills."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except BaseException:
        process.kill()
        process.wait()
        raise
