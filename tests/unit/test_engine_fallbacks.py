"""Issue 10 item 1: a malicious file that must leave the scanned bucket (move mode, or
DELETE_MALICIOUS) goes even when the configured action fails for a reason no retry can cure.

Every trigger here is in an uploader's hands (key length, user metadata, storage class, the size
of the row the scan result lands in). What must hold: the file is gone from the scanned bucket,
the outcome is `fallback` with FallbackActions=1 and the file id in the log line, and the row's
scan_action says what was really done. Failures a retry may cure still fail the record.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from engine_kit import (
    scan_message,
    sns_event,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
    versions_of,
)

from post_scan import handler

ROUTED_MARK = "fss-post-scan-routed"
SHORT_KEYS = "~fss-post-scan/"

BODY = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
TAGS = {"file_id": "f-1", "fss-scan-result": "malicious"}


def env(source: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": source,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "ROUTE_MALICIOUS": "quarantine-bucket/q/",
        **more,
    }


def short_key(prefix: str, bucket: str, key: str, version_id: str | None = None) -> str:
    """The documented fallback key: PREFIX~fss-post-scan/<bucket>/<SHA-256 of key>[/<version>]."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}{SHORT_KEYS}{bucket}/{digest}" + (f"/{version_id}" if version_id else "")


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def row(dynamodb: Any, file_id: str = "f-1") -> dict[str, Any] | None:
    return dynamodb.get_item(TableName="app-files", Key={"file_id": {"S": file_id}}).get("Item")


def long_key(bucket: str, size: int = 1024) -> str:
    """A legal key (<= 1024 bytes) whose quarantine key q/<bucket>/<key> is not."""
    return "in/" + "k" * (size - 3)


def assert_fallback(line: dict[str, Any], file_id: str = "f-1") -> None:
    assert line["outcome"] == "fallback", line["reason"]
    assert (line["FallbackActions"], line["Errors"]) == (1, 0)
    assert line["file_id"] == file_id
    assert line["fallback"]


@pytest.mark.parametrize("size", [1017, 1024])
def test_a_key_too_long_for_the_quarantine_is_quarantined_under_a_short_key(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, size
) -> None:
    key = long_key(bucket, size)
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"])))
    )

    assert run.error is None, run.line
    assert_fallback(run.line)
    assert "bytes (S3 allows 1024)" in run.line["fallback"]
    assert keys(s3, bucket) == []  # the malware is gone from the scanned bucket
    short = short_key("q/", bucket, key)
    assert keys(s3, quarantine_bucket) == [short]
    assert short.startswith(f"q/{SHORT_KEYS}{bucket}/")
    copy = s3.get_object(Bucket=quarantine_bucket, Key=short)
    assert copy["Body"].read() == BODY
    assert copy["Metadata"][ROUTED_MARK] == "malicious"
    assert copy["Metadata"]["fss-post-scan-source"] == f"s3://{bucket}/{key}"  # the full key
    stored = row(dynamodb)
    assert stored["scan_action"] == {"S": "quarantine"}
    assert stored["scan_destination"] == {"S": f"s3://{quarantine_bucket}/{short}"}
    assert stored["s3_key"] == {"S": key}
    assert run.line["destination"] == f"s3://{quarantine_bucket}/{short}"


def test_a_long_key_in_a_versioned_bucket_gets_a_short_key_per_version(
    s3, versioned_bucket, quarantine_bucket, table, make_engine
) -> None:
    key = long_key(versioned_bucket)
    obj = upload(s3, versioned_bucket, key, body=BODY, tags=TAGS)
    message = scan_message(versioned_bucket, key, etag=obj["etag"])
    run = make_engine(**env(versioned_bucket))(sns_event(sns_record(message)))
    assert_fallback(run.line)
    assert versions_of(s3, versioned_bucket, key) == ([], [])
    assert keys(s3, quarantine_bucket) == [
        short_key("q/", versioned_bucket, key, obj["version_id"])
    ]


