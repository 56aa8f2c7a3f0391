"""Issue 10 items 5-8: uploads and messages shaped by an attacker, through the handler.

5. The tags used are the scanned content's tags (unversioned bucket, a re-upload between reads).
6. Re-uploads in the scan window cannot hide the scanned version (no ETag, versioned bucket).
7. Absurd timestamps fail before any AWS call, without expanding a huge exponent.
8. The loop-protection mark is trusted only where copies land, not under a bare prefix.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_kit import (
    EICAR_BODY,
    later,
    scan_message,
    sns_event,
    sns_record,
    upload,
    versions_of,
)

from post_scan import aws, handler
from post_scan.message import ScanMessageError

MALICIOUS_TAGS = {"file_id": "f-1", "fss-scan-result": "malicious"}
CLEAN_TAGS = {"file_id": "f-2", "fss-scan-result": "no issues found"}


def env(source: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": source,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "DELETE_MALICIOUS": "true",
        **more,
    }


def rows(dynamodb: Any) -> dict[str, dict[str, Any]]:
    items = dynamodb.scan(TableName="app-files")["Items"]
    return {item["file_id"]["S"]: item for item in items}


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


# --- 5. tags of the scanned content -----------------------------------------------------------


class ReuploadBeforeTheTagRead(aws.S3Objects):
    """Another upload lands on the key between the function's HEAD and its tag read."""

    def __init__(self, s3: Any, clock: Any, body: bytes, tags: dict[str, str]) -> None:
        super().__init__()
        self._client, self._clock, self._body, self._tags = s3, clock, body, tags
        self.done = False

    def tags(self, bucket: str, key: str, version_id: str | None) -> dict[str, str]:
        if not self.done:
            self.done = True
            self._clock.set(90)
            upload(self._client, bucket, key, body=self._body, tags=self._tags)
        return super().tags(bucket, key, version_id)


@pytest.mark.parametrize(
    "body", [b"a clean re-upload", EICAR_BODY], ids=["other bytes", "same bytes"]
)
@pytest.mark.parametrize(
    "more",
    [{}, {"DELETE_MALICIOUS": "false"}, {"ROUTE_MALICIOUS": "quarantine-bucket/q/"}],
    ids=["record+delete", "record only", "quarantine"],
)
def test_a_reupload_between_head_and_tag_read_never_gets_the_old_verdict(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, clock, body, more
) -> None:
    obj = upload(s3, bucket, "report.pdf", tags=MALICIOUS_TAGS)
    store = ReuploadBeforeTheTagRead(s3, clock, body, CLEAN_TAGS)
    engine = make_engine(s3_store=store, **env(bucket, **more))
    run = engine(sns_event(sns_record(scan_message(bucket, "report.pdf", etag=obj["etag"]))))

    assert store.done
    assert run.error is None, run.line
    assert run.line["outcome"] == "superseded"
    assert "f-2" not in rows(dynamodb), "the re-upload's row got the old upload's verdict"
    got = s3.get_object(Bucket=bucket, Key="report.pdf")
    assert got["Body"].read() == body  # the re-upload is untouched
    assert keys(s3, quarantine_bucket) == []


def test_without_a_reupload_the_tags_are_confirmed_by_a_second_head(
    s3, bucket, dynamodb, table, make_engine, s3_calls
) -> None:
    obj = upload(s3, bucket, "report.pdf", tags=MALICIOUS_TAGS)
    engine = make_engine(**env(bucket))
    s3_calls.calls.clear()
    run = engine(sns_event(sns_record(scan_message(bucket, "report.pdf", etag=obj["etag"]))))
    assert run.line["outcome"] == "processed"
    heads = s3_calls.params("HeadObject")
    assert len(heads) == 2 and heads[1]["IfMatch"] == f'"{obj["etag"]}"'
    assert s3_calls.names()[:3] == ["HeadObject", "GetObjectTagging", "HeadObject"]
    assert rows(dynamodb)["f-1"]["scan_verdict"] == {"S": "malicious"}


# --- 6. every candidate version is read -------------------------------------------------------


