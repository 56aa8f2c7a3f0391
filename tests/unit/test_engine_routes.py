"""Routes end to end with moto: quarantine / promote copies of exactly the scanned content.

Pipeline order: locate -> record -> copy -> verify -> delete the source (move mode, or
DELETE_MALICIOUS for malicious files). The copy carries the source's headers, metadata, storage
class, checksum and tags, plus the scan result in its metadata and the loop-protection mark.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from boto3.s3.transfer import TransferConfig
from engine_kit import later, scan_message, sns_event, sns_record, upload, versions_of

from emulator import fss
from post_scan import aws
from post_scan.route import ROUTED_MARK, metadata_size

KEY = "inbox/2024/invoice 42+final ü.pdf"
BODY = fss.eicar()
TAGS = {"file_id": "f-1", "fss-scan-result": "malicious"}
MIB = 1024 * 1024


def env(source: str, table: str | None = "app-files", **more: str) -> dict[str, str]:
    base = {"ALLOWED_BUCKETS": source, "EXTRACT_FILE_ID": "true"}
    if table:
        base["FILE_ID_TABLE"] = table
    return {**base, "ROUTE_MALICIOUS": "quarantine-bucket/q/", **more}


def quarantined(source: str, key: str = KEY) -> str:
    return f"q/{source}/{key}"


def exists(s3, bucket: str, key: str) -> bool:
    return any(o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def keys(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def body(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def row(dynamodb, table: str, file_id: str = "f-1") -> dict | None:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": file_id}}).get("Item")


def tags_of(s3, bucket: str, key: str, version_id: str | None = None) -> dict[str, str]:
    extra = {"VersionId": version_id} if version_id else {}
    tag_set = s3.get_object_tagging(Bucket=bucket, Key=key, **extra)["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


# --- move to quarantine -----------------------------------------------------------------------


def test_malicious_upload_is_moved_to_quarantine(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, s3_calls
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    message = scan_message(bucket, KEY, etag=obj["etag"], message_id="m-1")
    run = make_engine(**env(bucket))(sns_event(sns_record(message)))

    assert run.error is None, run.line
    line = run.line
    assert line["outcome"] == "processed"
    assert line["actions"] == [
        "head",
        "read_tags",
        "read_source",
        "record",
        "copy",
        "verify",
        "delete",
    ]
    destination = quarantined(bucket)
    assert line["destination"] == f"s3://{quarantine_bucket}/{destination}"
    assert (line["ObjectsRouted"], line["ObjectsDeleted"]) == (1, 1)
    assert body(s3, quarantine_bucket, destination) == BODY
    assert not exists(s3, bucket, KEY)
    # Unversioned source: the copy is guarded by the scanned ETag.
    (copy_request,) = s3_calls.params("CopyObject")
    assert copy_request["CopySourceIfMatch"] == f'"{obj["etag"]}"'
    assert copy_request["CopySource"] == {"Bucket": bucket, "Key": KEY}
    stored = row(dynamodb, table)
    assert stored["scan_action"] == {"S": "quarantine"}
    assert stored["scan_destination"] == {"S": f"s3://{quarantine_bucket}/{destination}"}
    assert stored["s3_key"] == {"S": KEY}


def test_versioned_source_copies_the_scanned_version_not_the_newer_upload(
    s3, versioned_bucket, quarantine_bucket, dynamodb, table, make_engine, clock, s3_calls
) -> None:
    older = upload(s3, versioned_bucket, KEY, body=b"older clean", tags={"file_id": "f-1"})
    clock.set(10)
    scanned = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS)
    clock.set(60)  # uploaded after the scan (T0 + 30)
    newer = upload(s3, versioned_bucket, KEY, body=b"newer clean", tags={"file_id": "f-1"})
    message = scan_message(versioned_bucket, KEY, etag=scanned["etag"], timestamp=later(30))
    run = make_engine(**env(versioned_bucket))(sns_event(sns_record(message)))

    assert run.error is None, run.line
    assert run.line["actions"] == [
        "head",
        "list_versions",
        "read_tags",
        "read_source",
        "record",
        "copy",
        "verify",
        "delete",
    ]
    destination = quarantined(versioned_bucket)
    assert body(s3, quarantine_bucket, destination) == BODY
    (copy_request,) = s3_calls.params("CopyObject")
    assert copy_request["CopySource"] == {
        "Bucket": versioned_bucket,
        "Key": KEY,
        "VersionId": scanned["version_id"],
    }
    assert "CopySourceIfMatch" not in copy_request  # a version id is exact already
    versions, markers = versions_of(s3, versioned_bucket, KEY)
    assert markers == [], "the scanned version must be deleted, not hidden"
    assert [v["VersionId"] for v in versions] == [newer["version_id"], older["version_id"]]
    head = s3.head_object(Bucket=quarantine_bucket, Key=destination)
    assert head["Metadata"]["fss-post-scan-source-version-id"] == scanned["version_id"]
    assert tags_of(s3, quarantine_bucket, destination) == TAGS
    assert row(dynamodb, table)["s3_version_id"] == {"S": scanned["version_id"]}


def test_copy_mode_keeps_the_source(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    run = make_engine(**env(bucket, ROUTE_MODE="copy"))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.line["actions"][-2:] == ["copy", "verify"]
    assert body(s3, quarantine_bucket, quarantined(bucket)) == BODY
    assert body(s3, bucket, KEY) == BODY
    assert row(dynamodb, table)["scan_action"] == {"S": "quarantine"}


def test_copy_mode_with_delete_malicious_still_deletes_the_source(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    engine = make_engine(**env(bucket, table=None, ROUTE_MODE="copy", DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.line["actions"][-3:] == ["copy", "verify", "delete"]
    assert body(s3, quarantine_bucket, quarantined(bucket)) == BODY
    assert not exists(s3, bucket, KEY)


def test_clean_files_are_promoted(s3, bucket, promote_bucket, dynamodb, make_engine) -> None:
    obj = upload(s3, bucket, KEY, body=b"harmless", tags={"file_id": "f-1"})
    dynamodb.create_table(
        TableName="app-files",
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    engine = make_engine(
        **env(bucket, ROUTE_MALICIOUS="", ROUTE_CLEAN=promote_bucket, RECORD_VERDICTS="clean")
    )
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert body(s3, promote_bucket, f"{bucket}/{KEY}") == b"harmless"
    assert not exists(s3, bucket, KEY)
    stored = row(dynamodb, "app-files")
    assert stored["scan_action"] == {"S": "promote"}
    assert stored["scan_destination"] == {"S": f"s3://{promote_bucket}/{bucket}/{KEY}"}


def test_prefix_is_used_as_given(s3, bucket, quarantine_bucket, make_engine) -> None:
    obj = upload(s3, bucket, "a.exe", body=BODY, tags=TAGS)
    engine = make_engine(**env(bucket, table=None, ROUTE_MALICIOUS=f"{quarantine_bucket}/held-"))
    engine(sns_event(sns_record(scan_message(bucket, "a.exe", etag=obj["etag"]))))
    assert keys(s3, quarantine_bucket) == [f"held-{bucket}/a.exe"]


# --- what the copy carries --------------------------------------------------------------------


def test_copy_keeps_headers_metadata_storage_class_checksum_and_adds_the_scan_result(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    obj = upload(
        s3,
        bucket,
        KEY,
        body=BODY,
        tags=TAGS,
        ContentType="application/pdf",
        CacheControl="no-store",
        ContentDisposition='attachment; filename="invoice.pdf"',
        ContentEncoding="identity",
        ContentLanguage="de-CH",
        Expires=expires,
        Metadata={"uploaded-by": "user-7", "origin": "web"},
        StorageClass="STANDARD_IA",
        ChecksumAlgorithm="SHA256",
    )
    obj_checksum = s3.head_object(Bucket=bucket, Key=KEY, ChecksumMode="ENABLED")["ChecksumSHA256"]
    message = scan_message(bucket, KEY, etag=obj["etag"], message_id="m-42")
    run = make_engine(**env(bucket, table=None))(sns_event(sns_record(message)))
    assert run.error is None, run.line

    destination = quarantined(bucket)
    head = s3.head_object(Bucket=quarantine_bucket, Key=destination, ChecksumMode="ENABLED")
    assert head["ContentType"] == "application/pdf"
    assert head["CacheControl"] == "no-store"
    assert head["ContentDisposition"] == 'attachment; filename="invoice.pdf"'
    assert head["ContentEncoding"] == "identity"
    assert head["ContentLanguage"] == "de-CH"
    assert head["Expires"] == expires
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ChecksumSHA256"] == obj_checksum
    assert head["ETag"].strip('"') == obj["etag"]
    metadata = head["Metadata"]
    assert metadata["uploaded-by"] == "user-7" and metadata["origin"] == "web"
    assert metadata[ROUTED_MARK] == "malicious"
    assert metadata["fss-post-scan-message-id"] == "m-42"
    assert metadata["fss-post-scan-scan-date"] == "2024-05-01T12:00:30.000Z"
    assert metadata["fss-post-scan-findings"] == "Eicar_test_file (Virus)"
    assert unquote(metadata["fss-post-scan-source"]) == f"s3://{bucket}/{KEY}"
    assert tags_of(s3, quarantine_bucket, destination) == TAGS


def test_checksum_of_the_copy_is_the_sources(
    s3, bucket, quarantine_bucket, make_engine, s3_calls
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS, ChecksumAlgorithm="CRC32")
    source = s3.head_object(Bucket=bucket, Key=KEY, ChecksumMode="ENABLED")["ChecksumCRC32"]
    make_engine(**env(bucket, table=None))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    # Asked for explicitly: a multipart copy (CreateMultipartUpload) never inherits it.
    (copy_request,) = s3_calls.params("CopyObject")
    assert copy_request["ChecksumAlgorithm"] == "CRC32"
    head = s3.head_object(Bucket=quarantine_bucket, Key=quarantined(bucket), ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == source


def test_ten_tags_with_every_allowed_character_are_copied_as_they_are(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    tags = {
        "file_id": "f-1",
        "fss-scan-result": "malicious",
        "fss-scanned": "true",
        "fss-scan-date": "2024/05/01 12:00:30",
        "fss-scan-detail-code": "0",
        "fss-scan-detail-message": "-",
        "with space": "a b c",
        "plus+equals=": "1+1=2",
        "path/colon:at@": "s3://x/y:z@w_v.u-t",
        "under_score.dot-dash": "a_b.c-d",  # S3 also allows Unicode letters; moto does not
    }
    assert len(tags) == 10  # S3's limit: adding one more would make the copy fail
    obj = upload(s3, bucket, KEY, body=BODY, tags=tags)
    run = make_engine(**env(bucket, table=None))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert tags_of(s3, quarantine_bucket, quarantined(bucket)) == tags


def test_findings_with_characters_tags_reject_go_into_metadata(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    findings = [
        {"malware": "Trojan.Win32;Evil<1>!", "type": "Trojan"},
        {"malware": "Vïrus 100%", "type": "Virus"},
    ]
    message = scan_message(bucket, KEY, etag=obj["etag"])
    message["scanning_result"]["Findings"] = findings
    run = make_engine(**env(bucket, table=None))(sns_event(sns_record(message)))
    assert run.error is None, run.line
    metadata = s3.head_object(Bucket=quarantine_bucket, Key=quarantined(bucket))["Metadata"]
    value = metadata["fss-post-scan-findings"]
    assert value.isascii()
    assert unquote(value) == "Trojan.Win32;Evil<1>! (Trojan); Vïrus 100% (Virus)"


def test_scan_result_is_fitted_into_the_metadata_left_by_the_source(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    big = {"note": "x" * 1850}
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS, Metadata=big)
    run = make_engine(**env(bucket, table=None))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.error is None, run.line
    metadata = s3.head_object(Bucket=quarantine_bucket, Key=quarantined(bucket))["Metadata"]
    assert metadata["note"] == big["note"]
    assert metadata[ROUTED_MARK] == "malicious"
    assert metadata_size(metadata) <= 2048


def test_sse_kms_source_to_a_route_key(s3, bucket, quarantine_bucket, make_engine, s3_calls):
    import boto3

    kms = boto3.client("kms", region_name="us-east-1")
    source_key = kms.create_key()["KeyMetadata"]["Arn"]
    route_key = kms.create_key()["KeyMetadata"]["Arn"]
    obj = upload(
        s3,
        bucket,
        KEY,
        body=BODY,
        tags=TAGS,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=source_key,
    )
    engine = make_engine(**env(bucket, table=None, ROUTE_MALICIOUS_KMS_KEY_ARN=route_key))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    head = s3.head_object(Bucket=quarantine_bucket, Key=quarantined(bucket))
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", route_key)
    assert body(s3, quarantine_bucket, quarantined(bucket)) == BODY
    (copy_request,) = s3_calls.params("CopyObject")
    assert copy_request["SSEKMSKeyId"] == route_key


def test_without_a_route_key_the_destination_default_applies(
    s3, bucket, quarantine_bucket, make_engine, s3_calls
):
    import boto3

    source_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    obj = upload(
        s3,
        bucket,
        KEY,
        body=BODY,
        tags=TAGS,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=source_key,
    )
    run = make_engine(**env(bucket, table=None))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.error is None, run.line
    (copy_request,) = s3_calls.params("CopyObject")
    assert "ServerSideEncryption" not in copy_request and "SSEKMSKeyId" not in copy_request
    head = s3.head_object(Bucket=quarantine_bucket, Key=quarantined(bucket))
    assert head.get("SSEKMSKeyId") != source_key


# --- objects over the CopyObject limit: the multipart path -------------------------------------


@pytest.mark.parametrize("versioned", [False, True])
def test_large_objects_take_the_multipart_copy(
    s3, bucket, versioned_bucket, quarantine_bucket, make_engine, s3_calls, versioned
) -> None:
    """boto3's managed copy switches to UploadPartCopy above its threshold (5 GB is CopyObject's
    limit); the threshold is lowered here instead of uploading 5 GB."""
    source = versioned_bucket if versioned else bucket
    data = bytes(range(256)) * (11 * MIB // 256)
    obj = upload(
        s3, source, KEY, body=data, tags=TAGS, ContentType="video/mp4", Metadata={"k": "v"}
    )
    store = aws.S3Objects(
        transfer_config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    )
    engine = make_engine(s3_store=store, **env(source, table=None))
    run = engine(sns_event(sns_record(scan_message(source, KEY, etag=obj["etag"], size=len(data)))))

    assert run.error is None, run.line
    assert "multipart copy" in run.line["reason"]
    names = s3_calls.names()
    assert "CopyObject" not in names
    assert names.count("UploadPartCopy") == 3
    parts = s3_calls.params("UploadPartCopy")
    if versioned:
        assert {p["CopySource"]["VersionId"] for p in parts} == {obj["version_id"]}
    else:
        assert {p["CopySourceIfMatch"] for p in parts} == {f'"{obj["etag"]}"'}
    # The managed copy is handed the size and ETag the engine read: no HEAD of its own.
    heads = [p for p in s3_calls.params("HeadObject") if p["Bucket"] == source]
    read_source = next(i for i, p in enumerate(heads) if "ChecksumMode" in p)
    assert heads[read_source + 1 :] == []
    destination = quarantined(source)
    assert body(s3, quarantine_bucket, destination) == data
    head = s3.head_object(Bucket=quarantine_bucket, Key=destination)
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"]["k"] == "v" and head["Metadata"][ROUTED_MARK] == "malicious"
    assert tags_of(s3, quarantine_bucket, destination) == TAGS
    assert not exists(s3, source, KEY)


# --- incomplete and failed scans --------------------------------------------------------------


def test_incomplete_scans_are_routed_as_incomplete_never_promoted(
    s3, bucket, promote_bucket, make_engine
) -> None:
    s3.create_bucket(Bucket="review-bucket")
    obj = upload(s3, bucket, "archive.zip", body=b"encrypted zip", tags={"file_id": "f-1"})
    engine = make_engine(
        **env(
            bucket,
            table=None,
            ROUTE_MALICIOUS="",
            ROUTE_CLEAN=promote_bucket,
            ROUTE_INCOMPLETE="review-bucket/incomplete/",
        )
    )
    message = scan_message(bucket, "archive.zip", verdict="incomplete", etag=obj["etag"])
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert keys(s3, "review-bucket") == [f"incomplete/{bucket}/archive.zip"]
    assert keys(s3, promote_bucket) == []
    metadata = s3.head_object(Bucket="review-bucket", Key=f"incomplete/{bucket}/archive.zip")
    assert metadata["Metadata"][ROUTED_MARK] == "incomplete"
    assert metadata["Metadata"]["fss-post-scan-codes"] == "101"


def test_incomplete_scan_without_its_own_route_stays_where_it_is(
    s3, bucket, promote_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, "archive.zip", body=b"encrypted zip", tags={"file_id": "f-1"})
    engine = make_engine(**env(bucket, table=None, ROUTE_MALICIOUS="", ROUTE_CLEAN=promote_bucket))
    message = scan_message(bucket, "archive.zip", verdict="incomplete", etag=obj["etag"])
    run = engine(sns_event(sns_record(message)))
    # the verdict is logged, nothing moves
    assert run.line["actions"] == ["head", "read_tags", "read_source"]
    assert run.line["destination"] is None
    assert keys(s3, promote_bucket) == []
    assert exists(s3, bucket, "archive.zip")


def test_failed_scans_have_their_own_route(
    s3, bucket, promote_bucket, dynamodb, table, make_engine
) -> None:
    s3.create_bucket(Bucket="review-bucket")
    obj = upload(s3, bucket, KEY, body=BODY, tags={"file_id": "f-1"})
    engine = make_engine(
        **env(
            bucket,
            ROUTE_MALICIOUS="",
            ROUTE_CLEAN=promote_bucket,
            ROUTE_FAILED="review-bucket/failed/",
        )
    )
    run = engine(
        sns_event(sns_record(scan_message(bucket, KEY, verdict="failed", etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert keys(s3, "review-bucket") == [f"failed/{bucket}/{KEY}"]
    assert keys(s3, promote_bucket) == []
    assert row(dynamodb, table)["scan_action"] == {"S": "route"}


# --- loop protection --------------------------------------------------------------------------


def test_a_routed_copy_is_never_acted_on_again(
    s3, bucket, dynamodb, table, make_engine, s3_calls
) -> None:
    """Quarantine inside the scanned bucket: FSS scans the copy too; the function must leave it
    alone (and not overwrite the application's row with the copy's location)."""
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    engine = make_engine(
        **env(bucket, ROUTE_MALICIOUS=f"{bucket}/quarantine/", DELETE_MALICIOUS="true")
    )
    first = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    copy_key = f"quarantine/{bucket}/{KEY}"
    assert first.line["destination"] == f"s3://{bucket}/{copy_key}"
    recorded = row(dynamodb, table)
    copy_etag = s3.head_object(Bucket=bucket, Key=copy_key)["ETag"].strip('"')

    s3_calls.calls.clear()
    second = engine(sns_event(sns_record(scan_message(bucket, copy_key, etag=copy_etag))))
    assert second.error is None
    line = second.line
    assert (line["outcome"], line["OwnCopiesSkipped"]) == ("skipped_own_copy", 1)
    assert line["actions"] == ["head"]
    assert s3_calls.names() == ["HeadObject"]
    assert keys(s3, bucket) == [copy_key]
    assert row(dynamodb, table) == recorded


def test_a_routed_copy_found_among_versions_is_never_acted_on(
    s3, versioned_bucket, make_engine, clock
) -> None:
    """A copy at the route's destination that is no longer current: HEADed for the mark, kept."""
    copy_key = f"quarantine/{versioned_bucket}/{KEY}"
    marked = upload(
        s3, versioned_bucket, copy_key, body=BODY, tags=TAGS, Metadata={ROUTED_MARK: "malicious"}
    )
    clock.set(60)
    upload(s3, versioned_bucket, copy_key, body=b"newer", tags={"file_id": "f-1"})
    engine = make_engine(
        **env(versioned_bucket, table=None, ROUTE_MALICIOUS=f"{versioned_bucket}/quarantine/")
    )
    message = scan_message(versioned_bucket, copy_key, etag=marked["etag"])
    run = engine(sns_event(sns_record(message)))
    assert run.error is None
    assert run.line["outcome"] == "skipped_own_copy"
    assert run.line["actions"] == ["head", "list_versions", "head_version"]
    versions, _ = versions_of(s3, versioned_bucket, copy_key)
    assert len(versions) == 2