def test_a_long_key_with_delete_malicious_in_copy_mode_also_goes(
    s3, bucket, quarantine_bucket, table, make_engine
) -> None:
    key = long_key(bucket)
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS)
    engine = make_engine(**env(bucket, ROUTE_MODE="copy", DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"]))))
    assert_fallback(run.line)
    assert keys(s3, bucket) == []
    assert len(keys(s3, quarantine_bucket)) == 1


def test_full_user_metadata_makes_room_for_the_mark(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine
) -> None:
    key = "in/report.exe"
    metadata = {"note": "x" * 2030}  # 2034 of 2048 bytes: the mark does not fit
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS, Metadata=metadata)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"])))
    )

    assert_fallback(run.line)
    assert "leaves out note" in run.line["fallback"]
    assert keys(s3, bucket) == []
    destination = f"q/{bucket}/{key}"
    assert keys(s3, quarantine_bucket) == [destination]
    copy = s3.head_object(Bucket=quarantine_bucket, Key=destination)
    assert copy["Metadata"][ROUTED_MARK] == "malicious"
    assert "note" not in copy["Metadata"]
    assert row(dynamodb)["scan_action"] == {"S": "quarantine"}


def test_a_long_key_and_full_metadata_together(
    s3, versioned_bucket, quarantine_bucket, table, make_engine
) -> None:
    key = long_key(versioned_bucket)
    obj = upload(s3, versioned_bucket, key, body=BODY, tags=TAGS, Metadata={"a": "y" * 2040})
    message = scan_message(versioned_bucket, key, etag=obj["etag"])
    run = make_engine(**env(versioned_bucket))(sns_event(sns_record(message)))
    assert_fallback(run.line)
    assert versions_of(s3, versioned_bucket, key) == ([], [])
    (copy_key,) = keys(s3, quarantine_bucket)
    assert SHORT_KEYS in copy_key


def test_an_archived_object_that_cannot_be_copied_is_deleted_and_its_row_says_so(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, s3_calls
) -> None:
    key = "in/archived.exe"
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS)
    s3_calls.fail("CopyObject", "InvalidObjectState", 403)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"])))
    )

    assert_fallback(run.line)
    assert "InvalidObjectState" in run.line["fallback"]
    assert "deleted without a copy" in run.line["fallback"]
    assert keys(s3, bucket) == [] and keys(s3, quarantine_bucket) == []
    assert run.line["actions"].count("record") == 2  # quarantine first, then the truth: delete
    assert row(dynamodb)["scan_action"] == {"S": "delete"}
    assert (run.line["targets"][0]["action"], run.line["destination"]) == ("delete", None)


def test_a_copy_that_does_not_verify_is_deleted_without_a_copy(
    s3, versioned_bucket, quarantine_bucket, dynamodb, table, make_engine
) -> None:
    from post_scan import aws
    from post_scan.objects import ObjectGone

    class VanishingCopies(aws.S3Objects):
        def describe(self, bucket: str, key: str, **kwargs: Any):
            if bucket == "quarantine-bucket":
                raise ObjectGone("404")
            return super().describe(bucket, key, **kwargs)

    key = "in/x.exe"
    obj = upload(s3, versioned_bucket, key, body=BODY, tags=TAGS)
    engine = make_engine(s3_store=VanishingCopies(), **env(versioned_bucket))
    run = engine(sns_event(sns_record(scan_message(versioned_bucket, key, etag=obj["etag"]))))
    assert_fallback(run.line)
    assert "CopyVerificationError" in run.line["fallback"]
    assert versions_of(s3, versioned_bucket, key) == ([], [])
    assert row(dynamodb)["scan_action"] == {"S": "delete"}


