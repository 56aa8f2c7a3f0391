"""The DynamoDB verdict update: request shape (pure) and its effect on a moto table."""

from __future__ import annotations

import json

import pytest
from engine_kit import scan_message

from post_scan.message import parse_scan_result
from post_scan.record import (
    RECORDED,
    ROW_CONFLICT,
    ROW_MISSING,
    STALE_VERDICT,
    UNPROVEN,
    VERDICT_KEPT,
    Refusal,
    VerdictRow,
    build_update,
    send_update,
)


def scan(timestamp=1600424846.74, verdict="malicious", **extra):
    message = scan_message("uploads-bucket", "dir/a b.txt", verdict=verdict, timestamp=timestamp)
    message.update(extra)
    return parse_scan_result(json.dumps(message), "sns-1")


def row(
    table="app-files", *, version_id="v1", upsert=True, action="delete", unproven=None, **scan_args
):
    return VerdictRow(
        table=table,
        key_name="file_id",
        file_id="f-1",
        scan=scan(**scan_args),
        action=action,
        version_id=version_id,
        upsert=upsert,
        unproven=unproven,
    )


def placeholders(request: dict) -> dict[str, tuple[str, str]]:
    """attribute name -> (#name placeholder, :value placeholder) from the SET expression."""
    names = request["ExpressionAttributeNames"]
    assert request["UpdateExpression"].startswith("SET ")
    pairs = [part.split(" = ") for part in request["UpdateExpression"][4:].split(", ")]
    return {names[name]: (name, value) for name, value in pairs}


def set_attributes(request: dict) -> dict[str, dict]:
    values = request["ExpressionAttributeValues"]
    return {attr: values[value] for attr, (_, value) in placeholders(request).items()}