@pytest.mark.parametrize("reuploads", [11, 25])
def test_clean_reuploads_in_the_scan_window_cannot_hide_the_malicious_version(
    s3, versioned_bucket, dynamodb, table, make_engine, clock, reuploads
) -> None:
    malicious = upload(s3, versioned_bucket, "doc.bin", tags=MALICIOUS_TAGS)
    for i in range(reuploads):
        clock.set(1 + i * 0.5)  # all before the scan (T0 + 30)
        upload(
            s3,
            versioned_bucket,
            "doc.bin",
            body=f"clean {i}".encode(),
            tags={"file_id": f"c-{i}", "fss-scan-result": "no issues found"},
        )
    message = scan_message(versioned_bucket, "doc.bin", timestamp=later(30))  # no ETag
    run = make_engine(**env(versioned_bucket))(sns_event(sns_record(message)))

    assert run.error is None, run.line
    assert run.line["outcome"] == "processed", run.line["reason"]
    versions, _ = versions_of(s3, versioned_bucket, "doc.bin")
    assert malicious["version_id"] not in {v["VersionId"] for v in versions}
    assert len(versions) == reuploads
    assert rows(dynamodb)["f-1"]["scan_verdict"] == {"S": "malicious"}


# --- 7. absurd messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    ["9999-12-31T23:59:59Z", 253402300799, "2014-12-31T23:59:59Z", 4102444800, "1e-60000000"],
)
def test_an_absurd_timestamp_fails_before_any_aws_call(
    s3, bucket, dynamodb, table, make_engine, s3_calls, timestamp
) -> None:
    obj = upload(s3, bucket, "a.exe", tags=MALICIOUS_TAGS)
    sent: list[dict] = []
    engine = make_engine(send_update=sent.append, **env(bucket))
    message = scan_message(bucket, "a.exe", etag=obj["etag"], timestamp=0)
    body = sns_record(message)
    if timestamp == "1e-60000000":  # a JSON number with an absurd exponent, not a string
        body["Sns"]["Message"] = body["Sns"]["Message"].replace(
            '"timestamp": 0', f'"timestamp": {timestamp}'
        )
    else:
        message["timestamp"] = timestamp
        body = sns_record(message)
    s3_calls.calls.clear()
    run = engine(sns_event(body))

    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["error"]["type"] == ScanMessageError.__name__
    assert "timestamp" in run.line["reason"]
    assert s3_calls.calls == [] and sent == []
    # The row is not locked: the genuine verdict is recorded afterwards.
    genuine = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"])))
    )
    assert genuine.line["outcome"] == "processed"
    assert rows(dynamodb)["f-1"]["scan_verdict"] == {"S": "malicious"}


# --- 8. the loop mark ---------------------------------------------------------------------------


MARK = {"fss-post-scan-routed": "clean"}


@pytest.mark.parametrize("key", ["quarterly-report.xlsx", "q/report.xlsx", "qa/x.exe"])
def test_the_mark_under_a_bare_prefix_does_not_protect_an_upload(
    s3, bucket, dynamodb, table, make_engine, key
) -> None:
    """Route into the scanned bucket itself under prefix "q": only q<bucket>/... holds copies."""
    obj = upload(s3, bucket, key, tags=MALICIOUS_TAGS, Metadata=MARK)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS=f"{bucket}/q"))
    run = engine(sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"]))))
    assert run.error is None, run.line
    assert run.line["outcome"] == "processed", run.line["reason"]
    assert key not in keys(s3, bucket)
    assert f"q{bucket}/{key}" in keys(s3, bucket)
    assert rows(dynamodb)["f-1"]["scan_action"] == {"S": "quarantine"}


def test_a_copy_at_the_route_destination_is_still_skipped(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    key = f"q{bucket}/report.xlsx"
    obj = upload(s3, bucket, key, tags=MALICIOUS_TAGS, Metadata=MARK)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS=f"{bucket}/q"))
    run = engine(sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"]))))
    assert run.line["outcome"] == "skipped_own_copy"
    assert key in keys(s3, bucket)
