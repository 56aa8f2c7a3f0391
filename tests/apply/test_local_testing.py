"""docs/local-testing.md, as a new user follows it: your own root, end to end, on a laptop.

`make emulator ARGS=--detach` starts the emulator in the background for the README's usage block
(the root creates nothing of what it names: the emulator creates the topic, the bucket and the
table from the root's module call); Terraform applies the root with the provider override the
emulator wrote and the environment it printed; `make scan` simulates File Storage Security for a
malicious and a clean upload and must print the function's log line and what changed, and those
changes must be in the emulator; `make emulator-stop` must leave no server behind. The foreground
`make emulator` must stop on Ctrl-C. Everything goes through make, as the docs say.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _scenarios import localize_usage_block, readme_usage_block, usage_arguments
from tooling import interruptible_children

from emulator.environ import environ_copy
from emulator.launcher import emulated_account
from emulator.staging import REPO_ROOT, run_logged, stage_module, terraform_environment

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

MAKE_TIMEOUT = 300


def _make(*args: str, timeout: float = MAKE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`make -C REPO args` with a clean environment for the tools (no AWS_* of this process)."""
    env = environ_copy(("AWS_", "PYTHON"))
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_test/sns-deliveries", timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's usage block with a provider block, the module beside it."""
    block, why = readme_usage_block()
    if block is None:
        pytest.fail(why)
    workdir = tmp_path_factory.mktemp("local-testing")
    stage_module(workdir / "module")
    root = workdir / "root"
    root.mkdir()
    region = next(iter(usage_arguments(block)["scan_result_topic_arns"].values())).split(":")[3]
    (root / "main.tf").write_text(
        f'provider "aws" {{\n  region = "{region}"\n}}\n\n'
        + localize_usage_block(block, "../module")
    )
    return root


