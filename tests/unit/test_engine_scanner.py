"""Following the scanner exactly (issue 12), through the handler against moto: scan start times,
scanner outages (`unscanned`), scan details, tag formats, scan types, the scanner's own routing."""

from __future__ import annotations

import json

import pytest
from engine_kit import (
    REGION,
    later,
    scan_message,
    sns_event,
    sns_notification,
    sns_record,
    sqs_event,
    sqs_record,
    upload,
    versions_of,
)

from post_scan.config import VERDICTS, ConfigError, load_config

KEY = "inbox/upload 1.pdf"
MAL = {"file_id": "f-1", "fss-scan-result": "malicious"}
CLEAN = {"file_id": "f-1", "fss-scan-result": "no issues found"}


def row(dynamodb, table: str) -> dict | None:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": "f-1"}}).get("Item")


def keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def current(bucket: str, key: str, **fields) -> dict:
    """A current-format message (scan_start_timestamp): a benign verdict without an ETag needs it
    in an unversioned bucket (issue 19: otherwise an upload during the scan would pass)."""
    fields.setdefault("scan_start_timestamp", later(20))
    return scan_message(bucket, key, **fields)


def unscanned_message(bucket: str, key: str, status: int, **extra) -> dict:
    texts = {
        -1: "invalid license status",
        -3: "scanner error",
        -4: "unsuccessful scanner invocation",
    }
    message = current(bucket, key, verdict="clean", **extra)
    message["scanner_status"] = status
    message["scanner_status_message"] = texts[status]
    return message


# --- 1. scan_start_timestamp bounds LastModified -------------------------------------------------


def test_clean_reupload_during_the_scan_is_not_taken_for_the_scanned_version(
    s3, versioned_bucket, dynamodb, table, make_engine, clock
) -> None:
    """The verified bug: versioned bucket, no ETag in the message, FSS tagging off, a clean
    re-upload of the same size while the scan ran. `timestamp` (publication) alone lets the
    re-upload pass as the scanned content; scan_start_timestamp does not."""
    malicious = upload(s3, versioned_bucket, KEY, body=b"malicious!", tags={"file_id": "f-1"})
    clock.set(10)  # the scan started at +5, the result was published at +30
    clean = upload(s3, versioned_bucket, KEY, body=b"clean one!", tags={"file_id": "f-1"})
    message = scan_message(
        versioned_bucket, KEY, size=10, timestamp=later(30), scan_start_timestamp=later(5)
    )
    engine = make_engine(
        ALLOWED_BUCKETS=versioned_bucket,
        DELETE_MALICIOUS="true",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
    )
    run = engine(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed", run.line["reason"]
    assert run.line["version_id"] == malicious["version_id"]
    versions, markers = versions_of(s3, versioned_bucket, KEY)
    assert [v["VersionId"] for v in versions] == [clean["version_id"]]
    assert markers == []
    assert row(dynamodb, table)["s3_version_id"] == {"S": malicious["version_id"]}
    assert run.line["scan_start_timestamp"] == later(5)


def test_unversioned_upload_after_the_scan_began_is_left_alone(
    s3, bucket, table, make_engine, clock
) -> None:
    upload(s3, bucket, KEY, body=b"malicious!", tags={"file_id": "f-1"})
    clock.set(10)
    upload(s3, bucket, KEY, body=b"clean one!", tags={"file_id": "f-1"})
    message = scan_message(bucket, KEY, size=10, timestamp=later(30), scan_start_timestamp=later(5))
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(
        sns_event(sns_record(message))
    )
    assert run.line["outcome"] == "superseded"
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"clean one!"


@pytest.mark.parametrize("started", ["soon", -5, later(31)])
def test_bad_scan_start_timestamp_fails_loudly(bucket, make_engine, started) -> None:
    message = scan_message(bucket, KEY, timestamp=later(30), scan_start_timestamp=started)
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(
        sns_event(sns_record(message))
    )
    assert run.line["outcome"] == "error"
    assert "scan_start_timestamp" in run.line["reason"]


# --- 2. scanner outages are `unscanned`, not `failed` --------------------------------------------


@pytest.mark.parametrize("status", [-1, -3, -4])
def test_scanner_outage_is_not_moved_by_the_failed_route(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine, status
) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        ROUTE_FAILED=f"{quarantine_bucket}/failed/",
    )
    run = engine(sns_event(sns_record(unscanned_message(bucket, KEY, status))))
    assert (run.line["verdict"], run.line["Verdict"], run.line["outcome"]) == (
        "unscanned",
        "unscanned",
        "processed",
    )
    assert keys(s3, bucket) == [KEY]
    assert keys(s3, quarantine_bucket) == []
    # recorded by default (RECORD_VERDICTS unset), with what the scanner said
    item = row(dynamodb, table)
    assert item["scan_verdict"] == {"S": "unscanned"}
    assert item["scan_action"] == {"S": "none"}
    assert item["scan_error"]["S"] == run.line["scan_error"] != ""


