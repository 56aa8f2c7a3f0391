"""The module in a real pipeline, against the emulator: plan and apply in separate jobs, a mode
switch under a steady stream of scan results, the replay command from the consumer's root.

A consumer's root sources the module from a git repository (git::file://...?ref=TAG), so
`terraform init` clones it into .terraform/modules/post_scan as it would from GitHub. Every job is a
fresh checkout of that root with its own `terraform init`; the saved plan is the only thing handed
from the plan job to the apply job; the state lives outside every checkout (as a remote backend).
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
import urllib.request
import uuid
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import background
import pytest
from _harness import Account, MotoServer, stage_module
from _pipeline import (
    Consumer,
    Job,
    module_dir,
    module_repository,
    operator_environment,
    plan_exit_code,
    planned_actions,
    release,
    unknown_policy_arguments,
)
from tooling import terraform_ready

from emulator import fss, jobs
from emulator.event_source import EventSource, deployed_mapping
from emulator.lambda_runner import warm_deployed_handler

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

REGION = "eu-west-1"
PACKAGE_EXCLUDED = {"__pycache__", "tests", ".pytest_cache", ".ruff_cache", ".DS_Store"}
# The deployed handler runs in this process with its own os.environ: one at a time.
HANDLER_LOCK = threading.Lock()
DELETE_POLICY = 'module.post_scan.aws_iam_role_policy.this["DeleteScannedObjects"]'
FUNCTION = "module.post_scan.aws_lambda_function.this"


def _prerequisites(account: Account, label: str) -> tuple[str, str]:
    """(scan-result topic ARN, scanned bucket name) of a storage stack, made with boto3."""
    topic = account.client("sns").create_topic(Name=f"{label}-ScanResultTopic-1")["TopicArn"]
    bucket = f"{label}-uploads-{account.account_id}"
    account.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": account.region}
    )
    return topic, bucket


def _inputs(name: str, topic: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "scan_result_topic_arns": {"storage_stack": topic},
        "bucket_names": [bucket],
        "extract_file_id": True,
        "create_file_id_table": True,
        "record_verdicts": ["malicious", "clean", "incomplete", "failed", "unscanned"],
        **extra,
    }


def _upload(account: Account, bucket: str, key: str, file_id: str) -> dict[str, Any]:
    """Upload a clean file tagged with its file id; returns its clean scan result."""
    body = f"clean upload {file_id}".encode()
    put = account.client("s3").put_object(
        Bucket=bucket, Key=key, Body=body, Tagging=f"file_id={file_id}"
    )
    return fss.scan_result(bucket, key, account.region, size=len(body), etag=put["ETag"][1:-1])


def _package_files(lambda_dir: Path) -> dict[str, bytes]:
    """What the package must hold: lambda/ without byte code, caches and tests."""
    return {
        path.relative_to(lambda_dir).as_posix(): path.read_bytes()
        for path in sorted(lambda_dir.rglob("*"))
        if path.is_file()
        and not PACKAGE_EXCLUDED & set(path.relative_to(lambda_dir).parts)
        and path.suffix != ".pyc"
    }


def _deployed_files(account: Account, function_name: str) -> dict[str, bytes]:
    lambda_ = account.client("lambda")
    location = lambda_.get_function(FunctionName=function_name)["Code"]["Location"]
    with urllib.request.urlopen(location) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    return {name: archive.read(name) for name in archive.namelist()}


def _zips(job: Job) -> list[str]:
    builds = module_dir(job) / "builds"
    return sorted(p.name for p in builds.glob("*.zip")) if builds.is_dir() else []


def _line_index(output: str, *fragments: str) -> int:
    """Index of the first line of `output` that contains every fragment."""
    for index, line in enumerate(output.splitlines()):
        if all(fragment in line for fragment in fragments):
            return index
    raise AssertionError(f"no line with {fragments} in:\n{output}")


def _plan_then_apply(consumer: Consumer, label: str) -> tuple[dict[str, Any], str]:
    """One pipeline run: plan job (saved plan), then apply job (fresh checkout, init, the plan
    file). Returns (the plan as JSON, the apply's output)."""
    planner = consumer.job(f"{label}-plan")
    planner.plan()
    plan = planner.show_json()
    assert unknown_policy_arguments(plan) == [], "every policy is reviewable in the plan"
    applier = consumer.job(f"{label}-apply", artifacts={planner.root / "tfplan": "tfplan"})
    assert not (module_dir(applier) / "builds").exists(), "a fresh checkout has no package"
    output = applier.apply()
    return plan, output


def _queue_depth(account: Account, url: str) -> int:
    attributes = account.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _recorded_file_ids(account: Account, table: str) -> dict[str, str]:
    """file id -> recorded verdict, for every row of the table."""
    dynamodb = account.client("dynamodb")
    rows: dict[str, str] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            rows[item["file_id"]["S"]] = item["scan_verdict"]["S"]
    return rows


################################################################################
# Items 1, 4 (ordering) and 5: separate plan and apply jobs, flags, replay from the consumer root
################################################################################


def saved_plans_flow(moto_server: MotoServer, terraform_binary: str, tmp_path: Path) -> None:
    account = moto_server.account("712000000001", REGION)
    topic, bucket = _prerequisites(account, "jobs")
    repository = module_repository(tmp_path / "module-repo", "v1.0.0")
    consumer = Consumer(tmp_path, moto_server, account, terraform_binary)
    inputs = _inputs("fss-jobs", topic, bucket, delivery_mode="queue")
    consumer.commit(f"git::file://{repository}?ref=v1.0.0", inputs)

    # First deploy: the plan job builds nothing the apply job needs; the apply job zips the
    # module's lambda/ in its own checkout and deploys exactly that.
    plan, output = _plan_then_apply(consumer, "deploy")
    assert planned_actions(plan)["module.post_scan.archive_file.this"] == ["create"]
    deployed = _deployed_files(account, "fss-jobs")
    assert deployed == _package_files(repository / "lambda")

    # A later run with nothing changed plans nothing, also with byte code next to the sources.
    check = consumer.job("unchanged")
    stray = module_dir(check) / "lambda" / "post_scan" / "__pycache__" / "handler.cpython-313.pyc"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not part of the package")
    assert plan_exit_code(check) == 0
    assert _zips(check) == ["fss-jobs-post-scan.zip"], "one zip per deployment, overwritten"

    # A new release of the module's code: the plan job replaces the package (its sources' hash
    # changed), the apply job rebuilds it in its checkout and the function gets the new code.
    release(repository, "v1.1.0", {"lambda/post_scan/__init__.py": "\n# release v1.1.0\n"})
    consumer.commit(f"git::file://{repository}?ref=v1.1.0", inputs)
    plan, output = _plan_then_apply(consumer, "release")
    actions = planned_actions(plan)
    assert actions["module.post_scan.archive_file.this"] in (
        ["create", "delete"],
        ["delete", "create"],
    )
    assert actions[FUNCTION] == ["update"]
    deployed = _deployed_files(account, "fss-jobs")
    assert deployed == _package_files(repository / "lambda")
    assert b"# release v1.1.0" in deployed["post_scan/__init__.py"]
    assert plan_exit_code(consumer.job("released")) == 0

    # Item 4: a permission a flag adds exists before the function uses the flag; a permission a
    # flag removes goes only after the function stopped using it.
    consumer.commit(f"git::file://{repository}?ref=v1.1.0", {**inputs, "delete_malicious": True})
    plan, output = _plan_then_apply(consumer, "flag-on")
    assert planned_actions(plan)[DELETE_POLICY] == ["create"]
    assert _line_index(output, DELETE_POLICY, "Creation complete") < _line_index(
        output, FUNCTION + ":", "Modifications complete"
    )
    consumer.commit(f"git::file://{repository}?ref=v1.1.0", inputs)
    plan, output = _plan_then_apply(consumer, "flag-off")
    assert planned_actions(plan)[DELETE_POLICY] == ["delete"]
    assert _line_index(output, FUNCTION + ":", "Modifications complete") < _line_index(
        output, DELETE_POLICY, "Destroying"
    )

    # Item 5: the replay command, as printed, from the consumer's root.
    operator = consumer.job("replay")
    outputs = operator.outputs()
    command = outputs["replay_command"]
    assert command.startswith("PYTHONPATH='.terraform/modules/post_scan/tools' python3 -m replay ")
    module_outputs = outputs["module"]
    dlq_url, delivery_url = (
        module_outputs["dead_letter_queue_url"],
        module_outputs["delivery_queue_url"],
    )
    scan_result = _upload(account, bucket, "replayed/report.pdf", "replayed-1")
    notification = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(scan_result),
        "Timestamp": "2026-11-29T12:00:00.000Z",
        "SignatureVersion": "1",
    }
    account.client("sqs").send_message(QueueUrl=dlq_url, MessageBody=json.dumps(notification))
    replayed = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=operator.root,
        env=operator_environment(account),
        capture_output=True,
        text=True,
        timeout=jobs.scaled(30),
        check=False,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed" in replayed.stdout
    assert (_queue_depth(account, dlq_url), _queue_depth(account, delivery_url)) == (0, 1)
    with HANDLER_LOCK, warm_deployed_handler(account, "fss-jobs", tmp_path) as invoke:
        EventSource(account, deployed_mapping(account, "fss-jobs"), invoke).drain()
    table = module_outputs["file_id_table_name"]
    assert _recorded_file_ids(account, table) == {"replayed-1": "clean"}


