"""GuardDuty Malware Protection for S3 results through the handler, against moto: the exact version,
unversioned buckets, duplicates and order, the guard, queue delivery, the row, Post Scan Action
Failed, and what the same settings do for both scanners."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from engine_kit import ACCOUNT, later, scan_message, sns_event, sns_record, sqs_event, upload
from guardduty_kit import (
    OTHER_PLAN_ARN,
    PLAN_ARN,
    RESULTS,
    failure_event,
    gd_env,
    gd_event,
    iso,
    queued,
)

from post_scan.handler import RecordsFailed

KEY = "in box/a+b %2B é.pdf"  # raw: GuardDuty does not URL-encode keys
MAL = {"GuardDutyMalwareScanStatus": "THREATS_FOUND", "file_id": "f-1"}
CLEAN = {"GuardDutyMalwareScanStatus": "NO_THREATS_FOUND", "file_id": "f-2"}
REPO = Path(__file__).resolve().parents[2]


def version_ids(s3, bucket: str, key: str = KEY) -> list[str]:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]


def row(dynamodb, table: str, file_id: str) -> dict:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": file_id}}).get("Item", {})


# --- the exact version ----------------------------------------------------------------------


def test_named_version_is_deleted_after_one_head_of_it(
    s3, versioned_bucket, make_engine, s3_calls
) -> None:
    kept = upload(s3, versioned_bucket, KEY, body=b"older, clean")
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    newer = upload(s3, versioned_bucket, KEY, body=b"newer, clean")
    event = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    s3_calls.calls.clear()
    run = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))(event)
    line = run.line
    assert run.error is None and line["outcome"] == "processed"
    assert line["actions"] == ["head_version", "delete"]
    assert s3_calls.names() == ["HeadObject", "DeleteObject"]
    (head,) = s3_calls.params("HeadObject")
    assert (head["Key"], head["VersionId"]) == (KEY, scanned["version_id"])
    assert s3_calls.params("DeleteObject")[0]["VersionId"] == scanned["version_id"]
    assert set(version_ids(s3, versioned_bucket)) == {kept["version_id"], newer["version_id"]}
    assert (line["scanner"], line["plan_arn"], line["delivery"]) == (
        "guardduty",
        PLAN_ARN,
        "eventbridge",
    )
    assert (line["message_id"], line["message_id_source"]) == (event["id"], "event_id")
    assert (line["key"], line["version_id"], line["verdict"]) == (
        KEY,
        scanned["version_id"],
        "malicious",
    )
    assert line["findings"] == [{"malware": "EICAR-Test-File (not a virus)", "type": "GuardDuty"}]


def test_a_version_with_another_etag_is_never_acted_on(s3, versioned_bucket, make_engine) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    other = upload(s3, versioned_bucket, KEY, body=b"other bytes")
    event = gd_event(versioned_bucket, KEY, etag=other["etag"], version_id=scanned["version_id"])
    run = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))(event)
    assert isinstance(run.error, RecordsFailed)  # Lambda retries it, then dead-letters it
    assert run.line["outcome"] == "error" and run.line["error"]["type"] == "VersionMismatch"
    assert run.line["actions"] == ["head_version"]
    assert len(version_ids(s3, versioned_bucket)) == 2


def test_a_version_that_is_gone_is_object_gone_and_nothing_else_is_touched(
    s3, versioned_bucket, make_engine
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    same_bytes = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    s3.delete_object(Bucket=versioned_bucket, Key=KEY, VersionId=scanned["version_id"])
    event = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    run = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))(event)
    assert run.error is None and run.line["outcome"] == "object_gone"
    # Same ETag, another version: not the one scanned, left alone (GuardDuty scans it itself).
    assert version_ids(s3, versioned_bucket) == [same_bytes["version_id"]]


def test_results_out_of_order_and_twice_act_once_each_on_their_own_version(
    s3, versioned_bucket, dynamodb, table, make_engine
) -> None:
    first = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    second = upload(s3, versioned_bucket, KEY, body=b"clean now", tags={**CLEAN, "file_id": "f-1"})
    engine = make_engine(
        **gd_env(
            versioned_bucket,
            DELETE_MALICIOUS="true",
            EXTRACT_FILE_ID="true",
            FILE_ID_TABLE=table,
            RECORD_VERDICTS="malicious,clean",
        )
    )
    clean = gd_event(
        versioned_bucket,
        KEY,
        "clean",
        etag=second["etag"],
        version_id=second["version_id"],
        time=iso(40),
    )
    malicious = gd_event(
        versioned_bucket, KEY, etag=first["etag"], version_id=first["version_id"], time=iso(20)
    )
    # The later upload's (newer) result arrives first, then the older one's, then that again.
    assert engine(clean).line["outcome"] == "processed"
    assert engine(malicious).line["outcome"] == "stale_verdict"  # row: newer verdict wins
    assert version_ids(s3, versioned_bucket) == [second["version_id"]]  # but it was deleted
    assert engine(malicious).line["outcome"] == "object_gone"
    stored = row(dynamodb, table, "f-1")
    assert stored["scan_verdict"] == {"S": "clean"}
    assert stored["s3_version_id"] == {"S": second["version_id"]}
    assert stored["scan_scanner"] == {"S": "guardduty"}
    assert stored["scan_message_id"] == {"S": clean["id"]}


def test_unversioned_bucket_deletes_only_the_current_object_with_the_scanned_etag(
    s3, bucket, make_engine, s3_calls
) -> None:
    scanned = upload(s3, bucket, KEY, body=b"malicious", tags=MAL)
    event = gd_event(bucket, KEY, "threats-unversioned", etag=scanned["etag"])
    assert "versionId" not in event["detail"]["s3ObjectDetails"]
    s3_calls.calls.clear()
    run = make_engine(**gd_env(bucket, DELETE_MALICIOUS="true"))(event)
    assert run.line["outcome"] == "processed" and run.line["actions"] == ["head", "delete"]
    assert s3_calls.params("DeleteObject")[0]["IfMatch"] == f'"{scanned["etag"]}"'
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_unversioned_key_overwritten_since_the_scan_is_left_alone(s3, bucket, make_engine) -> None:
    scanned = upload(s3, bucket, KEY, body=b"malicious", tags=MAL)
    upload(s3, bucket, KEY, body=b"a new upload")
    event = gd_event(bucket, KEY, "threats-unversioned", etag=scanned["etag"])
    run = make_engine(**gd_env(bucket, DELETE_MALICIOUS="true"))(event)
    assert run.line["outcome"] == "superseded"
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"a new upload"


# --- the guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "change", "says"),
    [
        ({"GUARDDUTY_PLAN_ARNS": ""}, {}, "lists no plan"),
        ({}, {"source": "acme.uploads"}, "not aws.guardduty"),
        ({}, {"detail-type": "GuardDuty Malware Protection Object Scan Results"}, "detail-type"),
        ({}, {"resources": [OTHER_PLAN_ARN]}, "name no plan"),
        ({"EXPECTED_BUCKET_OWNER": "210987654321"}, {}, "EXPECTED_BUCKET_OWNER"),
        ({"ALLOWED_BUCKETS": "another-bucket"}, {}, "ALLOWED_BUCKETS"),
    ],
)
def test_untrusted_events_are_rejected_before_anything_is_read(
    s3, versioned_bucket, make_engine, s3_calls, env: dict, change: dict, says: str
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    event = {
        **gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"]),
        **change,
    }
    s3_calls.calls.clear()
    run = make_engine(**{**gd_env(versioned_bucket, DELETE_MALICIOUS="true"), **env})(event)
    assert run.error is None and run.line["outcome"] == "rejected"
    assert says in run.line["reason"] and run.line["Rejected"] == 1
    assert s3_calls.calls == [] and len(version_ids(s3, versioned_bucket)) == 1


def test_the_event_account_must_be_the_expected_bucket_owner(
    s3, versioned_bucket, make_engine
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    event = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    env = gd_env(versioned_bucket, DELETE_MALICIOUS="true", EXPECTED_BUCKET_OWNER=ACCOUNT)
    assert make_engine(**env)(event).line["outcome"] == "processed"


def test_an_unusable_event_fails_loudly_and_is_never_taken_for_clean(
    s3, versioned_bucket, make_engine
) -> None:
    event = gd_event(versioned_bucket, KEY, "clean", etag="e", version_id="v")
    event["detail"]["scanResultDetails"]["scanResultStatus"] = "THREAT_FOUND"
    run = make_engine(**gd_env(versioned_bucket, RECORD_VERDICTS="clean"))(event)
    assert isinstance(run.error, RecordsFailed)
    assert run.line["outcome"] == "error" and "misspelling" in run.line["error"]["message"]
    assert run.line["Verdict"] == "unparsed" and run.line["scanner"] == "guardduty"


_COLD_START = """
import json, os, sys
os.environ.update({env!r})
from post_scan import handler
loaded_at_cold_start = "post_scan.guardduty" in sys.modules
result = handler.lambda_handler({event!r}, None)
print(json.dumps([loaded_at_cold_start, "post_scan.guardduty" in sys.modules]))
"""


def test_without_plans_the_guardduty_parser_is_never_loaded(versioned_bucket) -> None:
    """A deployment without GuardDuty does not pay for its parser, even when an event arrives."""
    event = gd_event(versioned_bucket, KEY, etag="e", version_id="v")
    env = {"ALLOWED_BUCKETS": versioned_bucket, "AWS_DEFAULT_REGION": "us-east-1"}
    code = _COLD_START.format(env=env, event=event)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "lambda"), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[false, false]"
    assert '"outcome":"rejected"' in done.stdout


# --- queue delivery -------------------------------------------------------------------------


def test_queued_events_fail_alone_in_the_partial_batch_response(
    s3, versioned_bucket, make_engine
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    good = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    bad = gd_event(versioned_bucket, "other", etag="e", version_id="v")
    bad["detail"]["s3ObjectDetails"]["etag"] = bad["detail"]["s3ObjectDetails"].pop("eTag")
    records = [queued(good, message_id="q-good"), queued(bad, message_id="q-bad")]
    run = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))(sqs_event(*records))
    assert run.result == {"batchItemFailures": [{"itemIdentifier": "q-bad"}]}
    assert [line["outcome"] for line in run.lines] == ["processed", "error"]
    assert [line["delivery"] for line in run.lines] == ["sqs-eventbridge"] * 2
    assert run.lines[0]["queue_message_id"] == "q-good"
    assert version_ids(s3, versioned_bucket) == []


def test_both_scanners_in_one_deployment_and_one_batch(s3, versioned_bucket, make_engine) -> None:
    by_guardduty = upload(s3, versioned_bucket, "gd.txt", body=b"malicious one", tags=MAL)
    by_fss = upload(s3, versioned_bucket, "fss.txt", body=b"malicious two")
    from engine_kit import sns_notification

    records = [
        queued(
            gd_event(
                versioned_bucket,
                "gd.txt",
                etag=by_guardduty["etag"],
                version_id=by_guardduty["version_id"],
            )
        ),
        queued(sns_notification(scan_message(versioned_bucket, "fss.txt", etag=by_fss["etag"]))),
    ]
    run = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))(sqs_event(*records))
    assert run.result == {"batchItemFailures": []}
    assert [(line["scanner"], line["outcome"]) for line in run.lines] == [
        ("guardduty", "processed"),
        ("fss", "processed"),
    ]
    assert s3.list_object_versions(Bucket=versioned_bucket).get("Versions", []) == []


# --- Post Scan Action Failed ------------------------------------------------------------------


def test_post_scan_action_failed_is_logged_and_counted_without_any_call(
    s3, versioned_bucket, make_engine, s3_calls
) -> None:
    event = failure_event(versioned_bucket, KEY, etag="e", version_id="v-7")
    s3_calls.calls.clear()
    run = make_engine(**gd_env(versioned_bucket, DELETE_MALICIOUS="true"))(event)
    line = run.line
    assert run.error is None and s3_calls.calls == []
    assert line["outcome"] == "post_scan_action_failed" and line["PostScanActionsFailed"] == 1
    assert (line["bucket"], line["key"], line["version_id"], line["etag"]) == (
        versioned_bucket,
        KEY,
        "v-7",
        "e",
    )
    assert line["post_scan_actions"] == ["TAGGING: MAX_TAG_LIMIT_EXCEEDED"]
    assert "MAX_TAG_LIMIT_EXCEEDED" in line["reason"] and line["Verdict"] == "not_a_scan_result"


def test_post_scan_action_failed_of_a_foreign_bucket_is_rejected(
    s3, versioned_bucket, make_engine
) -> None:
    run = make_engine(**gd_env(versioned_bucket))(failure_event("someone-else", KEY, etag="e"))
    assert run.line["outcome"] == "rejected" and run.line["PostScanActionsFailed"] == 0


# --- the same settings for both scanners ------------------------------------------------------


def test_quarantine_copies_exactly_the_scanned_version(
    s3, versioned_bucket, quarantine_bucket, dynamodb, table, make_engine
) -> None:
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    newer = upload(s3, versioned_bucket, KEY, body=b"newer bytes")
    event = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    env = gd_env(
        versioned_bucket,
        ROUTE_MALICIOUS=f"{quarantine_bucket}/q/",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
    )
    line = make_engine(**env)(event).line
    assert line["outcome"] == "processed"
    assert line["actions"] == [
        "head_version",
        "read_tags",
        "read_source",
        "record",
        "copy",
        "verify",
        "delete",
    ]
    copy = s3.get_object(Bucket=quarantine_bucket, Key=f"q/{versioned_bucket}/{KEY}")
    assert copy["Body"].read() == b"malicious"
    assert version_ids(s3, versioned_bucket) == [newer["version_id"]]
    stored = row(dynamodb, table, "f-1")
    assert (stored["scan_action"], stored["scan_scanner"]) == (
        {"S": "quarantine"},
        {"S": "guardduty"},
    )


def test_quarantined_copy_of_an_untagged_source_gets_guardduty_s_tag(
    s3, versioned_bucket, quarantine_bucket, make_engine
) -> None:
    """GuardDuty tags in parallel with the function: the copy carries the tag the bucket policy
    of read_protection = malicious keys on."""
    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags={"file_id": "f-1"})
    event = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    env = gd_env(
        versioned_bucket, ROUTE_MALICIOUS=f"{quarantine_bucket}/q/", READ_PROTECTION="malicious"
    )
    assert make_engine(**env)(event).line["outcome"] == "processed"
    tags = s3.get_object_tagging(Bucket=quarantine_bucket, Key=f"q/{versioned_bucket}/{KEY}")
    assert {t["Key"]: t["Value"] for t in tags["TagSet"]} == {
        "file_id": "f-1",
        "GuardDutyMalwareScanStatus": "THREATS_FOUND",
    }


@pytest.mark.parametrize(
    ("tags", "untagged"),
    [(CLEAN, 0), ({"file_id": "f-2"}, 1), ({"fss-scan-result": "no issues found"}, 1)],
)
def test_until_clean_checks_guardduty_s_own_clean_tag(
    s3, versioned_bucket, make_engine, tags: dict, untagged: int
) -> None:
    obj = upload(s3, versioned_bucket, KEY, body=b"fine", tags=tags)
    event = gd_event(versioned_bucket, KEY, "clean", etag=obj["etag"], version_id=obj["version_id"])
    engine = make_engine(**gd_env(versioned_bucket, READ_PROTECTION="until_clean"))
    engine.pipeline._sleep = lambda seconds: None
    line = engine(event).line
    assert line["UntaggedCleanObjects"] == untagged
    if untagged:
        assert "GuardDutyMalwareScanStatus='NO_THREATS_FOUND'" in line["reason"]


def test_failed_and_unscanned_results_follow_their_verdict_s_settings(
    s3, versioned_bucket, quarantine_bucket, make_engine
) -> None:
    obj = upload(s3, versioned_bucket, KEY, body=b"locked archive")
    env = gd_env(versioned_bucket, ROUTE_FAILED=f"{quarantine_bucket}/review/")
    engine = make_engine(**env)
    unsupported = gd_event(
        versioned_bucket, KEY, "unsupported", etag=obj["etag"], version_id=obj["version_id"]
    )
    line = engine(unsupported).line
    assert (line["verdict"], line["outcome"]) == ("failed", "processed")
    assert line["scan_error"] == "SKIPPED: UNSUPPORTED (PASSWORD_PROTECTED)"
    denied = gd_event(
        versioned_bucket, KEY, "access-denied", etag=obj["etag"], version_id=obj["version_id"]
    )
    line = engine(denied).line  # unscanned: never routed by the failed route
    assert (line["verdict"], line["actions"]) == ("unscanned", [])


def test_a_benign_guardduty_verdict_is_refused_where_fss_tagged_malicious(
    s3, versioned_bucket, dynamodb, table, make_engine
) -> None:
    obj = upload(
        s3,
        versioned_bucket,
        KEY,
        body=b"x",
        tags={"fss-scan-result": "malicious", "file_id": "f-3"},
    )
    event = gd_event(versioned_bucket, KEY, "clean", etag=obj["etag"], version_id=obj["version_id"])
    env = gd_env(
        versioned_bucket, EXTRACT_FILE_ID="true", FILE_ID_TABLE=table, RECORD_VERDICTS="clean"
    )
    run = make_engine(**env)(event)
    assert run.line["error"]["type"] == "VerdictConflict" and run.line["VerdictConflicts"] == 1
    assert row(dynamodb, table, "f-3") == {}


@pytest.mark.parametrize(
    "tag",
    [
        {"GuardDutyMalwareScanStatus": "THREATS_FOUND"},
        {"guarddutymalwarescanstatus": "threats_found"},  # any spelling says malicious
    ],
    ids=["guardduty-spelling", "other-case"],
)
@pytest.mark.parametrize("verdict", ["clean", "failed"])
def test_a_benign_fss_verdict_is_refused_where_guardduty_tagged_malicious(
    s3, versioned_bucket, dynamodb, table, make_engine, tag, verdict
) -> None:
    """The contradiction rule holds across scanners: GuardDuty's THREATS_FOUND on the object
    refuses an FSS verdict that would leave it in place (and record it as not malicious)."""
    obj = upload(s3, versioned_bucket, "b.txt", body=b"x", tags={**tag, "file_id": "f-4"})
    message = scan_message(
        versioned_bucket, "b.txt", verdict=verdict, etag=obj["etag"], timestamp=later(30)
    )
    env = gd_env(
        versioned_bucket, EXTRACT_FILE_ID="true", FILE_ID_TABLE=table, RECORD_VERDICTS=verdict
    )
    run = make_engine(**env)(sns_event(sns_record(message)))
    assert run.line["scanner"] == "fss"
    assert run.line["error"]["type"] == "VerdictConflict" and run.line["VerdictConflicts"] == 1
    assert row(dynamodb, table, "f-4") == {}
    assert version_ids(s3, versioned_bucket, "b.txt") == [obj["version_id"]]


def test_fss_results_are_unchanged_by_guardduty_settings(s3, bucket, make_engine) -> None:
    obj = upload(s3, bucket, "a.txt")
    message = scan_message(bucket, "a.txt", etag=obj["etag"], timestamp=later(30))
    run = make_engine(**gd_env(bucket, DELETE_MALICIOUS="true"))(sns_event(sns_record(message)))
    assert (run.line["scanner"], run.line["outcome"], run.line["plan_arn"]) == (
        "fss",
        "processed",
        None,
    )


# --- announcements ----------------------------------------------------------------------------


def test_event_notification_and_finding_say_guardduty(
    s3, versioned_bucket, targets, make_engine, announce_calls
) -> None:
    from announce_kit import schema
    from jsonschema import Draft202012Validator

    scanned = upload(s3, versioned_bucket, KEY, body=b"malicious", tags=MAL)
    event = gd_event(versioned_bucket, KEY, etag=scanned["etag"], version_id=scanned["version_id"])
    env = gd_env(
        versioned_bucket,
        DELETE_MALICIOUS="true",
        **targets.env,
    )
    assert make_engine(**env)(event).line["outcome"] == "processed"
    (delivered,) = targets.events()
    detail = delivered["detail"]
    assert not list(Draft202012Validator(schema()).iter_errors(detail))
    assert (detail["scanner"], detail["plan_arn"], detail["schema_version"]) == (
        "guardduty",
        PLAN_ARN,
        "1.2",
    )
    assert (detail["scan_message_id"], detail["scan_message_id_source"]) == (
        event["id"],
        "event_id",
    )
    assert (detail["version_id"], detail["delivery"]) == (scanned["version_id"], "eventbridge")
    (entry,) = [
        e for p in announce_calls.params("PublishBatch") for e in p["PublishBatchRequestEntries"]
    ]
    assert entry["MessageAttributes"]["scanner"] == {
        "DataType": "String",
        "StringValue": "guardduty",
    }
    email = json.loads(entry["Message"])["email"]
    assert "Scanner:     GuardDuty Malware Protection for S3" in email
    (finding,) = targets.findings()
    assert finding["Resources"][0]["Details"]["AwsS3Object"]["VersionId"] == scanned["version_id"]


# --- configuration ----------------------------------------------------------------------------


def test_plan_arns_are_read_like_the_other_allow_lists(tmp_path) -> None:
    from post_scan.config import load_config

    assert load_config({}).guardduty_plan_arns == frozenset()
    both = f" {PLAN_ARN} ,, {OTHER_PLAN_ARN} "
    assert load_config({"GUARDDUTY_PLAN_ARNS": both}).guardduty_plan_arns == {
        PLAN_ARN,
        OTHER_PLAN_ARN,
    }
    (tmp_path / "plans.txt").write_text(f"{PLAN_ARN}\n\n", encoding="utf-8")
    listed = load_config({"GUARDDUTY_PLAN_ARNS": "file:plans.txt"}, package_root=tmp_path)
    assert listed.guardduty_plan_arns == {PLAN_ARN}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (",", "lists no plan ARN"),
        ("arn:aws:guardduty:us-east-1:123456789012:detector/abc", "not a GuardDuty Malware"),
        (f"{PLAN_ARN}*", "not a GuardDuty Malware"),
        ("file:missing.txt", "cannot read"),
        ("file:../etc/passwd", "not a file name"),
    ],
)
def test_bad_plan_arns_fail_the_cold_start(value: str, says: str) -> None:
    from post_scan.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=says) as raised:
        load_config({"GUARDDUTY_PLAN_ARNS": value})
    assert "GUARDDUTY_PLAN_ARNS" in str(raised.value)


# --- every fixture result, end to end ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_fixture_result_through_the_handler(
    s3, bucket, versioned_bucket, dynamodb, table, make_engine, name: str
) -> None:
    expected = RESULTS[name]
    unversioned = name.endswith("unversioned")
    where = bucket if unversioned else versioned_bucket
    obj = upload(s3, where, KEY, body=b"scanned bytes", tags={**expected["tags"], "file_id": "f-9"})
    event = gd_event(
        where, KEY, name, etag=obj["etag"], version_id=None if unversioned else obj["version_id"]
    )
    env = gd_env(
        where,
        DELETE_MALICIOUS="true",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        RECORD_VERDICTS="malicious,clean,incomplete,failed,unscanned",
    )
    line = make_engine(**env)(event).line
    assert (line["verdict"], line["outcome"], line["scan_error"]) == (
        expected["verdict"],
        "processed",
        expected["scan_error"],
    )
    stored = row(dynamodb, table, "f-9")
    assert stored["scan_verdict"] == {"S": expected["verdict"]}
    assert stored["scan_scanner"] == {"S": "guardduty"}
    assert stored["scan_error"] == {"S": expected["scan_error"] or ""}
    assert [f["M"]["malware"]["S"] for f in stored["scan_findings"]["L"]] == [
        f["malware"] for f in expected["findings"]
    ]
    gone = expected["verdict"] == "malicious"
    left = s3.list_object_versions(Bucket=where).get("Versions", [])
    assert (len(left) == 0) == gone
