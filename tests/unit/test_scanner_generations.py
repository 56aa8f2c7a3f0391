"""Every scanner generation's messages and tags (tests/fixtures/scanner) driven through the handler,
against moto: the verdict, the row (scan_verdict, scan_error), the log line and what happens to the
object must follow the fixture, in every tag format the generation can write."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from engine_kit import REGION, T0, epoch, sns_event, sns_record, upload
from scanner_fixtures import GENERATIONS, MERGED_SYNTAXES, fill, load, merged

from post_scan.config import VERDICTS

KEY = "inbox/2024 report+final é.pdf"
BODY = b"the uploaded bytes"
STARTED = T0 + timedelta(seconds=2)
PUBLISHED = T0 + timedelta(seconds=5)


def cases() -> list:
    found = []
    for generation in GENERATIONS:
        fixture = load(generation)
        for index, result in enumerate(fixture["results"]):
            for tag_format in fixture["tag_formats"]:
                syntax = MERGED_SYNTAXES[index % len(MERGED_SYNTAXES)]
                label = f"{tag_format}-{syntax}" if tag_format == "merged" else tag_format
                found.append(
                    pytest.param(
                        generation,
                        result["name"],
                        tag_format,
                        syntax,
                        id=f"{generation}-{result['name']}-{label}",
                    )
                )
    return found


def scanner_tags(tags: dict[str, str], tag_format: str, syntax: str) -> dict[str, str]:
    if tag_format == "separated":
        return tags
    if tag_format == "merged":
        return merged(tags, syntax)
    return {k: v for k, v in tags.items() if not k.startswith("fss-")}


def values(bucket: str, obj: dict, **more: object) -> dict:
    return {
        "bucket": bucket,
        "key": KEY,
        "key_url": KEY.replace("+", "%2B").replace(" ", "+").replace("é", "%C3%A9"),
        "region": REGION,
        "etag": obj["etag"],
        "size": obj["size"],
        "published": epoch(PUBLISHED),
        "started": epoch(STARTED),
        "scan_date": STARTED.strftime("%Y/%m/%d %H:%M:%S"),
        "message_id": str(uuid.uuid4()),
        "request_id": "4C8B2F1E0D3A6B9C",
        "scan_type": "object created",
        **more,
    }


def record_for(fixture: dict, message: dict) -> dict:
    record = sns_record(message)
    record["Sns"]["MessageAttributes"] = fixture["message_attributes"]
    return record


@pytest.mark.parametrize(("generation", "name", "tag_format", "syntax"), cases())
def test_generation_result_through_the_handler(
    s3,
    bucket,
    quarantine_bucket,
    dynamodb,
    table,
    make_engine,
    generation,
    name,
    tag_format,
    syntax,
) -> None:
    fixture = load(generation)
    (result,) = [r for r in fixture["results"] if r["name"] == name]
    obj = upload(s3, bucket, KEY, body=BODY)
    filled = values(bucket, obj)
    tags = {"file_id": "f-1", **scanner_tags(fill(result["tags"], filled), tag_format, syntax)}
    s3.put_object_tagging(
        Bucket=bucket,
        Key=KEY,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
    )
    message = fill(result["message"], filled)
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        RECORD_VERDICTS=",".join(VERDICTS),
        ROUTE_FAILED=f"{quarantine_bucket}/failed/",
    )
    run = engine(sns_event(record_for(fixture, message)))

    assert run.error is None, run.line
    line, verdict = run.line, result["verdict"]
    # Issue 19: without an ETag, a benign verdict in an unversioned bucket needs the scan's start
    # (the 2020 format has none): otherwise `unproven`, nothing done, the row says why.
    etag = "etag" in message.get("file_attributes", {})
    proven = verdict == "malicious" or etag or "scan_start_timestamp" in message
    assert (line["verdict"], line["outcome"]) == (
        verdict,
        "processed" if proven else "unproven",
    ), line["reason"]
    assert line["Verdict"] == verdict
    assert line["scan_error"] == result["scan_error"]
    assert line["key"] == KEY
    assert line["file_name"] == message.get("file_name")
    assert line["bucket_region"] == message.get("bucket_region")
    started = message.get("scan_start_timestamp")
    assert line["scan_start_timestamp"] == (None if started is None else pytest.approx(started))
    item = dynamodb.get_item(TableName=table, Key={"file_id": {"S": "f-1"}})["Item"]
    if proven:
        assert item["scan_verdict"] == {"S": verdict}
        assert item["scan_error"] == {"S": result["scan_error"] or ""}
    else:
        assert item["scan_verdict"] == {"S": "unproven"}
        assert item["scan_error"]["S"].startswith(f"{verdict} not applied")

    source_left = bool(s3.list_objects_v2(Bucket=bucket).get("KeyCount"))
    routed = s3.list_objects_v2(Bucket=quarantine_bucket).get("KeyCount", 0)
    acted = proven and verdict in ("malicious", "failed")
    assert source_left == (not acted), line["actions"]
    assert routed == (1 if acted and verdict == "failed" else 0), "only ROUTE_FAILED routes"
    # One object, whatever the tags say: never ambiguous (tags no longer locate anything).
    assert line.get("ambiguous") in (False, None)


def test_every_generation_has_a_fixture_with_every_documented_field() -> None:
    """The fixtures are the facts: each names its sources, and together they cover every
    scanner_status the documentation lists and every message field the engine reads."""
    statuses, fields = set(), set()
    for generation in GENERATIONS:
        fixture = load(generation)
        assert fixture["sources"], generation
        for result in fixture["results"]:
            assert result["verdict"] in VERDICTS
            statuses.add(result["message"]["scanner_status"])
            fields |= set(result["message"])
    assert statuses == {0, -1, -2, -3, -4}
    assert fields >= {
        "timestamp",
        "sqs_message_id",
        "xamz_request_id",
        "file_url",
        "file_name",
        "scan_start_timestamp",
        "scanner_status",
        "scanner_status_message",
        "scanning_result",
        "type",
        "bucket",
        "bucket_region",
        "file_attributes",
    }
    assert set(GENERATIONS) == {
        "cloudone-storage-stack-2020",
        "cloudone-storage-stack-current",
        "cloudone-account-scanner",
        "visionone",
    }
