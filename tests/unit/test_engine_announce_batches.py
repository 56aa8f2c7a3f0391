"""Announcements in batches (queue delivery hands the function up to 10 records, or more with a
batching window), and what happens when a target refuses: the record fails, nothing is dropped."""

from __future__ import annotations

import json

import pytest
from engine_kit import (
    scan_message,
    sns_event,
    sns_notification,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
)

from post_scan import announce, events, notify
from post_scan.announce import Announcer, Planned
from post_scan.config import load_config


def queued(s3, bucket: str, count: int, prefix: str = "batch") -> tuple[dict, list[str]]:
    """An SQS event of `count` malicious uploads; (event, their messageIds)."""
    records = []
    for number in range(count):
        key = f"{prefix}/{number:02d}.exe"
        obj = upload(s3, bucket, key, tags={"file_id": f"f-{number}"})
        records.append(sqs_record(sns_notification(scan_message(bucket, key, etag=obj["etag"]))))
    return sqs_event(*records), [r["messageId"] for r in records]


def failed_ids(run) -> list[str]:
    assert run.error is None, run.error
    return [item["itemIdentifier"] for item in run.result["batchItemFailures"]]


@pytest.fixture
def engine(bucket, targets, make_engine):
    return make_engine(
        ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true", EXTRACT_FILE_ID="true", **targets.env
    )


def counts(calls) -> dict[str, list[int]]:
    """Per announcement operation, the number of entries of each call."""
    sizes = {"PutEvents": "Entries", "PublishBatch": "PublishBatchRequestEntries"}
    sizes["BatchImportFindings"] = "Findings"
    return {op: [len(p[field]) for p in calls.params(op)] for op, field in sizes.items()}


def test_a_batch_of_ten_costs_one_call_per_target(s3, bucket, targets, engine, announce_calls):
    event, _ = queued(s3, bucket, 10)
    run = engine(event)
    assert failed_ids(run) == []
    assert [line["outcome"] for line in run.lines] == ["processed"] * 10
    assert counts(announce_calls) == {
        "PutEvents": [10],
        "PublishBatch": [10],
        "BatchImportFindings": [10],
    }
    assert len(targets.events()) == 10 and len(targets.notifications()) == 10
    assert len(targets.findings()) == 10


def test_a_larger_batch_is_sent_ten_at_a_time(s3, bucket, targets, engine, announce_calls):
    event, _ = queued(s3, bucket, 23)
    assert failed_ids(engine(event)) == []
    assert counts(announce_calls) == {
        "PutEvents": [10, 10, 3],
        "PublishBatch": [10, 10, 3],
        "BatchImportFindings": [23],
    }
    keys = sorted(e["detail"]["key"] for e in targets.events())
    assert keys == [f"batch/{n:02d}.exe" for n in range(23)]


def test_only_the_announced_records_of_a_batch_are_sent(
    s3, bucket, targets, make_engine, announce_calls
) -> None:
    engine = make_engine(ALLOWED_BUCKETS=bucket, **targets.env)
    records = [
        sqs_record(sns_notification(scan_message(bucket, f"{verdict}-{n}", verdict=verdict)))
        for n in range(3)
        for verdict in ("malicious", "clean", "incomplete")
    ]
    records.append(sqs_record("not a scan result"))
    run = engine(sqs_event(*records))
    assert len(failed_ids(run)) == 1  # the malformed one
    assert counts(announce_calls) == {
        "PutEvents": [6],
        "PublishBatch": [6],
        "BatchImportFindings": [3],
    }


