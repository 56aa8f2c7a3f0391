"""Issue 10 item 2: the same bytes uploaded several times under one key (versioned bucket).

Same bytes, same ETag: one scan result matches every such version. Each version the function
deletes must first have had its own row recorded (its own file_id tag) and, with a route, its own
copy made and verified, and copies of several versions must not overwrite each other at the
destination, whatever its versioning.
"""

from __future__ import annotations

import hashlib
from typing import Any

from engine_kit import scan_message, sns_event, sns_record, upload, versions_of

KEY = "inbox/statement.pdf"
MALWARE = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLEAN = b"%PDF-1.7 a clean statement"


def row(dynamodb: Any, file_id: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName="app-files", Key={"file_id": {"S": file_id}}).get("Item")


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def tags_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


def short_key(prefix: str, bucket: str, key: str, version_id: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}~fss-post-scan/{bucket}/{digest}/{version_id}"


def two_uploads(s3: Any, bucket: str, body: bytes, verdict_tag: str, clock: Any) -> list[dict]:
    first = upload(
        s3, bucket, KEY, body=body, tags={"file_id": "f1", "fss-scan-result": verdict_tag}
    )
    clock.set(5)
    second = upload(
        s3, bucket, KEY, body=body, tags={"file_id": "f2", "fss-scan-result": verdict_tag}
    )
    assert first["etag"] == second["etag"]
    return [first, second]


def test_each_deleted_version_has_its_own_row(
    s3, versioned_bucket, dynamodb, table, make_engine, clock
) -> None:
    first, second = two_uploads(s3, versioned_bucket, MALWARE, "malicious", clock)
    clock.set(60)
    newer = upload(s3, versioned_bucket, KEY, body=CLEAN, tags={"file_id": "f3"})
    engine = make_engine(
        ALLOWED_BUCKETS=versioned_bucket,
        DELETE_MALICIOUS="true",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
    )
    message = scan_message(versioned_bucket, KEY, etag=first["etag"], message_id="m-1")
    run = engine(sns_event(sns_record(message)))

    assert run.error is None, run.line
    assert run.line["actions"].count("record") == 2
    for upload_, file_id in ((first, "f1"), (second, "f2")):
        stored = row(dynamodb, file_id)
        assert stored is not None, f"{file_id}'s row never learned its file was malicious"
        assert stored["scan_verdict"] == {"S": "malicious"}
        assert stored["s3_version_id"] == {"S": upload_["version_id"]}
        assert stored["scan_action"] == {"S": "delete"}
    assert row(dynamodb, "f3") is None
    versions, markers = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [newer["version_id"]] and markers == []
    assert {t["file_id"] for t in run.line["targets"]} == {"f1", "f2"}

    # The second upload's own scan result finds nothing left to do; the rows stay right.
    duplicate = scan_message(versioned_bucket, KEY, etag=second["etag"], message_id="m-2")
    again = engine(sns_event(sns_record(duplicate)))
    assert again.line["outcome"] == "object_gone"
    assert row(dynamodb, "f1")["scan_message_id"] == {"S": "m-1"}


def test_clean_route_in_move_mode_copies_every_version_before_deleting_it(
    s3, versioned_bucket, promote_bucket, dynamodb, table, make_engine, clock
) -> None:
    """promote-bucket is unversioned: each version needs a key of its own."""
    first, _ = two_uploads(s3, versioned_bucket, CLEAN, "no issues found", clock)
    clock.set(60)
    newer = upload(s3, versioned_bucket, KEY, body=b"another upload", tags={"file_id": "f3"})
    engine = make_engine(
        ALLOWED_BUCKETS=versioned_bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        RECORD_VERDICTS="clean",
        ROUTE_CLEAN=f"{promote_bucket}/scanned/",
    )
    message = scan_message(versioned_bucket, KEY, verdict="clean", etag=first["etag"])
    run = engine(sns_event(sns_record(message)))

    assert run.error is None, run.line
    versions, _ = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [newer["version_id"]]
    usual = f"scanned/{versioned_bucket}/{KEY}"
    own = short_key("scanned/", versioned_bucket, KEY, first["version_id"])
    assert keys(s3, promote_bucket) == sorted([usual, own])
    # The newest version keeps the usual key; each copy carries its own version's tags.
    assert tags_of(s3, promote_bucket, usual)["file_id"] == "f2"
    assert tags_of(s3, promote_bucket, own)["file_id"] == "f1"
    for key in (usual, own):
        assert s3.get_object(Bucket=promote_bucket, Key=key)["Body"].read() == CLEAN
    assert row(dynamodb, "f2")["scan_destination"] == {"S": f"s3://{promote_bucket}/{usual}"}
    assert row(dynamodb, "f1")["scan_destination"] == {"S": f"s3://{promote_bucket}/{own}"}
    assert run.line["actions"].count("verify") == 2
    assert run.line["actions"].index("delete") > max(
        i for i, action in enumerate(run.line["actions"]) if action == "verify"
    )


def test_quarantined_versions_keep_their_own_copies_across_a_retry(
    s3, versioned_bucket, quarantine_bucket, dynamodb, table, make_engine, clock, s3_calls
) -> None:
    """The newest version is deleted last and keeps the usual key: a retry after a failed delete
    never lets one version's copy overwrite another's."""
    first, second = two_uploads(s3, versioned_bucket, MALWARE, "malicious", clock)
    clock.set(60)
    newer = upload(s3, versioned_bucket, KEY, body=CLEAN, tags={"file_id": "f3"})
    engine = make_engine(
        ALLOWED_BUCKETS=versioned_bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        ROUTE_MALICIOUS=f"{quarantine_bucket}/q/",
    )
    event = sns_event(sns_record(scan_message(versioned_bucket, KEY, etag=first["etag"])))
    s3_calls.fail("DeleteObject", "SlowDown", 503, after=1)
    failed = engine(event)
    assert failed.line["outcome"] == "error"
    versions, _ = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [newer["version_id"], second["version_id"]]

    retry = engine(event)
    assert retry.error is None, retry.line
    versions, _ = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [newer["version_id"]]
    usual = f"q/{versioned_bucket}/{KEY}"
    own = short_key("q/", versioned_bucket, KEY, first["version_id"])
    assert keys(s3, quarantine_bucket) == sorted([usual, own])
    assert tags_of(s3, quarantine_bucket, usual)["file_id"] == "f2"
    assert tags_of(s3, quarantine_bucket, own)["file_id"] == "f1"
    assert row(dynamodb, "f1")["scan_action"] == {"S": "quarantine"}