@pytest.fixture(scope="module")
def emulator(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("emulator-state")
    started = _make(
        "emulator", f"ARGS=--detach --port 0 --state-dir {state} --root {root}", timeout=120
    )
    assert started.returncode == 0, started.stdout + started.stderr
    info = json.loads((state / "emulator.json").read_text())
    pid = int((state / "emulator.pid").read_text())
    yield {"state": state, "url": info["url"], "pid": pid, "output": started.stdout, **info}
    _make("emulator-stop", f"ARGS=--state-dir {state}")  # after a failure too


@pytest.fixture(scope="module")
def applied(root: Path, emulator: dict[str, Any], terraform_binary: str) -> dict[str, Any]:
    shutil.copy(emulator["state"] / "emulator_override.tf", root)
    env = {
        **terraform_environment(emulator["url"]),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": emulator["region"],
    }
    log = root / "terraform.log"
    run_logged([terraform_binary, "init", "-input=false", "-no-color"], root, env, log)
    output = run_logged(
        [terraform_binary, "apply", "-input=false", "-no-color", "-auto-approve"], root, env, log
    )
    return {"apply": output}


def _scan(emulator: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return _make("scan", f"ARGS=--state-dir {emulator['state']} {' '.join(args)}")


def test_emulator_says_how_to_use_it(emulator: dict[str, Any]):
    output = emulator["output"]
    assert f"listening on {emulator['url']}" in output
    assert f"pid {emulator['pid']}" in output
    # The root's prerequisites, made from its module call's literal values.
    assert "created SNS topic arn:aws:sns:" in output
    assert "created S3 bucket example-uploads-bucket" in output
    assert "created DynamoDB table uploads (partition key file_id, type S)" in output
    assert f"export AWS_ENDPOINT_URL={emulator['url']}" in output
    override = (emulator["state"] / "emulator_override.tf").read_text()
    assert "s3_use_path_style           = true" in override
    assert f'region                      = "{emulator["region"]}"' in override
    # make has returned: the server must outlive it (its own session, no parent watch).
    assert _alive(emulator["pid"]) and _answers(emulator["url"])


def test_the_plan_warns_that_no_alarm_tells_anyone(applied: dict[str, Any]):
    assert "Warning: Check block assertion failed" in applied["apply"]
    assert "alarm_topic_arns is empty" in applied["apply"]


def test_scan_malicious_deletes_and_records(emulator: dict[str, Any], applied: dict[str, Any]):
    done = _scan(
        emulator,
        "--bucket example-uploads-bucket",
        "--key 'invoices/2024/invoice 42.pdf'",
        "--verdict malicious",
        "--file-id invoice-42",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "function  uploads-post-scan (direct delivery)" in out
    assert "uploaded  the EICAR test file" in out
    assert "fss-scan-result=malicious" in out
    log_line = next(json.loads(line) for line in out.splitlines() if line.startswith("  {"))
    assert (log_line["outcome"], log_line["verdict"], log_line["file_id"]) == (
        "processed",
        "malicious",
        "invoice-42",
    )
    assert "delete" in log_line["actions"] and "record" in log_line["actions"]
    assert "-> outcome processed, verdict malicious" in out
    assert "  object     before: unversioned 68 B (current)\n             after:  gone" in out
    assert "scan_verdict=malicious" in out.split("row (file_id=invoice-42)")[1]
    # ... and the emulator agrees.
    account = emulated_account(emulator["url"], emulator["account_id"], emulator["region"])
    listed = account.client("s3").list_objects_v2(Bucket="example-uploads-bucket")
    assert "invoices/2024/invoice 42.pdf" not in [o["Key"] for o in listed.get("Contents", [])]
    row = account.client("dynamodb").get_item(
        TableName="uploads", Key={"file_id": {"S": "invoice-42"}}
    )["Item"]
    assert (row["scan_verdict"]["S"], row["scan_action"]["S"]) == ("malicious", "delete")
    # The log line also went where Lambda would put it.
    group = "/aws/lambda/uploads-post-scan"
    events = account.client("logs").filter_log_events(logGroupName=group)["events"]
    assert any(json.loads(e["message"]).get("file_id") == "invoice-42" for e in events)


def test_scan_clean_keeps_the_file(emulator: dict[str, Any], applied: dict[str, Any]):
    done = _scan(
        emulator,
        "--bucket example-uploads-bucket",
        "--key reports/q1.txt",
        "--verdict clean",
        "--file-id report-q1",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "-> outcome processed, verdict clean, actions none" in out
    assert "  object     unchanged: unversioned" in out
    assert "fss-scan-detail-code=0" in out
    account = emulated_account(emulator["url"], emulator["account_id"], emulator["region"])
    head = account.client("s3").head_object(Bucket="example-uploads-bucket", Key="reports/q1.txt")
    assert head["ContentLength"] > 0
    # The README's root records malicious, incomplete, failed and unscanned only.
    assert "Item" not in account.client("dynamodb").get_item(
        TableName="uploads", Key={"file_id": {"S": "report-q1"}}
    )


def test_scan_names_what_is_missing(emulator: dict[str, Any], applied: dict[str, Any]):
    done = _scan(emulator, "--bucket not-listed-bucket --key a.txt --verdict clean")
    assert done.returncode != 0
    assert "no post-scan function lists bucket not-listed-bucket" in done.stderr


def test_emulator_stop_leaves_nothing_running(emulator: dict[str, Any], applied: dict[str, Any]):
    stopped = _make("emulator-stop", f"ARGS=--state-dir {emulator['state']}")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"pid {emulator['pid']} stopped" in stopped.stdout
    deadline = time.monotonic() + 10
    while _alive(emulator["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(emulator["pid"])
    assert not _answers(emulator["url"])
    assert not (emulator["state"] / "emulator.pid").exists()
    again = _scan(emulator, "--bucket example-uploads-bucket --key a.txt --verdict clean")
    assert again.returncode == 2 and "no emulator is running" in again.stderr


def test_foreground_emulator_stops_on_ctrl_c(tmp_path: Path):
    env = environ_copy(("AWS_", "PYTHON"))
    make = ["make", "-s", "--no-print-directory", "-C", str(REPO_ROOT)]
    with interruptible_children():  # Ctrl-C's default action, as in a terminal
        process = subprocess.Popen(
            [*make, "emulator", f"ARGS=--port 0 --state-dir {tmp_path}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Local AWS emulator"), first
        url = first.rsplit(" ", 1)[1].strip()
        pid = int((tmp_path / "emulator.pid").read_text())
        assert _answers(url)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "emulator: stopped" in rest
    assert not _alive(pid) and not _answers(url)
    assert not (tmp_path / "emulator.pid").exists()
