"""End to end with moto: versioned buckets. The scanned version itself must be gone for good,
never hidden behind a delete marker, and a duplicate must not delete an older version."""

from __future__ import annotations

import pytest
from engine_kit import later, scan_message, sns_event, sns_record, upload, versions_of

KEY = "reports/q1 report+final.pdf"
MAL = {"file_id": "f-1", "fss-scan-result": "malicious"}
CLEAN = {"file_id": "f-1", "fss-scan-result": "no issues found"}


def env(bucket: str, table: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": bucket,
        "DELETE_MALICIOUS": "true",
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": table,
        **more,
    }


def version_ids(s3, bucket: str) -> list[str]:
    versions, markers = versions_of(s3, bucket, KEY)
    assert markers == [], "a delete marker was added"
    return [v["VersionId"] for v in versions]


def row(dynamodb, table: str) -> dict | None:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": "f-1"}}).get("Item")


@pytest.mark.parametrize("with_etag", [True, False])
def test_scanned_current_version_is_deleted_permanently(
    s3, versioned_bucket, dynamodb, table, make_engine, clock, with_etag
) -> None:
    older = upload(s3, versioned_bucket, KEY, body=b"v1 clean", tags=CLEAN)
    clock.set(10)
    scanned = upload(s3, versioned_bucket, KEY, body=b"v2 malicious", tags=MAL)
    etag = scanned["etag"] if with_etag else None
    message = scan_message(versioned_bucket, KEY, etag=etag, size=scanned["size"])
    run = make_engine(**env(versioned_bucket, table))(sns_event(sns_record(message)))
    assert run.error is None
    assert run.line["outcome"] == "processed"
    assert run.line["version_id"] == scanned["version_id"]
    assert version_ids(s3, versioned_bucket) == [older["version_id"]]
    assert row(dynamodb, table)["s3_version_id"] == {"S": scanned["version_id"]}


