"""End to end through handle_event with moto: unversioned buckets, every URL form, the options."""

from __future__ import annotations

import pytest
from engine_kit import (
    OTHER_TOPIC_ARN,
    URL_FORMS,
    later,
    scan_message,
    sns_event,
    sns_record,
    upload,
)

from post_scan import aws, handler

KEY = "dir/sub dir/a b+c 100% ünï 日本.txt"


def env(bucket: str, table: str | None = None, **more: str) -> dict[str, str]:
    base = {"ALLOWED_BUCKETS": bucket, "DELETE_MALICIOUS": "true", "EXTRACT_FILE_ID": "true"}
    if table:
        base["FILE_ID_TABLE"] = table
    return {**base, **more}


def exists(s3, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents"))


def row(dynamodb, table: str, file_id: str = "f-1") -> dict | None:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": file_id}}).get("Item")


class NoS3:
    """An S3 store that fails the test on any use."""

    def __getattr__(self, name: str):
        raise AssertionError(f"unexpected S3 call: {name}")


@pytest.mark.parametrize("form", URL_FORMS)
@pytest.mark.parametrize("key", [KEY, "x?y#z&q=1.txt", "plus+and%2Bspace .bin"])
def test_malicious_upload_is_recorded_then_deleted_for_every_url_form(
    s3, bucket, dynamodb, table, make_engine, form, key
) -> None:
    obj = upload(s3, bucket, key, tags={"file_id": "f-1", "fss-scan-result": "malicious"})
    message = scan_message(bucket, key, etag=obj["etag"], url_form=form, message_id="m-1")
    run = make_engine(**env(bucket, table))(sns_event(sns_record(message)))
    assert run.error is None
    assert (run.line["outcome"], run.line["key"], run.line["file_id"]) == ("processed", key, "f-1")
    assert run.line["actions"] == ["head", "read_tags", "read_source", "record", "delete"]
    assert not exists(s3, bucket, key)
    stored = row(dynamodb, table)
    assert stored["scan_verdict"] == {"S": "malicious"}
    assert stored["scan_action"] == {"S": "delete"}
    assert stored["s3_key"] == {"S": key}
    assert stored["s3_bucket"] == {"S": bucket}
    assert stored["scan_message_id"] == {"S": "m-1"}
    assert "s3_version_id" not in stored


def test_without_etag_the_fss_tag_identifies_the_scanned_object(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1", "fss-scan-result": "malicious"})
    run = make_engine(**env(bucket, table))(sns_event(sns_record(scan_message(bucket, KEY))))
    assert run.line["outcome"] == "processed"
    # one tag read
    assert run.line["actions"] == ["head", "read_tags", "read_source", "record", "delete"]
    assert run.line["ambiguous"] is False
    assert not exists(s3, bucket, KEY)
    assert row(dynamodb, table)["scan_verdict"] == {"S": "malicious"}


def test_sse_kms_objects(s3, bucket, dynamodb, table, make_engine) -> None:
    import boto3

    kms_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    obj = upload(
        s3,
        bucket,
        KEY,
        tags={"file_id": "f-1"},
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=kms_key,
    )
    assert s3.head_object(Bucket=bucket, Key=KEY)["ServerSideEncryption"] == "aws:kms"
    run = make_engine(**env(bucket, table))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.line["outcome"] == "processed"
    assert not exists(s3, bucket, KEY)
    assert row(dynamodb, table)["scan_verdict"] == {"S": "malicious"}


def test_bucket_default_kms_encryption(s3, bucket, dynamodb, table, make_engine) -> None:
    import boto3

    kms_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": kms_key,
                    }
                }
            ]
        },
    )
    upload(s3, bucket, KEY, tags={"file_id": "f-1", "fss-scan-result": "malicious"})
    run = make_engine(**env(bucket, table))(sns_event(sns_record(scan_message(bucket, KEY))))
    assert run.line["outcome"] == "processed"
    assert not exists(s3, bucket, KEY)


