"""The Security Hub finding of a malicious file, in the AWS Security Finding Format (pure).

One finding per malicious file: its Id is derived from the bucket, the key and the scanned ETag
(the content), so a redelivered or repeated scan result updates the same finding instead of adding
one. Security Hub applies an update only when its UpdatedAt is later than the stored one; each
import says "now", CreatedAt / FirstObservedAt stay the scan's time.

Imported into the account's default product (SECURITY_HUB_PRODUCT_ARN), the only product a
function may import into without being a Security Hub partner.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from post_scan.message import MALICIOUS
from post_scan.notify import APP, headline, next_steps, plain_text, what_was_done
from post_scan.pipeline import ERROR

SCHEMA_VERSION = "2018-10-08"
TYPES = ["TTPs/Initial Access/Malicious File Upload"]
MAX_MALWARE = 5  # ASFF: at most 5 Malware entries
MAX_TEXT = 1024  # Title / Description / ProductFields values are kept short
MAX_PRODUCT_FIELDS = 50


def wanted(detail: dict[str, Any]) -> bool:
    return detail["verdict"] == MALICIOUS


def finding_id(detail: dict[str, Any]) -> str:
    """Stable for one malicious content at one key (every delivery and rescan of it)."""
    parts = (detail["bucket"], detail["key"], detail["etag"] or "")
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{APP}/malicious-file/{digest}"


def malware_state(detail: dict[str, Any]) -> str:
    """What was done to the malicious content, whatever the outcome says about its row: REMOVED
    when none of it is left in the scanned bucket (deleted or moved by this delivery, or already
    gone: `removed`), REMOVAL_FAILED when the record failed before that, else OBSERVED (still
    there: no delete configured, copy mode, dry run, or the key holds another upload now)."""
    if detail["dry_run"]:
        return "OBSERVED"
    if detail.get("removed"):
        return "REMOVED"
    if detail["outcome"] == ERROR:
        return "REMOVAL_FAILED"
    return "OBSERVED"


def finding(detail: dict[str, Any], product_arn: str, now: datetime) -> dict[str, Any]:
    """The ASFF finding for a malicious file's detail, imported at `now` (aware UTC)."""
    _, partition, _, region, account, _ = product_arn.split(":", 5)
    bucket, key = detail["bucket"], detail["key"]
    state = malware_state(detail)
    severity = "HIGH" if state == "REMOVED" else "CRITICAL"
    scanned = _iso(datetime.fromtimestamp(detail["scan_timestamp"], UTC))
    object_details: dict[str, Any] = {}
    if detail["etag"]:
        object_details["ETag"] = detail["etag"]
    if detail["version_id"]:
        object_details["VersionId"] = detail["version_id"]
    resource: dict[str, Any] = {
        "Type": "AwsS3Object",
        "Id": f"arn:{partition}:s3:::{bucket}/{key}",
        "Partition": partition,
        "Region": region,
    }
    if object_details:
        resource["Details"] = {"AwsS3Object": object_details}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(detail),
        "ProductArn": product_arn,
        "GeneratorId": APP,
        "AwsAccountId": account,
        "Types": TYPES,
        "CreatedAt": scanned,
        "FirstObservedAt": scanned,
        "LastObservedAt": scanned,
        "UpdatedAt": _iso(now),
        "Severity": {"Label": severity, "Original": severity},
        "FindingProviderFields": {
            "Severity": {"Label": severity, "Original": severity},
            "Types": TYPES,
        },
        "Title": _short(plain_text(f"{headline(detail)}: s3://{bucket}/{key}"), 256),
        "Description": _short(
            plain_text(f"{what_was_done(detail)} Next: {' '.join(next_steps(detail))}"), MAX_TEXT
        ),
        "Malware": [
            {"Name": _short(f["malware"], 64), "Path": _short(key, 512), "State": state}
            for f in detail["findings"][:MAX_MALWARE]
        ],
        "Resources": [
            resource,
            {
                "Type": "AwsS3Bucket",
                "Id": f"arn:{partition}:s3:::{bucket}",
                "Partition": partition,
                "Region": region,
            },
        ],
        "ProductFields": _product_fields(detail),
        "RecordState": "ACTIVE",
    }


def _product_fields(detail: dict[str, Any]) -> dict[str, str]:
    """The scan result's facts as strings (ASFF: at most 50), findings first."""
    fields: dict[str, str] = {}
    for number, item in enumerate(detail["findings"][:20], start=1):
        fields[f"{APP}/finding/{number}/malware"] = _short(item["malware"], MAX_TEXT)
        if item["type"]:
            fields[f"{APP}/finding/{number}/type"] = _short(item["type"], MAX_TEXT)
    for name in (
        "findings_count",
        "verdict",
        "outcome",
        "action",
        "dry_run",
        "file_id",
        "version_id",
        "destination",
        "scan_message_id",
        "scanner_status",
        "function_name",
    ):
        value = detail.get(name)
        if value is None or value == "" or len(fields) >= MAX_PRODUCT_FIELDS:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        fields[f"{APP}/{name}"] = _short(text, MAX_TEXT)
    return fields


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _short(text: str, limit: int) -> str:
    text = text if text.strip() else "-"  # ASFF strings must hold a non-space character
    return text if len(text) <= limit else text[: limit - 3] + "..."