def test_unsuccessful_scan_is_still_failed_and_routed(
    s3, bucket, quarantine_bucket, table, make_engine
) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(ALLOWED_BUCKETS=bucket, ROUTE_FAILED=f"{quarantine_bucket}/failed/")
    run = engine(sns_event(sns_record(current(bucket, KEY, verdict="failed"))))
    assert (run.line["verdict"], run.line["outcome"]) == ("failed", "processed")
    assert keys(s3, quarantine_bucket) == [f"failed/{bucket}/{KEY}"]


def test_unscanned_has_a_route_of_its_own(
    s3, bucket, quarantine_bucket, dynamodb, table, make_engine
) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        ROUTE_UNSCANNED=f"{quarantine_bucket}/unscanned/",
        ROUTE_MODE="copy",
    )
    run = engine(sns_event(sns_record(unscanned_message(bucket, KEY, -4))))
    assert run.line["outcome"] == "processed", run.line["reason"]
    assert keys(s3, quarantine_bucket) == [f"unscanned/{bucket}/{KEY}"]
    assert keys(s3, bucket) == [KEY]  # copy mode
    head = s3.head_object(Bucket=quarantine_bucket, Key=f"unscanned/{bucket}/{KEY}")
    assert head["Metadata"]["fss-post-scan-routed"] == "unscanned"
    assert row(dynamodb, table)["scan_action"] == {"S": "route"}


def test_unscanned_is_a_known_verdict_of_the_contract() -> None:
    assert "unscanned" in VERDICTS
    assert load_config({}).record_verdicts >= {"unscanned"}
    assert load_config({"RECORD_VERDICTS": "UNSCANNED"}).record_verdicts == {"unscanned"}
    assert (
        "unscanned"
        in load_config({"ROUTE_UNSCANNED": "review/x/", "ROUTE_UNSCANNED_KMS_KEY_ARN": ""}).routes
    )


def test_findings_win_over_an_outage_status(s3, bucket, make_engine) -> None:
    upload(s3, bucket, KEY)
    message = scan_message(bucket, KEY)
    message["scanner_status"] = -3
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(
        sns_event(sns_record(message))
    )
    assert (run.line["verdict"], run.line["actions"][-1]) == ("malicious", "delete")


# --- 3. details worth keeping ------------------------------------------------------------------


def test_scan_error_in_line_and_row(s3, bucket, dynamodb, table, make_engine) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    message = current(bucket, KEY, verdict="failed")
    message["scanning_result"]["Error"] = "x" * 5000
    engine = make_engine(ALLOWED_BUCKETS=bucket, EXTRACT_FILE_ID="true", FILE_ID_TABLE=table)
    run = engine(sns_event(sns_record(message)))
    error = run.line["scan_error"]
    assert error.startswith("unsuccessful scan: xxx") and error.endswith("...")
    assert len(error) == 1000
    assert row(dynamodb, table)["scan_error"] == {"S": error}


def test_a_newer_clean_result_clears_the_recorded_scan_error(
    s3, bucket, dynamodb, table, make_engine
) -> None:
    upload(s3, bucket, KEY, tags={"file_id": "f-1"})
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        RECORD_VERDICTS="clean,failed",
    )
    failed = current(
        bucket, KEY, verdict="failed", timestamp=later(10), scan_start_timestamp=later(5)
    )
    engine(sns_event(sns_record(failed)))
    assert row(dynamodb, table)["scan_error"]["S"]
    engine(sns_event(sns_record(current(bucket, KEY, verdict="clean", timestamp=later(30)))))
    assert row(dynamodb, table)["scan_error"] == {"S": ""}


