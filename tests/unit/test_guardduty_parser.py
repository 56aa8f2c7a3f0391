"""post_scan.guardduty, pure: GuardDuty's EventBridge events (tests/fixtures/scanner/guardduty) into
the scanner-neutral ScanResult, the guard that decides who may speak, and every refusal."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from engine_kit import ACCOUNT
from guardduty_kit import OTHER_PLAN_ARN, PLAN_ARN, RESULTS, failure_event, gd_event

from post_scan import guardduty
from post_scan.message import (
    EVENTBRIDGE,
    SQS,
    ScanMessageError,
    event_records,
    parse_record,
)

BUCKET = "uploads-bucket"
# Spaces, +, %, a pre-encoded look-alike and non-ASCII: GuardDuty sends the raw key.
RAW_KEY = "in box/a+b %2B 100% é.pdf"


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_fixture_result_maps_to_its_verdict(name: str) -> None:
    expected = RESULTS[name]
    version = None if name.endswith("unversioned") else "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    event = gd_event(
        BUCKET, RAW_KEY, name, etag="d41d8cd98f00b204e9800998ecf8427e", version_id=version
    )
    scan = guardduty.parse_scan_result(event)
    assert scan.verdict == expected["verdict"]
    assert scan.scanner_status == expected["scanner_status"]
    assert scan.scan_error == expected["scan_error"]
    assert [{"malware": f.malware, "type": f.type} for f in scan.findings] == expected["findings"]
    assert (scan.scanner, scan.message_id, scan.message_id_source) == (
        "guardduty",
        event["id"],
        "event_id",
    )
    assert scan.timestamp == Decimal(1714564830)  # the event's time, 2024-05-01T12:00:30Z
    assert (scan.bucket, scan.key) == (BUCKET, RAW_KEY)  # never URL-decoded
    assert (scan.etag, scan.version_id) == ("d41d8cd98f00b204e9800998ecf8427e", version)
    assert scan.codes == () and scan.size is None and scan.bucket_region == "us-east-1"


def test_quoted_etag_loses_its_quotes_and_the_null_version_is_no_version() -> None:
    event = gd_event(BUCKET, "k", etag='"abc-2"', version_id="null")
    scan = guardduty.parse_scan_result(event)
    assert (scan.etag, scan.version_id) == ("abc-2", None)


def _with(event: dict, path: tuple[str, ...], value: object) -> dict:
    changed = copy.deepcopy(event)
    target = changed
    for part in path[:-1]:
        target = target[part]
    if value is _DROP:
        target.pop(path[-1])
    else:
        target[path[-1]] = value
    return changed


_DROP = object()
DETAIL = ("detail",)
OBJECT = ("detail", "s3ObjectDetails")
RESULT = ("detail", "scanResultDetails")


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        # The look-alikes of an old type package: refused by name, never read as clean.
        ((*RESULT, "scanResultStatus"), "THREAT_FOUND", "misspelling"),
        ((*RESULT, "scanResultStatus"), "NO_THREAT_FOUND", "misspelling"),
        ((*RESULT, "scanResultStatus"), "CLEAN", "not a GuardDuty result"),
        ((*RESULT, "scanResultStatus"), None, "not a GuardDuty result"),
        ((*RESULT, "threats"), "EICAR", "threats is not a list"),
        ((*RESULT, "threats"), [{"id": 1}], "no string 'name'"),
        (RESULT, _DROP, "scanResultDetails"),
        ((*DETAIL, "scanStatus"), "RUNNING", "scanStatus"),
        ((*DETAIL, "schemaVersion"), "2.0", "schemaVersion"),
        ((*DETAIL, "resourceType"), "EBS_VOLUME", "resourceType"),
        (("detail",), "text", "no detail"),
        ((*OBJECT, "eTag"), _DROP, "eTag"),
        ((*OBJECT, "eTag"), "", "eTag"),
        ((*OBJECT, "versionId"), "", "versionId"),
        ((*OBJECT, "versionId"), 7, "versionId"),
        ((*OBJECT, "objectKey"), "", "objectKey"),
        ((*OBJECT, "objectKey"), "k" * 1025, "1024 bytes"),
        ((*OBJECT, "objectKey"), "\ud800", "Unicode"),
        ((*OBJECT, "bucketName"), "no/such bucket", "bucketName"),
        (("id",), "", "id"),
        (("time",), 1714564830, "time"),
        (("time",), "2099-01-01T00:00:00Z", "out of range"),
    ],
)
def test_unusable_events_are_refused_loudly(path: tuple, value: object, says: str) -> None:
    event = _with(gd_event(BUCKET, "k", etag="e", version_id="v"), path, value)
    with pytest.raises(ScanMessageError, match=says):
        guardduty.parse_scan_result(event)


def test_the_etag_look_alike_is_refused_even_next_to_the_real_field() -> None:
    event = gd_event(BUCKET, "k", etag="e", version_id="v")
    lowercase = _with(_with(event, (*OBJECT, "eTag"), _DROP), (*OBJECT, "etag"), "e")
    both = _with(event, (*OBJECT, "etag"), "e")
    for bad in (lowercase, both):
        with pytest.raises(ScanMessageError, match="misspelling"):
            guardduty.parse_scan_result(bad)


@pytest.mark.parametrize("status", ["SKIPPED", "FAILED"])
def test_no_threats_found_is_clean_only_from_a_completed_scan(status: str) -> None:
    event = _with(gd_event(BUCKET, "k", "clean", etag="e"), (*DETAIL, "scanStatus"), status)
    with pytest.raises(ScanMessageError, match="inconsistent"):
        guardduty.parse_scan_result(event)


def test_threats_listed_with_a_benign_status_are_refused() -> None:
    event = gd_event(BUCKET, "k", "clean", etag="e")
    event["detail"]["scanResultDetails"]["threats"] = [{"name": "Trojan.X"}]
    with pytest.raises(ScanMessageError, match="inconsistent"):
        guardduty.parse_scan_result(event)


@pytest.mark.parametrize("status", ["COMPLETED", "SKIPPED", "FAILED"])
def test_threats_found_is_malicious_whatever_the_scan_status(status: str) -> None:
    event = _with(gd_event(BUCKET, "k", etag="e"), (*DETAIL, "scanStatus"), status)
    assert guardduty.parse_scan_result(event).verdict == "malicious"


def test_threats_found_without_threat_names_is_still_malicious() -> None:
    event = _with(gd_event(BUCKET, "k", etag="e"), (*RESULT, "threats"), None)
    scan = guardduty.parse_scan_result(event)
    assert (scan.verdict, scan.findings) == ("malicious", ())


@pytest.mark.parametrize(
    ("reasons", "error"),
    [
        (
            ["PASSWORD_PROTECTED", "SIZE_LIMIT"],
            "SKIPPED: UNSUPPORTED (PASSWORD_PROTECTED, SIZE_LIMIT)",
        ),
        ([{"code": "X"}], 'SKIPPED: UNSUPPORTED ({"code": "X"})'),
        ("ONE", "SKIPPED: UNSUPPORTED (ONE)"),
        (None, "SKIPPED: UNSUPPORTED"),
    ],
)
def test_status_reasons_are_kept_as_the_scan_error(reasons: object, error: str) -> None:
    event = _with(
        gd_event(BUCKET, "k", "unsupported", etag="e"), (*RESULT, "statusReasons"), reasons
    )
    assert guardduty.parse_scan_result(event).scan_error == error


# --- the guard ----------------------------------------------------------------------------


def test_trust_names_the_plan_of_an_allowed_event() -> None:
    event = gd_event(BUCKET, "k", etag="e")
    assert guardduty.trust(event, {PLAN_ARN}, ACCOUNT) == (PLAN_ARN, None)
    assert guardduty.trust(event, {PLAN_ARN}, None) == (PLAN_ARN, None)


@pytest.mark.parametrize(
    ("change", "plans", "says"),
    [
        ({}, set(), "lists no plan"),
        ({"source": "acme.guardduty"}, {PLAN_ARN}, "not aws.guardduty"),
        ({"source": "aws.GuardDuty"}, {PLAN_ARN}, "not aws.guardduty"),
        ({"detail-type": "GuardDuty Finding"}, {PLAN_ARN}, "detail-type"),
        (
            {"detail-type": "GuardDuty Malware Protection Resource Status Active"},
            {PLAN_ARN},
            "detail-type",
        ),
        ({"resources": [OTHER_PLAN_ARN]}, {PLAN_ARN}, "name no plan"),
        ({"resources": PLAN_ARN}, {PLAN_ARN}, "name no plan"),
        ({"resources": []}, {PLAN_ARN}, "name no plan"),
        ({"account": "210987654321"}, {PLAN_ARN}, "EXPECTED_BUCKET_OWNER"),
    ],
)
def test_trust_rejects(change: dict, plans: set, says: str) -> None:
    event = {**gd_event(BUCKET, "k", etag="e"), **change}
    plan, why = guardduty.trust(event, plans, ACCOUNT)
    assert plan is None and says in why


def test_post_scan_action_failed_says_what_could_not_be_done() -> None:
    event = failure_event(BUCKET, RAW_KEY, etag="e", version_id="v-9")
    assert guardduty.trust(event, {PLAN_ARN}, ACCOUNT) == (PLAN_ARN, None)
    assert guardduty.is_action_failure(event)
    failure = guardduty.parse_action_failure(event, PLAN_ARN)
    assert (failure.bucket, failure.key, failure.version_id, failure.etag) == (
        BUCKET,
        RAW_KEY,
        "v-9",
        "e",
    )
    assert failure.reasons == ("TAGGING: MAX_TAG_LIMIT_EXCEEDED",)
    assert failure.message_id == event["id"]


# --- records ------------------------------------------------------------------------------


def test_an_eventbridge_event_is_one_record_of_its_own() -> None:
    event = gd_event(BUCKET, "k", etag="e")
    assert event_records(event) == (EVENTBRIDGE, [event])
    envelope = parse_record(event)
    assert (envelope.delivery, envelope.event, envelope.topic_arn) == ("eventbridge", event, None)


def test_a_queued_eventbridge_event_keeps_its_queue_identity() -> None:
    from guardduty_kit import queued

    event = gd_event(BUCKET, "k", etag="e")
    record = queued(event, message_id="q-1", receive_count=3)
    delivery, records = event_records({"Records": [record]})
    assert delivery == SQS and records == [record]
    envelope = parse_record(record)
    assert (envelope.delivery, envelope.event) == ("sqs-eventbridge", event)
    assert (envelope.queue_message_id, envelope.receive_count) == ("q-1", 3)