################################################################################
# Item 3: delivery_mode switched both ways while scan results keep coming
################################################################################


class Stream:
    """Uploads a file and publishes its clean scan result every `interval` seconds."""

    def __init__(self, account: Account, topic: str, bucket: str, interval: float) -> None:
        self.account, self.topic, self.bucket, self.interval = account, topic, bucket, interval
        self.file_ids: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        sns = self.account.client("sns")
        number = 0
        while not self._stop.is_set():
            number += 1
            file_id = f"stream-{number:05d}"
            try:
                result = _upload(self.account, self.bucket, f"stream/{file_id}.bin", file_id)
                sns.publish(TopicArn=self.topic, Message=json.dumps(result))
                self.file_ids.append(file_id)
            except Exception as exc:  # the test fails on it below, with the reason
                self.errors.append(f"{file_id}: {exc}")
            self._stop.wait(self.interval)


def mode_switch_flow(moto_server: MotoServer, terraform_binary: str, tmp_path: Path) -> None:
    account = moto_server.account("712000000002", REGION)
    topic, bucket = _prerequisites(account, "switch")
    stage_module(tmp_path / "module")
    consumer = Consumer(tmp_path, moto_server, account, terraform_binary)
    inputs = _inputs("fss-switch", topic, bucket)
    consumer.commit("../module", inputs)
    _plan_then_apply(consumer, "direct")
    function_arn = account.client("lambda").get_function(FunctionName="fss-switch")[
        "Configuration"
    ]["FunctionArn"]

    with Stream(account, topic, bucket, interval=0.25) as stream:
        time.sleep(2)
        # direct -> queue: the queue subscription exists before the function's goes.
        consumer.commit("../module", {**inputs, "delivery_mode": "queue"})
        plan, _ = _plan_then_apply(consumer, "to-queue")
        assert planned_actions(plan)[
            'module.post_scan.aws_sns_topic_subscription.this["storage_stack"]'
        ] == ["create", "delete"]
        time.sleep(2)
        # queue -> direct, draining: the function's subscription is back before the queue's goes,
        # and the queue with its mapping stays until the function has worked it off.
        consumer.commit("../module", {**inputs, "drain_delivery_queue": True})
        plan, _ = _plan_then_apply(consumer, "to-direct")
        assert planned_actions(plan)[
            'module.post_scan.aws_sns_topic_subscription.this["storage_stack"]'
        ] == ["create", "delete"]
        assert "module.post_scan.aws_sqs_queue.delivery[0]" not in planned_actions(plan)
        time.sleep(2)
    assert stream.errors == []
    published = set(stream.file_ids)
    assert len(published) > 100, f"only {len(published)} scan results published"

    # What reached the function directly (recorded by the emulator, which cannot run Lambda), and
    # what waits in the delivery queue (worked off by its mapping, emulated), through the deployed
    # handler. Every published scan result must be handled: its verdict recorded.
    delivery_url = consumer.job("outputs").outputs()["module"]["delivery_queue_url"]
    with HANDLER_LOCK, warm_deployed_handler(account, "fss-switch", tmp_path) as invoke:
        for event in moto_server.lambda_deliveries(function_arn):
            invoke(event)
        EventSource(account, deployed_mapping(account, "fss-switch"), invoke).drain()
    recorded = _recorded_file_ids(account, "fss-switch-file-ids")
    missing = sorted(published - set(recorded))
    assert missing == [], f"{len(missing)} of {len(published)} scan results lost: {missing[:10]}"
    assert set(recorded.values()) == {"clean"}

    # Drained: the queue is empty, so the drain setting can go, and the queue with it.
    assert _queue_depth(account, delivery_url) == 0
    consumer.commit("../module", inputs)
    plan, _ = _plan_then_apply(consumer, "drained")
    assert planned_actions(plan)["module.post_scan.aws_sqs_queue.delivery[0]"] == ["delete"]
    assert plan_exit_code(consumer.job("settled")) == 0