@pytest.mark.parametrize(
    "how",
    ["message field", "sns attribute", "sqs attribute", "raw sqs attribute"],
)
def test_a_message_that_is_not_a_scan_result_is_ignored(
    s3, bucket, table, make_engine, how
) -> None:
    """The account scanner's topic also carries messages of other types (its own post-scan
    function may publish there): they are logged as `ignored`, neither acted on nor failed."""
    upload(s3, bucket, KEY)
    message = scan_message(bucket, KEY)  # even a malicious-looking body
    attributes = {"type": {"Type": "String", "Value": "post-scan-action"}}
    if how == "message field":
        message["type"] = "post-scan-action"
        event = sns_event(sns_record(message))
    elif how == "sns attribute":
        record = sns_record(message)
        record["Sns"]["MessageAttributes"] = attributes
        event = sns_event(record)
    elif how == "sqs attribute":
        event = sqs_event(
            sqs_record({**sns_notification(message), "MessageAttributes": attributes})
        )
    else:
        record = sqs_record(message)
        record["messageAttributes"] = {
            "type": {"stringValue": "post-scan-action", "dataType": "String"}
        }
        event = sqs_event(record)
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(event)
    assert run.error is None
    assert (run.line["outcome"], run.line["Ignored"], run.line["Errors"]) == ("ignored", 1, 0)
    assert "post-scan-action" in run.line["reason"]
    assert run.line["actions"] == []
    assert keys(s3, bucket) == [KEY]
    if how.startswith(("sqs", "raw")):
        assert run.result == {"batchItemFailures": []}


def test_a_scan_result_type_attribute_is_accepted(s3, bucket, make_engine) -> None:
    upload(s3, bucket, KEY)
    record = sns_record(scan_message(bucket, KEY, bucket_field=True))
    record["Sns"]["MessageAttributes"] = {"type": {"Type": "String", "Value": "scan-result"}}
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(sns_event(record))
    assert (run.line["outcome"], run.line["actions"][-1]) == ("processed", "delete")


def test_bucket_region_is_logged_and_checked_against_the_url(s3, bucket, make_engine) -> None:
    upload(s3, bucket, KEY)
    engine = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")
    good = scan_message(bucket, KEY, bucket_field=True, url_form="virtual-region")
    good["file_url"] = good["file_url"].replace("eu-west-1", REGION)
    run = engine(sns_event(sns_record(good)))
    assert (run.line["outcome"], run.line["bucket_region"]) == ("processed", REGION)

    upload(s3, bucket, KEY)
    wrong = scan_message(bucket, KEY, bucket_field=True, url_form="virtual-region")  # eu-west-1
    run = engine(sns_event(sns_record(wrong)))
    assert run.line["outcome"] == "error"
    assert "bucket_region" in run.line["reason"]
    for bad in ("US-EAST-1", "mars", 7):
        run = engine(sns_event(sns_record(scan_message(bucket, KEY, bucket_region=bad))))
        assert run.line["outcome"] == "error" and "bucket_region" in run.line["reason"]
    assert keys(s3, bucket) == [KEY]


def test_file_name_is_logged(s3, bucket, make_engine) -> None:
    upload(s3, bucket, KEY)
    message = scan_message(bucket, KEY, file_name=KEY)
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(
        sns_event(sns_record(message))
    )
    assert run.line["file_name"] == KEY


# --- 4. tag formats: the merged tag counts wherever the separated one does ------------------------


MERGED_MAL = {"file_id": "f-1", "fss-scan": "fss-scanned:true fss-scan-result:malicious"}
MERGED_CLEAN = {"file_id": "f-1", "fss-scan": "fss-scanned:true fss-scan-result:no issues found"}


def test_a_merged_clean_tag_never_spares_a_candidate_of_a_malicious_verdict(
    s3, versioned_bucket, table, make_engine, clock
) -> None:
    """Issue 19 changed this deliberately: tags are the uploader's to write, so a clean merged tag
    no longer tells an older version of the same size apart from the scanned one (no ETag). The
    first delivery acts on both (the documented collateral); the duplicate finds nothing left."""
    upload(s3, versioned_bucket, KEY, body=b"older clean", tags=MERGED_CLEAN)
    clock.set(10)
    upload(s3, versioned_bucket, KEY, body=b"malicious!!", tags=MERGED_MAL)
    record = sns_record(scan_message(versioned_bucket, KEY, size=11, timestamp=later(30)))
    engine = make_engine(ALLOWED_BUCKETS=versioned_bucket, DELETE_MALICIOUS="true")
    first = engine(sns_event(record))
    second = engine(sns_event(record))
    assert (first.line["outcome"], first.line["ambiguous"]) == ("processed", True)
    assert first.line["AmbiguousLocations"] == 1 and len(first.line["targets"]) == 2
    assert second.line["outcome"] == "object_gone"
    assert versions_of(s3, versioned_bucket, KEY) == ([], [])


