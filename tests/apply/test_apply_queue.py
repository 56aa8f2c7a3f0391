"""The queue example under a burst, with one poisoned scan result, then replayed after the fix.

The example is applied against the moto server like every example (test_apply_examples.py checks
what all roots must satisfy). Here a burst of scan results is published to its topic; SNS fills the
delivery queue; the emulated event source mapping (tools/emulator/event_source.py) reads the
deployed mapping's settings and feeds the queue, batch by batch, to the deployed handler run
in-process, deleting what the handler did not report as failed.

The poison is a malicious upload under an S3 Object Lock legal hold: its delete is refused every
time, the handler reports it as a batch item failure, and after max_receive_count receives SQS
moves it to the dead-letter queue. Replaying it before the cause is fixed sends it once: it fails
again, comes back into the dead-letter queue while the replay still runs, and stays there (a
replay run never sends one scan result twice). Once the hold is lifted, the module's
replay_command sends it back to the delivery queue and the next drain processes it.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest
from _harness import Deployment, Fleet, run_deployed_handler
from _pipeline import operator_environment

from emulator import fss, jobs
from emulator.event_source import Drained, drain_deployed
from replay.cli import main as replay_main

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

EICAR = fss.eicar()
BURST = 50
POISON_AT = 23  # published in the middle of the burst


@pytest.fixture(params=["queue"])
def scenario(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def deployed(fleet: Fleet, scenario: str) -> Deployment:
    return fleet.applied(scenario)


def _drain(deployed: Deployment, tmp_path, capsys) -> tuple[Drained, list[dict[str, Any]]]:
    """Drain the delivery queue through the deployed handler; (what the poller did, log lines)."""
    name = deployed.outputs["lambda_function_name"]

    def invoke(event: dict[str, Any]) -> Any:
        result, _ = run_deployed_handler(deployed.account, name, event, tmp_path)
        return result

    capsys.readouterr()
    drained = drain_deployed(deployed.account, name, invoke)
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"outcome"' in line
    ]
    return drained, lines


def _queue_depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _versions(s3, bucket: str, key: str) -> list[str]:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]


def _replay(deployed: Deployment) -> subprocess.CompletedProcess[str]:
    """Run the deployment's replay_command as printed, from the root it was applied in (a shell,
    python3 with boto3 on the PATH, the account's credentials in the environment)."""
    command = deployed.outputs["replay_command"]
    assert " python3 -m replay " in command, command
    return subprocess.run(
        ["/bin/sh", "-c", f"{command} --wait-seconds 0"],
        cwd=deployed.root,
        env=operator_environment(deployed.account),
        capture_output=True,
        text=True,
        timeout=jobs.scaled(30),
        check=False,
    )


def _replay_before_the_fix(deployed: Deployment, tmp_path) -> tuple[int, list[str], str]:
    """Run the replay_command's arguments in-process while the event source mapping keeps working:
    every body the replay sends is drained through the deployed handler at once (it fails again,
    and the redrive policy moves it back to the dead-letter queue). Returns (exit code, the bodies
    sent, the replay's report)."""
    account = deployed.account
    name = deployed.outputs["lambda_function_name"]
    delivery_url = deployed.outputs["delivery_queue_url"]
    sqs = account.client("sqs")
    sent: list[str] = []

    def send_and_drain(body: str, attributes: dict[str, Any]) -> tuple[bool, str]:
        sent.append(body)
        arguments: dict[str, Any] = {"QueueUrl": delivery_url, "MessageBody": body}
        if attributes:
            arguments["MessageAttributes"] = attributes
        sqs.send_message(**arguments)
        if len(sent) <= 5:  # without the at-most-once rule the run would never end

            def invoke(event: dict[str, Any]) -> Any:
                with contextlib.redirect_stdout(io.StringIO()):  # the handler's log lines
                    return run_deployed_handler(account, name, event, tmp_path)[0]

            drain_deployed(account, name, invoke)
        return True, "sent and drained"

    class Session:
        def client(self, service: str, **_: Any) -> Any:
            return account.client(service)

    command = shlex.split(deployed.module_outputs["replay_command"])
    arguments = [*command[command.index("-m") + 2 :], "--wait-seconds", "0"]
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        code = replay_main(arguments, send=send_and_drain, session=Session())
    return code, sent, report.getvalue()


