"""Issue 19 finding 8: a row that names an object (s3_bucket, s3_key) only takes verdicts about it.

The uploader chooses the file id tag. A row the application bound up front (or an earlier verdict
bound) to another object is left untouched, a malicious file is still made harmless, and the
record says so: outcome `row_conflict`, metric `RowConflicts`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine_kit import EICAR_BODY, later, scan_message, sns_event, sns_record, upload

VICTIM = {
    "file_id": {"S": "f-victim"},
    "owner": {"S": "victim"},
    "s3_bucket": {"S": "uploads-bucket"},
    "s3_key": {"S": "victim/report.pdf"},
    "scan_verdict": {"S": "malicious"},
    "scan_timestamp": {"N": "1714564800"},
}


def env(bucket: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": bucket,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "RECORD_VERDICTS": "malicious,clean",
        "DELETE_MALICIOUS": "true",
        **more,
    }


def row(dynamodb: Any, file_id: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName="app-files", Key={"file_id": {"S": file_id}}).get("Item")


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_a_forged_file_id_never_rewrites_another_objects_row(
    s3, bucket, promote_bucket, dynamodb, table, make_engine
) -> None:
    dynamodb.put_item(TableName=table, Item=VICTIM)
    obj = upload(s3, bucket, "mine.pdf", body=b"clean bytes", tags={"file_id": "f-victim"})
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    clean = scan_message(bucket, "mine.pdf", verdict="clean", etag=obj["etag"], timestamp=later(90))
    run = engine(sns_event(sns_record(clean)))

    assert run.error is None, run.line
    assert (run.line["outcome"], run.line["RowConflicts"]) == ("row_conflict", 1)
    assert "victim/report.pdf" in run.line["reason"]
    assert row(dynamodb, "f-victim") == VICTIM
    # A benign verdict about a file whose id names another object is not acted on at all.
    assert keys(s3, promote_bucket) == [] and keys(s3, bucket) == ["mine.pdf"]


@pytest.mark.parametrize(
    "settings", [{}, {"ROUTE_MALICIOUS": "quarantine-bucket/q/"}], ids=["delete", "quarantine"]
)
def test_a_conflicting_row_still_lets_a_malicious_file_go(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, settings
) -> None:
    dynamodb.put_item(TableName=table, Item={**VICTIM, "scan_verdict": {"S": "clean"}})
    obj = upload(s3, bucket, "evil.exe", body=EICAR_BODY, tags={"file_id": "f-victim"})
    run = make_engine(**env(bucket, **settings))(
        sns_event(sns_record(scan_message(bucket, "evil.exe", etag=obj["etag"])))
    )
    assert run.error is None, run.line
    assert (run.line["outcome"], run.line["RowConflicts"]) == ("row_conflict", 1)
    assert keys(s3, bucket) == []
    assert row(dynamodb, "f-victim")["scan_verdict"] == {"S": "clean"}  # untouched
    if settings:
        assert keys(s3, quarantine_bucket) == [f"q/{bucket}/evil.exe"]


def test_a_row_bound_up_front_by_the_application_takes_its_own_verdict(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    bound = {"file_id": {"S": "f-1"}, "s3_bucket": {"S": bucket}, "s3_key": {"S": "a b+c.pdf"}}
    dynamodb.put_item(TableName=table, Item=bound)
    obj = upload(s3, bucket, "a b+c.pdf", body=EICAR_BODY, tags={"file_id": "f-1"})
    run = make_engine(**env(bucket))(
        sns_event(sns_record(scan_message(bucket, "a b+c.pdf", etag=obj["etag"])))
    )
    assert (run.line["outcome"], run.line["RowConflicts"]) == ("processed", 0)
    assert row(dynamodb, "f-1")["scan_verdict"] == {"S": "malicious"}


def test_the_refusal_is_told_apart_from_the_old_row() -> None:
    """ALL_OLD: no row (upsert off), another object, or a newer verdict."""
    from post_scan.message import parse_scan_result
    from post_scan.record import (
        ROW_CONFLICT,
        ROW_MISSING,
        STALE_VERDICT,
        VerdictRow,
        build_update,
        refusal,
    )

    scan = parse_scan_result(json.dumps(scan_message("uploads-bucket", "k", etag="e")), "sns-1")
    update = build_update(VerdictRow("t", "file_id", "f", scan, "delete", None, upsert=True))
    assert "s3_bucket" in str(update["ExpressionAttributeNames"].values())
    assert refusal(VICTIM, update).result == ROW_CONFLICT
    assert refusal(VICTIM, update).bound_to == "s3://uploads-bucket/victim/report.pdf"
    same = {**VICTIM, "s3_key": {"S": "k"}, "scan_timestamp": {"N": "9999999999"}}
    assert refusal(same, update).result == STALE_VERDICT
    assert refusal(None, update).result == ROW_MISSING