def test_a_merged_clean_tag_never_keeps_a_malicious_upload_in_place(
    s3, bucket, make_engine, clock
) -> None:
    """Issue 19 finding 1 (before: `superseded`, the malware stayed, success)."""
    upload(s3, bucket, KEY, body=b"malicious!!", tags=MERGED_CLEAN)
    message = scan_message(bucket, KEY, size=11, timestamp=later(30))
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(
        sns_event(sns_record(message))
    )
    assert run.line["outcome"] == "processed"
    assert keys(s3, bucket) == []


# --- 5. scan types: full bucket scans do not mass-promote ----------------------------------------


def v1_tags(result: str, scan_type: str | None) -> dict[str, str]:
    tags = {"file_id": "f-1", "fss-scanned": "true", "fss-scan-result": result}
    if scan_type is not None:
        tags["fss-scan-type"] = scan_type
    return tags


@pytest.mark.parametrize("scan_type", ["manual", "schedule", "Manual"])
def test_full_bucket_scan_does_not_promote_clean_objects(
    s3, bucket, promote_bucket, dynamodb, table, make_engine, scan_type
) -> None:
    obj = upload(s3, bucket, KEY, tags=v1_tags("no issues found", scan_type))
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"], bucket_field=True)
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        ROUTE_CLEAN=f"{promote_bucket}/ok/",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        RECORD_VERDICTS="clean",
    )
    run = engine(sns_event(sns_record(message)))
    assert run.line["outcome"] == "processed"
    assert run.line["scan_type"] == scan_type.lower()
    assert "ROUTE_SCAN_TYPES" in run.line["reason"]
    assert (run.line["destination"], run.line["ObjectsRouted"]) == (None, 0)
    assert keys(s3, bucket) == [KEY] and keys(s3, promote_bucket) == []
    item = row(dynamodb, table)
    assert (item["scan_verdict"], item["scan_action"]) == ({"S": "clean"}, {"S": "none"})
    assert "scan_destination" not in item


@pytest.mark.parametrize("scan_type", ["object created", None])
def test_uploads_and_untagged_results_are_promoted(
    s3, bucket, promote_bucket, make_engine, scan_type
) -> None:
    obj = upload(s3, bucket, KEY, tags=v1_tags("no issues found", scan_type))
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
    run = make_engine(ALLOWED_BUCKETS=bucket, ROUTE_CLEAN=f"{promote_bucket}/ok/")(
        sns_event(sns_record(message))
    )
    assert run.line["ObjectsRouted"] == 1, run.line["reason"]
    assert keys(s3, bucket) == []


def test_opting_in_promotes_full_bucket_scans(s3, bucket, promote_bucket, make_engine) -> None:
    obj = upload(s3, bucket, KEY, tags=v1_tags("no issues found", "schedule"))
    message = scan_message(bucket, KEY, verdict="clean", etag=obj["etag"])
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        ROUTE_CLEAN=f"{promote_bucket}/ok/",
        ROUTE_SCAN_TYPES="object created, schedule",
    )
    run = engine(sns_event(sns_record(message)))
    assert run.line["ObjectsRouted"] == 1
    assert keys(s3, promote_bucket) == [f"ok/{bucket}/{KEY}"]


@pytest.mark.parametrize("settings", [{"DELETE_MALICIOUS": "true"}, {"ROUTE_MALICIOUS": "q"}])
def test_malicious_results_of_any_scan_type_are_acted_on(
    s3, bucket, quarantine_bucket, make_engine, settings
) -> None:
    obj = upload(s3, bucket, KEY, tags=v1_tags("malicious", "schedule"))
    message = scan_message(bucket, KEY, etag=obj["etag"])
    if "ROUTE_MALICIOUS" in settings:
        settings = {"ROUTE_MALICIOUS": quarantine_bucket}
    run = make_engine(ALLOWED_BUCKETS=bucket, ROUTE_SCAN_TYPES="", **settings)(
        sns_event(sns_record(message))
    )
    assert run.line["outcome"] == "processed"
    assert keys(s3, bucket) == []


