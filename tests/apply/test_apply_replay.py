"""Replaying a direct-mode deployment's dead-letter queue: only the deployed function's own records,
each scan result once.

The basic example (direct mode, delete_malicious) is applied against the moto server. Its topic
delivers real scan results (the emulator records the SNS events Lambda would receive); the dead
letters Lambda and SNS would write after failing are put into the deployed dead-letter queue:

- an on-failure record of the deployed function (Lambda's on-failure destination);
- an on-failure record naming another function, with a scan result of its own (another
  function's destination pointed at this queue, or a record forged by someone who may send to it);
- the same SNS notification twice (SNS delivers at least once, and redrives each copy).

The replay runs with the arguments of the deployment's replay_command, in-process, with the
deployed handler as the function (moto cannot run Lambda functions).
"""

from __future__ import annotations

import json
import shlex
import uuid
from typing import Any

import pytest
from _harness import Deployment, Fleet, MotoServer, run_deployed_handler

from emulator import fss
from replay.cli import main

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

EICAR = fss.eicar()


@pytest.fixture(params=["basic"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


class _Session:
    """What the CLI asks of a boto3 session, answered with the deployment's emulator clients."""

    def __init__(self, deployed: Deployment) -> None:
        self.account = deployed.account

    def client(self, service: str, **_: Any) -> Any:
        return self.account.client(service)


def _upload_and_publish(deployed: Deployment, moto_server: MotoServer, name: str) -> dict:
    """A malicious upload, its scan result published to the topic; the SNS event Lambda got."""
    account = deployed.account
    bucket = deployed.facts["buckets"][0]["name"]
    topic = deployed.facts["topics"]["storage_stack"]
    function_arn = deployed.module_outputs["lambda_function_arn"]
    key = f"replay/{name} {uuid.uuid4().hex[:6]}.exe"
    put = account.client("s3").put_object(Bucket=bucket, Key=key, Body=EICAR)
    message = fss.scan_result(
        bucket,
        key,
        account.region,
        size=len(EICAR),
        etag=put["ETag"].strip('"'),
        findings=[fss.EICAR_FINDING],
    )
    sns_id = account.client("sns").publish(TopicArn=topic, Message=json.dumps(message))["MessageId"]
    (event,) = [
        e
        for e in moto_server.lambda_deliveries(function_arn)
        if e["Records"][0]["Sns"]["MessageId"] == sns_id
    ]
    return {"key": key, "version": put["VersionId"], "event": event, "sns_id": sns_id}


def _on_failure_record(event: dict[str, Any], function_arn: str) -> str:
    """What Lambda's on-failure destination writes after the async retries."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2024-05-01T12:03:31.412Z",
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": {"errorMessage": "table missing", "errorType": "RecordsFailed"},
        }
    )


def _notification(event: dict[str, Any]) -> str:
    """What SNS puts into the subscription's dead-letter queue for an undeliverable message."""
    sns = event["Records"][0]["Sns"]
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": sns["MessageId"],
            "TopicArn": sns["TopicArn"],
            "Message": sns["Message"],
            "Timestamp": sns["Timestamp"],
            "SignatureVersion": sns["SignatureVersion"],
            "Signature": sns["Signature"],
            "SigningCertURL": sns["SigningCertUrl"],
            "UnsubscribeURL": sns["UnsubscribeUrl"],
        }
    )


def _versions(deployed: Deployment, key: str) -> list[str]:
    s3 = deployed.account.client("s3")
    bucket = deployed.facts["buckets"][0]["name"]
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]


def test_replay_refuses_other_functions_records_and_replays_each_scan_result_once(
    deployed: Deployment, moto_server: MotoServer, tmp_path, capsys
):
    account = deployed.account
    sqs = account.client("sqs")
    dlq_url = deployed.module_outputs["dead_letter_queue_url"]
    function_arn = deployed.module_outputs["lambda_function_arn"]
    other_function = function_arn.rsplit(":", 1)[0] + ":someone-elses-function"

    ours = _upload_and_publish(deployed, moto_server, "ours")
    theirs = _upload_and_publish(deployed, moto_server, "theirs")
    twice = _upload_and_publish(deployed, moto_server, "twice")
    foreign = _on_failure_record(theirs["event"], other_function)
    for body in (
        _on_failure_record(ours["event"], function_arn),
        foreign,
        _notification(twice["event"]),
        _notification(twice["event"]),
    ):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=body)

    invoked: list[str] = []

    def invoke(event: dict[str, Any]) -> tuple[bool, str]:
        invoked.append(event["Records"][0]["Sns"]["MessageId"])
        result, _ = run_deployed_handler(account, deployed.inputs["name"], event, tmp_path)
        return True, json.dumps(result)

    command = shlex.split(deployed.module_outputs["replay_command"])
    arguments = command[command.index("-m") + 2 :]
    assert arguments[arguments.index("--function") + 1] == function_arn
    capsys.readouterr()
    code = main([*arguments, "--wait-seconds", "0"], invoke=invoke, session=_Session(deployed))
    out = capsys.readouterr().out

    # The deployed function's own record and one copy of the duplicated notification were
    # replayed (each scan result once); the other copy was deleted as a duplicate of that event.
    assert sorted(invoked) == sorted([ours["sns_id"], twice["sns_id"]])
    assert _versions(deployed, ours["key"]) == []
    assert _versions(deployed, twice["key"]) == []
    # The other function's record was refused: kept in the queue, its object untouched.
    assert _versions(deployed, theirs["key"]) == [theirs["version"]]
    left = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert [m["Body"] for m in left.get("Messages", [])] == [foreign]
    report = [line.split()[0] for line in out.splitlines() if not line.startswith("{")]
    assert sorted(report[:-1]) == ["deleted", "refused", "replayed", "replayed"]
    assert f"written for function '{other_function}:$LATEST', not {function_arn}" in out
    assert report and out.splitlines()[-1] == (
        "4 received: 2 replayed and deleted, 1 duplicates of those deleted; left in the queue: "
        "0 failed, 0 skipped, 1 refused, 0 duplicates"
    )
    assert code == 1  # a message was left in the queue
