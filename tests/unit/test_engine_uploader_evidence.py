"""Issue 19: evidence an uploader can write never decides (findings 1, 2, 7), through the handler.

Without an ETag in the message (the Cloud One formats) the candidates are the versions (or the
unversioned object) that S3's own evidence does not exclude: LastModified after the scan's start,
a size other than TotalBytesOfFile. Object tags never exclude a candidate. A malicious verdict is
acted on for every candidate; a benign one only when the size is known and exactly one candidate
is left (otherwise `unproven`: nothing done, reported). Scanner tags say "malicious" under any key
spelling and in either format, and a clean value never outweighs it.
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

from post_scan import handler

FORGED_CLEAN = {"fss-scan-result": "no issues found"}
BENIGN = b"a perfectly ordinary report, longer than the malware"


def env(source: str, **more: str) -> dict[str, str]:
    return {
        "ALLOWED_BUCKETS": source,
        "EXTRACT_FILE_ID": "true",
        "FILE_ID_TABLE": "app-files",
        "RECORD_VERDICTS": "malicious,clean,incomplete,failed,unscanned",
        "DELETE_MALICIOUS": "true",
        **more,
    }


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def rows(dynamodb: Any) -> dict[str, dict[str, Any]]:
    items = dynamodb.scan(TableName="app-files")["Items"]
    return {item["file_id"]["S"]: item for item in items}


def no_etag(bucket: str, key: str, verdict: str = "malicious", **more: Any) -> dict[str, Any]:
    """A Cloud One result (no file_attributes.etag): the scan began at T0 + 20."""
    more.setdefault("timestamp", later(30))
    more.setdefault("scan_start_timestamp", later(20))
    return scan_message(bucket, key, verdict=verdict, **more)


# --- finding 1: a forged clean tag keeps malware in place, silently -----------------------------


TEN_TAGS = {f"app-{i}": "x" for i in range(8)} | {"file_id": "f-1"} | FORGED_CLEAN


@pytest.mark.parametrize(
    "tags",
    [
        {"file_id": "f-1"} | FORGED_CLEAN,
        TEN_TAGS,  # FSS cannot add its own tag: the upload already has 10
        {"file_id": "f-1", "fss-a": "scan-result=no issues found"},  # merged, sorts first
        {"file_id": "f-1", "FSS-Scan-Result": "No Issues Found"},
        {"file_id": "f-1", "GuardDutyMalwareScanStatus": "NO_THREATS_FOUND"},
    ],
    ids=["separated", "ten-tags", "merged", "upper-case", "guardduty"],
)
@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_a_forged_clean_tag_never_keeps_malware_in_place(
    s3, bucket, versioned_bucket, dynamodb, table, make_engine, versioned, tags
) -> None:
    source = versioned_bucket if versioned else bucket
    upload(s3, source, "payload.exe", body=EICAR_BODY, tags=tags)
    run = make_engine(**env(source))(sns_event(sns_record(no_etag(source, "payload.exe"))))

    assert run.error is None, run.line
    assert run.line["outcome"] == "processed", run.line["reason"]
    versions, _ = versions_of(s3, source, "payload.exe")
    assert versions == [], "the malware is still readable in the scanned bucket"
    assert rows(dynamodb)["f-1"]["scan_verdict"] == {"S": "malicious"}


def test_the_scanners_merged_malicious_tag_outweighs_an_uploaders_clean_one(
    s3, bucket, promote_bucket, dynamodb, table, make_engine
) -> None:
    """FSS tagged the object (merged format); the uploader's own `fss-a` sorts before it."""
    tags = {
        "file_id": "f-1",
        "fss-a": "scan-result=no issues found",
        "fss-scan": "scan-result=malicious scan-date=2024/05/01 12:00:21",
    }
    obj = upload(s3, bucket, "payload.exe", body=EICAR_BODY, tags=tags)
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    clean = scan_message(bucket, "payload.exe", verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(clean)))
    assert (run.line["outcome"], run.line["VerdictConflicts"]) == ("error", 1)
    assert keys(s3, promote_bucket) == [] and keys(s3, bucket) == ["payload.exe"]
    assert rows(dynamodb) == {}


# --- finding 7: case-variant tag keys ------------------------------------------------------------