def test_an_oversized_row_does_not_keep_the_malware(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    """DynamoDB ValidationException (item over 400 KB, here the application's own row is
    nearly full): no retry can record it, so the file is deleted and the failure reported."""
    dynamodb.put_item(TableName=table, Item={"file_id": {"S": "f-1"}, "blob": {"S": "b" * 404_900}})
    key = "in/big-row.exe"
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS="", DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"]))))

    assert_fallback(run.line)
    assert "ValidationException" in run.line["fallback"]
    assert "row was not updated" in run.line["fallback"]
    assert keys(s3, bucket) == []
    # (moto applies an UpdateItem attribute by attribute up to the limit; DynamoDB does not.)


def test_an_oversized_row_with_a_quarantine_route_still_moves_the_file(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine
) -> None:
    dynamodb.put_item(TableName=table, Item={"file_id": {"S": "f-1"}, "blob": {"S": "b" * 404_900}})
    obj = upload(s3, bucket, "a.exe", body=BODY, tags=TAGS)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"])))
    )
    assert_fallback(run.line)
    assert keys(s3, bucket) == [] and keys(s3, quarantine_bucket) == [f"q/{bucket}/a.exe"]


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("CopyObject", "AccessDenied", 403),
        ("CopyObject", "SlowDown", 503),
        ("HeadObject", "InternalError", 500),
    ],
)
def test_failures_a_retry_may_cure_still_fail_the_record_and_keep_the_file(
    s3, bucket, quarantine_bucket, table, make_engine, s3_calls, operation, code, status
) -> None:
    obj = upload(s3, bucket, "a.exe", body=BODY, tags=TAGS)
    s3_calls.fail(operation, code, status, after=1 if operation == "HeadObject" else 0)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"])))
    )
    assert isinstance(run.error, handler.RecordsFailed)
    assert (run.line["outcome"], run.line["FallbackActions"]) == ("error", 0)
    assert keys(s3, bucket) == ["a.exe"]


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException"])
def test_a_missing_table_or_permission_is_retried_not_fallen_back(
    s3, bucket, make_engine, code
) -> None:
    from botocore.exceptions import ClientError

    def refuse(request: dict[str, Any]) -> str:
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "UpdateItem")

    obj = upload(s3, bucket, "a.exe", body=BODY, tags=TAGS)
    engine = make_engine(
        send_update=refuse, **env(bucket, ROUTE_MALICIOUS="", DELETE_MALICIOUS="true")
    )
    run = engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))
    assert (run.line["outcome"], run.line["FallbackActions"]) == ("error", 0)
    assert keys(s3, bucket) == ["a.exe"]


def test_a_clean_file_whose_key_is_too_long_for_its_route_stays_and_fails(
    s3, bucket, promote_bucket, table, make_engine
) -> None:
    """No fallback for verdicts that are not malicious: the file stays where it is."""
    key = long_key(bucket)
    tags = {"file_id": "f-1", "fss-scan-result": "no issues found"}
    obj = upload(s3, bucket, key, body=b"clean", tags=tags)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS="", ROUTE_CLEAN="promote-bucket/p/"))
    run = engine(
        sns_event(sns_record(scan_message(bucket, key, verdict="clean", etag=obj["etag"])))
    )
    assert run.line["error"]["type"] == "RouteError"
    assert keys(s3, bucket) == [key] and keys(s3, promote_bucket) == []


def test_queue_mode_reports_a_fallback_as_handled_and_counts_it(
    s3, bucket, quarantine_bucket, table, make_engine
) -> None:
    """A fallback is not a failure the queue could retry: the file is already gone, a retry would
    end as object_gone. The FallbackActions metric (and its alarm) is how a human learns of it."""
    key = long_key(bucket)
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS)
    run = make_engine(**env(bucket))(
        sqs_event(sqs_record(scan_message(bucket, key, etag=obj["etag"]), message_id="q-1"))
    )
    assert run.result == {"batchItemFailures": []}
    assert_fallback(run.line)


def test_a_planned_fallback_that_is_superseded_is_not_counted(
    s3, bucket, quarantine_bucket, table, make_engine, s3_calls
) -> None:
    """The key was overwritten before the copy (412): nothing was made harmless by a fallback."""
    key = long_key(bucket)
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS)
    s3_calls.fail("CopyObject", "PreconditionFailed", 412)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"])))
    )
    assert (run.line["outcome"], run.line["FallbackActions"]) == ("superseded", 0)
    assert run.line["fallback"] is None
    assert keys(s3, bucket) == [key]