# The mark is only trusted where this module writes its copies: anyone who can upload can set
# x-amz-meta-fss-post-scan-routed, and must not be able to make the module skip their malware.
SPOOFED = {ROUTED_MARK: "malicious"}
IGNORED = f"carries {ROUTED_MARK} outside every route destination: ignored"


def _acted_on(line: dict) -> None:
    assert line["outcome"] == "processed", line
    assert line["OwnCopiesSkipped"] == 0
    assert IGNORED in line["reason"]


def test_a_marked_upload_is_deleted_and_recorded_without_routes(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS, Metadata=SPOOFED)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS="", DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    _acted_on(run.line)
    assert run.line["actions"] == ["head", "read_tags", "read_source", "record", "delete"]
    assert not exists(s3, bucket, KEY)
    assert row(dynamodb, table)["scan_action"] == {"S": "delete"}


def test_a_marked_current_version_is_deleted_without_routes(
    s3, versioned_bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS, Metadata=SPOOFED)
    engine = make_engine(**env(versioned_bucket, ROUTE_MALICIOUS="", DELETE_MALICIOUS="true"))
    run = engine(sns_event(sns_record(scan_message(versioned_bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    _acted_on(run.line)
    # Versioned with an ETag: the listing finds every version with the scanned bytes (issue 19).
    assert run.line["actions"] == ["head", "list_versions", "read_tags", "record", "delete"]
    assert versions_of(s3, versioned_bucket, KEY) == ([], [])
    assert row(dynamodb, table)["s3_version_id"] == {"S": obj["version_id"]}


def test_a_marked_older_version_is_deleted_without_a_head_for_the_mark(
    s3, versioned_bucket, make_engine, clock, s3_calls
) -> None:
    """Outside route destinations the mark does not count: listed versions are not HEADed."""
    marked = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS, Metadata=SPOOFED)
    clock.set(60)
    newer = upload(s3, versioned_bucket, KEY, body=b"newer", tags={"file_id": "f-1"})
    engine = make_engine(
        ALLOWED_BUCKETS=versioned_bucket, DELETE_MALICIOUS="true", ROUTE_MALICIOUS=""
    )
    message = scan_message(versioned_bucket, KEY, etag=marked["etag"], timestamp=later(30))
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert (run.line["outcome"], run.line["OwnCopiesSkipped"]) == ("processed", 0)
    assert run.line["actions"] == ["head", "list_versions", "delete"]
    assert s3_calls.names().count("HeadObject") == 1
    versions, markers = versions_of(s3, versioned_bucket, KEY)
    assert ([v["VersionId"] for v in versions], markers) == ([newer["version_id"]], [])


@pytest.mark.parametrize(
    "key",
    [KEY, f"q/uploads-bucket/{KEY}"],
    ids=["upload-key", "destination-key-in-the-source-bucket"],
)
def test_a_marked_upload_is_quarantined_with_routes(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, key
) -> None:
    obj = upload(s3, bucket, key, body=BODY, tags=TAGS, Metadata=SPOOFED)
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"])))
    )
    assert run.error is None, run.line
    _acted_on(run.line)
    assert run.line["actions"][-3:] == ["copy", "verify", "delete"]
    destination = quarantined(bucket, key)
    assert keys(s3, quarantine_bucket) == [destination]
    assert not exists(s3, bucket, key)
    assert row(dynamodb, table)["scan_action"] == {"S": "quarantine"}
    metadata = s3.head_object(Bucket=quarantine_bucket, Key=destination)["Metadata"]
    assert unquote(metadata["fss-post-scan-source"]) == f"s3://{bucket}/{key}"


def test_a_marked_older_version_is_quarantined_with_routes(
    s3, versioned_bucket, quarantine_bucket, make_engine, clock
) -> None:
    marked = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS, Metadata=SPOOFED)
    clock.set(60)
    newer = upload(s3, versioned_bucket, KEY, body=b"newer", tags={"file_id": "f-1"})
    engine = make_engine(**env(versioned_bucket, table=None))
    message = scan_message(versioned_bucket, KEY, etag=marked["etag"], timestamp=later(30))
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert (run.line["outcome"], run.line["OwnCopiesSkipped"]) == ("processed", 0)
    assert "head_version" not in run.line["actions"]
    assert run.line["actions"][-3:] == ["copy", "verify", "delete"]
    assert keys(s3, quarantine_bucket) == [quarantined(versioned_bucket)]
    versions, _ = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [newer["version_id"]]


def test_a_marked_upload_in_the_destination_bucket_outside_the_prefix_is_acted_on(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    """Quarantine inside the scanned bucket: only keys under the prefix are the module's."""
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS, Metadata=SPOOFED)
    engine = make_engine(**env(bucket, ROUTE_MALICIOUS=f"{bucket}/quarantine/"))
    run = engine(sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"]))))
    assert run.error is None, run.line
    _acted_on(run.line)
    copy_key = f"quarantine/{bucket}/{KEY}"
    assert keys(s3, bucket) == [copy_key]
    assert row(dynamodb, table)["scan_destination"] == {"S": f"s3://{bucket}/{copy_key}"}

    # ...and the copy it wrote, scanned in turn, is left alone.
    copy_etag = s3.head_object(Bucket=bucket, Key=copy_key)["ETag"].strip('"')
    again = engine(sns_event(sns_record(scan_message(bucket, copy_key, etag=copy_etag))))
    assert (again.error, again.line["outcome"]) == (None, "skipped_own_copy")
    assert keys(s3, bucket) == [copy_key]


def test_an_ordinary_older_version_in_the_destination_bucket_is_not_headed_for_the_mark(
    s3, versioned_bucket, make_engine, clock
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=BODY, tags=TAGS)
    clock.set(60)
    upload(s3, versioned_bucket, KEY, body=b"newer", tags={"file_id": "f-1"})
    engine = make_engine(
        **env(versioned_bucket, table=None, ROUTE_MALICIOUS=f"{versioned_bucket}/quarantine/")
    )
    message = scan_message(versioned_bucket, KEY, etag=scanned["etag"], timestamp=later(30))
    run = engine(sns_event(sns_record(message)))
    assert run.error is None, run.line
    assert run.line["actions"] == [
        "head",
        "list_versions",
        "read_tags",
        "read_source",
        "copy",
        "verify",
        "delete",
    ]
    assert IGNORED not in run.line["reason"]


# --- dry run and duplicates -------------------------------------------------------------------


def test_dry_run_copies_nothing(s3, bucket, quarantine_bucket, dynamodb, table, make_engine):
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    run = make_engine(**env(bucket, DRY_RUN="true"))(
        sns_event(sns_record(scan_message(bucket, KEY, etag=obj["etag"])))
    )
    assert run.line["actions"] == [
        "head",
        "read_tags",
        "read_source",
        "would_record",
        "would_copy",
        "would_delete",
    ]
    assert f"would copy the object with ETag {obj['etag']} to s3://" in run.line["reason"]
    assert keys(s3, quarantine_bucket) == []
    assert exists(s3, bucket, KEY)
    assert row(dynamodb, table) is None


def test_duplicate_delivery_after_a_move_copies_nothing_again(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    s3.put_bucket_versioning(
        Bucket=quarantine_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    obj = upload(s3, bucket, KEY, body=BODY, tags=TAGS)
    record = sns_record(scan_message(bucket, KEY, etag=obj["etag"]))
    engine = make_engine(**env(bucket, table=None))
    engine(sns_event(record))
    second = engine(sns_event(record))
    assert (second.error, second.line["outcome"]) == (None, "object_gone")
    versions, _ = versions_of(s3, quarantine_bucket, quarantined(bucket))
    assert len(versions) == 1