################################################################################
# The two flows run side by side, in the background from the end of collection (most of their
# time is Terraform waiting on the emulator's SQS); each test reports its own.
################################################################################

FLOWS = {
    "test_saved_plans_apply_in_fresh_jobs": saved_plans_flow,
    "test_mode_switch_under_a_steady_stream_loses_no_scan_result": mode_switch_flow,
}


@background.work("flows")
def _start_flows(session: pytest.Session) -> dict[str, Future[None]]:
    """The selected flows, started at once in threads; each test waits for its own. Each flow has
    a moto server of its own: moto's backends are not thread-safe, and two flows applying at once
    against one server made a request fail after it had taken effect (a CreateFunction retried by
    the provider then met "Function already exist")."""
    terraform = terraform_ready()
    factory = session.config._tmp_path_factory  # the tmp_path_factory fixture's
    selected = sorted({item.originalname for item in session.items} & set(FLOWS))
    pool = ThreadPoolExecutor(max_workers=len(selected) or 1)
    futures: dict[str, Future[None]] = {}
    for name in selected:
        server = MotoServer(factory.mktemp(f"{name[5:30]}-server") / "moto-server.log")
        background.at_exit(server.stop)
        futures[name] = pool.submit(FLOWS[name], server, terraform, factory.mktemp(name[5:30]))
    background.at_exit(lambda: pool.shutdown(wait=True))
    return futures


@pytest.fixture(scope="module")
def flows(request: pytest.FixtureRequest) -> dict[str, Future[None]]:
    return background.result("flows", request.session)


def test_saved_plans_apply_in_fresh_jobs(flows: dict[str, Future[None]]):
    """Items 1, 4 and 5: a saved plan applied in a fresh job (first deploy, a new release, nothing
    changed), permissions ordered around the function on flag changes, replay_command from the
    consumer's root."""
    flows["test_saved_plans_apply_in_fresh_jobs"].result()


def test_mode_switch_under_a_steady_stream_loses_no_scan_result(flows: dict[str, Future[None]]):
    """Item 3: delivery_mode switched both ways while scan results keep coming: none lost."""
    flows["test_mode_switch_under_a_steady_stream_loses_no_scan_result"].result()