def test_an_event_bridge_refusal_fails_exactly_that_record(
    s3, bucket, targets, engine, announce_calls
) -> None:
    event, ids = queued(s3, bucket, 10)

    def one_refused(params: dict) -> dict:
        results = [{"EventId": f"e-{n}"} for n in range(len(params["Entries"]))]
        results[3] = {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
        return {"FailedEntryCount": 1, "Entries": results}

    announce_calls.respond("PutEvents", one_refused)
    run = engine(event)
    assert failed_ids(run) == [ids[3]]
    line = run.lines[3]
    assert line["outcome"] == "error" and line["error"]["type"] == "AnnounceError"
    assert "event refused: InternalFailure: try again" in line["reason"]
    assert "publish" in line["actions"] and "put_event" not in line["actions"]
    others = [n for n in range(10) if n != 3]
    assert all(run.lines[n]["outcome"] == "processed" for n in others)
    assert all("put_event" in run.lines[n]["actions"] for n in others)
    # The retry: the actions are idempotent (the file is already gone), and it is announced again.
    (retry,) = [r for r in event["Records"] if r["messageId"] == ids[3]]
    again = engine(sqs_event(retry))
    assert failed_ids(again) == []
    assert again.line["outcome"] == "object_gone"
    assert again.line["actions"][-3:] == ["put_event", "publish", "import_finding"]


def test_a_failed_publish_call_fails_the_whole_chunk_and_nothing_else(
    s3, bucket, targets, engine, announce_calls
) -> None:
    event, ids = queued(s3, bucket, 12)
    announce_calls.fail("PublishBatch", "AuthorizationError", 403)  # the first of two calls
    run = engine(event)
    assert failed_ids(run) == ids[:10]
    assert "notification not sent" in run.lines[0]["reason"]
    assert [line["outcome"] for line in run.lines[10:]] == ["processed"] * 2
    assert len(targets.notifications()) == 2
    assert len(targets.events()) == 12, "the events went out: consumers dedupe the retry's"


def test_sns_entry_refusals_map_back_by_id(s3, bucket, targets, engine, announce_calls) -> None:
    event, ids = queued(s3, bucket, 4)

    def refuse_two(params: dict) -> dict:
        entries = params["PublishBatchRequestEntries"]
        return {
            "Successful": [
                {"Id": e["Id"], "MessageId": "m"} for e in entries if e["Id"] not in "13"
            ],
            "Failed": [
                {"Id": e["Id"], "Code": "KMSThrottling", "SenderFault": False, "Message": "slow"}
                for e in entries
                if e["Id"] in "13"
            ],
        }

    announce_calls.respond("PublishBatch", refuse_two)
    run = engine(event)
    assert failed_ids(run) == [ids[1], ids[3]]
    assert "notification refused: KMSThrottling: slow" in run.lines[1]["reason"]


def test_a_refused_finding_fails_its_record(s3, bucket, targets, engine, announce_calls) -> None:
    event, ids = queued(s3, bucket, 3)

    def refuse_second(params: dict) -> dict:
        second = params["Findings"][1]["Id"]
        return {
            "FailedCount": 1,
            "SuccessCount": 2,
            "FailedFindings": [{"Id": second, "ErrorCode": "InvalidAccess", "ErrorMessage": "off"}],
        }

    announce_calls.respond("BatchImportFindings", refuse_second)
    run = engine(event)
    assert failed_ids(run) == [ids[1]]
    assert "finding refused: InvalidAccess: off" in run.lines[1]["reason"]


def test_sns_delivery_fails_the_invocation_when_an_announcement_fails(
    s3, bucket, targets, engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "one.exe")
    announce_calls.fail("PutEvents", "AccessDeniedException", 400)
    run = engine(sns_event(sns_record(scan_message(bucket, "one.exe", etag=obj["etag"]))))
    assert type(run.error).__name__ == "RecordsFailed", "Lambda retries, then dead-letters it"
    assert run.line["outcome"] == "error"
    assert "event not sent" in run.line["reason"] and "AccessDeniedException" in run.line["reason"]


def test_a_failed_record_keeps_its_own_error_when_its_announcement_fails_too(
    s3, bucket, targets, engine, announce_calls, s3_calls
) -> None:
    obj = upload(s3, bucket, "x.exe")
    s3_calls.fail("DeleteObject", "SlowDown", 503, times=10)
    announce_calls.fail("PutEvents", "AccessDeniedException", 400)
    run = engine(sns_event(sns_record(scan_message(bucket, "x.exe", etag=obj["etag"]))))
    assert run.line["outcome"] == "error"
    assert "SlowDown" in run.line["error"]["message"]
    assert "announcement failed" in run.line["reason"]


def test_the_same_file_twice_in_one_batch_shares_one_finding(
    s3, bucket, targets, engine, announce_calls
) -> None:
    obj = upload(s3, bucket, "dup.exe")
    notification = sns_notification(scan_message(bucket, "dup.exe", etag=obj["etag"]))
    run = engine(sqs_event(sqs_record(notification), sqs_record(notification)))
    assert failed_ids(run) == []
    assert [line["outcome"] for line in run.lines] == ["processed", "object_gone"]
    assert counts(announce_calls)["BatchImportFindings"] == [1]
    assert all("import_finding" in line["actions"] for line in run.lines)
    assert len(targets.findings()) == 1


def test_batches_over_the_request_limit_are_split_by_size(
    s3, bucket, targets, engine, announce_calls, monkeypatch
) -> None:
    event, _ = queued(s3, bucket, 10, prefix="k" * 900)
    monkeypatch.setattr(announce, "MAX_REQUEST_BYTES", 30_000)
    assert failed_ids(engine(event)) == []
    sent = counts(announce_calls)
    assert sum(sent["PutEvents"]) == sum(sent["PublishBatch"]) == 10
    assert len(sent["PublishBatch"]) > 1
    for params in announce_calls.params("PublishBatch"):
        total = sum(notify.entry_size(e) for e in params["PublishBatchRequestEntries"])
        assert total <= 30_000
    for params in announce_calls.params("PutEvents"):
        assert sum(events.entry_size(e) for e in params["Entries"]) <= 30_000


def test_an_entry_too_large_alone_fails_its_record_without_a_call() -> None:
    planned = [Planned(n, {}) for n in range(3)]
    sizes = [10, announce.MAX_REQUEST_BYTES + 1, 10]
    chunks = announce._chunks(list(zip(planned, sizes, strict=True)), 10, "event")
    assert [[p.index for p in chunk] for chunk in chunks] == [[0, 2]]
    assert planned[1].problems == [
        f"event is {announce.MAX_REQUEST_BYTES + 1} bytes, over the "
        f"{announce.MAX_REQUEST_BYTES} limit"
    ]


def test_worst_case_entries_fit_the_limits() -> None:
    """The longest key S3 allows, in characters that JSON escapes, and more findings than anyone
    lists: one event and one notification stay under 256 KiB."""
    from test_engine_announce import _outcome

    from post_scan.message import Finding

    key = "\u0007" * 1024
    many = tuple(Finding("W" * 200, "T" * 50) for _ in range(500))
    scan = _outcome().scan
    outcome = _outcome(scan=type(scan)(**{**scan.__dict__, "key": key, "findings": many}))
    topic = "arn:aws:sns:us-east-1:123456789012:t"
    config = load_config({"EVENT_BUS": "b", "NOTIFY_TOPIC_ARN": topic})
    (item,) = Announcer(config).plan([outcome])
    assert events.entry_size(item.event) < announce.MAX_REQUEST_BYTES
    assert notify.entry_size(item.notification) < announce.MAX_REQUEST_BYTES
    json.loads(item.notification["Message"])
