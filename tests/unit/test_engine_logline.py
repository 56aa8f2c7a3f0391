"""The one JSON log line per record with its CloudWatch EMF block, and the Lambda entry point."""

from __future__ import annotations

import importlib
import json

import pytest
from engine_kit import FUNCTION_ARN, scan_message, sns_event, sns_record, upload

from post_scan import aws, handler, logline
from post_scan.pipeline import Outcome

REQUIRED_FIELDS = {
    "scanner",
    "plan_arn",
    "delivery",
    "queue_message_id",
    "receive_count",
    "message_id",
    "sns_message_id",
    "topic_arn",
    "bucket",
    "key",
    "version_id",
    "etag",
    "verdict",
    "findings",
    "codes",
    "scan_timestamp",
    "scan_start_timestamp",
    "scan_error",
    "scan_type",
    "bucket_region",
    "file_name",
    "file_id",
    "destination",
    "targets",
    "fallback",
    "actions",
    "dry_run",
    "outcome",
    "action",
    "reason",
    "duration_ms",
    "exposure_seconds",
    "scan_seconds",
    "action_delay_seconds",
}
COUNTERS = {
    "ObjectsDeleted",
    "ObjectsRouted",
    "VerdictsRecorded",
    "Rejected",
    "Ignored",
    "Superseded",
    "ObjectGone",
    "StaleVerdicts",
    "RowsMissing",
    "FileIdMissing",
    "AmbiguousLocations",
    "OwnCopiesSkipped",
    "UntaggedCleanObjects",
    "Errors",
    "FallbackActions",
    "VerdictConflicts",
    "PostScanActionsFailed",
    "UnprovenLocations",
    "RowConflicts",
    "ClampedTimings",
}
TIMINGS = {"ExposureSeconds", "ScanSeconds", "ActionDelaySeconds"}


