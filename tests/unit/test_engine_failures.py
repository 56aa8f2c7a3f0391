"""Failure semantics: what raises (so Lambda retries and dead-letters), what succeeds."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from engine_kit import REGION, T0, scan_message, sns_event, sns_record, upload

from post_scan import aws, handler

KEY = "incoming/a b.exe"


def env(bucket: str, table: str | None = None, **more: str) -> dict[str, str]:
    base = {"ALLOWED_BUCKETS": bucket, "DELETE_MALICIOUS": "true", "EXTRACT_FILE_ID": "true"}
    return {**base, **({"FILE_ID_TABLE": table} if table else {}), **more}


def exists(s3, bucket: str, key: str = KEY) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents"))


def client_error(code: str, status: int, operation: str = "UpdateItem") -> ClientError:
    response = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {}}
    response["ResponseMetadata"]["HTTPStatusCode"] = status
    return ClientError(response, operation)


# --- recording fails: nothing is deleted, the invocation fails, a retry finds everything ------


def test_missing_table_deletes_nothing_and_fails(s3, bucket, dynamodb, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    event = sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    run = make_engine(**env(bucket, "app-files"))(event)
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["outcome"] == "error"
    assert run.line["error"]["type"] == "ResourceNotFoundException"
    assert run.line["actions"] == ["head", "read_tags", "read_source"]
    assert exists(s3, bucket)
    tags = s3.get_object_tagging(Bucket=bucket, Key=KEY)["TagSet"]
    assert {"Key": "file_id", "Value": "f-1"} in tags

    # The retry (after the table exists) still finds the file and its tag.
    dynamodb.create_table(
        TableName="app-files",
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    retry = make_engine(**env(bucket, "app-files"))(event)
    assert retry.error is None
    assert retry.line["actions"] == ["head", "read_tags", "read_source", "record", "delete"]
    assert not exists(s3, bucket)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDeniedException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
    ],
)
def test_any_other_recording_error_deletes_nothing_and_fails(
    s3, bucket, table, make_engine, code, status
) -> None:
    def refuse(request):
        raise client_error(code, status)

    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(send_update=refuse, **env(bucket, table))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert isinstance(run.error, handler.RecordsFailed)
    assert (run.line["outcome"], run.line["Errors"]) == ("error", 1)
    assert code in run.line["reason"]
    assert exists(s3, bucket)


# --- S3 errors, injected with botocore's Stubber at the aws.py boundary ------------------------


HEAD_OK = {"ETag": '"e1"', "LastModified": T0, "ContentLength": 68}


@pytest.fixture
def stubbed_s3():
    client = boto3.client("s3", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def stub_engine(make_engine, client, **settings):
    store = aws.S3Objects(client_factory=lambda: client)
    return make_engine(s3_store=store, send_update=lambda request: "recorded", **settings)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("AccessDenied", 403),
        ("403", 403),  # HEAD of a missing key without s3:ListBucket
    ],
)
def test_head_errors_that_a_retry_may_cure_raise(stubbed_s3, make_engine, code, status) -> None:
    client, stubber = stubbed_s3
    stubber.add_client_error("head_object", code, http_status_code=status)
    run = stub_engine(make_engine, client, **env("uploads-bucket"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["outcome"] == "error"


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("AccessDenied", 403)])
def test_tag_read_errors_raise(stubbed_s3, make_engine, code, status) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", HEAD_OK)
    stubber.add_client_error("get_object_tagging", code, http_status_code=status)
    run = stub_engine(make_engine, client, **env("uploads-bucket"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert run.line["outcome"] == "error"
    assert run.error is not None


@pytest.mark.parametrize(
    ("code", "status"), [("SlowDown", 503), ("AccessDenied", 403), ("OperationAborted", 409)]
)
def test_delete_errors_raise(stubbed_s3, make_engine, code, status) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", HEAD_OK)
    stubber.add_client_error("delete_object", code, http_status_code=status)
    run = stub_engine(make_engine, client, **env("uploads-bucket", EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert run.line["outcome"] == "error"
    assert run.error is not None


def test_conditional_delete_sends_the_quoted_etag(stubbed_s3, make_engine) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", HEAD_OK)
    stubber.add_response(
        "delete_object", {}, {"Bucket": "uploads-bucket", "Key": KEY, "IfMatch": '"e1"'}
    )
    run = stub_engine(make_engine, client, **env("uploads-bucket", EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert (run.error, run.line["actions"]) == (None, ["head", "delete"])


def test_object_gone_between_head_and_tag_read_is_success(stubbed_s3, make_engine) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", HEAD_OK)
    stubber.add_client_error("get_object_tagging", "NoSuchKey", http_status_code=404)
    run = stub_engine(make_engine, client, **env("uploads-bucket"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert run.error is None
    assert run.line["outcome"] == "object_gone"
    assert "NoSuchKey" in run.line["reason"]


def test_version_gone_before_its_delete_is_success(stubbed_s3, make_engine) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", {**HEAD_OK, "VersionId": "v1"})
    listed = {"Key": KEY, "VersionId": "v1", "ETag": '"e1"', "LastModified": T0, "Size": 68}
    stubber.add_response("list_object_versions", {"Versions": [listed], "IsTruncated": False})
    stubber.add_client_error("delete_object", "NoSuchVersion", http_status_code=404)
    run = stub_engine(make_engine, client, **env("uploads-bucket", EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert run.error is None
    assert run.line["outcome"] == "object_gone"


def test_conditional_delete_of_a_key_gone_meanwhile_is_success(stubbed_s3, make_engine) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", HEAD_OK)
    stubber.add_client_error("delete_object", "NoSuchKey", http_status_code=404)
    run = stub_engine(make_engine, client, **env("uploads-bucket", EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert (run.error, run.line["outcome"]) == (None, "object_gone")


def test_precondition_failed_from_s3_means_superseded(stubbed_s3, make_engine) -> None:
    client, stubber = stubbed_s3
    stubber.add_response("head_object", HEAD_OK)
    stubber.add_client_error("delete_object", "PreconditionFailed", http_status_code=412)
    run = stub_engine(make_engine, client, **env("uploads-bucket", EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert (run.error, run.line["outcome"]) == (None, "superseded")


def test_versions_listing_stops_after_the_key(stubbed_s3, make_engine) -> None:
    """Pagination is followed only while the listing is still on the key itself."""
    client, stubber = stubbed_s3
    when = HEAD_OK["LastModified"]
    version = {"ETag": '"e1"', "Size": 68, "LastModified": when, "IsLatest": False}
    stubber.add_response("head_object", {**HEAD_OK, "ETag": '"e9"', "VersionId": "v9"})
    stubber.add_response(
        "list_object_versions",
        {
            "IsTruncated": True,
            "NextKeyMarker": KEY,
            "NextVersionIdMarker": "v2",
            "Versions": [{**version, "Key": KEY, "VersionId": "v2", "ETag": '"e2"'}],
        },
        {"Bucket": "uploads-bucket", "Prefix": KEY},
    )
    stubber.add_response(
        "list_object_versions",
        {
            "IsTruncated": True,
            "NextKeyMarker": KEY + "-other",
            "NextVersionIdMarker": "x1",
            "Versions": [
                {**version, "Key": KEY, "VersionId": "v1"},
                {**version, "Key": KEY + "-other", "VersionId": "x1"},
            ],
        },
        {"Bucket": "uploads-bucket", "Prefix": KEY, "KeyMarker": KEY, "VersionIdMarker": "v2"},
    )
    # No route: the loop-protection mark would not count here, so v1 is not HEADed for it.
    stubber.add_response(
        "delete_object", {}, {"Bucket": "uploads-bucket", "Key": KEY, "VersionId": "v1"}
    )
    run = stub_engine(make_engine, client, **env("uploads-bucket", EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message("uploads-bucket", KEY, etag="e1")))
    )
    assert run.error is None, run.line
    assert run.line["actions"] == ["head", "list_versions", "delete"]


# --- real moto errors -----------------------------------------------------------------------


def test_missing_bucket_fails(moto_aws, make_engine) -> None:
    # moto answers HEAD with NoSuchBucket; real S3 sends a bare 404 for a HEAD, which reads the
    # same as a missing key. Either way nothing is deleted.
    run = make_engine(**env("no-such-bucket"))(
        sns_event(sns_record(scan_message("no-such-bucket", KEY, etag="e1")))
    )
    assert isinstance(run.error, handler.RecordsFailed)
    assert run.line["error"]["type"] == "NoSuchBucket"
