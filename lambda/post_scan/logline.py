"""One JSON log line per record, with CloudWatch Embedded Metric Format (EMF) metrics in it.

Scalar fields come first, lists and objects after them: CloudWatch Logs Insights discovers only the
first fields of a JSON event (100 in its older documentation, 200 now), and findings, targets and
actions grow with the scanner's findings and the key's versions; the fields the saved queries use
(queries/*.query) stay within the first 100 whatever their number.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from post_scan.pipeline import (
    ERROR,
    IGNORED,
    OBJECT_GONE,
    POST_SCAN_ACTION_FAILED,
    REJECTED,
    ROW_MISSING,
    SKIPPED_OWN_COPY,
    STALE_VERDICT,
    SUPERSEDED,
    UNPROVEN,
    Outcome,
)
from post_scan.valid_text import repaired, repaired_data


def counters(outcome: Outcome) -> dict[str, int]:
    """0/1 per action and notable outcome (CloudWatch sums them over time)."""
    return {
        "ObjectsDeleted": int("delete" in outcome.actions),
        "ObjectsRouted": int("verify" in outcome.actions),
        "VerdictsRecorded": int("record" in outcome.actions),
        "Rejected": int(outcome.outcome == REJECTED),
        "Ignored": int(outcome.outcome == IGNORED),
        "Superseded": int(outcome.outcome == SUPERSEDED),
        "ObjectGone": int(outcome.outcome == OBJECT_GONE),
        "StaleVerdicts": int(outcome.outcome == STALE_VERDICT),
        "RowsMissing": int(outcome.outcome == ROW_MISSING),
        "FileIdMissing": int(outcome.file_id_missing),
        "AmbiguousLocations": int(bool(outcome.ambiguous)),
        "OwnCopiesSkipped": int(outcome.outcome == SKIPPED_OWN_COPY),
        "UntaggedCleanObjects": int(outcome.untagged_clean),
        "Errors": int(outcome.outcome == ERROR),
        # A malicious file made harmless by a fallback (no retry could do what is configured).
        "FallbackActions": int(outcome.fallback is not None and not outcome.dry_run),
        # A non-malicious verdict refused: a scanner's own tag on the object says malicious.
        "VerdictConflicts": int(outcome.verdict_conflict),
        # GuardDuty could not tag a scanned object: a tag-based policy does not protect it.
        "PostScanActionsFailed": int(outcome.outcome == POST_SCAN_ACTION_FAILED),
        # A benign verdict not acted on: S3's evidence cannot single out the scanned bytes.
        "UnprovenLocations": int(outcome.outcome == UNPROVEN),
        # A row left untouched: it names another object than the one the verdict is about.
        "RowConflicts": int(outcome.row_conflict),
        # A timing below came out negative (clocks disagree) and is reported as 0.
        "ClampedTimings": int(outcome.clamped_timings),
    }


def timings(outcome: Outcome) -> dict[str, float]:
    """The timing metrics (unit Seconds) that apply to this record; the others are left out."""
    found = {
        "ExposureSeconds": outcome.exposure_seconds,
        "ScanSeconds": outcome.scan_seconds,
        "ActionDelaySeconds": outcome.action_delay_seconds,
    }
    return {name: value for name, value in found.items() if value is not None}


def _verdict_dimension(outcome: Outcome) -> str:
    if outcome.scan is not None:
        return outcome.scan.verdict
    not_a_result = outcome.outcome in (IGNORED, POST_SCAN_ACTION_FAILED)
    return "not_a_scan_result" if not_a_result else "unparsed"


def _seconds(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def build(outcome: Outcome, namespace: str, function_name: str, now_ms: int) -> dict[str, Any]:
    scan = outcome.scan
    # A GuardDuty "Post Scan Action Failed" event names an object but carries no verdict.
    named = scan or outcome.action_failure
    line: dict[str, Any] = {
        "message_id": named.message_id if named else None,
        "message_id_source": named.message_id_source if named else None,
        "delivery": outcome.delivery,
        "queue_message_id": outcome.queue_message_id,
        "receive_count": outcome.receive_count,
        "sns_message_id": outcome.sns_message_id,
        "topic_arn": outcome.topic_arn,
        "scanner": outcome.scanner,
        "plan_arn": outcome.plan_arn,
        "bucket": named.bucket if named else None,
        "key": named.key if named else None,
        "version_id": outcome.version_id,
        "etag": named.etag if named else None,
        "verdict": scan.verdict if scan else None,
        "scanner_status": scan.scanner_status if scan else None,
        "findings": [{"malware": f.malware, "type": f.type} for f in scan.findings] if scan else [],
        "codes": list(scan.codes) if scan else [],
        "scan_timestamp": float(scan.timestamp) if scan else None,
        "scan_start_timestamp": _seconds(scan.scan_started) if scan else None,
        "scan_error": scan.scan_error if scan else None,
        "scan_type": outcome.scan_type,
        "bucket_region": scan.bucket_region if scan else None,
        "file_name": scan.file_name if scan else None,
        "file_id": outcome.file_id,
        "destination": outcome.destination,
        "targets": [target.summary() for target in outcome.targets],
        "fallback": outcome.fallback,
        "actions": outcome.actions,
        "dry_run": outcome.dry_run,
        "outcome": outcome.outcome,
        # What was done with the scanned version (the first target's scan_action), as in the event.
        "action": outcome.targets[0].action if outcome.targets else None,
        "reason": outcome.reason,
        "duration_ms": outcome.duration_ms,
        "exposure_seconds": outcome.exposure_seconds,
        "scan_seconds": outcome.scan_seconds,
        "action_delay_seconds": outcome.action_delay_seconds,
    }
    if outcome.ambiguous is not None:
        line["ambiguous"] = outcome.ambiguous
    if outcome.moved_by_scanner:
        line["moved_by_scanner"] = True
    if outcome.action_failure is not None:
        line["post_scan_actions"] = list(outcome.action_failure.reasons)
    if outcome.error is not None:
        line["error"] = {"type": type(outcome.error).__name__, "message": str(outcome.error)}
    metrics = counters(outcome)
    seconds = timings(outcome)
    line.update(
        {
            "FunctionName": function_name,
            "Verdict": _verdict_dimension(outcome),
            "ScanResults": 1,
            **metrics,
            **seconds,
            "_aws": _emf(namespace, list(metrics), now_ms, list(seconds)),
        }
    )
    return _scalars_first(line)


def _scalars_first(line: dict[str, Any]) -> dict[str, Any]:
    """The same fields, scalars (in their order) before lists and objects (in theirs)."""
    scalars = {k: v for k, v in line.items() if not isinstance(v, list | dict)}
    return scalars | {k: v for k, v in line.items() if k not in scalars}


def _emf(
    namespace: str, names: list[str], now_ms: int, seconds: list[str] | None = None
) -> dict[str, Any]:
    """The EMF metadata: ScanResults by function and verdict, each counter (and each timing that
    applies, unit Seconds) by function."""
    return {
        "Timestamp": now_ms,
        "CloudWatchMetrics": [
            {
                "Namespace": namespace,
                "Dimensions": [["FunctionName", "Verdict"]],
                "Metrics": [{"Name": "ScanResults", "Unit": "Count"}],
            },
            {
                "Namespace": namespace,
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": name, "Unit": "Count"} for name in names]
                + [{"Name": name, "Unit": "Seconds"} for name in seconds or []],
            },
        ],
    }


def render(outcome: Outcome, namespace: str, function_name: str, now_ms: int) -> str:
    # ASCII-only JSON of valid Unicode: lone surrogates are replaced (U+FFFD), so no strict JSON
    # reader refuses the line, and odd bytes or line breaks in a key can never break it.
    line = repaired_data(build(outcome, namespace, function_name, now_ms))
    return json.dumps(line, separators=(",", ":"))


def fallback(
    outcome: Outcome, namespace: str, function_name: str, now_ms: int, failure: Exception
) -> str:
    """A minimal line for a record whose full line could not be rendered (a bug, or data no
    field expected): the record's ids and outcome, the failure, and its metrics with Errors = 1
    (the handler fails the record, so it is delivered again). Built from fields read one by one,
    each of which may be missing, so it renders whatever the outcome holds."""
    scan = _attempt(lambda: outcome.scan)
    line: dict[str, Any] = {
        name: _attempt(lambda name=name: _plain(getattr(outcome, name)))
        for name in ("delivery", "queue_message_id", "receive_count", "sns_message_id", "topic_arn")
    }
    for name in ("message_id", "bucket", "key", "verdict"):
        line[name] = _attempt(lambda name=name: _plain(getattr(scan, name)))
    line["outcome"] = ERROR
    line["handled_outcome"] = _attempt(lambda: _plain(outcome.outcome))
    line["actions"] = _attempt(lambda: [_plain(a) for a in outcome.actions]) or []
    line["error"] = {
        "type": "LogLineError",
        "message": _attempt(lambda: f"the log line could not be written: {failure!r}")
        or "the log line could not be written",
    }
    metrics = _attempt(lambda: {**counters(outcome), "Errors": 1}) or {"Errors": 1}
    verdict = line["verdict"] if isinstance(line["verdict"], str) else "unparsed"
    line.update(
        {
            "FunctionName": function_name,
            "Verdict": verdict,
            "ScanResults": 1,
            **metrics,
            "_aws": _emf(namespace, list(metrics), now_ms),
        }
    )
    return json.dumps(repaired_data(line), separators=(",", ":"), default=repr)


def _attempt(read: Any) -> Any:
    try:
        return read()
    except Exception:
        return None


def _plain(value: Any) -> Any:
    """A JSON scalar as it is; anything else as (repaired) text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return repaired(value if isinstance(value, str) else repr(value))
