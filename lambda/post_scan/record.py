"""The DynamoDB verdict update: a pure request builder and the one call that sends it.

Only the scan_* / s3_* attributes are SET; the rest of the application's row is never touched.
The condition keeps the newest verdict: an older or duplicate message never overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from post_scan.message import ScanResult

RECORDED = "recorded"
STALE_VERDICT = "stale_verdict"
ROW_MISSING = "row_missing"


@dataclass(frozen=True)
class VerdictRow:
    table: str
    key_name: str
    file_id: str
    scan: ScanResult
    action: str  # quarantine, promote, route, delete or none (route.scan_action)
    version_id: str | None
    upsert: bool
    destination: str | None = None  # s3://bucket/key of the routed copy


def build_update(row: VerdictRow) -> dict[str, Any]:
    """UpdateItem arguments for the low-level DynamoDB client."""
    scan = row.scan
    values: dict[str, dict[str, Any]] = {
        "scan_verdict": {"S": scan.verdict},
        "scan_findings": {"L": [{"M": _finding(f.malware, f.type)} for f in scan.findings]},
        "scan_codes": {"L": [{"N": str(code)} for code in scan.codes]},
        "scan_timestamp": {"N": _number(scan.timestamp)},
        "scan_message_id": {"S": scan.message_id},
        # Always set (empty when the scanner reported none), so a newer verdict never keeps an
        # older result's error.
        "scan_error": {"S": scan.scan_error or ""},
        "scan_action": {"S": row.action},
        "scan_scanner": {"S": scan.scanner},  # fss or guardduty
        "s3_bucket": {"S": scan.bucket},
        "s3_key": {"S": scan.key},
    }
    if row.version_id is not None:
        values["s3_version_id"] = {"S": row.version_id}
    if row.destination is not None:
        values["scan_destination"] = {"S": row.destination}
    names = {f"#a{i}": name for i, name in enumerate(values)}
    sets = [f"#a{i} = :v{i}" for i in range(len(values))]
    ts = list(values).index("scan_timestamp")
    condition = f"(attribute_not_exists(#a{ts}) OR #a{ts} <= :v{ts})"
    if not row.upsert:
        condition += " AND attribute_exists(#pk)"
        names["#pk"] = row.key_name
    return {
        "TableName": row.table,
        "Key": {row.key_name: {"S": row.file_id}},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {f":v{i}": value for i, value in enumerate(values.values())},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _finding(malware: str, kind: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"malware": {"S": malware}}
    if kind is not None:
        item["type"] = {"S": kind}
    return item


def _number(value: Decimal) -> str:
    # Plain notation: DynamoDB accepts exponents, but a reader of the row should not see 1.6E+9.
    return format(value, "f")


def send_update(client: Any, request: dict[str, Any]) -> str:
    """RECORDED, or why the condition refused it. Any other error propagates."""
    try:
        client.update_item(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        # ALL_OLD returns the stored row when there is one: no row means upsert is off.
        return STALE_VERDICT if exc.response.get("Item") else ROW_MISSING
    return RECORDED
