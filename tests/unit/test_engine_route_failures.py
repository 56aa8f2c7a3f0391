"""Routes when something goes wrong: the source is never lost, errors are loud, a retry works.

S3 errors are injected into the shared moto client with botocore event hooks (fixture s3_calls):
moto serves every other call, so the end state is real.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from boto3.s3.transfer import TransferConfig
from engine_kit import scan_message, sns_event, sns_record, upload, versions_of

from post_scan import aws, handler
from post_scan.objects import ObjectGone, StoredObject

KEY = "incoming/report 7.exe"
BODY = b"malicious bytes"
TAGS = {"file_id": "f-1", "fss-scan-result": "malicious"}
CLEAN_TAGS = {"file_id": "f-1", "fss-scan-result": "no issues found"}
MIB = 1024 * 1024


def env(source: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": source,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "ROUTE_MALICIOUS": "quarantine-bucket/q/",
        **more,
    }


def promote_env(source: str) -> dict[str, str]:
    """A clean route in move mode: a failure keeps the file where it is (no fallback)."""
    return {
        "ALLOWED_BUCKETS": source,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "RECORD_VERDICTS": "clean",
        "ROUTE_CLEAN": "promote-bucket/p/",
    }


def keys(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def source_intact(s3, bucket: str, key: str = KEY, tags: dict = TAGS) -> bool:
    got = s3.get_object(Bucket=bucket, Key=key)
    found = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return got["Body"].read() == BODY and {t["Key"]: t["Value"] for t in found} == tags


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDenied", 403), ("SlowDown", 503), ("InternalError", 500)],
)
def test_copy_failure_leaves_the_source_intact_and_a_retry_moves_it(
    s3, bucket, quarantine_bucket, table, make_engine, s3_calls, code, status
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    event = sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    engine = make_engine(**env(bucket))
    s3_calls.fail("CopyObject", code, status)

    run = engine(event)
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["outcome"] == "error"
    assert code in run.line["reason"]
    assert "delete" not in run.line["actions"]
    assert source_intact(s3, bucket)
    assert keys(s3, quarantine_bucket) == []

    retry = engine(event)
    assert retry.error is None, retry.line
    assert keys(s3, quarantine_bucket) == [f"q/{bucket}/{KEY}"]
    assert keys(s3, bucket) == []


def test_multipart_copy_failure_is_aborted_and_leaves_the_source_intact(
    s3, bucket, quarantine_bucket, table, make_engine, s3_calls
) -> None:
    data = b"\x00" * (11 * MIB)
    obj = upload(s3, bucket, KEY, body=data, tags=TAGS)
    store = aws.S3Objects(
        transfer_config=TransferConfig(
            multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=1
        )
    )
    s3_calls.fail("UploadPartCopy", "InternalError", 500, after=1)
    run = make_engine(s3_store=store, **env(bucket))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert isinstance(run.error, handler.RecordsFailed)
    assert "InternalError" in run.line["reason"]
    assert "AbortMultipartUpload" in s3_calls.names()
    assert s3.list_multipart_uploads(Bucket=quarantine_bucket).get("Uploads", []) == []
    assert keys(s3, quarantine_bucket) == []
    assert s3.head_object(Bucket=bucket, Key=KEY)["ContentLength"] == len(data)


class TamperedCopies(aws.S3Objects):
    """Reports a destination HEAD that differs from what S3 holds (a copy gone wrong)."""

    def __init__(self, destination_bucket: str, **changes) -> None:
        super().__init__()
        self._destination, self._changes = destination_bucket, changes

    def describe(self, bucket: str, key: str, **kwargs) -> StoredObject:
        found = super().describe(bucket, key, **kwargs)
        return replace(found, **self._changes) if bucket == self._destination else found


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"size": 3}, "size 3 != source size"),
        ({"etag": "0" * 32}, "ETag 000"),
        ({"metadata": {}}, "mark is missing"),
        ({"checksum": ("SHA256", "AAAA")}, "checksum ('SHA256', 'AAAA')"),
    ],
)
def test_a_copy_that_does_not_match_is_an_error_and_the_source_stays(
    s3, bucket, promote_bucket, table, make_engine, changes, problem
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=CLEAN_TAGS, ChecksumAlgorithm="SHA256")
    engine = make_engine(s3_store=TamperedCopies(promote_bucket, **changes), **promote_env(bucket))
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(message)))
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["error"]["type"] == "CopyVerificationError"
    assert problem in run.line["reason"]
    assert run.line["actions"][-1] == "copy"
    assert source_intact(s3, bucket, tags=CLEAN_TAGS)


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("SlowDown", 503)])
def test_delete_failure_after_the_copy_raises_and_a_retry_finishes(
    s3, bucket, quarantine_bucket, table, make_engine, s3_calls, code, status
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    event = sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    engine = make_engine(**env(bucket))
    s3_calls.fail("DeleteObject", code, status)

    run = engine(event)
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["actions"][-2:] == ["copy", "verify"]
    assert len(s3_calls.params("DeleteObject")) == 1
    assert code in run.line["reason"]
    assert source_intact(s3, bucket)
    assert keys(s3, quarantine_bucket) == [f"q/{bucket}/{KEY}"]

    retry = engine(event)
    assert retry.error is None, retry.line
    assert keys(s3, bucket) == []


def test_versioned_delete_failure_raises(
    s3, versioned_bucket, quarantine_bucket, table, make_engine, s3_calls
) -> None:
    obj = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS)
    s3_calls.fail("DeleteObject", "AccessDenied", 403)
    run = make_engine(**env(versioned_bucket))(
        sns_event(sns_record(scan_message(versioned_bucket, KEY, etag=obj["etag"])))
    )
    assert isinstance(run.error, handler.RecordsFailed)
    (delete_request,) = s3_calls.params("DeleteObject")
    assert delete_request["VersionId"] == obj["version_id"]
    versions, markers = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [obj["version_id"]] and markers == []


class OverwrittenBeforeTheCopy(aws.S3Objects):
    """Someone uploads to the key between locating the scanned object and copying it."""

    def __init__(self, s3) -> None:
        super().__init__()
        self._s3_client, self.done = s3, False

    def describe(self, bucket: str, key: str, **kwargs) -> StoredObject:
        if kwargs.get("checksums") and not self.done:
            self.done = True
            self._s3_client.put_object(Bucket=bucket, Key=key, Body=b"new clean upload")
        return super().describe(bucket, key, **kwargs)


def test_key_overwritten_before_the_copy_is_superseded_and_untouched(
    s3, bucket, quarantine_bucket, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    engine = make_engine(s3_store=OverwrittenBeforeTheCopy(s3), **env(bucket))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    assert run.line["outcome"] == "superseded"
    assert "copy" not in run.line["actions"]
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"new clean upload"
    assert keys(s3, quarantine_bucket) == []


def test_copy_refused_with_412_is_superseded_and_deletes_nothing(
    s3, bucket, quarantine_bucket, table, make_engine, s3_calls
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    s3_calls.fail("CopyObject", "PreconditionFailed", 412)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert (run.error, run.line["outcome"]) == (None, "superseded")
    assert "DeleteObject" not in s3_calls.names()
    assert source_intact(s3, bucket)


def test_scanned_version_gone_before_the_copy_is_object_gone(
    s3, versioned_bucket, quarantine_bucket, table, make_engine, s3_calls
) -> None:
    obj = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS)
    s3_calls.fail("CopyObject", "NoSuchVersion", 404)
    run = make_engine(**env(versioned_bucket))(
        sns_event(sns_record(scan_message(versioned_bucket, KEY, etag=obj["etag"])))
    )
    assert (run.error, run.line["outcome"]) == (None, "object_gone")
    assert "DeleteObject" not in s3_calls.names()


def test_destination_key_too_long_fails_before_any_s3_call(
    s3, bucket, make_engine, s3_calls
) -> None:
    """Without a fallback (here: copy mode, nothing is deleted) a key too long is an error."""
    key = "k" * (1024 - len(bucket) - 1)  # a valid source key; with q/ and the bucket: too long
    engine = make_engine(**env(bucket, ROUTE_MODE="copy"))
    run = engine(sns_event(sns_record(scan_message(bucket, key, etag="e1"))))
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["error"]["type"] == "RouteError"
    assert "1026 bytes" in run.line["reason"]
    assert s3_calls.calls == []


def test_no_room_for_the_mark_in_the_metadata_is_an_error(
    s3, bucket, promote_bucket, table, make_engine
) -> None:
    """Without a fallback (a clean file stays where it is) no room for the mark is an error."""
    obj = upload(s3, bucket, KEY, body=BODY, tags=CLEAN_TAGS, Metadata={"note": "x" * 2030})
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
    run = make_engine(**promote_env(bucket))(sns_event(sns_record(message)))
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["error"]["type"] == "RouteError"
    assert "fss-post-scan-routed" in run.line["reason"]
    assert s3.head_object(Bucket=bucket, Key=KEY)["ContentLength"] == len(BODY)
    assert keys(s3, promote_bucket) == []


class VanishedCopies(aws.S3Objects):
    """The copy call succeeds but the destination HEAD finds nothing."""

    def __init__(self, destination_bucket: str) -> None:
        super().__init__()
        self._destination = destination_bucket

    def describe(self, bucket: str, key: str, **kwargs) -> StoredObject:
        if bucket == self._destination:
            raise ObjectGone("404")
        return super().describe(bucket, key, **kwargs)


def test_a_copy_that_is_not_there_is_an_error_not_object_gone(
    s3, bucket, promote_bucket, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=CLEAN_TAGS)
    engine = make_engine(s3_store=VanishedCopies(promote_bucket), **promote_env(bucket))
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(message)))
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["error"]["type"] == "CopyVerificationError"
    assert "no object at s3://promote-bucket/" in run.line["reason"]
    assert source_intact(s3, bucket, tags=CLEAN_TAGS)
