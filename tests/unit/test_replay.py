"""The replay CLI (tools/replay): dead letters back to the function (direct) or the queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from engine_kit import (
    FUNCTION_ARN,
    REGION,
    TOPIC_ARN,
    scan_message,
    sns_event,
    sns_notification,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
)
from replay import decide
from replay.cli import main
from replay.run import Message, replay

from post_scan import handler
from post_scan.message import parse_record

KEY = "incoming/evil file.exe"
WAIT = ["--wait-seconds", "0"]


@pytest.fixture
def sqs(moto_aws) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def dlq(sqs) -> str:
    return sqs.create_queue(QueueName="fss-post-scan-dlq")["QueueUrl"]


@pytest.fixture
def delivery(sqs) -> str:
    return sqs.create_queue(QueueName="fss-post-scan-delivery")["QueueUrl"]


def bodies(sqs, url: str) -> list[str]:
    """Every visible message body of a queue, left visible (visibility timeout 0)."""
    found: dict[str, str] = {}
    while True:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        fresh = {m["MessageId"]: m["Body"] for m in response.get("Messages", [])}
        if not fresh or set(fresh) <= set(found):
            return sorted(found.values())
        found.update(fresh)


def verbs(out: str) -> list[str]:
    """The first word of each per-message line (the last line is the summary)."""
    return [line.split()[0] for line in out.splitlines()[:-1]]


def on_failure_record(event: dict, error: Exception) -> dict:
    """What Lambda sends to the on-failure destination after the async retries."""
    return {
        "version": "1.0",
        "timestamp": "2024-05-01T12:03:31.412Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4c4a-8880-a18cdf61200e",
            "functionArn": f"{FUNCTION_ARN}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": "e4b46cbf-b738-4c4a-8880-a18cdf61200e",
            "stackTrace": ['  File "/var/task/post_scan/handler.py", line 90, in handle_event\n'],
        },
    }


class Invocations:
    """An injectable invoke step: records events, answers with `ok`."""

    def __init__(self, ok: bool = True) -> None:
        self.events: list[dict] = []
        self.ok = ok

    def __call__(self, event: dict) -> tuple[bool, str]:
        self.events.append(event)
        return self.ok, "ok" if self.ok else "function error (Unhandled): boom"


def in_process(engine) -> Any:
    """The invoke step running the function's handler in this process (moto has no Lambda)."""

    def invoke(event: dict) -> tuple[bool, str]:
        run = engine(event)
        if run.error is not None:
            return False, f"function error (Unhandled): {type(run.error).__name__}: {run.error}"
        return True, json.dumps(run.result)

    return invoke


def create_table(dynamodb, name: str = "app-files") -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


# --- decisions (pure) -------------------------------------------------------------------------


def test_on_failure_record_replays_its_original_event() -> None:
    event = sns_event(sns_record(scan_message("b-1", "k")))
    body = json.dumps(on_failure_record(event, RuntimeError("x")))
    plan = decide.plan(body, decide.DIRECT)
    assert (plan.kind, plan.event, plan.body) == (decide.ON_FAILURE, event, None)
    assert "RetriesExhausted" in plan.summary
    queued = decide.plan(body, decide.QUEUE)
    assert not queued.replayable and "--function" in queued.summary


def test_notification_is_wrapped_as_lambda_builds_sns_events() -> None:
    message = json.dumps(scan_message("b-1", "k"))
    notification = sns_notification(message, sns_message_id="sns-7")
    notification["MessageAttributes"] = {"origin": {"Type": "String", "Value": "fss"}}
    plan = decide.plan(json.dumps(notification), decide.DIRECT)
    assert plan.kind == decide.NOTIFICATION and plan.body is None
    (item,) = plan.event["Records"]
    assert item["EventSource"] == "aws:sns" and item["EventVersion"] == "1.0"
    assert item["EventSubscriptionArn"] == f"{TOPIC_ARN}:7c1e"
    assert item["Sns"]["SigningCertUrl"] == notification["SigningCertURL"]
    assert item["Sns"]["MessageAttributes"] == notification["MessageAttributes"]
    envelope = parse_record(item)  # the function reads it like a direct delivery
    assert (envelope.delivery, envelope.message) == ("sns", message)
    assert (envelope.topic_arn, envelope.sns_message_id) == (TOPIC_ARN, "sns-7")


