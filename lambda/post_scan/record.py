"""The DynamoDB verdict update: a pure request builder and the one call that sends it.

Only the scan_* / s3_* attributes are SET; the rest of the application's row is never touched.
The condition keeps the newest verdict (an older or duplicate message never overwrites it) and the
row's binding: a row that names an object (s3_bucket, s3_key: written by the application when it
creates the row, or by the first verdict recorded on it) only takes verdicts about that object, so
a file id tag copied from another file cannot rewrite that file's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from post_scan.message import MALICIOUS, ScanResult

RECORDED = "recorded"
STALE_VERDICT = "stale_verdict"
ROW_MISSING = "row_missing"
ROW_CONFLICT = "row_conflict"  # the row names another object (s3_bucket, s3_key)
VERDICT_KEPT = "verdict_kept"  # an unproven result does not replace a malicious verdict

# scan_verdict of a row whose benign result could not be bound to the bytes at the key (no ETag,
# several candidates or no scanned size): not a verdict; scan_error says why.
UNPROVEN = "unproven"


@dataclass(frozen=True)
class Refusal:
    """Why DynamoDB refused the conditional update, read from the row it returned (ALL_OLD)."""

    result: str  # STALE_VERDICT, ROW_MISSING, ROW_CONFLICT or VERDICT_KEPT
    bound_to: str | None = None  # ROW_CONFLICT: s3://bucket/key the row names


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
    # Not None: the verdict was not applied (locate.UNPROVEN) and this says why; the row then
    # says `unproven`, never the benign verdict, and never replaces a malicious one.
    unproven: str | None = None


def build_update(row: VerdictRow) -> dict[str, Any]:
    """UpdateItem arguments for the low-level DynamoDB client."""
    scan = row.scan
    error = scan.scan_error or ""
    if row.unproven is not None:
        error = row.unproven + (f" (the scanner said: {error})" if error else "")
    values: dict[str, dict[str, Any]] = {
        "scan_verdict": {"S": UNPROVEN if row.unproven is not None else scan.verdict},
        "scan_findings": {"L": [{"M": _finding(f.malware, f.type)} for f in scan.findings]},
        "scan_codes": {"L": [{"N": str(code)} for code in scan.codes]},
        "scan_timestamp": {"N": _number(scan.timestamp)},
        "scan_message_id": {"S": scan.message_id},
        # Always set (empty when the scanner reported none), so a newer verdict never keeps an
        # older result's error.
        "scan_error": {"S": error},
        "scan_action": {"S": "none" if row.unproven is not None else row.action},
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
    at = {name: i for i, name in enumerate(values)}
    ts, bucket, key = at["scan_timestamp"], at["s3_bucket"], at["s3_key"]
    # Newest verdict wins; a row that names an object only takes verdicts about it.
    newest = f"(attribute_not_exists(#a{ts}) OR #a{ts} <= :v{ts})"
    same_object = f"#a{bucket} = :v{bucket} AND #a{key} = :v{key}"
    condition = f"{newest} AND (attribute_not_exists(#a{bucket}) OR ({same_object}))"
    expression_values = {f":v{i}": value for i, value in enumerate(values.values())}
    if row.unproven is not None:
        verdict = at["scan_verdict"]
        condition += f" AND (attribute_not_exists(#a{verdict}) OR #a{verdict} <> :malicious)"
        expression_values[":malicious"] = {"S": MALICIOUS}
    if not row.upsert:
        condition += " AND attribute_exists(#pk)"
        names["#pk"] = row.key_name
    return {
        "TableName": row.table,
        "Key": {row.key_name: {"S": row.file_id}},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": expression_values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def refusal(item: dict[str, Any] | None, request: dict[str, Any]) -> Refusal:
    """Which condition of `request` the stored row (ALL_OLD) failed: no row (upsert off), a row
    bound to another object, a malicious verdict an unproven result may not replace, or else a
    newer verdict. A row that is both bound elsewhere and newer is a conflict."""
    if not item:
        return Refusal(ROW_MISSING)
    sent = _set_values(request)
    bucket, key = item.get("s3_bucket"), item.get("s3_key")
    if bucket is not None and (bucket != sent["s3_bucket"] or key != sent["s3_key"]):
        return Refusal(ROW_CONFLICT, f"s3://{_text(bucket)}/{_text(key)}")
    unproven = sent["scan_verdict"] == {"S": UNPROVEN}
    if unproven and item.get("scan_verdict") == {"S": MALICIOUS}:
        return Refusal(VERDICT_KEPT)
    return Refusal(STALE_VERDICT)


def _set_values(request: dict[str, Any]) -> dict[str, Any]:
    """Attribute name -> the value the request SETs."""
    names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
    pairs = (part.split(" = ") for part in request["UpdateExpression"][len("SET ") :].split(", "))
    return {names[name]: values[value] for name, value in pairs}


def _text(value: Any) -> str:
    return str(value.get("S", "?")) if isinstance(value, dict) else "?"


def _finding(malware: str, kind: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"malware": {"S": malware}}
    if kind is not None:
        item["type"] = {"S": kind}
    return item


def _number(value: Decimal) -> str:
    # Plain notation: DynamoDB accepts exponents, but a reader of the row should not see 1.6E+9.
    return format(value, "f")


def send_update(client: Any, request: dict[str, Any]) -> str | Refusal:
    """RECORDED, or why the condition refused it. Any other error propagates."""
    try:
        client.update_item(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        # ALL_OLD returns the stored row when there is one.
        return refusal(exc.response.get("Item"), request)
    return RECORDED
