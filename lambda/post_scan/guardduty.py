"""Pure parsing at the edge: an Amazon GuardDuty Malware Protection for S3 event (EventBridge) ->
the scanner-neutral ScanResult, or what a "Post Scan Action Failed" event says.

Loaded only when an EventBridge event arrives and GUARDDUTY_PLAN_ARNS lists plans (the handler does
not import it at cold start otherwise). Facts and sources: docs/scanner.md, "GuardDuty Malware
Protection for S3"; fixtures: tests/fixtures/scanner/guardduty/.

`trust()` is the guard (who may speak), `parse_scan_result()` and `parse_action_failure()` the
strict readers: every problem with the event raises ScanMessageError, and nothing that is not a
well-formed result is ever read as a clean one (the look-alikes `etag` and `THREAT_FOUND` of an old
type package are refused by name).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from post_scan.message import (
    CLEAN,
    FAILED,
    GUARDDUTY,
    MALICIOUS,
    MAX_SCAN_ERROR,
    UNSCANNED,
    Finding,
    ScanMessageError,
    ScanResult,
    _short,
    _text,
    parse_timestamp,
)
from post_scan.protection import GUARDDUTY_CLEAN as NO_THREATS_FOUND
from post_scan.protection import GUARDDUTY_MALICIOUS as THREATS_FOUND

SOURCE = "aws.guardduty"
SCAN_RESULT = "GuardDuty Malware Protection Object Scan Result"
POST_SCAN_ACTION_FAILED = "GuardDuty Malware Protection Post Scan Action Failed"
DETAIL_TYPES = (SCAN_RESULT, POST_SCAN_ACTION_FAILED)
# Findings of a GuardDuty result carry this type (the threat's name is the malware).
FINDING_TYPE = "GuardDuty"
MESSAGE_ID_SOURCE = "event_id"

COMPLETED, SKIPPED, SCAN_FAILED = "COMPLETED", "SKIPPED", "FAILED"
# scanResultStatus -> (verdict, the FSS-like scanner_status the detail reports, the scanStatus
# values it may come with). THREATS_FOUND is malicious whatever scanStatus says; NO_THREATS_FOUND is
# clean only from a COMPLETED scan. docs/scanner.md, "GuardDuty verdicts", says why.
_RESULTS: dict[str, tuple[str, int, frozenset[str]]] = {
    THREATS_FOUND: (MALICIOUS, 0, frozenset({COMPLETED, SKIPPED, SCAN_FAILED})),
    NO_THREATS_FOUND: (CLEAN, 0, frozenset({COMPLETED})),
    "UNSUPPORTED": (FAILED, -2, frozenset({SKIPPED, COMPLETED, SCAN_FAILED})),
    "ACCESS_DENIED": (UNSCANNED, -3, frozenset({SKIPPED, COMPLETED, SCAN_FAILED})),
    "FAILED": (UNSCANNED, -3, frozenset({SCAN_FAILED, SKIPPED, COMPLETED})),
}
# Misspellings seen in the wild (an old DefinitelyTyped package); never a real field or value.
_LOOK_ALIKE_RESULTS = {"THREAT_FOUND": THREATS_FOUND, "NO_THREAT_FOUND": NO_THREATS_FOUND}

_BUCKET = re.compile(r"[A-Za-z0-9._-]{3,255}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_MAX_KEY_BYTES = 1024
_MAX_ID = 256


@dataclass(frozen=True)
class ActionFailure:
    """A "Post Scan Action Failed" event: GuardDuty could not tag the scanned object."""

    message_id: str  # the event's id
    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    reasons: tuple[str, ...]  # "TAGGING: MAX_TAG_LIMIT_EXCEEDED", ...
    plan_arn: str
    message_id_source: str = MESSAGE_ID_SOURCE

    def summary(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "etag": self.etag,
            "reasons": list(self.reasons),
        }


def trust(
    event: Mapping[str, Any], plan_arns: Collection[str], expected_owner: str | None
) -> tuple[str | None, str | None]:
    """(the allowed plan that sent the event, None) or (None, why it is rejected).

    Looks only at the envelope (source, detail-type, resources, account), never at the detail.
    """
    if not plan_arns:
        return None, "GuardDuty event, but GUARDDUTY_PLAN_ARNS lists no plan"
    source, kind = event.get("source"), event.get("detail-type")
    if source != SOURCE:
        return None, f"EventBridge event from source {_short(source)}, not {SOURCE}"
    if kind not in DETAIL_TYPES:
        return None, f"detail-type {_short(kind)} is not a GuardDuty malware scan result"
    resources = event.get("resources")
    named = [r for r in resources if isinstance(r, str)] if isinstance(resources, list) else []
    plan = next((arn for arn in named if arn in plan_arns), None)
    if plan is None:
        return None, f"resources {_short(resources)} name no plan of GUARDDUTY_PLAN_ARNS"
    account = event.get("account")
    if expected_owner is not None and account != expected_owner:
        return None, f"account {_short(account)} is not EXPECTED_BUCKET_OWNER ({expected_owner})"
    return plan, None


def is_action_failure(event: Mapping[str, Any]) -> bool:
    return event.get("detail-type") == POST_SCAN_ACTION_FAILED


def parse_scan_result(event: Mapping[str, Any], now: float | None = None) -> ScanResult:
    """The ScanResult of a trusted "Object Scan Result" event (see trust())."""
    event_id = _event_id(event)
    detail = _detail(event)
    schema = detail.get("schemaVersion")
    if not isinstance(schema, str) or not re.fullmatch(r"1(\.\d+)?", schema):
        raise ScanMessageError(f"detail.schemaVersion {_short(schema)} is not 1.x")
    if detail.get("resourceType") != "S3_OBJECT":
        raise ScanMessageError(f"detail.resourceType {_short(detail.get('resourceType'))}")
    obj = _object(detail.get("s3ObjectDetails"))
    scan_status = detail.get("scanStatus")
    if scan_status not in (COMPLETED, SKIPPED, SCAN_FAILED):
        raise ScanMessageError(f"detail.scanStatus {_short(scan_status)} is not a scan status")
    results = detail.get("scanResultDetails")
    if not isinstance(results, dict):
        raise ScanMessageError("not a scan result: detail.scanResultDetails is not an object")
    status = results.get("scanResultStatus")
    if status in _LOOK_ALIKE_RESULTS:
        raise ScanMessageError(
            f"scanResultStatus {status!r} is a misspelling ({_LOOK_ALIKE_RESULTS[status]!r} "
            "is GuardDuty's): a look-alike event, refused"
        )
    if status not in _RESULTS:
        raise ScanMessageError(f"scanResultStatus {_short(status)} is not a GuardDuty result")
    verdict, scanner_status, statuses = _RESULTS[status]
    if scan_status not in statuses:
        raise ScanMessageError(
            f"inconsistent event: scanResultStatus {status} with scanStatus {scan_status}"
        )
    findings = _threats(results.get("threats"))
    if findings and verdict != MALICIOUS:
        raise ScanMessageError(f"inconsistent event: {status} but threats are listed")
    reasons = _reasons(results.get("statusReasons"))
    said = f"{scan_status}: {status}"
    return ScanResult(
        message_id=event_id,
        message_id_source=MESSAGE_ID_SOURCE,
        timestamp=_time(event, now),
        bucket=obj.bucket,
        key=obj.key,
        verdict=verdict,
        scanner_status=scanner_status,
        findings=findings,
        codes=(),
        etag=obj.etag,
        size=None,
        scan_error=_scan_error(said, reasons) if verdict in (FAILED, UNSCANNED) else None,
        bucket_region=_region(event),
        scanner_status_message=said,
        scanner=GUARDDUTY,
        version_id=obj.version_id,
    )


def parse_action_failure(event: Mapping[str, Any], plan_arn: str) -> ActionFailure:
    """What a trusted "Post Scan Action Failed" event says (see trust())."""
    event_id = _event_id(event)
    detail = _detail(event)
    obj = _object(detail.get("s3ObjectDetails"), etag_required=False)
    return ActionFailure(
        message_id=event_id,
        bucket=obj.bucket,
        key=obj.key,
        version_id=obj.version_id,
        etag=obj.etag,
        reasons=_action_reasons(detail.get("postScanActions")),
        plan_arn=plan_arn,
    )


@dataclass(frozen=True)
class _Object:
    bucket: str
    key: str
    etag: str | None
    version_id: str | None


def _object(value: Any, etag_required: bool = True) -> _Object:
    if not isinstance(value, dict):
        raise ScanMessageError("no usable location: detail.s3ObjectDetails is not an object")
    bucket = value.get("bucketName")
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
        raise ScanMessageError(f"no usable location: bucketName {_short(bucket)}")
    key = value.get("objectKey")
    if not isinstance(key, str) or not key:
        raise ScanMessageError("no usable location: objectKey is missing or not a string")
    try:  # the raw key, used as it is: never URL-decoded
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ScanMessageError("no usable location: objectKey is not valid Unicode") from exc
    if size > _MAX_KEY_BYTES:
        raise ScanMessageError("no usable location: objectKey is longer than 1024 bytes")
    if "etag" in value:
        raise ScanMessageError(
            "s3ObjectDetails has 'etag', a misspelling ('eTag' is GuardDuty's): a look-alike "
            "event, refused"
        )
    etag = value.get("eTag")
    if isinstance(etag, str) and etag.strip('"'):
        etag = etag.strip('"')
    elif etag is not None or etag_required:
        raise ScanMessageError(f"s3ObjectDetails.eTag {_short(etag)} is not an ETag")
    return _Object(bucket, key, etag, _version_id(value))


def _version_id(value: dict[str, Any]) -> str | None:
    """versionId when the bucket is versioned; absent (or "null", the null version) otherwise."""
    if "versionId" not in value or value["versionId"] is None:
        return None
    version = value["versionId"]
    if not isinstance(version, str) or not version or len(version) > 1024:
        raise ScanMessageError(f"s3ObjectDetails.versionId {_short(version)} is not a version id")
    return None if version == "null" else _text(version, "versionId")


def _event_id(event: Mapping[str, Any]) -> str:
    value = event.get("id")
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        raise ScanMessageError(f"the event's id {_short(value)} is not an event id")
    return _text(value, "id")


def _detail(event: Mapping[str, Any]) -> dict[str, Any]:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ScanMessageError("not a scan result: the event has no detail object")
    return detail


def _time(event: Mapping[str, Any], now: float | None) -> Decimal:
    value = event.get("time")
    if not isinstance(value, str):  # ISO 8601 only: EventBridge's `time`
        raise ScanMessageError(f"the event's time {_short(value)} is not a time")
    return parse_timestamp(value, now)


def _region(event: Mapping[str, Any]) -> str | None:
    region = event.get("region")
    return region if isinstance(region, str) and _REGION.fullmatch(region) else None


def _threats(value: Any) -> tuple[Finding, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ScanMessageError("scanResultDetails.threats is not a list")
    found = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise ScanMessageError("scanResultDetails.threats item has no string 'name'")
        found.append(Finding(malware=_text(name, "threat name"), type=FINDING_TYPE))
    return tuple(found)


def _reasons(value: Any) -> tuple[str, ...]:
    """statusReasons (skipped scans, since 2026): strings or objects, kept as text."""
    if value in (None, ""):
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_as_text(item) for item in items if item not in (None, ""))


def _action_reasons(value: Any) -> tuple[str, ...]:
    """postScanActions: [{actionType, status, failureReason}, ...] as "TAGGING: REASON" texts."""
    if not isinstance(value, list):
        return (_as_text(value),) if value not in (None, "") else ()
    reasons = []
    for item in value:
        if isinstance(item, dict):
            kind = item.get("actionType") or "action"
            why = item.get("failureReason") or item.get("status") or _as_text(item)
            reasons.append(f"{_as_text(kind)}: {_as_text(why)}")
        elif item not in (None, ""):
            reasons.append(_as_text(item))
    return tuple(reasons)


def _scan_error(said: str, reasons: tuple[str, ...]) -> str:
    text = said + (f" ({', '.join(reasons)})" if reasons else "")
    return text if len(text) <= MAX_SCAN_ERROR else text[: MAX_SCAN_ERROR - 3] + "..."


def _as_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return _text(text[:MAX_SCAN_ERROR], "reason")
