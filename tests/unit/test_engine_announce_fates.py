"""What the announcements say happened to the file follows what was done to it, whatever the outcome
says about its row (issue 19 loose ends).

- Security Hub: `Malware.State` is REMOVED whenever the malicious file was deleted or moved (also
  when the row was refused, `row_conflict` / `stale_verdict` / `row_missing`, by a `fallback`, or
  when the record failed after the delete), REMOVAL_FAILED when the record failed before, OBSERVED
  when it stays (copy mode, no delete configured).
- Notifications: an `unproven` result says it was not acted on (the scanned bytes could not be
  singled out), never "No action is configured" nor "copied to ..."; a benign `row_conflict` says
  nothing was done; a malicious one says the file was deleted and the row left untouched. In every
  body format (default: `removed`; e-mail; chat).
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
    later,
    scan_message,
    sns_event,
    sns_notification,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
)

BOUND_ELSEWHERE = {
    "file_id": {"S": "f-1"},
    "s3_bucket": {"S": "uploads-bucket"},
    "s3_key": {"S": "someone/else.pdf"},
}
NEWER = {"file_id": {"S": "f-1"}, "scan_timestamp": {"N": "9999999999"}}


def env(bucket: str, targets: Any, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": bucket,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "RECORD_VERDICTS": "malicious,clean",
        "NOTIFY_VERDICTS": "malicious,clean",
        **targets.env,
        **more,
    }


def published(announce_calls: Any) -> list[dict[str, Any]]:
    entries = [
        entry
        for params in announce_calls.params("PublishBatch")
        for entry in params["PublishBatchRequestEntries"]
    ]
    return [{"subject": e["Subject"], **json.loads(e["Message"])} for e in entries]


def state(targets: Any) -> tuple[str, str]:
    (finding,) = targets.findings()
    return finding["Malware"][0]["State"], finding["Severity"]["Label"]


@pytest.mark.parametrize(
    ("row", "settings", "outcome"),
    [
        (BOUND_ELSEWHERE, {"DELETE_MALICIOUS": "true"}, "row_conflict"),
        (BOUND_ELSEWHERE, {"ROUTE_MALICIOUS": "quarantine-bucket/q/"}, "row_conflict"),
        (NEWER, {"DELETE_MALICIOUS": "true"}, "stale_verdict"),
        (None, {"DELETE_MALICIOUS": "true", "FILE_ID_TABLE_UPSERT": "false"}, "row_missing"),
    ],
    ids=["row-conflict-delete", "row-conflict-quarantine", "stale-verdict", "row-missing"],
)
def test_a_removed_file_is_removed_in_its_finding_whatever_its_row_says(
    s3, bucket, quarantine_bucket, dynamodb, table, targets, announce_calls, make_engine,
    row, settings, outcome,
) -> None:  # fmt: skip
    if row is not None:
        dynamodb.put_item(TableName=table, Item=row)
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    engine = make_engine(**env(bucket, targets, **settings))
    run = engine(sns_event(sns_record(scan_message(bucket, "evil.exe", etag=obj["etag"]))))

    assert run.line["outcome"] == outcome, run.line["reason"]
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert state(targets) == ("REMOVED", "HIGH")
    (note,) = published(announce_calls)
    detail = json.loads(note["default"])
    assert detail["removed"] is True
    assert "still in the bucket" not in note["email"]
    word = "quarantined" if "ROUTE_MALICIOUS" in settings else "deleted"
    headline = note["email"].splitlines()[0]
    assert headline == f"Malware found: {word} ({_row_words(outcome)})", headline
    done = _line(note["email"], "Done:")
    assert ("moved to" if word == "quarantined" else "deleted for good") in done, done


def _row_words(outcome: str) -> str:
    return {
        "row_conflict": "its file id names another object's row",
        "stale_verdict": "a newer verdict is recorded",
        "row_missing": "no row for its file id",
    }[outcome]


def _line(email: str, label: str) -> str:
    (line,) = [line for line in email.splitlines() if line.startswith(label)]
    return line


def test_a_fallback_that_deleted_the_file_is_removed(
    s3, bucket, dynamodb, table, targets, make_engine
) -> None:
    """The row update fails for good (ValidationException): the file is deleted anyway."""
    from botocore.exceptions import ClientError

    def invalid(request: dict[str, Any]) -> str:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "x"}}, "Update")

    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    engine = make_engine(send_update=invalid, **env(bucket, targets, DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(bucket, "evil.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "fallback", run.line["reason"]
    assert state(targets) == ("REMOVED", "HIGH")


def test_copy_mode_keeps_the_file_observed_and_says_it_is_still_there(
    s3, bucket, quarantine_bucket, dynamodb, table, targets, announce_calls, make_engine
) -> None:
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    settings = {"ROUTE_MALICIOUS": f"{quarantine_bucket}/q/", "ROUTE_MODE": "copy"}
    engine = make_engine(**env(bucket, targets, **settings))
    run = engine(sns_event(sns_record(scan_message(bucket, "evil.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "processed"
    assert state(targets) == ("OBSERVED", "CRITICAL")
    (note,) = published(announce_calls)
    assert json.loads(note["default"])["removed"] is False
    assert "still in the bucket" in note["email"]


def test_a_failure_before_the_delete_is_a_failed_removal(
    s3, bucket, dynamodb, table, targets, make_engine, s3_calls
) -> None:
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    s3_calls.fail("DeleteObject", "SlowDown", 503, times=10)
    engine = make_engine(**env(bucket, targets, DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(bucket, "evil.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "error"
    assert state(targets) == ("REMOVAL_FAILED", "CRITICAL")


DLQ_NAME = "fss-post-scan-dlq"


def test_a_failure_after_the_delete_is_still_removed(
    s3, bucket, dynamodb, targets, announce_calls, make_engine
) -> None:
    """Final receive, the table is missing and so is the dead-letter queue: the file is deleted,
    the record fails (RowNotKept). The finding says REMOVED, the e-mail says it was deleted."""
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    engine = make_engine(
        **env(
            bucket,
            targets,
            DELETE_MALICIOUS="true",
            QUEUE_MAX_RECEIVE_COUNT="3",
            DEAD_LETTER_QUEUE_ARN=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{DLQ_NAME}",
        )
    )
    message = scan_message(bucket, "evil.exe", etag=obj["etag"])
    run = engine(sqs_event(sqs_record(sns_notification(message), "q-1", receive_count=3)))
    assert run.line["outcome"] == "error" and "delete" in run.line["actions"]
    assert state(targets) == ("REMOVED", "HIGH")
    (note,) = published(announce_calls)
    headline = note["email"].splitlines()[0]
    assert headline == "Malware found: deleted, but NOT finished (error, will be retried)"
    assert "deleted for good" in _line(note["email"], "Done:")
    assert "still in the bucket" not in note["email"]


def test_a_replay_of_pending_rows_keeps_the_finding_removed(
    s3, bucket, dynamodb, targets, make_engine
) -> None:
    dlq = boto3.client("sqs", region_name=REGION).create_queue(QueueName=DLQ_NAME)["QueueUrl"]
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-1"})
    engine = make_engine(
        **env(
            bucket,
            targets,
            DELETE_MALICIOUS="true",
            QUEUE_MAX_RECEIVE_COUNT="3",
            DEAD_LETTER_QUEUE_ARN=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{DLQ_NAME}",
        )
    )
    message = scan_message(bucket, "evil.exe", etag=obj["etag"])
    engine(sqs_event(sqs_record(sns_notification(message), "q-1", receive_count=3)))
    (letter,) = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=dlq)["Messages"]
    dynamodb.create_table(
        TableName="app-files",
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    replayed = engine(sqs_event(sqs_record(letter["Body"], "q-2", receive_count=1)))
    assert replayed.line["outcome"] == "processed", replayed.line["reason"]
    assert "delete" not in replayed.line["actions"]
    assert state(targets) == ("REMOVED", "HIGH")


# --- benign verdicts: unproven and row conflicts ------------------------------------------------


@pytest.mark.parametrize("dry_run", ["false", "true"])
def test_an_unproven_result_says_it_was_not_acted_on_in_every_body(
    s3, versioned_bucket, promote_bucket, dynamodb, table, targets, announce_calls, make_engine,
    clock, dry_run,
) -> None:  # fmt: skip
    upload(s3, versioned_bucket, "doc.pdf", body=b"A" * 68, tags={"file_id": "f-1"})
    clock.set(1)
    upload(s3, versioned_bucket, "doc.pdf", body=EICAR_BODY, tags={"file_id": "f-1"})
    settings = {"ROUTE_CLEAN": f"{promote_bucket}/p/", "DRY_RUN": dry_run}
    engine = make_engine(**env(versioned_bucket, targets, **settings))
    clean = scan_message(
        versioned_bucket,
        "doc.pdf",
        verdict="clean",
        timestamp=later(30),
        scan_start_timestamp=later(20),
    )
    run = engine(sns_event(sns_record(clean)))
    assert run.line["outcome"] == "unproven", run.line["reason"]

    (note,) = published(announce_calls)
    headline = note["email"].splitlines()[0]
    assert headline == "Clean file: not acted on (the scanned upload was not singled out)"
    detail = json.loads(note["default"])
    assert (detail["outcome"], detail["removed"]) == ("unproven", False)
    done = _line(note["email"], "Done:")
    chat = json.loads(note["https"])
    chat_done = next(
        line for line in chat["content"]["description"].splitlines() if "*Done:*" in line
    )
    for text in (done, chat_done):
        assert "Not acted on" in text and "could not be singled out" in text, text
        for misleading in ("No action is configured", "copied to", "would have been", "promoted"):
            assert misleading not in text.replace("Nothing was copied, promoted", ""), text
    assert "not acted on" in chat["content"]["title"]
    steps = chat["content"]["nextSteps"]
    assert any("not known to be the upload that was scanned" in step for step in steps)
    assert "Nothing to do." not in note["email"]


def test_a_benign_row_conflict_says_nothing_was_done(
    s3, bucket, promote_bucket, dynamodb, table, targets, announce_calls, make_engine
) -> None:
    dynamodb.put_item(TableName=table, Item=BOUND_ELSEWHERE)
    obj = upload(s3, bucket, "mine.pdf", body=b"clean", tags={"file_id": "f-1"})
    engine = make_engine(**env(bucket, targets, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    clean = scan_message(bucket, "mine.pdf", verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(clean)))
    assert run.line["outcome"] == "row_conflict"

    (note,) = published(announce_calls)
    headline = note["email"].splitlines()[0]
    assert headline == "Clean file: not acted on (its file id names another object's row)"
    done = _line(note["email"], "Done:")
    assert "not acted on" in done and "copied to" not in done, done
    assert "left untouched" in done
    assert "who set the file id tag" in note["email"]
