"""The replay CLI (tools/replay): dead letters back to the function (direct) or the queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from engine_kit import (
    ACCOUNT,
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

from post_scan import handler
from post_scan.message import parse_record
from replay import decide, queues
from replay.cli import main
from replay.run import Message, replay

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


def on_failure_record(
    event: dict, error: Exception, function_arn: str = f"{FUNCTION_ARN}:$LATEST"
) -> dict:
    """What Lambda sends to the on-failure destination after the async retries."""
    return {
        "version": "1.0",
        "timestamp": "2024-05-01T12:03:31.412Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4c4a-8880-a18cdf61200e",
            "functionArn": function_arn,
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


def dropped_payload_record(**drop: bool) -> dict:
    """An on-failure record as Lambda sends it when the record is too large for the destination."""
    record = on_failure_record(sns_event(sns_record("{}")), RuntimeError("x"))
    del record["requestPayload"], record["responsePayload"]
    for name in drop:
        del record[name]
    return record


@pytest.mark.parametrize("drop", [{}, {"responseContext": True}, {"version": True}])
@pytest.mark.parametrize("mode", [decide.DIRECT, decide.QUEUE])
def test_on_failure_record_without_its_payload_tells_where_the_event_is(drop, mode) -> None:
    plan = decide.plan(json.dumps(dropped_payload_record(**drop)), mode)
    assert (plan.kind, plan.replayable) == (decide.ON_FAILURE, False)
    assert "Lambda dropped requestPayload" in plan.summary
    assert "RetriesExhausted" in plan.summary
    assert "request ID e4b46cbf-b738-4c4a-8880-a18cdf61200e" in plan.summary
    assert "/aws/lambda/fss-post-scan" in plan.summary
    assert f"{FUNCTION_ARN}:$LATEST" in plan.summary


@pytest.mark.parametrize(
    "data",
    [
        {"requestContext": {"requestId": "r"}},  # nothing else of an on-failure record
        {"requestContext": {}, "responseContext": {}, "version": "1.0"},  # nothing identifies it
        {"requestContext": "r", "responseContext": {}, "version": "1.0"},
    ],
)
def test_a_request_context_alone_is_not_an_on_failure_record(data) -> None:
    assert decide.plan(json.dumps(data), decide.DIRECT).kind == decide.UNKNOWN


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


OTHER_FUNCTIONS = [
    FUNCTION_ARN.replace(":function:fss-post-scan", ":function:fss-post-scan-staging"),
    FUNCTION_ARN.replace(f":{ACCOUNT}:", ":210987654321:"),  # same name, another account
    FUNCTION_ARN.replace(f":{REGION}:", ":eu-west-1:"),  # same name, another region
    FUNCTION_ARN.replace("arn:aws:", "arn:aws-cn:"),
    "fss-post-scan",  # a name is not an ARN
    f"{FUNCTION_ARN}x",
    None,  # no functionArn at all
    17,
]


@pytest.mark.parametrize("written_by", OTHER_FUNCTIONS)
def test_an_on_failure_record_of_another_function_is_refused(written_by) -> None:
    record = on_failure_record(sns_event(sns_record("{}")), RuntimeError("x"))
    record["requestContext"]["functionArn"] = written_by
    plan = decide.plan(json.dumps(record), decide.DIRECT, FUNCTION_ARN)
    assert (plan.kind, plan.refused, plan.replayable) == (decide.ON_FAILURE, True, False)
    assert f"not {FUNCTION_ARN}: refused" in plan.summary


@pytest.mark.parametrize("qualifier", ["", ":$LATEST", ":7", ":live"])
@pytest.mark.parametrize("target", [FUNCTION_ARN, f"{FUNCTION_ARN}:live"])
def test_any_version_or_alias_of_the_target_function_is_the_target(qualifier, target) -> None:
    event = sns_event(sns_record("{}"))
    record = on_failure_record(event, RuntimeError("x"), f"{FUNCTION_ARN}{qualifier}")
    plan = decide.plan(json.dumps(record), decide.DIRECT, target)
    assert (plan.refused, plan.event) == (False, event)


def test_the_target_must_be_a_function_arn() -> None:
    body = json.dumps(on_failure_record(sns_event(sns_record("{}")), RuntimeError("x")))
    with pytest.raises(ValueError, match="not a Lambda function ARN"):
        decide.plan(body, decide.DIRECT, "fss-post-scan")


def test_plans_name_the_scan_results_they_carry() -> None:
    records = [sns_record("{}", sns_message_id=f"sns-{n}") for n in (1, 2, 1)]
    record = on_failure_record(sns_event(*records), RuntimeError("x"))
    assert decide.plan(json.dumps(record), decide.DIRECT).ids == ("sns:sns-1", "sns:sns-2")
    notification = json.dumps(sns_notification("{}", sns_message_id="sns-3"))
    assert decide.plan(notification, decide.DIRECT).ids == ("sns:sns-3",)
    assert decide.plan(notification, decide.QUEUE).ids == ("sns:sns-3",)
    # An event without SNS records (a test invoke, say) is known by Lambda's request ID.
    other = on_failure_record({"Records": [{"eventSource": "aws:s3"}]}, RuntimeError("x"))
    request = "lambda-request:e4b46cbf-b738-4c4a-8880-a18cdf61200e"
    assert decide.plan(json.dumps(other), decide.DIRECT).ids == (request,)


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


class FakeDeadLetters:
    """A queue with SQS visibility semantics on a clock that ticks once per receive and once per
    replay (delete): a received message is hidden for `visibility` ticks; receive returns the
    visible messages oldest first."""

    def __init__(self, bodies: list[str], visibility: int) -> None:
        self.order = [f"m-{n}" for n in range(len(bodies))]
        self.bodies = dict(zip(self.order, bodies, strict=True))
        self.visibility, self.now, self.receives = visibility, 0, 0
        self.hidden_until: dict[str, int] = {}
        self.handles: dict[str, str] = {}
        self.hidden: list[str] = []

    def receive(self, limit: int) -> list[Message]:
        self.receives += 1
        assert self.receives < 1000, "the run does not end"
        visible = [m for m in self.order if self.hidden_until.get(m, 0) <= self.now][:limit]
        batch = []
        for message_id in visible:
            self.hidden_until[message_id] = self.now + self.visibility
            self.handles[message_id] = f"{message_id}/{self.receives}"
            batch.append(Message(message_id, self.handles[message_id], self.bodies[message_id]))
        self.now += 1
        return batch

    def _current(self, message: Message) -> str:
        assert self.handles[message.message_id] == message.receipt_handle, "stale receipt handle"
        return message.message_id

    def delete(self, message: Message) -> None:
        self.order.remove(self._current(message))
        self.now += 1

    def hide(self, messages: list[Message]) -> None:
        for message in messages:
            self.hidden_until[self._current(message)] = self.now + self.visibility
            self.hidden.append(message.message_id)

    def release(self, messages: list[Message]) -> None:
        for message in messages:
            self.hidden_until[self._current(message)] = self.now

    def left(self) -> list[str]:
        return [self.bodies[m] for m in self.order]


@pytest.mark.parametrize(("batch_size", "held"), [(1, 3), (2, 3), (10, 12)])
def test_messages_behind_reappearing_held_ones_are_still_replayed(batch_size, held) -> None:
    """The run outlasts the visibility timeout: the skipped messages, oldest in the queue, become
    visible again (a whole receive of them) before the run has received the others."""
    unknown = [f"garbage {n}" for n in range(held)]
    known = [json.dumps(sns_notification(str(n))) for n in range(25)]
    dead_letters = FakeDeadLetters(unknown + known, visibility=5)
    invocations = Invocations()
    lines: list[str] = []

    summary = replay(
        dead_letters, decide.DIRECT, invoke=invocations, batch_size=batch_size, out=lines.append
    )

    assert (summary.received, summary.replayed, summary.skipped) == (held + 25, 25, held)
    assert len(invocations.events) == 25
    assert dead_letters.left() == unknown
    assert dead_letters.hidden  # they did reappear, and were hidden again
    assert all(dead_letters.hidden_until[m] <= dead_letters.now for m in dead_letters.order)
    assert not any(line.startswith("stopped") for line in lines)


def test_max_messages_counts_only_new_messages_when_held_ones_reappear() -> None:
    bodies = ["garbage", *(json.dumps(sns_notification(str(n))) for n in range(6))]
    dead_letters = FakeDeadLetters(bodies, visibility=2)
    invocations = Invocations()
    summary = replay(
        dead_letters,
        decide.DIRECT,
        invoke=invocations,
        batch_size=1,
        max_messages=5,
        out=lambda _: None,
    )
    assert (summary.received, summary.replayed, summary.skipped) == (5, 4, 1)
    assert len(dead_letters.left()) == 3


@pytest.mark.parametrize("visibility", [0, 1])
def test_a_run_ends_when_held_messages_reappear_at_once(visibility) -> None:
    """A visibility timeout shorter than a receive: hiding them again cannot keep them away."""
    bodies = [f"garbage {n}" for n in range(3)]
    dead_letters = FakeDeadLetters(bodies, visibility=visibility)
    lines: list[str] = []
    summary = replay(
        dead_letters, decide.DIRECT, invoke=Invocations(), batch_size=1, out=lines.append
    )
    assert dead_letters.receives < 10
    assert summary.received == summary.skipped  # maybe not all: the run had to stop
    assert dead_letters.left() == bodies
    assert lines[-2].startswith("stopped: messages left in the queue by this run keep reappearing")


def test_a_message_seen_again_in_one_run_is_not_replayed_twice() -> None:
    first = Message("m-1", "h-1", json.dumps(sns_notification("{}")))

    class Repeating:
        released: list[Message] = []  # noqa: RUF012

        def receive(self, limit: int) -> list[Message]:
            return [first]  # as if the visibility timeout ran out mid-run, again and again

        def delete(self, message: Message) -> None:
            raise AssertionError("the failed message must not be deleted")

        def hide(self, messages: list[Message]) -> None:
            pass  # without effect

        def release(self, messages: list[Message]) -> None:
            self.released.extend(messages)

    invocations = Invocations(ok=False)
    dead_letters = Repeating()
    summary = replay(dead_letters, decide.DIRECT, invoke=invocations, out=lambda _: None)
    assert (summary.received, summary.failed, len(invocations.events)) == (1, 1, 1)
    assert dead_letters.released == [first]


def test_a_scan_result_is_replayed_once_per_run_in_direct_mode() -> None:
    """SNS delivered one scan result twice (two identical notifications, and an on-failure record
    of the same SNS message): the function is invoked once; the identical copy goes, the rest
    stays."""
    notification = json.dumps(sns_notification("{}", sns_message_id="sns-1"))
    record = on_failure_record(sns_event(sns_record("{}", sns_message_id="sns-1")), ValueError())
    dead_letters = FakeDeadLetters([notification, json.dumps(record), notification], visibility=50)
    invocations = Invocations()
    lines: list[str] = []

    summary = replay(dead_letters, decide.DIRECT, invoke=invocations, out=lines.append)

    assert len(invocations.events) == 1
    assert (summary.received, summary.replayed, summary.duplicates_deleted) == (3, 1, 1)
    assert (summary.duplicates, summary.exit_code) == (1, 1)
    assert dead_letters.left() == [json.dumps(record)]
    assert [line.split()[0] for line in lines[:-1]] == ["replayed", "duplicate", "deleted"]
    assert "carries the scan result of m-0" in lines[1]
    assert "the same event as m-0, replayed in this run" in lines[2]


def test_a_scan_result_that_failed_is_not_tried_again_in_the_same_run() -> None:
    bodies = [json.dumps(sns_notification("{}", sns_message_id="sns-1"))] * 3
    dead_letters = FakeDeadLetters(bodies, visibility=50)
    invocations = Invocations(ok=False)
    summary = replay(dead_letters, decide.DIRECT, invoke=invocations, out=lambda _: None)
    assert len(invocations.events) == 1
    assert (summary.failed, summary.duplicates, summary.replayed) == (1, 2, 0)
    assert dead_letters.left() == bodies


class RedrivenAgain:
    """A delivery queue whose function keeps failing: every body sent comes back into the
    dead-letter queue as a new SQS message (what the redrive policy does after maxReceiveCount
    receives), at most `limit` times, so that a run that keeps re-sending still ends."""

    def __init__(self, sqs, dlq: str, limit: int = 50) -> None:
        self.sqs, self.dlq, self.limit, self.sent = sqs, dlq, limit, []

    def __call__(self, body: str, attributes: dict) -> tuple[bool, str]:
        self.sent.append(body)
        if len(self.sent) <= self.limit:
            self.sqs.send_message(QueueUrl=self.dlq, MessageBody=body)
        return True, "sent"


def test_a_message_that_fails_again_is_sent_once_per_run(sqs, dlq, delivery, capsys) -> None:
    """Queue mode: the replayed message fails again and is moved back while the run is going on.
    It is sent once, reported as one replay, and left in the dead-letter queue."""
    body = json.dumps(sns_notification(scan_message("b-1", "k"), sns_message_id="sns-1"))
    sqs.send_message(QueueUrl=dlq, MessageBody=body)
    send = RedrivenAgain(sqs, dlq)

    code = main(["--dead-letter-queue-url", dlq, "--to-queue-url", delivery, *WAIT], send=send)

    assert (code, send.sent) == (1, [body])
    assert bodies(sqs, dlq) == [body]
    out = capsys.readouterr().out
    assert verbs(out) == ["replayed", "duplicate"]
    assert "failed again and moved back by the redrive policy" in out
    assert out.splitlines()[-1] == (
        "2 received: 1 replayed and deleted, 0 duplicates of those deleted; left in the queue: "
        "0 failed, 0 skipped, 0 refused, 1 duplicates"
    )


def test_refused_records_stay_and_the_others_are_replayed(sqs, dlq, capsys) -> None:
    ours = on_failure_record(sns_event(sns_record("{}", sns_message_id="sns-1")), ValueError())
    staging = OTHER_FUNCTIONS[0]
    theirs = on_failure_record(
        sns_event(sns_record("{}", sns_message_id="sns-2")), ValueError(), f"{staging}:$LATEST"
    )
    for record in (theirs, ours):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(record))
    invocations = Invocations()

    arguments = ["--dead-letter-queue-url", dlq, "--function", f"{FUNCTION_ARN}:live", *WAIT]
    code = main(arguments, invoke=invocations)

    assert (code, invocations.events) == (1, [ours["requestPayload"]])
    assert bodies(sqs, dlq) == [json.dumps(theirs)]
    out = capsys.readouterr().out
    assert sorted(verbs(out)) == ["refused", "replayed"]
    assert f"written for function '{staging}:$LATEST', not {FUNCTION_ARN}: refused" in out
    assert out.splitlines()[-1].endswith("0 failed, 0 skipped, 1 refused, 0 duplicates")


def test_dry_run_reports_refusals_and_duplicates(sqs, dlq, capsys) -> None:
    notification = json.dumps(sns_notification("{}", sns_message_id="sns-1"))
    staging = on_failure_record(sns_event(sns_record("{}")), ValueError(), OTHER_FUNCTIONS[0])
    for body in (notification, notification, json.dumps(staging)):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    invocations = Invocations()

    arguments = ["--dead-letter-queue-url", dlq, "--function", FUNCTION_ARN, "--dry-run", *WAIT]
    assert main(arguments, invoke=invocations) == 1

    assert invocations.events == [] and len(bodies(sqs, dlq)) == 3
    out = capsys.readouterr().out
    assert sorted(verbs(out)) == ["duplicate", "refused", "would"]
    assert out.splitlines()[-1] == (
        "dry run: 3 received, 1 would be replayed, 0 skipped, 1 refused, 1 duplicates; "
        "nothing was changed"
    )


def test_a_function_name_that_cannot_be_looked_up_stops_the_run(sqs, dlq, capsys) -> None:
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(sns_notification("{}")))
    session = boto3.session.Session(region_name=REGION)
    lambda_client = session.client("lambda")
    stubber = Stubber(lambda_client)
    stubber.add_client_error("get_function_configuration", "AccessDeniedException")

    class Session:
        def client(self, name: str, **kwargs):
            return lambda_client if name == "lambda" else session.client(name, **kwargs)

    invocations = Invocations()
    with stubber:
        arguments = ["--dead-letter-queue-url", dlq, "--function", "fss-post-scan", *WAIT]
        assert main(arguments, invoke=invocations, session=Session()) == 2
    assert invocations.events == [] and len(bodies(sqs, dlq)) == 1
    assert "pass its ARN" in capsys.readouterr().err


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
        "4 received: 3 replayed and deleted, 0 duplicates of those deleted; left in the queue: "
        "0 failed, 1 skipped, 0 refused, 0 duplicates"
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
    target = ["--function", FUNCTION_ARN] if direct else ["--to-queue-url", delivery]

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
        ["--dead-letter-queue-url", dlq, "--function", FUNCTION_ARN, *WAIT], invoke=invocations
    )

    assert code == 1
    assert invocations.events == [event]
    assert bodies(sqs, dlq) == [body]
    assert verbs(capsys.readouterr().out) == ["failed"]


@pytest.mark.parametrize("direct", [True, False])
def test_an_on_failure_record_without_payload_stays(sqs, dlq, delivery, capsys, direct) -> None:
    body = json.dumps(dropped_payload_record())
    sqs.send_message(QueueUrl=dlq, MessageBody=body)
    invocations = Invocations()
    target = ["--function", FUNCTION_ARN] if direct else ["--to-queue-url", delivery]

    code = main(["--dead-letter-queue-url", dlq, *target, *WAIT], invoke=invocations)

    assert code == 1
    assert invocations.events == [] and bodies(sqs, delivery) == []
    assert bodies(sqs, dlq) == [body]
    out = capsys.readouterr().out
    assert verbs(out) == ["skipped"]
    assert "request ID e4b46cbf-b738-4c4a-8880-a18cdf61200e" in out


def test_hide_makes_received_messages_invisible_again(sqs, dlq) -> None:
    sqs.send_message(QueueUrl=dlq, MessageBody="a")
    dead_letters = queues.SqsDeadLetters(sqs, dlq, visibility_timeout=60, wait_seconds=0)
    response = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0)  # visible again at once
    (item,) = response["Messages"]
    message = Message(item["MessageId"], item["ReceiptHandle"], item["Body"])
    dead_letters.hide([message])
    assert dead_letters.receive(10) == []
    dead_letters.release([message])
    assert [m.body for m in dead_letters.receive(10)] == ["a"]


def test_release_goes_on_after_a_message_it_cannot_change(dlq) -> None:
    client = boto3.client("sqs", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_client_error("change_message_visibility", "ReceiptHandleIsInvalid")
    stubber.add_response(
        "change_message_visibility",
        {},
        {"QueueUrl": dlq, "ReceiptHandle": "h-2", "VisibilityTimeout": 0},
    )
    dead_letters = queues.SqsDeadLetters(client, dlq, visibility_timeout=60)
    with stubber:
        dead_letters.release([Message("m-1", "h-1", "a"), Message("m-2", "h-2", "b")])
    stubber.assert_no_pending_responses()


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
    arguments = [
        *["--dead-letter-queue-url", dlq, "--function", FUNCTION_ARN, "--max-messages", "2"],
        *WAIT,
    ]
    assert main(arguments, invoke=invocations) == 0
    assert len(invocations.events) == 2
    assert len(bodies(sqs, dlq)) == 3


def test_unknown_bodies_are_never_deleted_in_either_mode(sqs, dlq, delivery) -> None:
    for body in UNKNOWN_BODIES[1:]:  # SQS refuses an empty body
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    invocations = Invocations()
    direct = ["--dead-letter-queue-url", dlq, "--function", FUNCTION_ARN, *WAIT]
    assert main(direct, invoke=invocations) == 1
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
    is stubbed, since moto cannot run the function. A function name is looked up first."""
    event = sns_event(sns_record("{}"))
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(on_failure_record(event, ValueError())))
    session = boto3.session.Session(region_name=REGION)
    lambda_client = session.client("lambda")
    stubber = Stubber(lambda_client)
    stubber.add_response(
        "get_function_configuration",
        {"FunctionName": "fss-post-scan", "FunctionArn": FUNCTION_ARN},
        {"FunctionName": "fss-post-scan"},
    )
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