def test_request_sets_only_the_scan_attributes() -> None:
    request = build_update(row(sqs_message_id="msg-1"))
    assert request["TableName"] == "app-files"
    assert request["Key"] == {"file_id": {"S": "f-1"}}
    assert " REMOVE " not in request["UpdateExpression"]
    assert set_attributes(request) == {
        "scan_verdict": {"S": "malicious"},
        "scan_findings": {
            "L": [{"M": {"malware": {"S": "Eicar_test_file"}, "type": {"S": "Virus"}}}]
        },
        "scan_codes": {"L": []},
        "scan_timestamp": {"N": "1600424846.74"},
        "scan_message_id": {"S": "msg-1"},
        "scan_error": {"S": ""},
        "scan_action": {"S": "delete"},
        "scan_scanner": {"S": "fss"},
        "s3_bucket": {"S": "uploads-bucket"},
        "s3_key": {"S": "dir/a b.txt"},
        "s3_version_id": {"S": "v1"},
    }
    # Every attribute name goes through ExpressionAttributeNames (reserved words are safe).
    assert all(name.startswith("#") for name in request["ExpressionAttributeNames"])
    assert request["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"


def test_version_id_only_when_known_and_codes_are_numbers() -> None:
    request = build_update(row(version_id=None, verdict="incomplete", action="none"))
    attributes = set_attributes(request)
    assert "s3_version_id" not in attributes
    assert attributes["scan_codes"] == {"L": [{"N": "101"}]}
    assert attributes["scan_findings"] == {"L": []}
    assert attributes["scan_action"] == {"S": "none"}


def test_condition_keeps_the_newest_verdict_binds_the_row_and_upsert_off_needs_the_row() -> None:
    upsert = build_update(row())
    name, value = placeholders(upsert)["scan_timestamp"]
    bucket, bucket_value = placeholders(upsert)["s3_bucket"]
    key, key_value = placeholders(upsert)["s3_key"]
    assert upsert["ConditionExpression"] == (
        f"(attribute_not_exists({name}) OR {name} <= {value}) AND (attribute_not_exists({bucket})"
        f" OR ({bucket} = {bucket_value} AND {key} = {key_value}))"
    )
    update_only = build_update(row(upsert=False))
    assert update_only["ConditionExpression"].endswith(" AND attribute_exists(#pk)")
    assert update_only["ExpressionAttributeNames"]["#pk"] == "file_id"


def test_timestamp_is_written_in_plain_notation() -> None:
    attributes = set_attributes(build_update(row(timestamp="2020-09-18T10:27:26Z")))
    assert attributes["scan_timestamp"] == {"N": "1600424846"}


# --- against a moto table ---------------------------------------------------------------------


def item(dynamodb, table: str, file_id: str = "f-1") -> dict | None:
    return dynamodb.get_item(TableName=table, Key={"file_id": {"S": file_id}}).get("Item")


APP_ROW = {
    "file_id": {"S": "f-1"},
    "owner": {"S": "alice"},
    "status": {"S": "uploaded"},
    "size": {"N": "68"},
    "scan_notes": {"S": "the app's own attribute"},
}


def test_application_attributes_are_never_overwritten(dynamodb, table) -> None:
    dynamodb.put_item(TableName=table, Item=APP_ROW)
    assert send_update(dynamodb, build_update(row(table))) == RECORDED
    stored = item(dynamodb, table)
    assert {k: stored[k] for k in APP_ROW} == APP_ROW
    assert stored["scan_verdict"] == {"S": "malicious"}
    assert stored["scan_timestamp"] == {"N": "1600424846.74"}


def test_upsert_creates_the_row(dynamodb, table) -> None:
    assert send_update(dynamodb, build_update(row(table))) == RECORDED
    assert item(dynamodb, table)["scan_verdict"] == {"S": "malicious"}


def test_upsert_off_leaves_a_missing_row_missing(dynamodb, table) -> None:
    assert send_update(dynamodb, build_update(row(table, upsert=False))) == Refusal(ROW_MISSING)
    assert item(dynamodb, table) is None
    dynamodb.put_item(TableName=table, Item=APP_ROW)
    assert send_update(dynamodb, build_update(row(table, upsert=False))) == RECORDED
    assert item(dynamodb, table)["owner"] == {"S": "alice"}


def test_older_result_never_overwrites_a_newer_verdict(dynamodb, table) -> None:
    newer = build_update(row(table, verdict="clean", timestamp=1600002000.5, action="none"))
    older = build_update(row(table, verdict="malicious", timestamp=1600001000.25))
    assert send_update(dynamodb, newer) == RECORDED
    assert send_update(dynamodb, older) == Refusal(STALE_VERDICT)
    assert item(dynamodb, table)["scan_verdict"] == {"S": "clean"}
    assert item(dynamodb, table)["scan_timestamp"] == {"N": "1600002000.5"}


def test_upsert_off_with_a_newer_verdict_is_stale_not_missing(dynamodb, table) -> None:
    dynamodb.put_item(TableName=table, Item={**APP_ROW, "scan_timestamp": {"N": "2000000000"}})
    assert send_update(dynamodb, build_update(row(table, upsert=False))) == Refusal(STALE_VERDICT)


# --- issue 19: the row's binding and unproven results -------------------------------------------


@pytest.mark.parametrize(
    "bound",
    [
        {"s3_bucket": {"S": "other-bucket"}, "s3_key": {"S": "dir/a b.txt"}},
        {"s3_bucket": {"S": "uploads-bucket"}, "s3_key": {"S": "dir/other.txt"}},
        {"s3_bucket": {"S": "uploads-bucket"}},  # bound without a key: bind both up front
    ],
)
def test_a_row_bound_to_another_object_is_left_untouched(dynamodb, table, bound) -> None:
    stored = {**APP_ROW, **bound}
    dynamodb.put_item(TableName=table, Item=stored)
    refused = send_update(dynamodb, build_update(row(table)))
    assert refused.result == ROW_CONFLICT
    bucket = bound["s3_bucket"]["S"]
    key = bound.get("s3_key", {}).get("S", "?")
    assert refused.bound_to == f"s3://{bucket}/{key}"
    assert item(dynamodb, table) == stored


def test_the_first_verdict_binds_the_row(dynamodb, table) -> None:
    assert send_update(dynamodb, build_update(row(table))) == RECORDED
    assert item(dynamodb, table)["s3_key"] == {"S": "dir/a b.txt"}
    other = build_update(row(table, timestamp=1700000000))
    other["ExpressionAttributeValues"][placeholders(other)["s3_key"][1]] = {"S": "x"}
    assert send_update(dynamodb, other).result == ROW_CONFLICT


def test_an_unproven_result_says_so_and_never_replaces_a_malicious_verdict(dynamodb, table) -> None:
    why = "clean not applied: 2 candidates"
    unproven = build_update(row(table, verdict="clean", action="none", unproven=why))
    attributes = set_attributes(unproven)
    assert attributes["scan_verdict"] == {"S": UNPROVEN}
    assert attributes["scan_action"] == {"S": "none"}
    assert attributes["scan_error"] == {"S": why}
    assert send_update(dynamodb, unproven) == RECORDED
    assert item(dynamodb, table)["scan_verdict"] == {"S": UNPROVEN}

    send_update(dynamodb, build_update(row(table, timestamp=1700000000)))  # malicious, newer
    later = build_update(row(table, verdict="clean", timestamp=1700000001, unproven=why))
    assert send_update(dynamodb, later) == Refusal(VERDICT_KEPT)
    assert item(dynamodb, table)["scan_verdict"] == {"S": "malicious"}


def test_same_message_twice_is_recorded_twice_with_the_same_result(dynamodb, table) -> None:
    request = build_update(row(table))
    assert send_update(dynamodb, request) == RECORDED
    first = item(dynamodb, table)
    assert send_update(dynamodb, request) == RECORDED
    assert item(dynamodb, table) == first


def test_newer_result_replaces_an_older_one(dynamodb, table) -> None:
    send_update(dynamodb, build_update(row(table, timestamp=1600001000)))
    later = build_update(row(table, verdict="clean", timestamp=1600001001, action="none"))
    assert send_update(dynamodb, later) == RECORDED
    assert item(dynamodb, table)["scan_verdict"] == {"S": "clean"}


def test_table_arn_is_accepted(dynamodb, table) -> None:
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    assert send_update(dynamodb, build_update(row(arn))) == RECORDED
    assert item(dynamodb, table) is not None


def test_other_errors_propagate(dynamodb, table) -> None:
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
        send_update(dynamodb, build_update(row("no-such-table")))


def test_the_pipeline_names_the_row_outcomes_as_record_refuses() -> None:
    """The pipeline spells the row outcomes itself (naming one never loads post_scan.record)."""
    from post_scan import pipeline

    assert (pipeline.STALE_VERDICT, pipeline.ROW_MISSING, pipeline.ROW_CONFLICT) == (
        STALE_VERDICT,
        ROW_MISSING,
        ROW_CONFLICT,
    )