@pytest.mark.parametrize("with_etag", [True, False])
def test_scanned_version_is_deleted_even_when_a_newer_clean_version_is_current(
    s3, versioned_bucket, dynamodb, table, make_engine, clock, with_etag
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    clock.set(60)  # uploaded after the scan finished (T0 + 30)
    newer = upload(s3, versioned_bucket, KEY, body=b"fixed upload", tags=CLEAN)
    message = scan_message(
        versioned_bucket,
        KEY,
        etag=scanned["etag"] if with_etag else None,
        timestamp=later(30),
        size=scanned["size"],
    )
    run = make_engine(**env(versioned_bucket, table))(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed"
    assert "list_versions" in run.line["actions"]
    assert version_ids(s3, versioned_bucket) == [newer["version_id"]]
    assert s3.get_object(Bucket=versioned_bucket, Key=KEY)["Body"].read() == b"fixed upload"
    assert row(dynamodb, table)["s3_version_id"] == {"S": scanned["version_id"]}


def test_duplicate_delivery_does_not_delete_the_version_that_became_current(
    s3, versioned_bucket, dynamodb, table, make_engine, clock
) -> None:
    """No ETag in the message: the size tells the versions apart (issue 19: tags no longer do;
    an older version of the same size is a candidate too, see the tests below)."""
    older = upload(s3, versioned_bucket, KEY, body=b"older, clean", tags=CLEAN)
    clock.set(10)
    upload(s3, versioned_bucket, KEY, body=b"malicious!!", tags=MAL)
    record = sns_record(scan_message(versioned_bucket, KEY, size=11, timestamp=later(30)))
    engine = make_engine(**env(versioned_bucket, table))
    first = engine(sns_event(record))
    state = row(dynamodb, table)
    second = engine(sns_event(record))
    assert first.line["outcome"] == "processed"
    assert second.error is None
    assert second.line["outcome"] == "object_gone"
    assert version_ids(s3, versioned_bucket) == [older["version_id"]]
    assert s3.get_object(Bucket=versioned_bucket, Key=KEY)["Body"].read() == b"older, clean"
    assert row(dynamodb, table) == state


def test_duplicate_delivery_with_etag(
    s3, versioned_bucket, dynamodb, table, make_engine, clock
) -> None:
    older = upload(s3, versioned_bucket, KEY, body=b"older", tags={"file_id": "f-1"})
    clock.set(10)
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags={"file_id": "f-1"})
    record = sns_record(scan_message(versioned_bucket, KEY, etag=scanned["etag"]))
    engine = make_engine(**env(versioned_bucket, table))
    engine(sns_event(record))
    second = engine(sns_event(record))
    assert second.line["outcome"] == "object_gone"
    assert version_ids(s3, versioned_bucket) == [older["version_id"]]


def test_every_version_with_the_scanned_etag_is_deleted(
    s3, versioned_bucket, table, make_engine, clock
) -> None:
    first = upload(s3, versioned_bucket, KEY, body=b"same bytes", tags={"file_id": "f-1"})
    clock.set(5)
    other = upload(s3, versioned_bucket, KEY, body=b"other bytes", tags={"file_id": "f-1"})
    clock.set(10)
    again = upload(s3, versioned_bucket, KEY, body=b"same bytes", tags={"file_id": "f-1"})
    clock.set(20)
    current = upload(s3, versioned_bucket, KEY, body=b"newest", tags={"file_id": "f-1"})
    assert first["etag"] == again["etag"]
    message = scan_message(versioned_bucket, KEY, etag=first["etag"])
    run = make_engine(**env(versioned_bucket, table))(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed"
    assert first["version_id"] in run.line["reason"] and again["version_id"] in run.line["reason"]
    assert version_ids(s3, versioned_bucket) == [current["version_id"], other["version_id"]]


def test_scanned_version_behind_a_delete_marker(
    s3, versioned_bucket, table, make_engine, clock
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, tags={"file_id": "f-1"})
    clock.set(5)
    s3.delete_object(Bucket=versioned_bucket, Key=KEY)  # someone "deleted" it the usual way
    message = scan_message(versioned_bucket, KEY, etag=scanned["etag"])
    run = make_engine(**env(versioned_bucket, table))(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed"
    versions, markers = versions_of(s3, versioned_bucket, KEY)
    assert versions == []
    assert len(markers) == 1  # the existing marker stays; none was added


def test_dry_run_in_a_versioned_bucket(s3, versioned_bucket, dynamodb, table, make_engine) -> None:
    scanned = upload(s3, versioned_bucket, KEY, tags=MAL)
    message = scan_message(versioned_bucket, KEY)
    run = make_engine(**env(versioned_bucket, table, DRY_RUN="true"))(
        sns_event(sns_record(message))
    )
    actions = ["head", "list_versions", "read_tags", "would_record", "would_delete"]
    assert run.line["actions"] == actions
    assert f"would delete version {scanned['version_id']}" in run.line["reason"]
    assert version_ids(s3, versioned_bucket) == [scanned["version_id"]]
    assert row(dynamodb, table) is None


# --- no ETag: time and size only, every candidate of a malicious verdict --------------------------


def test_a_version_uploaded_after_the_scan_is_never_a_candidate(
    s3, versioned_bucket, table, make_engine, clock
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"scanned", tags={"file_id": "f-1"})
    clock.set(60)
    newer = upload(s3, versioned_bucket, KEY, body=b"newer!!", tags={"file_id": "f-1"})
    message = scan_message(versioned_bucket, KEY, size=7, timestamp=later(30))
    run = make_engine(**env(versioned_bucket, table))(sns_event(sns_record(message)))
    assert (run.line["version_id"], run.line["ambiguous"]) == (scanned["version_id"], False)
    assert version_ids(s3, versioned_bucket) == [newer["version_id"]]


def test_an_older_version_of_the_same_size_is_acted_on_too(
    s3, versioned_bucket, table, make_engine, clock
) -> None:
    """Documented collateral (issue 19, replacing the old limit where only a duplicate delivery
    took the older version): no ETag, an older version of the scanned size as old as the scan:
    S3 cannot say which one was scanned, so a malicious verdict acts on both, at once, and says
    so (ambiguous, AmbiguousLocations). A quarantine route keeps a copy of each. The duplicate
    finds nothing left."""
    upload(s3, versioned_bucket, KEY, body=b"older bytes", tags={"file_id": "f-1"})
    clock.set(10)
    upload(s3, versioned_bucket, KEY, body=b"malicious b", tags={"file_id": "f-1"})
    record = sns_record(scan_message(versioned_bucket, KEY, size=11, timestamp=later(30)))
    engine = make_engine(**env(versioned_bucket, table))
    first = engine(sns_event(record))
    second = engine(sns_event(record))
    assert (first.line["ambiguous"], first.line["AmbiguousLocations"]) == (True, 1)
    assert len(first.line["targets"]) == 2
    assert (second.line["outcome"], second.line.get("ambiguous")) == ("object_gone", None)
    assert version_ids(s3, versioned_bucket) == []


def test_ambiguous_case_is_narrowed_by_the_scanned_size(
    s3, versioned_bucket, table, make_engine, clock
) -> None:
    older = upload(s3, versioned_bucket, KEY, body=b"older, longer bytes", tags={"file_id": "f-1"})
    clock.set(10)
    upload(s3, versioned_bucket, KEY, body=b"malicious b", tags={"file_id": "f-1"})
    record = sns_record(scan_message(versioned_bucket, KEY, size=11, timestamp=later(30)))
    engine = make_engine(**env(versioned_bucket, table))
    engine(sns_event(record))
    second = engine(sns_event(record))
    assert second.line["outcome"] == "object_gone"
    assert version_ids(s3, versioned_bucket) == [older["version_id"]]
