"""Organisation scale, applied: 1,000 buckets and 301 topics in both delivery modes.

Two deployments (direct and queue) are applied side by side into their own emulated accounts. Each
takes 100 topics and buckets from FSS storage stacks (CloudFormation stacks in its account with the
storage stack's output names), one from an account scanner stack (its SSM outputs parameter), 200
topics of two FSS accounts by ARN, and 900 more buckets by name;
every flag that adds statements is on. The buckets are named by pattern in the role and the topics
by account in the resource policies (the options docs/scale.md recommends at this size); the engine
still gets the exact lists.

The emulator enforces no quota, so every document the deployment holds is measured with
tests/quotas.py against the AWS quota. Then the deployed function is driven: a scan result from a
stack's topic deletes the malware in a stack's bucket, and the exact allow-lists (read from the
package) reject a topic and a bucket that the broader policies would allow.

Marked `scale`: `pytest -m "not scale"` skips it locally; CI runs it.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import background
import pytest
import quotas
from _harness import Account, MotoServer, Runner, prepare_root, run_deployed_handler
from tooling import terraform_ready

from emulator import fss
from emulator import scale as scale_config
from emulator.event_source import drain_deployed

pytestmark = [pytest.mark.terraform, pytest.mark.apply, pytest.mark.scale]

REGION = "eu-west-1"
MODES = {"direct": "710000000001", "queue": "710000000002"}


@dataclass
class ScaleDeployment:
    mode: str
    server: MotoServer
    account: Account
    root: Path
    runner: Runner
    stack_buckets: list[str]
    stack_topics: dict[str, str]
    foreign_topics: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    second_plan_exit_code: int | None = None


def _deploy(
    server: MotoServer, workdir: Path, tf_bin: str, mode: str, foreign: dict[str, str]
) -> ScaleDeployment:
    account = server.account(MODES[mode], REGION)
    stacks, stack_topics, stack_buckets = scale_config.create_storage_stacks(account)
    stack_topics["account-scanner"] = scale_config.create_account_scanner(account)
    root = scale_config.stage_root(workdir / f"scale-{mode}")
    variables = scale_config.root_variables(account, mode, stacks, foreign)
    runner = prepare_root(root, account, variables, tf_bin, server.url)
    deployment = ScaleDeployment(
        mode, server, account, root, runner, stack_buckets, stack_topics, foreign
    )
    runner.init()
    started = time.monotonic()
    state = runner.apply()
    deployment.seconds["apply"] = time.monotonic() - started
    deployment.outputs = {k: v["value"] for k, v in state.outputs.items()}
    # A second plan (every subscription and stack read back) must find nothing to change.
    started = time.monotonic()
    deployment.second_plan_exit_code, _ = runner.plan_exit_code()
    deployment.seconds["second plan"] = time.monotonic() - started
    return deployment


@background.work("scale")
def _start_scale(session: pytest.Session) -> dict[str, ScaleDeployment]:
    """Both modes, applied at the same time (the provider's waits overlap), on a server of their
    own, in the background from the end of collection."""
    terraform = terraform_ready()
    workdir = session.config._tmp_path_factory.mktemp("scale")  # the tmp_path_factory fixture's
    server = MotoServer(workdir / "moto-server.log")
    background.at_exit(server.stop)
    foreign = scale_config.create_foreign_topics(
        [server.account(owner, REGION) for owner in scale_config.FSS_ACCOUNTS]
    )
    with ThreadPoolExecutor(max_workers=len(MODES)) as pool:
        futures = {
            mode: pool.submit(_deploy, server, workdir, terraform, mode, foreign) for mode in MODES
        }
        return {mode: future.result() for mode, future in futures.items()}


@pytest.fixture(scope="module")
def scale(request: pytest.FixtureRequest) -> dict[str, ScaleDeployment]:
    # Printed here, in the test that asks, never from the background thread: a line written to
    # stdout while a unit test captures it would land in that test's output.
    deployments = background.result("scale", request.session)
    for deployment in deployments.values():
        print(f"scale {deployment.mode}: {deployment.seconds}")
    return deployments


def _module_outputs(deployment: ScaleDeployment) -> dict[str, Any]:
    return deployment.outputs["apply_test_module_outputs"]


@pytest.mark.parametrize("mode", list(MODES))
def test_every_document_is_within_its_aws_quota(scale: dict[str, ScaleDeployment], mode: str):
    deployment = scale[mode]
    outputs = _module_outputs(deployment)
    account = deployment.account
    sizes = [
        *quotas.role_sizes(account.client("iam"), outputs["lambda_role_name"]),
        *quotas.function_sizes(account.client("lambda"), outputs["lambda_function_name"]),
        *quotas.queue_sizes(account.client("sqs"), outputs["dead_letter_queue_url"]),
    ]
    if mode == "queue":
        sizes += quotas.queue_sizes(account.client("sqs"), outputs["delivery_queue_url"])
    print("\n".join(str(size) for size in sizes))
    assert quotas.over_quota(sizes) == []
    # Every topic is subscribed, and the engine holds the exact lists (in the package).
    # Every topic is subscribed: the storage stacks', the account scanner's (read from its SSM
    # outputs parameter) and the FSS accounts' by ARN.
    subscriptions = outputs["sns_subscription_arns"]
    topics = {**deployment.stack_topics, **deployment.foreign_topics}
    assert len(subscriptions) == len(topics) == 301
    sns = account.client("sns")
    for key in ("account-scanner", "fss-storage-000", sorted(deployment.foreign_topics)[0]):
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscriptions[key])
        assert attributes["Attributes"]["TopicArn"] == topics[key], key
    assert deployment.second_plan_exit_code == 0, "the second plan wants changes"
    environment = account.client("lambda").get_function_configuration(
        FunctionName=outputs["lambda_function_name"]
    )["Environment"]["Variables"]
    assert environment["ALLOWED_BUCKETS"] == "file:allowed_buckets.txt"
    assert environment["ALLOWED_TOPIC_ARNS"] == "file:allowed_topic_arns.txt"


def _malicious(bucket: str, key: str, stored: dict[str, Any]) -> str:
    """The scan result FSS publishes for an uploaded EICAR file (JSON)."""
    message = fss.scan_result(
        bucket, key, REGION, size=stored["size"], etag=stored["etag"], findings=[fss.EICAR_FINDING]
    )
    return json.dumps(message)


def _scan_result_event(topic: str, bucket: str, key: str, stored: dict[str, Any]) -> dict:
    """The SNS event Lambda would get for that scan result from `topic`."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"m-{key}",
                    "TopicArn": topic,
                    "Message": _malicious(bucket, key, stored),
                },
            }
        ]
    }