def assert_valid_emf(line: dict, namespace: str) -> None:
    """Checks the CloudWatch Embedded Metric Format specification's rules for one line."""
    meta = line["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_600_000_000_000
    directives = meta["CloudWatchMetrics"]
    assert [d["Dimensions"] for d in directives] == [
        [["FunctionName", "Verdict"]],
        [["FunctionName"]],
    ]
    for directive in directives:
        assert directive["Namespace"] == namespace
        for dimension_set in directive["Dimensions"]:
            for dimension in dimension_set:
                assert isinstance(line[dimension], str) and line[dimension]
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            if metric["Name"] in TIMINGS:  # only those that apply, as numbers of seconds
                assert metric["Unit"] == "Seconds"
                assert isinstance(line[metric["Name"]], float) and line[metric["Name"]] >= 0
            else:
                assert metric["Unit"] == "Count"
                assert isinstance(line[metric["Name"]], int)
    assert directives[0]["Metrics"] == [{"Name": "ScanResults", "Unit": "Count"}]
    assert {m["Name"] for m in directives[1]["Metrics"]} - TIMINGS == COUNTERS
    assert line["ScanResults"] == 1


def test_processed_line_has_every_field_and_valid_emf(
    s3, bucket, table, make_engine, monkeypatch
) -> None:
    obj = upload(s3, bucket, "a b.txt", tags={"file_id": "f-1"})
    message = scan_message(bucket, "a b.txt", etag=obj["etag"], message_id="m-1")
    engine = make_engine(
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        METRICS_NAMESPACE="Team/Uploads",
        AWS_LAMBDA_FUNCTION_NAME="fss-post-scan",
    )
    run = engine(sns_event(sns_record(message, sns_message_id="sns-1")))
    assert len(run.raw) == 1 and "\n" not in run.raw[0]
    line = run.line
    assert set(line) >= REQUIRED_FIELDS
    assert line["message_id"] == "m-1"
    assert (line["scanner"], line["plan_arn"]) == ("fss", None)
    assert line["sns_message_id"] == "sns-1"
    assert line["findings"] == [{"malware": "Eicar_test_file", "type": "Virus"}]
    assert line["scan_timestamp"] == message["timestamp"]
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert_valid_emf(line, "Team/Uploads")
    assert (line["FunctionName"], line["Verdict"]) == ("fss-post-scan", "malicious")
    assert {name: line[name] for name in COUNTERS if line[name]} == {
        "ObjectsDeleted": 1,
        "VerdictsRecorded": 1,
    }


@pytest.mark.parametrize(
    ("outcome", "counter"),
    [
        ("rejected", "Rejected"),
        ("superseded", "Superseded"),
        ("object_gone", "ObjectGone"),
        ("stale_verdict", "StaleVerdicts"),
        ("row_missing", "RowsMissing"),
        ("skipped_own_copy", "OwnCopiesSkipped"),
        ("error", "Errors"),
        ("ignored", "Ignored"),
        ("post_scan_action_failed", "PostScanActionsFailed"),
        ("unproven", "UnprovenLocations"),
    ],
)
def test_each_outcome_has_its_counter(outcome: str, counter: str) -> None:
    line = logline.build(Outcome(dry_run=False, outcome=outcome), "NS", "fn", 1_700_000_000_000)
    assert_valid_emf(line, "NS")
    assert {name for name in COUNTERS if line[name]} == {counter}
    not_a_result = outcome in ("ignored", "post_scan_action_failed")
    assert line["Verdict"] == ("not_a_scan_result" if not_a_result else "unparsed")


@pytest.mark.parametrize(
    ("fields", "counters"),
    [
        ({"outcome": "fallback", "fallback": "key too long"}, {"FallbackActions"}),
        ({"outcome": "fallback", "fallback": "key too long", "dry_run": True}, set()),
        ({"outcome": "error", "verdict_conflict": True}, {"Errors", "VerdictConflicts"}),
        ({"outcome": "row_conflict", "row_conflict": True}, {"RowConflicts"}),
        # A malicious file made harmless by a fallback although its row named another object.
        (
            {"outcome": "fallback", "fallback": "x", "row_conflict": True},
            {"FallbackActions", "RowConflicts"},
        ),
    ],
)
def test_fallback_and_verdict_conflict_counters(fields: dict, counters: set) -> None:
    line = logline.build(Outcome(**{"dry_run": False, **fields}), "NS", "fn", 1_700_000_000_000)
    assert_valid_emf(line, "NS")
    assert {name for name in COUNTERS if line[name]} == counters
    assert line["fallback"] == fields.get("fallback")


def test_error_line_names_the_exception() -> None:
    outcome = Outcome(dry_run=True, outcome="error", error=ValueError("boom"))
    outcome.notes.append("ValueError: boom")
    line = json.loads(logline.render(outcome, "NS", "fn", 1_700_000_000_000))
    assert line["error"] == {"type": "ValueError", "message": "boom"}
    assert line["dry_run"] is True
    assert line["reason"] == "ValueError: boom"


def test_line_is_ascii_json_of_valid_unicode_even_for_unpaired_surrogates() -> None:
    """A lone surrogate is replaced (U+FFFD), not escaped as \\udc80: strict JSON readers refuse
    that escape. Paired surrogates (one character in Python) are kept."""
    outcome = Outcome(dry_run=False, file_id="bad \udc80 id \U0001f600")
    outcome.notes.append("note \ud800")
    text = logline.render(outcome, "NS", "fn", 1_700_000_000_000)
    assert text.isascii() and "\\udc80" not in text and '\\ud800"' not in text
    line = json.loads(text)
    assert line["file_id"] == "bad \ufffd id \U0001f600"
    assert line["reason"] == "note \ufffd"
    text.encode("utf-8")


# --- the Lambda entry point: config read at import, clients created lazily --------------------


@pytest.fixture
def reloaded_handler(monkeypatch):
    """Re-import post_scan.handler under a test environment; restore it afterwards."""

    def load(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(handler)

    yield load
    monkeypatch.undo()
    importlib.reload(handler)


def test_lambda_handler_uses_the_cold_start_config(
    s3, bucket, dynamodb, table, reloaded_handler, capsys
) -> None:
    module = reloaded_handler(
        ALLOWED_BUCKETS=bucket,
        DELETE_MALICIOUS="true",
        EXTRACT_FILE_ID="true",
        FILE_ID_TABLE=table,
        AWS_LAMBDA_FUNCTION_NAME="fss-post-scan",
    )
    obj = upload(s3, bucket, "x.txt", tags={"file_id": "f-1"})
    context = type("Context", (), {"invoked_function_arn": FUNCTION_ARN})()
    result = module.lambda_handler(
        sns_event(sns_record(scan_message(bucket, "x.txt", etag=obj["etag"]))), context
    )
    assert result == {"records": 1}
    line = json.loads(capsys.readouterr().out.strip())
    assert (line["outcome"], line["FunctionName"]) == ("processed", "fss-post-scan")
    assert dynamodb.get_item(TableName=table, Key={"file_id": {"S": "f-1"}})["Item"]


def test_lambda_handler_raises_when_a_record_failed(moto_aws, reloaded_handler, capsys) -> None:
    module = reloaded_handler(ALLOWED_BUCKETS="uploads-bucket")
    with pytest.raises(module.RecordsFailed, match="1 of 1"):
        module.lambda_handler(sns_event(sns_record("not json")), None)
    assert json.loads(capsys.readouterr().out.strip())["outcome"] == "error"


def test_clients_are_created_lazily_and_reused(monkeypatch) -> None:
    created = []
    monkeypatch.setattr(aws.boto3, "client", lambda name, **kw: created.append(name) or object())
    aws.reset_clients()
    handler.build_pipeline(handler.load_config({"DELETE_MALICIOUS": "true"}))
    assert created == []  # building the pipeline (cold start) creates no client
    first = aws.s3_client()
    assert aws.s3_client() is first
    assert aws.dynamodb_client() is aws.dynamodb_client()
    assert created == ["s3", "dynamodb"]
