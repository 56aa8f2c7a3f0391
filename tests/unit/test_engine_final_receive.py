"""Issue 19, residual risk: a retryable failure before a malicious delete (queue mode).

On the final receive (ApproximateReceiveCount >= QUEUE_MAX_RECEIVE_COUNT) of a malicious result
whose row update fails with an error a retry could cure (table missing, throttling, AccessDenied),
the file is made harmless anyway, and what the replay needs to finish the row (file id, version,
action, destination) goes to the dead-letter queue with the message (`PostScanPending`). Replaying
that dead letter once the cause is fixed writes the row although the object is gone.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from engine_kit import (
    ACCOUNT,
    EICAR_BODY,
    REGION,
    scan_message,
    sns_notification,
    sqs_event,
    sqs_record,
    upload,
    versions_of,
)

from post_scan.config import ConfigError, load_config
from replay import decide

DLQ_NAME = "fss-post-scan-dlq"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{DLQ_NAME}"


def env(bucket: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": bucket,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "DELETE_MALICIOUS": "true",
        "QUEUE_MAX_RECEIVE_COUNT": "3",
        "DEAD_LETTER_QUEUE_ARN": DLQ_ARN,
        **more,
    }


@pytest.fixture
def dlq(moto_aws: None) -> Any:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]

    def messages() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    return messages


def create_table(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="app-files",
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def row(dynamodb: Any, file_id: str = "f-1") -> dict[str, Any] | None:
    return dynamodb.get_item(TableName="app-files", Key={"file_id": {"S": file_id}}).get("Item")


def queued(message: dict[str, Any], receive_count: int) -> dict[str, Any]:
    return sqs_event(sqs_record(sns_notification(message), "q-1", receive_count=receive_count))


def test_before_the_final_receive_a_retryable_failure_keeps_the_file_for_the_retry(
    s3, bucket, dynamodb, make_engine, dlq
) -> None:
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket))(queued(scan_message(bucket, "evil.exe", etag=obj["etag"]), 2))
    assert run.result == {"batchItemFailures": [{"itemIdentifier": "q-1"}]}
    assert run.line["outcome"] == "error"
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 1
    assert dlq() == []


@pytest.mark.parametrize("receive_count", [3, 4])
def test_the_final_receive_makes_the_file_harmless_and_keeps_the_row_for_the_replay(
    s3, bucket, dynamodb, make_engine, dlq, receive_count
) -> None:
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    message = scan_message(bucket, "evil.exe", etag=obj["etag"], message_id="m-1")
    engine = make_engine(**env(bucket))
    run = engine(queued(message, receive_count))

    assert run.line["outcome"] == "fallback", run.line["reason"]
    assert run.line["FallbackActions"] == 1
    assert "dead-letter queue" in run.line["fallback"]
    assert run.result == {"batchItemFailures": []}  # the dead letter below replaces it
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    (letter,) = dlq()
    assert letter["Type"] == "Notification" and json.loads(letter["Message"]) == message
    pending = letter["PostScanPending"]
    assert [t["file_id"] for t in pending["targets"]] == ["f-1"]
    assert pending["targets"][0]["action"] == "delete"

    # The cause is fixed, the operator replays the dead letter (replay --to-queue-url sends the
    # body back unchanged): the object is gone, the row is written from the dead letter.
    create_table(dynamodb)
    replayed = engine(sqs_event(sqs_record(json.dumps(letter), "q-2", receive_count=1)))
    assert replayed.error is None, replayed.line
    assert replayed.line["outcome"] == "processed", replayed.line["reason"]
    assert replayed.line["actions"][-1] == "record"
    stored = row(dynamodb)
    assert (stored["scan_verdict"], stored["scan_action"]) == ({"S": "malicious"}, {"S": "delete"})
    assert stored["scan_message_id"] == {"S": "m-1"}
    assert stored["s3_key"] == {"S": "evil.exe"}


def test_versions_and_quarantine_copies_are_kept_for_the_replay(
    s3, versioned_bucket, quarantine_bucket, dynamodb, make_engine, dlq
) -> None:
    obj = upload(s3, versioned_bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    message = scan_message(versioned_bucket, "evil.exe", etag=obj["etag"])
    engine = make_engine(**env(versioned_bucket, ROUTE_MALICIOUS=f"{quarantine_bucket}/q/"))
    run = engine(queued(message, 3))
    assert run.line["outcome"] == "fallback", run.line["reason"]
    assert versions_of(s3, versioned_bucket, "evil.exe") == ([], [])
    (letter,) = dlq()
    (target,) = letter["PostScanPending"]["targets"]
    destination = f"s3://{quarantine_bucket}/q/{versioned_bucket}/evil.exe"
    assert (target["version_id"], target["destination"]) == (obj["version_id"], destination)

    create_table(dynamodb)
    # Direct mode replays a notification as an SNS event (replay --function): the same rows.
    replayed = engine(decide.sns_event(letter))
    assert replayed.error is None, replayed.line
    stored = row(dynamodb)
    assert stored["s3_version_id"] == {"S": obj["version_id"]}
    assert stored["scan_action"] == {"S": "quarantine"}
    assert stored["scan_destination"] == {"S": destination}


def test_without_the_dead_letter_the_record_fails_but_the_file_still_goes(
    s3, bucket, dynamodb, make_engine, moto_aws
) -> None:
    """The dead-letter queue refuses the message: the file is made harmless anyway, the record
    fails (SQS then moves the original message there) and the log line keeps the file id."""
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket))(queued(scan_message(bucket, "evil.exe", etag=obj["etag"]), 3))
    assert run.line["outcome"] == "error"
    assert run.result == {"batchItemFailures": [{"itemIdentifier": "q-1"}]}
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert run.line["file_id"] == "f-1" and "f-1" in run.line["reason"]


def test_a_permanent_failure_is_a_fallback_on_any_receive(
    s3, bucket, dynamodb, make_engine, dlq
) -> None:
    """Unchanged: a failure no retry can cure never needed the final receive."""
    create_table(dynamodb)
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})

    def invalid(request: dict[str, Any]) -> str:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ValidationException", "Message": "big"}}, "Update")

    engine = make_engine(send_update=invalid, **env(bucket))
    run = engine(queued(scan_message(bucket, "evil.exe", etag=obj["etag"]), 1))
    assert run.line["outcome"] == "fallback"
    assert dlq() == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"QUEUE_MAX_RECEIVE_COUNT": "0", "DEAD_LETTER_QUEUE_ARN": DLQ_ARN}, "1 and 1000"),
        ({"QUEUE_MAX_RECEIVE_COUNT": "five", "DEAD_LETTER_QUEUE_ARN": DLQ_ARN}, "1 and 1000"),
        ({"QUEUE_MAX_RECEIVE_COUNT": "1001", "DEAD_LETTER_QUEUE_ARN": DLQ_ARN}, "1 and 1000"),
        ({"QUEUE_MAX_RECEIVE_COUNT": "5"}, "DEAD_LETTER_QUEUE_ARN"),
        ({"DEAD_LETTER_QUEUE_ARN": "https://sqs.us-east-1.amazonaws.com/1/x"}, "SQS queue ARN"),
    ],
)
def test_the_final_receive_settings_are_checked(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"ALLOWED_BUCKETS": "uploads", **settings})


def test_the_final_receive_settings_are_read() -> None:
    config = load_config({"QUEUE_MAX_RECEIVE_COUNT": " 7 ", "DEAD_LETTER_QUEUE_ARN": DLQ_ARN})
    assert (config.queue_max_receive_count, config.dead_letter_queue_arn) == (7, DLQ_ARN)
    assert load_config({}).queue_max_receive_count is None
