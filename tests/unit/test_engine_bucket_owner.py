"""Issue 10 item 9: every S3 request names the account that must own its bucket.

moto ignores ExpectedBucketOwner, so BucketOwners (below) plays S3's part on the shared client:
it records every request's headers as sent and refuses, with 403 AccessDenied as S3 does, one
whose x-amz-expected-bucket-owner (or, on copies, x-amz-source-expected-bucket-owner) names
another account than the bucket's owner. Requests made by s3transfer (multipart copies, their
abort) and by the ListObjectVersions paginator are checked too.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest
from boto3.s3.transfer import TransferConfig
from engine_kit import ACCOUNT, scan_message, sns_event, sns_record, upload, versions_of

from post_scan import aws, handler
from post_scan.config import ConfigError, load_config

OTHER = "210987654321"  # the account a cross-account quarantine bucket belongs to
SQUATTER = "999999999999"  # whoever registered a deleted bucket's name again
TAGS = {"file_id": "f-1", "fss-scan-result": "malicious"}
MIB = 1024 * 1024
OWNER = "x-amz-expected-bucket-owner"
SOURCE_OWNER = "x-amz-source-expected-bucket-owner"


class BucketOwners:
    """S3's bucket owner condition, emulated on a botocore client (see the module docstring)."""

    def __init__(self, client: Any) -> None:
        self._events = client.meta.events
        self.owners: dict[str, str] = {}  # bucket -> owning account (default: ACCOUNT)
        self.requests: list[SimpleNamespace] = []
        self._events.register("provide-client-params.s3", self._buckets)
        self._events.register_first("before-call.s3", self._check)

    def close(self) -> None:
        self._events.unregister("provide-client-params.s3", self._buckets)
        self._events.unregister("before-call.s3", self._check)

    def _buckets(self, params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["test-bucket"] = params.get("Bucket")
        source = params.get("CopySource")
        if isinstance(source, str):
            source = {"Bucket": unquote(source.split("/", 1)[0])}
        context["test-source"] = source.get("Bucket") if isinstance(source, dict) else None

    def _check(self, model: Any, params: dict[str, Any], context: dict[str, Any], **kw: Any) -> Any:
        headers = {k.lower(): v for k, v in params["headers"].items()}
        request = SimpleNamespace(
            operation=model.name,
            bucket=context.get("test-bucket"),
            source=context.get("test-source"),
            owner=headers.get(OWNER),
            source_owner=headers.get(SOURCE_OWNER),
        )
        self.requests.append(request)
        refused = request.owner is not None and request.owner != self._owner(request.bucket)
        if request.source is not None and request.source_owner is not None:
            refused = refused or request.source_owner != self._owner(request.source)
        if not refused:
            return None
        error = {"Code": "AccessDenied", "Message": "Access Denied (bucket owner condition)"}
        response = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403, "HTTPHeaders": {}}}
        return SimpleNamespace(status_code=403, headers={}), response

    def _owner(self, bucket: str | None) -> str:
        return self.owners.get(bucket or "", ACCOUNT)

    def assert_every_request_names_its_owners(self) -> None:
        assert self.requests, "no S3 request was made"
        for request in self.requests:
            expected = self._owner(request.bucket)
            assert request.owner == expected, request
            if request.operation in ("CopyObject", "UploadPartCopy"):
                assert request.source_owner == self._owner(request.source), request

    @property
    def operations(self) -> set[str]:
        return {request.operation for request in self.requests}


@pytest.fixture
def owners(s3: Any) -> Iterator[BucketOwners]:
    emulator = BucketOwners(s3)
    yield emulator
    emulator.close()


def env(source: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": source,
        "EXPECTED_BUCKET_OWNER": ACCOUNT,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "ROUTE_MALICIOUS": "quarantine-bucket/q/",
        **more,
    }


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_every_request_of_a_move_to_a_cross_account_quarantine(
    s3, bucket, quarantine_bucket, table, make_engine, owners
) -> None:
    owners.owners["quarantine-bucket"] = OTHER
    obj = upload(s3, bucket, "a.exe", tags=TAGS)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS_BUCKET_OWNER=OTHER))
    owners.requests.clear()  # only the function's requests
    run = engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))

    assert run.error is None, run.line
    assert {"HeadObject", "GetObjectTagging", "CopyObject", "DeleteObject"} <= owners.operations
    owners.assert_every_request_names_its_owners()
    assert keys(s3, bucket) == [] and keys(s3, quarantine_bucket) == [f"q/{bucket}/a.exe"]


def test_every_request_of_a_versioned_lookup_through_the_paginator(
    s3, versioned_bucket, table, make_engine, owners, clock
) -> None:
    scanned = upload(s3, versioned_bucket, "v.exe", tags=TAGS)
    clock.set(60)
    upload(s3, versioned_bucket, "v.exe", body=b"newer", tags={"file_id": "f-2"})
    engine = make_engine(**env(versioned_bucket, ROUTE_MALICIOUS="", DELETE_MALICIOUS="true"))
    message = scan_message(versioned_bucket, "v.exe")  # no ETag: listing and tag reads
    owners.requests.clear()
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert "ListObjectVersions" in owners.operations
    owners.assert_every_request_names_its_owners()
    versions, _ = versions_of(s3, versioned_bucket, "v.exe")
    assert scanned["version_id"] not in {v["VersionId"] for v in versions}