@pytest.mark.parametrize("verdict", ["incomplete", "failed"])
def test_other_recorded_verdicts_are_never_deleted(
    s3, bucket, dynamodb, table, make_engine, verdict
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket, table))(
        sns_event(sns_record(scan_message(bucket, KEY, verdict=verdict, etag=obj["etag"])))
    )
    assert run.line["actions"] == ["head", "read_tags", "read_source", "record"]
    assert exists(s3, bucket, KEY)
    stored = row(dynamodb, table)
    assert (stored["scan_verdict"], stored["scan_action"]) == ({"S": verdict}, {"S": "none"})


def test_clean_is_recorded_only_when_listed(s3, bucket, dynamodb, table, make_engine) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1", "fss-scan-result": "no issues found"})
    # No ETag, unversioned: a benign verdict needs the scan's start (issue 19).
    message = scan_message(bucket, KEY, verdict="clean", scan_start_timestamp=later(20))
    run = make_engine(**env(bucket, table, RECORD_VERDICTS="clean,malicious"))(
        sns_event(sns_record(message))
    )
    assert run.line["actions"] == ["head", "read_tags", "read_source", "record"]
    assert row(dynamodb, table)["scan_verdict"] == {"S": "clean"}
    assert exists(s3, bucket, KEY)


@pytest.mark.parametrize(
    ("verdict", "settings"),
    [
        ("clean", {}),  # clean is not in the default RECORD_VERDICTS
        ("failed", {"RECORD_VERDICTS": "malicious"}),
        ("malicious", {"DELETE_MALICIOUS": "false", "EXTRACT_FILE_ID": "false"}),
        ("incomplete", {"EXTRACT_FILE_ID": "false"}),
        ("malicious", {"DELETE_MALICIOUS": "false", "RECORD_VERDICTS": ""}),
    ],
)
def test_nothing_to_do_makes_no_s3_call(bucket, table, make_engine, verdict, settings) -> None:
    engine = make_engine(s3_store=NoS3(), **env(bucket, table, **settings))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, verdict=verdict))))
    assert run.error is None
    assert (run.line["outcome"], run.line["actions"]) == ("processed", [])
    assert run.line["reason"] == f"no action configured for verdict {verdict}"


def test_record_only_keeps_the_file(s3, bucket, dynamodb, table, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket, table, DELETE_MALICIOUS="false"))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.line["actions"] == ["head", "read_tags", "read_source", "record"]
    assert exists(s3, bucket, KEY)
    assert row(dynamodb, table)["scan_action"] == {"S": "none"}


def test_delete_only_reads_no_tags_when_the_etag_is_known(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket, table, EXTRACT_FILE_ID="false"))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.line["actions"] == ["head", "delete"]
    assert run.line["file_id"] is None
    assert not exists(s3, bucket, KEY)
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_log_only_without_a_table(s3, bucket, dynamodb, table, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket, DELETE_MALICIOUS="false"))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.line["file_id"] == "f-1"
    assert run.line["actions"] == ["head", "read_tags", "read_source"]
    assert "logged only" in run.line["reason"]
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_custom_tag_and_table_key(s3, bucket, dynamodb, make_engine) -> None:
    dynamodb.create_table(
        TableName="docs",
        KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    obj = upload(s3, bucket, KEY, tags={"document": "d-9", "file_id": "wrong"})
    engine = make_engine(
        **env(bucket, "docs", FILE_ID_TAG_KEY="document", FILE_ID_TABLE_KEY="doc_id")
    )
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.line["file_id"] == "d-9"
    item = dynamodb.get_item(TableName="docs", Key={"doc_id": {"S": "d-9"}})["Item"]
    assert item["scan_verdict"] == {"S": "malicious"}


@pytest.mark.parametrize("tags", [None, {"file_id": ""}, {"other": "x"}])
def test_missing_file_id_tag_records_nothing_but_still_deletes(
    s3, bucket, dynamodb, table, make_engine, tags
) -> None:
    obj = upload(s3, bucket, KEY, tags=tags)
    run = make_engine(**env(bucket, table))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    line = run.line
    assert (line["file_id"], line["FileIdMissing"]) == (None, 1)
    assert "no file_id tag" in line["reason"]
    assert line["actions"] == ["head", "read_tags", "read_source", "delete"]
    assert dynamodb.scan(TableName=table)["Items"] == []
    assert not exists(s3, bucket, KEY)


def test_key_overwritten_by_a_new_upload_is_left_alone(
    s3, bucket, dynamodb, table, make_engine, clock
) -> None:
    scanned = upload(s3, bucket, KEY, body=b"malicious bytes", tags={"file_id": "f-1"})
    clock.set(40)
    upload(s3, bucket, KEY, body=b"the new upload", tags={"file_id": "f-2"})
    run = make_engine(**env(bucket, table))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=scanned["etag"])))
    )
    assert run.error is None
    assert run.line["outcome"] == "superseded"
    assert "different upload" in run.line["reason"]
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"the new upload"
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_without_etag_a_newer_upload_is_left_alone(
    s3, bucket, dynamodb, table, make_engine, clock
) -> None:
    upload(s3, bucket, KEY, body=b"malicious", tags={"file_id": "f-1"})
    clock.set(40)
    upload(s3, bucket, KEY, body=b"new", tags={"file_id": "f-2"})
    run = make_engine(**env(bucket, table))(
        sns_event(sns_record(scan_message(bucket, KEY, timestamp=later(30))))
    )
    assert run.line["outcome"] == "superseded"
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"new"