@dataclass(frozen=True)
class _Site:
    """The deployed queue example: its clients, bucket, topic, table and queues."""

    s3: Any
    sns: Any
    sqs: Any
    dynamodb: Any
    bucket: str
    topic: str
    table: str
    tag_key: str
    max_receives: int
    delivery_url: str
    dlq_url: str


def _site(deployed: Deployment) -> _Site:
    account = deployed.account
    return _Site(
        *(account.client(service) for service in ("s3", "sns", "sqs", "dynamodb")),
        bucket=deployed.facts["buckets"][0]["name"],
        topic=deployed.facts["topics"]["storage_stack"],
        table=deployed.outputs["file_id_table_name"],
        tag_key=deployed.inputs["file_id_tag_key"],
        max_receives=deployed.inputs["queue"]["max_receive_count"],
        delivery_url=deployed.outputs["delivery_queue_url"],
        dlq_url=deployed.outputs["dead_letter_queue_url"],
    )


def test_burst_with_a_poisoned_message_then_replay(deployed: Deployment, tmp_path, capsys):
    account, site = deployed.account, _site(deployed)
    s3, sns, sqs, dynamodb = site.s3, site.sns, site.sqs, site.dynamodb
    bucket, topic, table, tag_key = site.bucket, site.topic, site.table, site.tag_key
    max_receives, delivery_url, dlq_url = site.max_receives, site.delivery_url, site.dlq_url

    uploads: list[dict[str, Any]] = []
    for i in range(BURST + 1):
        poison = i == POISON_AT
        malicious = poison or i % 4 == 0
        key = f"burst/{i:03d} upload+{'m' if malicious else 'c'}.bin"
        body = EICAR if malicious else f"clean upload {i}".encode()
        put = s3.put_object(Bucket=bucket, Key=key, Body=body, Tagging=f"{tag_key}=file-{i}")
        if poison:  # a compliance hold: S3 refuses to delete this version until it is lifted
            s3.put_object_legal_hold(
                Bucket=bucket, Key=key, VersionId=put["VersionId"], LegalHold={"Status": "ON"}
            )
        message = fss.scan_result(
            bucket,
            key,
            account.region,
            size=len(body),
            etag=put["ETag"].strip('"'),
            findings=[fss.EICAR_FINDING] if malicious else [],
        )
        sns_id = sns.publish(TopicArn=topic, Message=json.dumps(message))["MessageId"]
        uploads.append(
            {"key": key, "version": put["VersionId"], "malicious": malicious, "sns_id": sns_id}
        )
    poison = uploads[POISON_AT]
    others = [u for u in uploads if u is not poison]
    assert _queue_depth(sqs, delivery_url) == BURST + 1

    drained, lines = _drain(deployed, tmp_path, capsys)

    # Every other scan result was processed once: malware deleted, clean files kept, verdicts
    # recorded per file id.
    processed = [line for line in lines if line["outcome"] == "processed"]
    assert sorted(line["key"] for line in processed) == sorted(u["key"] for u in others)
    assert {line["delivery"] for line in lines} == {"sqs"}
    batch_size = deployed.inputs["queue"]["batch_size"]
    assert drained.batches <= -(-(BURST + max_receives) // batch_size) + max_receives
    for number, upload in enumerate(uploads):
        if upload is poison:
            continue
        expected = [] if upload["malicious"] else [upload["version"]]
        assert _versions(s3, bucket, upload["key"]) == expected, upload
        row = dynamodb.get_item(TableName=table, Key={"file_id": {"S": f"file-{number}"}})["Item"]
        assert row["scan_verdict"] == {"S": "malicious" if upload["malicious"] else "clean"}
        assert row["s3_version_id"] == {"S": upload["version"]}

    # The poison failed alone, once per receive, then SQS moved it to the dead-letter queue.
    failures = [line for line in lines if line["outcome"] == "error"]
    assert [line["key"] for line in failures] == [poison["key"]] * max_receives
    assert sorted(line["receive_count"] for line in failures) == list(range(1, max_receives + 1))
    assert len(set(drained.kept)) == 1 and len(drained.kept) == max_receives
    assert _versions(s3, bucket, poison["key"]) == [poison["version"]]
    assert _queue_depth(sqs, delivery_url) == 0
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    (dead_letter,) = dead["Messages"]
    notification = json.loads(dead_letter["Body"])
    assert (notification["Type"], notification["MessageId"]) == ("Notification", poison["sns_id"])
    assert notification["TopicArn"] == topic

    # Replaying before the fix: sent once, failed again, back in the dead-letter queue while the
    # run goes on; the run does not send it again and reports it truthfully.
    code, sent, report = _replay_before_the_fix(deployed, tmp_path)
    assert (code, sent) == (1, [dead_letter["Body"]]), report
    assert [line.split()[0] for line in report.splitlines()] == ["replayed", "duplicate", "2"]
    assert report.splitlines()[-1] == (
        "2 received: 1 replayed and deleted, 0 duplicates of those deleted; left in the queue: "
        "0 failed, 0 skipped, 0 refused, 1 duplicates"
    )
    (again,) = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)[
        "Messages"
    ]
    assert json.loads(again["Body"])["MessageId"] == poison["sns_id"]
    assert _versions(s3, bucket, poison["key"]) == [poison["version"]]

    # Fix the cause, replay with the deployment's own command, drain again.
    s3.put_object_legal_hold(
        Bucket=bucket, Key=poison["key"], VersionId=poison["version"], LegalHold={"Status": "OFF"}
    )
    replayed = _replay(deployed)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert _queue_depth(sqs, dlq_url) == 0
    assert _queue_depth(sqs, delivery_url) == 1

    drained, lines = _drain(deployed, tmp_path, capsys)
    assert [(line["key"], line["outcome"]) for line in lines] == [(poison["key"], "processed")]
    assert (drained.batches, drained.kept) == (1, [])
    assert _versions(s3, bucket, poison["key"]) == []
    assert _queue_depth(sqs, delivery_url) == 0 and _queue_depth(sqs, dlq_url) == 0


