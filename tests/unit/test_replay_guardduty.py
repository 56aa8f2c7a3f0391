"""The replay CLI (tools/replay) with GuardDuty's dead letters: an on-failure record whose event is
the rule's EventBridge event (direct mode), and the event itself (what a rule's target could not
be delivered, or a delivery-queue message moved by the redrive policy in queue mode)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from engine_kit import FUNCTION_ARN, REGION, upload
from guardduty_kit import gd_env, gd_event
from test_replay import in_process, on_failure_record, verbs

from replay import decide
from replay.cli import main

WAIT = ["--wait-seconds", "0"]


@pytest.fixture
def queues(moto_aws) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs, sqs.create_queue(QueueName="fss-post-scan-dlq")["QueueUrl"]


def test_an_on_failure_record_of_a_rule_s_event_replays_that_event() -> None:
    event = gd_event("b-1", "k", etag="e", version_id="v")
    body = json.dumps(on_failure_record(event, RuntimeError("x")))
    plan = decide.plan(body, decide.DIRECT)
    assert (plan.kind, plan.event, plan.ids) == (
        decide.ON_FAILURE,
        event,
        (f"event:{event['id']}",),
    )
    assert event["id"] in plan.summary
    assert not decide.plan(body, decide.QUEUE).replayable  # written by direct mode


def test_an_eventbridge_dead_letter_is_replayed_in_either_mode() -> None:
    event = gd_event("b-1", "k", etag="e", version_id="v")
    body = json.dumps(event)
    direct = decide.plan(body, decide.DIRECT)
    assert (direct.kind, direct.event, direct.ids) == (
        decide.EVENTBRIDGE_EVENT,
        event,
        (f"event:{event['id']}",),
    )
    queued = decide.plan(body, decide.QUEUE)
    assert (queued.body, queued.event) == (body, None)


def test_an_event_without_detail_is_not_replayed() -> None:
    body = json.dumps({"id": "1", "source": "aws.guardduty", "detail-type": "x"})
    assert decide.plan(body, decide.DIRECT).kind == decide.UNKNOWN


def test_replayed_guardduty_dead_letter_deletes_the_scanned_version(
    s3, versioned_bucket, queues, make_engine, capsys
) -> None:
    """Through the CLI: the dead letters of one scan result (the target's and an on-failure
    record of the same event) act once, on the exact version."""
    sqs, dlq = queues
    scanned = upload(s3, versioned_bucket, "k", body=b"malicious", tags={"file_id": "f"})
    event = gd_event(versioned_bucket, "k", etag=scanned["etag"], version_id=scanned["version_id"])
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(event))
    sqs.send_message(
        QueueUrl=dlq, MessageBody=json.dumps(on_failure_record(event, RuntimeError("x")))
    )
    engine = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))
    code = main(
        ["--dead-letter-queue-url", dlq, "--function", "fss-post-scan", *WAIT],
        invoke=in_process(engine),
        session=_session_with_function(),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(verbs(out)) == ["deleted", "replayed"]
    assert s3.list_object_versions(Bucket=versioned_bucket).get("Versions", []) == []


def _session_with_function():
    """A boto3 session whose Lambda client names the function (moto has it not)."""
    session = boto3.session.Session(region_name=REGION)
    real_client = session.client

    def client(service: str, **kwargs):
        made = real_client(service, **kwargs)
        if service == "lambda":
            stub = Stubber(made)
            stub.add_response(
                "get_function_configuration",
                {"FunctionArn": FUNCTION_ARN},
                {"FunctionName": "fss-post-scan"},
            )
            stub.activate()
        return made

    session.client = client  # type: ignore[method-assign]
    return session
