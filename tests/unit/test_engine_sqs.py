"""Queue delivery: SQS envelopes (SNS notification or raw scan result), partial batch responses."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from engine_kit import (
    OTHER_TOPIC_ARN,
    TOPIC_ARN,
    scan_message,
    sns_event,
    sns_notification,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
)

from post_scan import handler, record
from post_scan.message import (
    SQS,
    SQS_RAW,
    EventError,
    event_records,
    parse_record,
)


def env(bucket: str, table: str | None = None, **more: str) -> dict[str, str]:
    base = {"ALLOWED_BUCKETS": bucket, "DELETE_MALICIOUS": "true", "EXTRACT_FILE_ID": "true"}
    return {**base, **({"FILE_ID_TABLE": table} if table else {}), **more}


def exists(s3, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents"))


def row(dynamodb, table: str, file_id: str) -> dict | None:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": file_id}}).get("Item")


def queued_upload(s3, bucket: str, key: str, file_id: str, **message) -> dict:
    """Uploads a malicious file tagged with file_id; returns its scan message."""
    obj = upload(s3, bucket, key, tags={"file_id": file_id})
    return scan_message(bucket, key, etag=obj["etag"], **message)


def failures(run) -> list[str]:
    assert run.error is None, run.error
    return [item["itemIdentifier"] for item in run.result["batchItemFailures"]]


# --- envelopes --------------------------------------------------------------------------------


def test_sns_notification_in_a_sqs_body_is_processed_like_a_direct_delivery(
    s3, bucket, table, dynamodb, make_engine
) -> None:
    message = queued_upload(s3, bucket, "in/a.exe", "f-1", message_id="m-1")
    notification = sns_notification(message, sns_message_id="sns-1")
    event = sqs_event(sqs_record(notification, message_id="q-1", receive_count=3))
    engine = make_engine(**env(bucket, table, ALLOWED_TOPIC_ARNS=TOPIC_ARN))

    run = engine(event)

    assert run.result == {"batchItemFailures": []}
    line = run.line
    assert (line["outcome"], line["actions"]) == (
        "processed",
        ["head", "read_tags", "read_source", "record", "delete"],
    )
    assert (line["delivery"], line["queue_message_id"], line["receive_count"]) == ("sqs", "q-1", 3)
    assert (line["sns_message_id"], line["topic_arn"]) == ("sns-1", TOPIC_ARN)
    assert (line["message_id"], line["message_id_source"]) == ("m-1", "sqs_message_id")
    assert not exists(s3, bucket, "in/a.exe")
    assert row(dynamodb, table, "f-1")["scan_verdict"] == {"S": "malicious"}


def test_raw_scan_result_is_accepted_when_no_topic_is_required(s3, bucket, make_engine) -> None:
    message = queued_upload(s3, bucket, "raw.exe", "f-2")
    del message["sqs_message_id"]  # older producers: the delivery's id identifies the message
    run = make_engine(**env(bucket))(sqs_event(sqs_record(message, message_id="q-raw")))

    assert failures(run) == []
    line = run.line
    assert (line["delivery"], line["topic_arn"], line["sns_message_id"]) == ("sqs-raw", None, None)
    assert (line["message_id"], line["message_id_source"]) == ("q-raw", "queue_message_id")
    assert line["actions"] == ["head", "read_tags", "read_source", "delete"]
    assert not exists(s3, bucket, "raw.exe")


def test_raw_scan_result_is_rejected_when_topics_are_restricted(s3, bucket, make_engine) -> None:
    message = queued_upload(s3, bucket, "raw.exe", "f-3")
    engine = make_engine(**env(bucket, ALLOWED_TOPIC_ARNS=TOPIC_ARN))
    run = engine(sqs_event(sqs_record(message, message_id="q-raw")))

    assert failures(run) == []  # handled: retrying cannot make the topic known
    line = run.line
    assert (line["outcome"], line["Rejected"], line["delivery"]) == ("rejected", 1, "sqs-raw")
    assert "topic is unknown" in line["reason"]
    assert line["actions"] == []
    assert exists(s3, bucket, "raw.exe")


def test_forged_topic_in_a_sqs_body_is_rejected_not_retried(s3, bucket, make_engine) -> None:
    forged = queued_upload(s3, bucket, "forged.exe", "f-4")
    genuine = queued_upload(s3, bucket, "genuine.exe", "f-5")
    engine = make_engine(**env(bucket, ALLOWED_TOPIC_ARNS=TOPIC_ARN))
    run = engine(
        sqs_event(
            sqs_record(sns_notification(forged, topic_arn=OTHER_TOPIC_ARN), message_id="q-f"),
            sqs_record(sns_notification(genuine), message_id="q-g"),
        )
    )

    assert failures(run) == []
    assert [(x["queue_message_id"], x["outcome"]) for x in run.lines] == [
        ("q-f", "rejected"),
        ("q-g", "processed"),
    ]
    assert run.lines[0]["topic_arn"] == OTHER_TOPIC_ARN
    assert exists(s3, bucket, "forged.exe")
    assert not exists(s3, bucket, "genuine.exe")


# --- partial batch responses ------------------------------------------------------------------


def test_batch_reports_exactly_the_bad_and_the_retryable_records(
    s3, bucket, table, dynamodb, make_engine, shared_clients
) -> None:
    def throttled_for_f3(request):
        if request["Key"]["file_id"]["S"] == "f-3":
            response = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}
            raise ClientError(response, "UpdateItem")
        return record.send_update(shared_clients["dynamodb"], request)

    records = []
    for n in range(1, 6):
        message = queued_upload(s3, bucket, f"batch/{n}.exe", f"f-{n}")
        records.append(sqs_record(sns_notification(message), message_id=f"q-{n}"))
    records[1]["body"] = json.dumps(sns_notification("{'scanning_result': 'not json'}"))
    engine = make_engine(send_update=throttled_for_f3, **env(bucket, table))

    run = engine(sqs_event(*records))

    assert failures(run) == ["q-2", "q-3"]
    outcomes = {x["queue_message_id"]: x["outcome"] for x in run.lines}
    assert outcomes == {f"q-{n}": "error" if n in (2, 3) else "processed" for n in range(1, 6)}
    assert run.lines[2]["error"]["type"] == "ClientError"
    for n in (1, 4, 5):
        assert not exists(s3, bucket, f"batch/{n}.exe")
        assert row(dynamodb, table, f"f-{n}")["scan_verdict"] == {"S": "malicious"}
    # The failed ones are untouched, so their retry finds the file and its tag.
    for n in (2, 3):
        assert exists(s3, bucket, f"batch/{n}.exe")
        assert row(dynamodb, table, f"f-{n}") is None


def test_bad_sqs_records_are_batch_failures_of_their_own(s3, bucket, make_engine) -> None:
    good = queued_upload(s3, bucket, "good.exe", "f-1")
    no_topic = sns_notification(good)
    del no_topic["TopicArn"]
    not_a_string = sqs_record("{}", message_id="q-body")
    not_a_string["body"] = {"Type": "Notification"}
    run = make_engine(**env(bucket))(
        sqs_event(
            sqs_record(no_topic, message_id="q-topic"),
            not_a_string,
            sqs_record("", message_id="q-empty"),
            sqs_record(sns_notification(good), message_id="q-good"),
        )
    )
    assert failures(run) == ["q-topic", "q-body", "q-empty"]
    assert [x["delivery"] for x in run.lines] == ["sqs", "sqs", "sqs-raw", "sqs"]
    assert not exists(s3, bucket, "good.exe")


def test_redelivered_sqs_message_is_idempotent(s3, bucket, table, dynamodb, make_engine) -> None:
    message = queued_upload(s3, bucket, "twice.exe", "f-1")
    first = sqs_record(sns_notification(message), message_id="q-1")
    again = {**first, "attributes": {**first["attributes"], "ApproximateReceiveCount": "2"}}
    engine = make_engine(**env(bucket, table))

    assert failures(engine(sqs_event(first))) == []
    stored = row(dynamodb, table, "f-1")
    run = engine(sqs_event(again))

    assert failures(run) == []
    assert (run.line["outcome"], run.line["receive_count"]) == ("object_gone", 2)
    assert "delete" not in run.line["actions"] and "record" not in run.line["actions"]
    assert row(dynamodb, table, "f-1") == stored


def test_all_good_batch_returns_an_empty_failure_list(s3, bucket, make_engine) -> None:
    message = scan_message(bucket, "never-uploaded.exe")
    run = make_engine(**env(bucket))(sqs_event(sqs_record(sns_notification(message))))
    assert run.result == {"batchItemFailures": []}
    assert run.line["outcome"] == "object_gone"


# --- events that cannot be handled record by record -------------------------------------------


def test_mixed_sns_and_sqs_event_raises_before_touching_anything(s3, bucket, make_engine) -> None:
    message = queued_upload(s3, bucket, "mixed.exe", "f-1")
    event = {"Records": [sqs_record(sns_notification(message)), sns_record(message)]}
    run = make_engine(**env(bucket))(event)

    assert isinstance(run.error, EventError)
    assert "mixes" in str(run.error)
    assert (run.line["outcome"], run.line["Errors"]) == ("error", 1)
    assert exists(s3, bucket, "mixed.exe")


@pytest.mark.parametrize("message_id", [None, "", 42])
def test_sqs_record_without_message_id_raises(s3, bucket, make_engine, message_id) -> None:
    message = queued_upload(s3, bucket, "anon.exe", "f-1")
    first = sqs_record(sns_notification(message))
    anonymous = sqs_record(sns_notification(scan_message(bucket, "other.exe")))
    if message_id is None:
        del anonymous["messageId"]
    else:
        anonymous["messageId"] = message_id
    run = make_engine(**env(bucket))(sqs_event(first, anonymous))

    assert isinstance(run.error, EventError)
    assert "messageId" in str(run.error)
    assert exists(s3, bucket, "anon.exe")  # the other record was not processed either


@pytest.mark.parametrize("event", [{"Records": []}, {}, {"Records": "x"}, None])
def test_event_without_records_raises(moto_aws, make_engine, event) -> None:
    run = make_engine(ALLOWED_BUCKETS="uploads-bucket")(event)
    assert isinstance(run.error, EventError)
    assert run.line["delivery"] is None


def test_sns_event_still_raises_for_a_failed_record(moto_aws, make_engine) -> None:
    run = make_engine(ALLOWED_BUCKETS="uploads-bucket")(sns_event(sns_record("not json")))
    assert isinstance(run.error, handler.RecordsFailed)
    assert (run.line["delivery"], run.line["queue_message_id"], run.line["receive_count"]) == (
        "sns",
        None,
        None,
    )


# --- pure parsing -----------------------------------------------------------------------------


def test_event_records_tells_sns_from_sqs() -> None:
    sns = sns_event(sns_record("{}"))
    sqs = sqs_event(sqs_record("{}"), sqs_record("{}"))
    assert event_records(sns) == ("sns", sns["Records"])
    assert event_records(sqs) == ("sqs", sqs["Records"])
    with pytest.raises(EventError, match="mixes"):
        event_records({"Records": [sqs_record("{}"), "garbage"]})


def test_parse_record_of_each_envelope() -> None:
    notification = sns_notification('{"x": 1}', sns_message_id="sns-9")
    wrapped = parse_record(sqs_record(notification, message_id="q-9", receive_count=4))
    assert (wrapped.delivery, wrapped.message, wrapped.topic_arn) == (SQS, '{"x": 1}', TOPIC_ARN)
    assert (wrapped.sns_message_id, wrapped.queue_message_id, wrapped.receive_count) == (
        "sns-9",
        "q-9",
        4,
    )
    assert wrapped.fallback_id() == ("sns-9", "sns_message_id")
    raw = parse_record(sqs_record('{"x": 1}', message_id="q-8"))
    assert (raw.delivery, raw.message, raw.topic_arn) == (SQS_RAW, '{"x": 1}', None)
    assert raw.fallback_id() == ("q-8", "queue_message_id")


@pytest.mark.parametrize("count", ["", "x", "-1", "1.5", "\u0661", "99999999999", None])
def test_unusable_receive_count_is_left_out(count) -> None:
    item = sqs_record("{}")
    if count is None:
        del item["attributes"]
    else:
        item["attributes"]["ApproximateReceiveCount"] = count
    assert parse_record(item).receive_count is None
