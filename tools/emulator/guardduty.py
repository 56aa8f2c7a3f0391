"""A stand-in for Amazon GuardDuty Malware Protection for S3, for the demo, the apply tests and the
benchmarks (moto has no Malware Protection plans and sends no scan results).

What GuardDuty does after an upload to a protected bucket (docs/scanner.md, "GuardDuty Malware
Protection for S3"; the fixtures in tests/fixtures/scanner/guardduty), done by `scan()`:

1. reads the uploaded version (here: the EICAR test file is THREATS_FOUND, anything else
   NO_THREATS_FOUND, unless a result is given);
2. with tagging on, tags that version GuardDutyMalwareScanStatus = the result, keeping its tags;
   when it already has 10 tags it cannot, and sends a "Post Scan Action Failed" event instead;
3. puts the "Object Scan Result" event on the default bus of the bucket owner's account and region
   (source aws.guardduty, resources = [the plan's ARN]), where the module's rule picks it up.

AWS refuses `aws.*` sources from customers; moto does not, which is what lets this stand in.
"""

from __future__ import annotations

import json
from typing import Any

from emulator import fss

SOURCE = "aws.guardduty"
SCAN_RESULT = "GuardDuty Malware Protection Object Scan Result"
POST_SCAN_ACTION_FAILED = "GuardDuty Malware Protection Post Scan Action Failed"
RESULT_TAG = "GuardDutyMalwareScanStatus"
MAX_TAGS = 10
EICAR_THREAT = "EICAR-Test-File (not a virus)"

# scanResultStatus -> scanStatus, as GuardDuty pairs them.
SCAN_STATUS = {
    "THREATS_FOUND": "COMPLETED",
    "NO_THREATS_FOUND": "COMPLETED",
    "UNSUPPORTED": "SKIPPED",
    "ACCESS_DENIED": "SKIPPED",
    "FAILED": "FAILED",
}
# The function's verdict -> the scanResultStatus that gives it.
BY_VERDICT = {
    "malicious": "THREATS_FOUND",
    "clean": "NO_THREATS_FOUND",
    "failed": "UNSUPPORTED",
    "unscanned": "FAILED",
}


def plan_arn(partition: str, region: str, account: str, plan_id: str) -> str:
    return f"arn:{partition}:guardduty:{region}:{account}:malware-protection-plan/{plan_id}"


def object_details(bucket: str, key: str, etag: str, version_id: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"bucketName": bucket, "objectKey": key, "eTag": etag}
    if version_id not in (None, "null"):
        details["versionId"] = version_id
    details["s3Throttled"] = False
    return details


def scan_result_detail(
    bucket: str, key: str, etag: str, version_id: str | None, result: str
) -> dict[str, Any]:
    """The detail of an Object Scan Result event (AWS's sample shape)."""
    threats = [{"name": EICAR_THREAT}] if result == "THREATS_FOUND" else None
    return {
        "schemaVersion": "1.0",
        "scanStatus": SCAN_STATUS[result],
        "resourceType": "S3_OBJECT",
        "s3ObjectDetails": object_details(bucket, key, etag, version_id),
        "scanResultDetails": {"scanResultStatus": result, "threats": threats},
    }


def action_failed_detail(
    bucket: str, key: str, etag: str, version_id: str | None, reason: str
) -> dict[str, Any]:
    return {
        "schemaVersion": "1.0",
        "s3ObjectDetails": object_details(bucket, key, etag, version_id),
        "postScanActions": [{"actionType": "TAGGING", "status": "FAILED", "failureReason": reason}],
    }


def put_event(events: Any, plan: str, detail_type: str, detail: dict[str, Any]) -> str:
    """PutEvents on the default bus, as GuardDuty publishes; returns the event id."""
    response = events.put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Resources": [plan],
                "Detail": json.dumps(detail),
            }
        ]
    )
    (entry,) = response["Entries"]
    if "EventId" not in entry:
        raise RuntimeError(f"PutEvents refused the GuardDuty event: {entry}")
    return str(entry["EventId"])


def scan(
    s3: Any,
    events: Any,
    plan: str,
    bucket: str,
    key: str,
    *,
    version_id: str | None = None,
    result: str | None = None,
    tagging: bool = True,
) -> dict[str, Any]:
    """Scan the version (default: the current one) as GuardDuty would: tag it, publish the result.

    Returns {"result", "etag", "version_id", "event_id", "tagged"}.
    """
    extra = {"VersionId": version_id} if version_id else {}
    body = s3.get_object(Bucket=bucket, Key=key, **extra)
    content = body["Body"].read()
    version = body.get("VersionId")
    etag = body["ETag"].strip('"')
    if result is None:
        result = "THREATS_FOUND" if content == fss.eicar() else "NO_THREATS_FOUND"
    tagged = False
    if tagging:
        tagged = _tag(s3, events, plan, bucket, key, etag, version, result)
    event_id = put_event(
        events, plan, SCAN_RESULT, scan_result_detail(bucket, key, etag, version, result)
    )
    return {
        "result": result,
        "etag": etag,
        "version_id": version,
        "event_id": event_id,
        "tagged": tagged,
    }


def _tag(
    s3: Any,
    events: Any,
    plan: str,
    bucket: str,
    key: str,
    etag: str,
    version: str | None,
    result: str,
) -> bool:
    extra = {"VersionId": version} if version not in (None, "null") else {}
    tags = s3.get_object_tagging(Bucket=bucket, Key=key, **extra)["TagSet"]
    kept = [t for t in tags if t["Key"] != RESULT_TAG]
    if len(kept) >= MAX_TAGS:
        detail = action_failed_detail(bucket, key, etag, version, "MAX_TAG_LIMIT_EXCEEDED")
        put_event(events, plan, POST_SCAN_ACTION_FAILED, detail)
        return False
    s3.put_object_tagging(
        Bucket=bucket,
        Key=key,
        Tagging={"TagSet": [*kept, {"Key": RESULT_TAG, "Value": result}]},
        **extra,
    )
    return True