class UploadBeforeDelete(aws.S3Objects):
    """A new upload lands between locating the object and the conditional delete."""

    def __init__(self, s3, body: bytes) -> None:
        super().__init__()
        self._setup_s3, self._body = s3, body

    def delete_if_match(self, bucket: str, key: str, etag: str) -> str:
        upload(self._setup_s3, bucket, key, body=self._body, tags={"file_id": "f-2"})
        return super().delete_if_match(bucket, key, etag)


def test_conditional_delete_leaves_an_upload_that_raced_in(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(s3_store=UploadBeforeDelete(s3, b"raced in"), **env(bucket, table))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None
    assert run.line["outcome"] == "superseded"
    assert "left it alone" in run.line["reason"]
    assert "delete" not in run.line["actions"]
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"raced in"
    assert row(dynamodb, table)["scan_verdict"] == {"S": "malicious"}  # recorded first


def test_duplicate_delivery_has_the_same_end_state(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    record = sns_record(scan_message(bucket, KEY, etag=obj["etag"]))
    engine = make_engine(**env(bucket, table))
    first = engine(sns_event(record))
    state = row(dynamodb, table)
    second = engine(sns_event(record))
    assert (first.error, second.error) == (None, None)
    assert second.line["outcome"] == "object_gone"
    assert second.line["actions"] == ["head"]
    assert row(dynamodb, table) == state
    assert not exists(s3, bucket, KEY)


def test_out_of_order_result_keeps_the_newer_verdict(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(**env(bucket, table, RECORD_VERDICTS="malicious,clean"))
    newer = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"], timestamp=later(90))
    older = scan_message(bucket, KEY, verdict="malicious", etag=obj["etag"], timestamp=later(30))
    assert engine(sns_event(sns_record(newer))).line["outcome"] == "processed"
    run = engine(sns_event(sns_record(older)))
    assert run.error is None
    assert run.line["outcome"] == "stale_verdict"
    assert "newer verdict" in run.line["reason"]
    assert row(dynamodb, table)["scan_verdict"] == {"S": "clean"}
    assert row(dynamodb, table)["scan_timestamp"] == {"N": str(later(90))}
    # The older result still applies to the object: the pipeline goes on to delete.
    assert run.line["actions"][-1] == "delete"


def test_dry_run_writes_and_deletes_nothing_and_says_what_it_would_do(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket, table, DRY_RUN="true"))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    line = run.line
    assert line["dry_run"] is True
    assert line["actions"] == ["head", "read_tags", "read_source", "would_record", "would_delete"]
    assert "dry run: would record malicious for file_id f-1" in line["reason"]
    assert f"dry run: would delete the object with ETag {obj['etag']}" in line["reason"]
    assert (line["ObjectsDeleted"], line["VerdictsRecorded"]) == (0, 0)
    assert exists(s3, bucket, KEY)
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_upsert_off(s3, bucket, dynamodb, table, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(**env(bucket, table, FILE_ID_TABLE_UPSERT="false"))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None
    assert run.line["outcome"] == "row_missing"
    assert row(dynamodb, table) is None
    assert not exists(s3, bucket, KEY)  # the delete still happens

    dynamodb.put_item(TableName=table, Item={"file_id": {"S": "f-2"}, "owner": {"S": "bob"}})
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-2"})
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.line["outcome"] == "processed"
    assert row(dynamodb, table, "f-2")["owner"] == {"S": "bob"}
    assert row(dynamodb, table, "f-2")["scan_verdict"] == {"S": "malicious"}


def test_application_row_attributes_survive(s3, bucket, dynamodb, table, make_engine) -> None:
    app = {"file_id": {"S": "f-1"}, "owner": {"S": "alice"}, "status": {"S": "uploaded"}}
    dynamodb.put_item(TableName=table, Item=app)
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    make_engine(**env(bucket, table))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    stored = row(dynamodb, table)
    assert {k: stored[k] for k in app} == app


def test_topic_guard(s3, bucket, table, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    message = scan_message(bucket, KEY, etag=obj["etag"])
    engine = make_engine(**env(bucket, table, ALLOWED_TOPIC_ARNS=OTHER_TOPIC_ARN))
    run = engine(sns_event(sns_record(message)))
    assert run.error is None
    assert (run.line["outcome"], run.line["actions"], run.line["Rejected"]) == ("rejected", [], 1)
    assert "ALLOWED_TOPIC_ARNS" in run.line["reason"]
    assert exists(s3, bucket, KEY)
    assert engine(sns_event(sns_record(message, OTHER_TOPIC_ARN))).line["outcome"] == "processed"


def test_bucket_guard(s3, bucket, table, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    message = scan_message(bucket, KEY, etag=obj["etag"])
    for allowed in ["", "other-bucket"]:
        run = make_engine(**env(allowed, table))(sns_event(sns_record(message)))
        assert run.error is None
        assert (run.line["outcome"], run.line["actions"]) == ("rejected", [])
        assert "ALLOWED_BUCKETS" in run.line["reason"]
        assert exists(s3, bucket, KEY)
    run = make_engine(**env("*", table))(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed"


def test_object_already_gone_is_success(s3, bucket, table, make_engine) -> None:
    run = make_engine(**env(bucket, table))(sns_event(sns_record(scan_message(bucket, KEY))))
    assert run.error is None
    assert (run.line["outcome"], run.line["ObjectGone"]) == ("object_gone", 1)


def test_one_bad_record_does_not_stop_the_others(s3, bucket, dynamodb, table, make_engine) -> None:
    first = upload(s3, bucket, "first.txt", tags={"file_id": "f-1"})
    second = upload(s3, bucket, "second.txt", tags={"file_id": "f-2"})
    event = sns_event(
        sns_record(scan_message(bucket, "first.txt", etag=first["etag"])),
        sns_record("this is not JSON"),
        sns_record(str({"scanning_result": {"foundMalwares": ["Eicar"]}})),
        sns_record(scan_message(bucket, "second.txt", etag=second["etag"])),
    )
    run = make_engine(**env(bucket, table))(event)
    assert isinstance(run.error, handler.RecordsFailed)
    assert "2 of 4" in str(run.error)
    assert [line["outcome"] for line in run.lines] == ["processed", "error", "error", "processed"]
    assert run.lines[1]["error"]["type"] == "ScanMessageError"
    assert run.lines[1]["Verdict"] == "unparsed"
    assert not exists(s3, bucket, "first.txt")
    assert not exists(s3, bucket, "second.txt")
    assert row(dynamodb, table, "f-2") is not None


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}, None])
def test_event_without_records_fails(bucket, make_engine, event) -> None:
    run = make_engine(**env(bucket))(event)
    assert run.error is not None
    assert run.line["outcome"] == "error"