@pytest.mark.parametrize(
    "tags",
    [
        {"fss-scan-result": "malicious", "FSS-SCAN-RESULT": "no issues found"},
        {"FSS-SCAN-RESULT": "no issues found", "fss-scan-result": "malicious"},
        {"FSS-SCAN-RESULT": "malicious", "fss-scan-result": "no issues found"},
        {"fss-scan-result": "no issues found", "FSS-SCAN-RESULT": "malicious"},
        {"GuardDutyMalwareScanStatus": "THREATS_FOUND", "fss-scan-result": "no issues found"},
        {"guarddutymalwarescanstatus": "threats_found"},
    ],
)
def test_any_malicious_value_under_any_key_spelling_refuses_a_benign_verdict(
    s3, bucket, promote_bucket, dynamodb, table, make_engine, tags
) -> None:
    obj = upload(s3, bucket, "payload.exe", body=EICAR_BODY, tags={"file_id": "f-1", **tags})
    engine = make_engine(**env(bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    clean = scan_message(bucket, "payload.exe", verdict="clean", etag=obj["etag"])
    run = engine(sns_event(sns_record(clean)))
    assert isinstance(run.error, handler.RecordsFailed)
    assert (run.line["outcome"], run.line["VerdictConflicts"]) == ("error", 1), run.line
    assert keys(s3, promote_bucket) == [] and keys(s3, bucket) == ["payload.exe"]
    assert rows(dynamodb) == {}


# --- finding 2: a genuine clean result never promotes someone else's malware ---------------------


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_a_clean_result_never_promotes_a_later_upload_of_another_size(
    s3, bucket, versioned_bucket, promote_bucket, dynamodb, table, make_engine, clock, versioned
) -> None:
    source = versioned_bucket if versioned else bucket
    benign = upload(s3, source, "doc.pdf", body=BENIGN, tags={"file_id": "f-benign"})
    clock.set(1)  # before the scan of the benign upload began (T0 + 20)
    upload(s3, source, "doc.pdf", body=EICAR_BODY, tags={"file_id": "f-mal"} | FORGED_CLEAN)
    engine = make_engine(**env(source, ROUTE_CLEAN=f"{promote_bucket}/p/"))

    clean = no_etag(source, "doc.pdf", verdict="clean", size=benign["size"])
    run = engine(sns_event(sns_record(clean)))
    assert run.error is None, run.line
    for key in keys(s3, promote_bucket):
        promoted = s3.get_object(Bucket=promote_bucket, Key=key)["Body"].read()
        assert promoted == BENIGN, "the malware was promoted on the benign upload's result"
    assert "f-mal" not in rows(dynamodb), "the malware's row was marked clean"

    # The malware's own result then makes it harmless, whatever happened to the benign upload.
    malicious = no_etag(source, "doc.pdf", size=len(EICAR_BODY), timestamp=later(40))
    second = engine(sns_event(sns_record(malicious)))
    assert second.error is None, second.line
    assert second.line["outcome"] == "processed", second.line["reason"]
    versions, _ = versions_of(s3, source, "doc.pdf")
    for version in versions:
        body = s3.get_object(Bucket=source, Key="doc.pdf", VersionId=version["VersionId"])
        assert body["Body"].read() != EICAR_BODY
    assert rows(dynamodb)["f-mal"]["scan_verdict"] == {"S": "malicious"}


def test_a_clean_result_with_two_candidates_of_the_scanned_size_is_unproven(
    s3, versioned_bucket, promote_bucket, dynamodb, table, make_engine, clock
) -> None:
    """Same size, both before the scan began: S3 cannot say which was scanned. Nothing is
    copied, promoted or recorded as clean; the outcome and metric say so."""
    benign = upload(s3, versioned_bucket, "doc.pdf", body=b"A" * 68, tags={"file_id": "f-1"})
    clock.set(1)
    upload(s3, versioned_bucket, "doc.pdf", body=EICAR_BODY, tags={"file_id": "f-1"})
    engine = make_engine(**env(versioned_bucket, ROUTE_CLEAN=f"{promote_bucket}/p/"))
    run = engine(sns_event(sns_record(no_etag(versioned_bucket, "doc.pdf", verdict="clean"))))

    assert run.error is None, run.line
    line = run.line
    assert (line["outcome"], line["UnprovenLocations"]) == ("unproven", 1), line["reason"]
    assert "2 candidates" in line["reason"]
    assert keys(s3, promote_bucket) == []
    assert len(versions_of(s3, versioned_bucket, "doc.pdf")[0]) == 2
    # Both candidates carry file id f-1: the row says why, and never says clean.
    row = rows(dynamodb)["f-1"]
    assert row["scan_verdict"] == {"S": "unproven"}
    assert row["scan_action"] == {"S": "none"}
    assert "clean" in row["scan_error"]["S"] and "2 candidates" in row["scan_error"]["S"]
    assert benign["size"] == len(EICAR_BODY)