def test_an_outage_during_a_full_scan_does_not_move_the_files(
    s3, bucket, quarantine_bucket, make_engine
) -> None:
    obj = upload(s3, bucket, KEY, tags=v1_tags("failure", "manual"))
    message = unscanned_message(bucket, KEY, -4, etag=obj["etag"])
    engine = make_engine(ALLOWED_BUCKETS=bucket, ROUTE_UNSCANNED=f"{quarantine_bucket}/hold/")
    run = engine(sns_event(sns_record(message)))
    assert (run.line["verdict"], run.line["ObjectsRouted"]) == ("unscanned", 0)
    assert "ROUTE_SCAN_TYPES" in run.line["reason"]
    assert keys(s3, bucket) == [KEY] and keys(s3, quarantine_bucket) == []


@pytest.mark.parametrize("verdict", ["incomplete", "failed"])
def test_incomplete_and_failed_results_of_full_scans_are_still_routed(
    s3, bucket, quarantine_bucket, make_engine, verdict
) -> None:
    """A scan-type tag never keeps a file from review: with FSS tagging off an uploader could
    set fss-scan-type themselves."""
    result = "failure" if verdict == "failed" else "no issues found"
    obj = upload(s3, bucket, KEY, tags=v1_tags(result, "schedule"))
    message = scan_message(bucket, KEY, verdict=verdict, etag=obj["etag"])
    route = {f"ROUTE_{verdict.upper()}": f"{quarantine_bucket}/review/"}
    run = make_engine(ALLOWED_BUCKETS=bucket, **route)(sns_event(sns_record(message)))
    assert run.line["ObjectsRouted"] == 1, run.line["reason"]
    assert keys(s3, quarantine_bucket) == [f"review/{bucket}/{KEY}"]


def test_scan_types_setting_is_validated() -> None:
    assert load_config({}).route_scan_types == {"object created"}
    assert load_config({"ROUTE_SCAN_TYPES": " Object  Created ,MANUAL"}).route_scan_types == {
        "object created",
        "manual",
    }
    with pytest.raises(ConfigError, match="ROUTE_SCAN_TYPES: 'upload'"):
        load_config({"ROUTE_SCAN_TYPES": "upload"})


# --- 6. the scanner's own routing ---------------------------------------------------------------


def test_object_moved_by_the_scanner_is_said_plainly(s3, bucket, table, make_engine) -> None:
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        SCANNER_ROUTED_VERDICTS="malicious",
    )
    run = engine(sns_event(sns_record(scan_message(bucket, KEY))))
    assert run.error is None
    assert (run.line["outcome"], run.line["moved_by_scanner"]) == ("object_gone", True)
    assert "moved by the scanner" in run.line["reason"]


def test_gone_without_scanner_routing_is_not_blamed_on_the_scanner(
    bucket, table, make_engine
) -> None:
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        SCANNER_ROUTED_VERDICTS="clean",
    )
    run = engine(sns_event(sns_record(scan_message(bucket, KEY))))
    assert run.line["outcome"] == "object_gone"
    assert "moved_by_scanner" not in run.line
    assert "scanner" not in run.line["reason"]


def test_scanner_routing_and_routes_for_the_same_verdict_are_refused() -> None:
    with pytest.raises(ConfigError, match="ROUTE_MALICIOUS is set but SCANNER_ROUTED_VERDICTS"):
        load_config({"SCANNER_ROUTED_VERDICTS": "malicious", "ROUTE_MALICIOUS": "quarantine"})
    with pytest.raises(ConfigError, match="SCANNER_ROUTED_VERDICTS: 'quarantined'"):
        load_config({"SCANNER_ROUTED_VERDICTS": "quarantined"})
    config = load_config({"SCANNER_ROUTED_VERDICTS": "malicious", "DELETE_MALICIOUS": "true"})
    assert any("SCANNER_ROUTED_VERDICTS" in w for w in config.warnings())
    assert load_config({"SCANNER_ROUTED_VERDICTS": "malicious", "ROUTE_CLEAN": "promoted"}).routes


def test_line_is_valid_json_with_the_new_fields(s3, bucket, make_engine) -> None:
    upload(s3, bucket, KEY)
    run = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")(
        sns_event(sns_record(scan_message(bucket, KEY)))
    )
    line = json.loads(run.raw[0])
    assert {"scan_start_timestamp", "scan_error", "scan_type", "bucket_region", "file_name"} <= set(
        line
    )