def _outcomes(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"outcome"' in line
    ]


def _upload(account: Account, bucket: str, key: str) -> dict[str, Any]:
    s3 = account.client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:  # a stack's exists
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    body = fss.eicar()
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    return {"etag": put["ETag"].strip('"'), "size": len(body)}


def _keys(account: Account, bucket: str) -> list[str]:
    listing = account.client("s3").list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_direct_mode_acts_for_a_stack_and_keeps_the_exact_allow_lists(
    scale: dict[str, ScaleDeployment], tmp_path, capsys
):
    deployment = scale["direct"]
    account = deployment.account
    outputs = _module_outputs(deployment)
    name = outputs["lambda_function_name"]
    stack_bucket = deployment.stack_buckets[-1]
    stack_topic = deployment.stack_topics[f"fss-storage-{scale_config.STACKS - 1:03d}"]
    stored = _upload(account, stack_bucket, "uploads/eicar.txt")

    # Published on the stack's topic: SNS delivers it to the function, which deletes the malware.
    account.client("sns").publish(
        TopicArn=stack_topic, Message=_malicious(stack_bucket, "uploads/eicar.txt", stored)
    )
    (event,) = deployment.server.lambda_deliveries(outputs["lambda_function_arn"])
    capsys.readouterr()
    run_deployed_handler(account, name, event, tmp_path)
    (line,) = _outcomes(capsys)
    assert line["outcome"] == "processed" and line["actions"], line
    assert _keys(account, stack_bucket) == []

    # The role and the function policy allow more (any bucket matching the pattern, any topic of
    # the account); the engine's lists stay exact.
    unlisted_bucket = f"{scale_config.bucket_prefix(account)}not-listed"
    stored = _upload(account, unlisted_bucket, "eicar.txt")
    unlisted_topic = stack_topic.rsplit(":", 1)[0] + ":not-a-scan-result-topic"
    events = [
        _scan_result_event(stack_topic, unlisted_bucket, "eicar.txt", stored),
        _scan_result_event(unlisted_topic, stack_bucket, "x.txt", stored),
    ]
    for event in events:
        run_deployed_handler(account, name, event, tmp_path)
    assert [line["outcome"] for line in _outcomes(capsys)] == ["rejected", "rejected"]
    assert _keys(account, unlisted_bucket) == ["eicar.txt"]


def test_queue_mode_delivers_from_a_foreign_topic(
    scale: dict[str, ScaleDeployment], tmp_path, capsys
):
    deployment = scale["queue"]
    account = deployment.account
    outputs = _module_outputs(deployment)
    name = outputs["lambda_function_name"]
    bucket = scale_config.listed_buckets(account)[-1]
    stored = _upload(account, bucket, "eicar.bin")
    topic = sorted(deployment.foreign_topics.values())[-1]
    # The FSS account publishes; the topic's subscription feeds the delivery queue.
    publisher = deployment.server.account(topic.split(":")[4], REGION)
    publisher.client("sns").publish(TopicArn=topic, Message=_malicious(bucket, "eicar.bin", stored))

    def invoke(event: dict[str, Any]) -> Any:
        result, _ = run_deployed_handler(account, name, event, tmp_path)
        return result

    capsys.readouterr()
    drained = drain_deployed(account, name, invoke)
    (line,) = _outcomes(capsys)
    assert (line["outcome"], line["delivery"]) == ("processed", "sqs"), line
    assert drained.kept == []
    assert _keys(account, bucket) == []