def test_every_request_of_a_multipart_copy_and_of_its_abort(
    s3, bucket, quarantine_bucket, table, make_engine, owners, s3_calls
) -> None:
    owners.owners["quarantine-bucket"] = OTHER
    store = aws.S3Objects(
        transfer_config=TransferConfig(
            multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=1
        ),
        owner_of=load_config(env(bucket, ROUTE_MALICIOUS_BUCKET_OWNER=OTHER)).bucket_owner,
    )
    obj = upload(s3, bucket, "big.iso", body=b"\0" * (11 * MIB), tags=TAGS)
    event = sns_event(sns_record(scan_message(bucket, "big.iso", etag=obj["etag"])))
    engine = make_engine(s3_store=store, **env(bucket, ROUTE_MALICIOUS_BUCKET_OWNER=OTHER))

    s3_calls.fail("UploadPartCopy", "InternalError", 500, after=1)
    owners.requests.clear()
    failed = engine(event)
    assert isinstance(failed.error, handler.RecordsFailed)
    assert "AbortMultipartUpload" in owners.operations

    moved = engine(event)
    assert moved.error is None, moved.line
    multipart = {"CreateMultipartUpload", "UploadPartCopy", "CompleteMultipartUpload"}
    assert multipart <= owners.operations
    owners.assert_every_request_names_its_owners()
    assert keys(s3, quarantine_bucket) == [f"q/{bucket}/big.iso"]


def test_a_destination_registered_again_by_another_account_receives_nothing(
    s3, bucket, quarantine_bucket, table, make_engine, owners
) -> None:
    """The quarantine bucket was deleted and its name registered by someone else."""
    owners.owners["quarantine-bucket"] = SQUATTER
    obj = upload(s3, bucket, "a.exe", tags=TAGS)
    engine = make_engine(**env(bucket))
    owners.requests.clear()
    run = engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))
    assert isinstance(run.error, handler.RecordsFailed)
    assert "AccessDenied" in run.line["reason"]
    assert keys(s3, quarantine_bucket) == []  # no customer file reached the squatter
    assert keys(s3, bucket) == ["a.exe"]  # kept, for the retry once the route is fixed
    assert run.line["FallbackActions"] == 0


def test_a_scanned_bucket_registered_again_by_another_account_is_not_touched(
    s3, bucket, table, make_engine, owners
) -> None:
    owners.owners[bucket] = SQUATTER
    obj = upload(s3, bucket, "a.exe", tags=TAGS)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS="", DELETE_MALICIOUS="true"))
    owners.requests.clear()
    run = engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))
    assert isinstance(run.error, handler.RecordsFailed)
    assert [r.operation for r in owners.requests] == ["HeadObject"]


def test_without_expected_bucket_owner_no_condition_is_sent(
    s3, bucket, quarantine_bucket, table, make_engine, owners
) -> None:
    """Plain-Python use: EXPECTED_BUCKET_OWNER empty sends no condition (the module sets it)."""
    obj = upload(s3, bucket, "a.exe", tags=TAGS)
    engine = make_engine(**env(bucket, EXPECTED_BUCKET_OWNER=""))
    owners.requests.clear()
    run = engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))
    assert run.error is None, run.line
    assert {(r.owner, r.source_owner) for r in owners.requests} == {(None, None)}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"EXPECTED_BUCKET_OWNER": "12345"}, "EXPECTED_BUCKET_OWNER must be a 12-digit"),
        ({"EXPECTED_BUCKET_OWNER": "arn:aws:iam::123456789012:root"}, "12-digit"),
        (
            {"ROUTE_MALICIOUS_BUCKET_OWNER": "123456789012"},
            "ROUTE_MALICIOUS_BUCKET_OWNER is set but ROUTE_MALICIOUS is empty",
        ),
        (
            {"ROUTE_CLEAN": "qqq", "ROUTE_CLEAN_BUCKET_OWNER": "1234567890123"},
            "ROUTE_CLEAN_BUCKET_OWNER must be a 12-digit",
        ),
        (
            {
                "ALLOWED_BUCKETS": "uploads",
                "EXPECTED_BUCKET_OWNER": ACCOUNT,
                "ROUTE_MALICIOUS": "uploads/q/",
                "ROUTE_MALICIOUS_BUCKET_OWNER": OTHER,
            },
            "is a scanned bucket",
        ),
        (
            {
                "ROUTE_MALICIOUS": "qqq",
                "ROUTE_MALICIOUS_BUCKET_OWNER": OTHER,
                "ROUTE_FAILED": "qqq/failed/",
            },
            "same bucket",
        ),
        (
            # '*': every bucket is a scanned bucket, the destination too; another owner would
            # lift the EXPECTED_BUCKET_OWNER condition from the scanned objects named in it.
            {
                "ALLOWED_BUCKETS": "*",
                "EXPECTED_BUCKET_OWNER": ACCOUNT,
                "ROUTE_MALICIOUS": "quarantine/q/",
                "ROUTE_MALICIOUS_BUCKET_OWNER": OTHER,
            },
            "is a scanned bucket",
        ),
    ],
)
def test_owner_variables_are_checked_at_cold_start(environ: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(environ)


def test_route_owner_defaults_to_the_expected_owner() -> None:
    config = load_config(
        {
            "ALLOWED_BUCKETS": "uploads",
            "EXPECTED_BUCKET_OWNER": ACCOUNT,
            "ROUTE_MALICIOUS": "qqq",
            "ROUTE_CLEAN": "promoted",
            "ROUTE_CLEAN_BUCKET_OWNER": OTHER,
        }
    )
    assert [config.bucket_owner(b) for b in ("uploads", "qqq", "promoted", "any")] == [
        ACCOUNT,
        ACCOUNT,
        OTHER,
        ACCOUNT,
    ]