def test_the_final_receive_makes_malware_harmless_and_the_replay_writes_its_row(
    deployed: Deployment, tmp_path, capsys
):
    """Issue 19: the row update keeps failing with an error a retry could cure (the table is gone).
    Before, the malware stayed in the bucket through every receive and into the dead-letter queue.
    Now the final receive deletes it anyway, and the dead letter the function sends keeps the file
    id and version; the operator recreates the table, runs replay_command, and the row is written
    although the object is gone."""
    account, site = deployed.account, _site(deployed)
    s3, sns, sqs, dynamodb = site.s3, site.sns, site.sqs, site.dynamodb
    bucket, topic, table, tag_key = site.bucket, site.topic, site.table, site.tag_key
    max_receives, dlq_url = site.max_receives, site.dlq_url
    described = dynamodb.describe_table(TableName=table)["Table"]
    dynamodb.delete_table(TableName=table)

    key = "final receive/evil+1 ü.bin"
    put = s3.put_object(Bucket=bucket, Key=key, Body=EICAR, Tagging=f"{tag_key}=final-1")
    message = fss.scan_result(
        bucket,
        key,
        account.region,
        size=len(EICAR),
        etag=put["ETag"].strip('"'),
        findings=[fss.EICAR_FINDING],
    )
    sns.publish(TopicArn=topic, Message=json.dumps(message))

    _, lines = _drain(deployed, tmp_path, capsys)
    assert [(line["receive_count"], line["outcome"]) for line in lines] == [
        *((count, "error") for count in range(1, max_receives)),
        (max_receives, "fallback"),
    ]
    assert "dead_letter" in lines[-1]["actions"] and lines[-1]["file_id"] == "final-1"
    assert _versions(s3, bucket, key) == []  # harmless although the row could not be written
    (dead,) = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)[
        "Messages"
    ]
    (target,) = json.loads(dead["Body"])["PostScanPending"]["targets"]
    assert (target["file_id"], target["version_id"]) == ("final-1", put["VersionId"])

    # The operator fixes the cause and replays with the deployment's own command.
    dynamodb.create_table(
        TableName=table,
        KeySchema=described["KeySchema"],
        AttributeDefinitions=described["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    replayed = _replay(deployed)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    _, lines = _drain(deployed, tmp_path, capsys)
    assert [(line["key"], line["outcome"]) for line in lines] == [(key, "processed")]
    row = dynamodb.get_item(TableName=table, Key={"file_id": {"S": "final-1"}})["Item"]
    assert (row["scan_verdict"], row["scan_action"]) == ({"S": "malicious"}, {"S": "delete"})
    assert row["s3_version_id"] == {"S": put["VersionId"]}
    assert _queue_depth(sqs, dlq_url) == 0
