"""Issue 10 item 3: a verdict contradicted by File Storage Security's own tag is not acted on in
the benign direction.

The attacker: an insider who can invoke the function (or send to its queue) forges a "clean"
event with the allowed TopicArn string, a bogus signature and file_attributes.etag = the MD5 of
their own malware (computable offline). FSS itself tagged the object fss-scan-result=malicious.
Nothing may be promoted, moved, deleted or recorded as clean: the record fails loudly (error
outcome, VerdictConflicts=1, Lambda retries then the dead-letter queue). A malicious verdict is
still acted on when the tag says otherwise (tags can lag the message).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from engine_kit import (
    TOPIC_ARN,
    later,
    scan_message,
    sns_event,
    sns_notification,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
    versions_of,
)

from post_scan import handler

MALWARE = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SCANNER_SAYS_MALICIOUS = {"file_id": "f-1", "fss-scan-result": "malicious"}


def env(source: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": source,
        "ALLOWED_TOPIC_ARNS": TOPIC_ARN,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "RECORD_VERDICTS": "malicious,clean,incomplete,failed,unscanned",
        "DELETE_MALICIOUS": "true",
        **more,
    }


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def forged(bucket: str, key: str, verdict: str) -> dict[str, Any]:
    """A forged scan result: the ETag is computed offline from the attacker's own malware."""
    etag = hashlib.md5(MALWARE).hexdigest()
    if verdict == "unscanned":  # scanner_status -4: the scanner was not invoked (a timeout)
        message = scan_message(bucket, key, verdict="clean", etag=etag)
        return {**message, "scanner_status": -4, "scanner_status_message": "timeout"}
    return scan_message(bucket, key, verdict=verdict, etag=etag)


@pytest.mark.parametrize(
    ("verdict", "route"),
    [
        ("clean", "ROUTE_CLEAN"),
        ("incomplete", "ROUTE_INCOMPLETE"),
        ("failed", "ROUTE_FAILED"),
        ("unscanned", "ROUTE_UNSCANNED"),
    ],
)
def test_a_forged_benign_verdict_moves_records_and_deletes_nothing(
    s3, bucket, promote_bucket, dynamodb, table, make_engine, verdict, route
) -> None:
    upload(s3, bucket, "payload.exe", body=MALWARE, tags=SCANNER_SAYS_MALICIOUS)
    engine = make_engine(**env(bucket, **{route: f"{promote_bucket}/p/", "ROUTE_MODE": "move"}))
    run = engine(sns_event(sns_record(forged(bucket, "payload.exe", verdict))))

    assert isinstance(run.error, handler.RecordsFailed)
    line = run.line
    assert (line["outcome"], line["VerdictConflicts"], line["Errors"]) == ("error", 1, 1)
    assert line["error"]["type"] == "VerdictConflict"
    assert "fss-scan-result" in line["reason"]
    assert keys(s3, bucket) == ["payload.exe"]
    assert keys(s3, promote_bucket) == []
    assert dynamodb.scan(TableName=table)["Items"] == []
    assert not {"record", "copy", "delete"} & set(line["actions"])


def test_a_forged_clean_verdict_in_a_versioned_bucket_promotes_nothing(
    s3, versioned_bucket, promote_bucket, dynamodb, table, make_engine, clock
) -> None:
    scanned = upload(s3, versioned_bucket, "p.exe", body=MALWARE, tags=SCANNER_SAYS_MALICIOUS)
    clock.set(60)
    upload(s3, versioned_bucket, "p.exe", body=b"newer", tags={"file_id": "f-2"})
    engine = make_engine(**env(versioned_bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    run = engine(sns_event(sns_record(forged(versioned_bucket, "p.exe", "clean"))))
    assert run.line["VerdictConflicts"] == 1
    versions, _ = versions_of(s3, versioned_bucket, "p.exe")
    assert scanned["version_id"] in {v["VersionId"] for v in versions}
    assert keys(s3, promote_bucket) == []


def test_a_forged_clean_verdict_without_a_route_records_nothing(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    upload(s3, bucket, "payload.exe", body=MALWARE, tags=SCANNER_SAYS_MALICIOUS)
    run = make_engine(**env(bucket))(sns_event(sns_record(forged(bucket, "payload.exe", "clean"))))
    assert run.line["VerdictConflicts"] == 1
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_queue_mode_returns_the_conflicting_record_as_failed(
    s3, bucket, promote_bucket, table, make_engine
) -> None:
    upload(s3, bucket, "payload.exe", body=MALWARE, tags=SCANNER_SAYS_MALICIOUS)
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    body = sns_notification(forged(bucket, "payload.exe", "clean"))
    run = engine(sqs_event(sqs_record(body, message_id="q-1")))
    assert run.result == {"batchItemFailures": [{"itemIdentifier": "q-1"}]}
    assert run.line["VerdictConflicts"] == 1
    assert keys(s3, promote_bucket) == []


@pytest.mark.parametrize("tag", ["no issues found", "clean", None])
def test_a_malicious_verdict_is_acted_on_whatever_the_tag_says(
    s3, bucket, dynamodb, table, make_engine, tag
) -> None:
    tags = {"file_id": "f-1"} | ({"fss-scan-result": tag} if tag else {})
    obj = upload(s3, bucket, "late-tag.exe", body=MALWARE, tags=tags)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, "late-tag.exe", etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert (run.line["outcome"], run.line["VerdictConflicts"]) == ("processed", 0)
    assert keys(s3, bucket) == []


def test_a_genuine_clean_verdict_is_promoted(
    s3, bucket, promote_bucket, dynamodb, table, make_engine
) -> None:
    tags = {"file_id": "f-1", "fss-scan-result": "no issues found"}
    obj = upload(s3, bucket, "ok.pdf", body=b"fine", tags=tags)
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    message = scan_message(bucket, "ok.pdf", verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert keys(s3, promote_bucket) == [f"p/{bucket}/ok.pdf"] and keys(s3, bucket) == []


def test_without_an_etag_a_benign_verdict_for_a_version_tagged_malicious_fails_loudly(
    s3, bucket, promote_bucket, dynamodb, table, make_engine
) -> None:
    """No ETag: tags no longer locate (issue 19), so the object of the scanned size is the one
    candidate and the scanner's malicious tag on it refuses the benign verdict loudly (before:
    `superseded`, a silent success)."""
    upload(s3, bucket, "payload.exe", body=MALWARE, tags=SCANNER_SAYS_MALICIOUS)
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    message = scan_message(bucket, "payload.exe", verdict="clean", scan_start_timestamp=later(20))
    run = engine(sns_event(sns_record(message)))
    assert (run.line["outcome"], run.line["VerdictConflicts"]) == ("error", 1)
    assert keys(s3, bucket) == ["payload.exe"] and keys(s3, promote_bucket) == []
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_a_merged_scanner_tag_saying_malicious_refuses_a_benign_verdict_too(
    s3, bucket, promote_bucket, table, make_engine
) -> None:
    """ScanResultTagFormat = Merged tag: the same check reads the merged tag (scanner_tags)."""
    merged = {"file_id": "f-1", "fss-scan": "scan-result=malicious scan-date=2024/05/01 12:00:31"}
    upload(s3, bucket, "payload.exe", body=MALWARE, tags=merged)
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    run = engine(sns_event(sns_record(forged(bucket, "payload.exe", "clean"))))
    assert (run.line["outcome"], run.line["VerdictConflicts"]) == ("error", 1)
    assert keys(s3, promote_bucket) == [] and keys(s3, bucket) == ["payload.exe"]