def test_notification_goes_back_to_the_queue_unchanged() -> None:
    body = json.dumps(sns_notification(scan_message("b-1", "k")))
    plan = decide.plan(body, decide.QUEUE)
    assert (plan.kind, plan.body, plan.event) == (decide.NOTIFICATION, body, None)


UNKNOWN_BODIES = [
    "",
    "not json",
    "[1, 2]",
    "{'scanning_result': {'foundMalwares': []}}",
    json.dumps(scan_message("b-1", "k")),  # a raw scan result: the topic is unknown
    json.dumps({"Type": "Notification", "Message": "{}", "MessageId": "m"}),  # no TopicArn
    json.dumps({"Type": "SubscriptionConfirmation", "TopicArn": "t", "MessageId": "m"}),
    json.dumps({"requestContext": {}, "requestPayload": {"Records": []}}),
    json.dumps({"requestContext": {}, "requestPayload": "text"}),
]


@pytest.mark.parametrize("body", UNKNOWN_BODIES)
@pytest.mark.parametrize("mode", [decide.DIRECT, decide.QUEUE])
def test_unknown_bodies_are_never_replayed(body: str, mode: str) -> None:
    assert not decide.plan(body, mode).replayable


def test_only_sendable_attribute_fields_are_kept() -> None:
    received = {
        "origin": {
            "StringValue": "fss",
            "StringListValues": [],
            "BinaryListValues": [],
            "DataType": "String",
        },
        "broken": "not a dict",
    }
    assert decide.sendable_attributes(received) == {
        "origin": {"StringValue": "fss", "DataType": "String"}
    }


def test_a_message_seen_again_in_one_run_is_not_replayed_twice() -> None:
    first = Message("m-1", "h-1", json.dumps(sns_notification("{}")))

    class Repeating:
        released: list[Message] = []  # noqa: RUF012

        def receive(self, limit: int) -> list[Message]:
            return [first]  # as if the visibility timeout ran out mid-run

        def delete(self, message: Message) -> None:
            raise AssertionError("the failed message must not be deleted")

        def release(self, messages: list[Message]) -> None:
            self.released.extend(messages)

    invocations = Invocations(ok=False)
    dead_letters = Repeating()
    summary = replay(dead_letters, decide.DIRECT, invoke=invocations, out=lambda _: None)
    assert (summary.received, summary.failed, len(invocations.events)) == (1, 1, 1)
    assert dead_letters.released == [first, first]


# --- the CLI against SQS (moto) ---------------------------------------------------------------


def test_queue_mode_sends_bodies_back_and_deletes_them(sqs, dlq, delivery, capsys) -> None:
    known = [json.dumps(sns_notification(scan_message("b-1", f"k{n}"))) for n in range(3)]
    for body in known:
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=body,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "fss"}},
        )
    sqs.send_message(QueueUrl=dlq, MessageBody="garbage")

    code = main(["--dead-letter-queue-url", dlq, "--to-queue-url", delivery, *WAIT])

    assert code == 1  # the unknown message could not be replayed
    assert bodies(sqs, delivery) == sorted(known)
    assert bodies(sqs, dlq) == ["garbage"]  # left there, and visible again
    sent = sqs.receive_message(QueueUrl=delivery, MessageAttributeNames=["All"])["Messages"][0]
    assert sent["MessageAttributes"]["origin"]["StringValue"] == "fss"
    out = capsys.readouterr().out
    assert sorted(verbs(out)) == ["replayed", "replayed", "replayed", "skipped"]
    assert out.splitlines()[-1] == (
        "4 received: 3 replayed and deleted, 0 failed and 1 skipped (both left in the queue)"
    )


def test_queue_mode_all_replayed_exits_zero(sqs, dlq, delivery) -> None:
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(sns_notification("{}")))
    assert main(["--dead-letter-queue-url", dlq, "--to-queue-url", delivery, *WAIT]) == 0
    assert bodies(sqs, dlq) == []
    assert len(bodies(sqs, delivery)) == 1


@pytest.mark.parametrize("direct", [True, False])
def test_dry_run_changes_nothing(sqs, dlq, delivery, capsys, direct) -> None:
    event = sns_event(sns_record(scan_message("b-1", "k")))
    dead = [
        json.dumps(on_failure_record(event, RuntimeError("x"))),
        json.dumps(sns_notification("{}")),
    ]
    for body in dead:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    invocations = Invocations()
    target = ["--function", "fss-post-scan"] if direct else ["--to-queue-url", delivery]

    code = main(["--dead-letter-queue-url", dlq, *target, "--dry-run", *WAIT], invoke=invocations)

    assert invocations.events == []
    assert bodies(sqs, delivery) == []
    assert bodies(sqs, dlq) == sorted(dead)
    out = capsys.readouterr().out
    if direct:
        assert (code, verbs(out)) == (0, ["would", "would"])
    else:  # an on-failure record cannot go to a queue
        assert (code, sorted(verbs(out))) == (1, ["skipped", "would"])
        assert "replay it with --function" in out
    assert "nothing was changed" in out


def test_direct_mode_failure_stays_in_the_dead_letter_queue(sqs, dlq, capsys) -> None:
    event = sns_event(sns_record(scan_message("b-1", "k")))
    body = json.dumps(on_failure_record(event, RuntimeError("x")))
    sqs.send_message(QueueUrl=dlq, MessageBody=body)
    invocations = Invocations(ok=False)

    code = main(
        ["--dead-letter-queue-url", dlq, "--function", "fss-post-scan", *WAIT], invoke=invocations
    )

    assert code == 1
    assert invocations.events == [event]
    assert bodies(sqs, dlq) == [body]
    assert verbs(capsys.readouterr().out) == ["failed"]


def test_a_delivery_that_raises_is_a_failure_not_a_crash(sqs, dlq, delivery) -> None:
    for n in range(2):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(sns_notification(str(n))))

    def unreachable(body, attributes):
        raise ConnectionError("delivery queue unreachable")

    code = main(
        ["--dead-letter-queue-url", dlq, "--to-queue-url", delivery, *WAIT], send=unreachable
    )
    assert code == 1
    assert len(bodies(sqs, dlq)) == 2


def test_max_messages_limits_the_run(sqs, dlq, delivery) -> None:
    for n in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(sns_notification(str(n))))
    invocations = Invocations()
    arguments = ["--dead-letter-queue-url", dlq, "--function", "f", "--max-messages", "2", *WAIT]
    assert main(arguments, invoke=invocations) == 0
    assert len(invocations.events) == 2
    assert len(bodies(sqs, dlq)) == 3


def test_unknown_bodies_are_never_deleted_in_either_mode(sqs, dlq, delivery) -> None:
    for body in UNKNOWN_BODIES[1:]:  # SQS refuses an empty body
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    invocations = Invocations()
    assert main(["--dead-letter-queue-url", dlq, "--function", "f", *WAIT], invoke=invocations) == 1
    assert main(["--dead-letter-queue-url", dlq, "--to-queue-url", delivery, *WAIT]) == 1
    assert invocations.events == [] and bodies(sqs, delivery) == []
    assert bodies(sqs, dlq) == sorted(UNKNOWN_BODIES[1:])


@pytest.mark.parametrize(
    "arguments",
    [
        ["--dead-letter-queue-url", "u"],  # no target
        ["--dead-letter-queue-url", "u", "--function", "f", "--to-queue-url", "q"],
        ["--function", "f"],  # no dead-letter queue
        ["--dead-letter-queue-url", "u", "--function", "f", "--max-messages", "0"],
    ],
)
def test_bad_arguments_exit_2(arguments) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(arguments)
    assert exit_.value.code == 2


def test_direct_mode_invokes_the_function_synchronously(sqs, dlq) -> None:
    """Without an injected invoke the CLI calls Lambda Invoke (RequestResponse); the Lambda client
    is stubbed, since moto cannot run the function."""
    event = sns_event(sns_record("{}"))
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(on_failure_record(event, ValueError())))
    session = boto3.session.Session(region_name=REGION)
    lambda_client = session.client("lambda")
    stubber = Stubber(lambda_client)
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": StreamingBody(b"{}", 2)},
        {
            "FunctionName": "fss-post-scan",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(event).encode("utf-8"),
        },
    )

    class Session:
        def client(self, name: str, **kwargs):
            return lambda_client if name == "lambda" else session.client(name, **kwargs)

    with stubber:
        arguments = ["--dead-letter-queue-url", dlq, "--function", "fss-post-scan", *WAIT]
        assert main(arguments, session=Session()) == 1
    stubber.assert_no_pending_responses()
    assert len(bodies(sqs, dlq)) == 1  # FunctionError: not deleted


# --- the stories: a failure, the fix, the replay ------------------------------------------------


def test_direct_mode_story(s3, bucket, dynamodb, sqs, dlq, make_engine, capsys) -> None:
    """The table is missing: the function fails, Lambda dead-letters the event (on-failure record)
    and SNS dead-letters another delivery; after the table exists the replay finishes both."""
    first = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    second = upload(s3, bucket, "second.exe", tags={"file_id": "f-2"})
    env = {
        "ALLOWED_BUCKETS": bucket,
        "ALLOWED_TOPIC_ARNS": TOPIC_ARN,
        "DELETE_MALICIOUS": "true",
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
    }
    engine = make_engine(**env)
    event = sns_event(sns_record(scan_message(bucket, KEY, etag=first["etag"])))
    failed = engine(event)
    assert isinstance(failed.error, handler.RecordsFailed)
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(on_failure_record(event, failed.error)))
    redriven = sns_notification(scan_message(bucket, "second.exe", etag=second["etag"]))
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(redriven))

    # Replaying before the fix changes nothing but the report.
    arguments = ["--dead-letter-queue-url", dlq, "--function", FUNCTION_ARN, *WAIT]
    assert main(arguments, invoke=in_process(engine)) == 1
    assert len(bodies(sqs, dlq)) == 2
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 2

    create_table(dynamodb)  # the fix
    assert main(arguments, invoke=in_process(engine)) == 0

    assert bodies(sqs, dlq) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    for file_id in ("f-1", "f-2"):
        item = dynamodb.get_item(TableName="app-files", Key={"file_id": {"S": file_id}})["Item"]
        assert item["scan_verdict"] == {"S": "malicious"}
    assert "2 received: 2 replayed and deleted" in capsys.readouterr().out


def test_queue_mode_story(s3, bucket, sqs, dlq, delivery, make_engine) -> None:
    """A message the function kept failing on (its bucket was not allowed yet) sits in the DLQ;
    after the fix the replay puts it back in the delivery queue and the function handles it."""
    obj = upload(s3, bucket, KEY)
    body = json.dumps(sns_notification(scan_message(bucket, KEY, etag=obj["etag"])))
    sqs.send_message(QueueUrl=dlq, MessageBody=body)

    assert main(["--dead-letter-queue-url", dlq, "--to-queue-url", delivery, *WAIT]) == 0

    received = sqs.receive_message(QueueUrl=delivery, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in received] == [body]
    records = [sqs_record(m["Body"], message_id=m["MessageId"]) for m in received]
    engine = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")
    run = engine(sqs_event(*records))
    assert run.result == {"batchItemFailures": []}
    assert run.line["actions"] == ["head", "delete"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert bodies(sqs, dlq) == []
