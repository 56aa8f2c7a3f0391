"""The "Scan Result Processed" event: its detail, built from a record's final Outcome (pure).

The detail is the one machine-readable statement of what happened to a scan result: the EventBridge
event's ``detail`` and the SNS notification's ``default`` body are the same object. Its JSON Schema
is docs/schemas/scan-result-processed.schema.json; SCHEMA_VERSION follows it (a new optional field
raises the minor version, a renamed, removed or retyped field the major one).

Fields the Outcome or the ScanResult gain later flow into the detail by themselves (see
``_further_fields``), so the event never lags behind the log line.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

from post_scan.config import Config
from post_scan.message import ScanResult
from post_scan.pipeline import IGNORED, REJECTED, SKIPPED_OWN_COPY, Outcome
from post_scan.route import scan_action
from post_scan.valid_text import repaired_data

# 1.1: scanner, plan_arn, exposure_seconds, scan_message_id_source event_id; 1.2: removed
SCHEMA_VERSION = "1.2"
DETAIL_TYPE = "Scan Result Processed"
# At most this many findings are listed (findings_count says how many there were): keeps an
# event and a notification far below EventBridge's and SNS's 256 KiB whatever the scanner sends.
MAX_FINDINGS = 100

# Outcomes that are never announced: the scan result was not trusted (rejected), the message says
# it is not a scan result (ignored), or it is about a copy this module wrote (the original upload
# was announced already).
SILENT_OUTCOMES = frozenset({REJECTED, IGNORED, SKIPPED_OWN_COPY})

# Outcome / ScanResult fields the detail states under its own names (or leaves out on purpose).
_OUTCOME_FIELDS = frozenset(
    {
        "dry_run",
        "delivery",
        "queue_message_id",
        "receive_count",
        "sns_message_id",
        "topic_arn",
        "scan",
        "version_id",
        "file_id",
        "file_id_missing",
        "destination",
        "actions",
        "outcome",
        "notes",  # as `reason`
        "ambiguous",
        "error",
        "duration_ms",  # a property of the run, not of the scan result
        "scanner",  # the scan result's scanner (the same)
        "action_failure",  # GuardDuty "Post Scan Action Failed": never announced
        "exposure_seconds",
        "scan_seconds",  # these three: the log line's (and the metrics') only
        "action_delay_seconds",
        "clamped_timings",
    }
)
_SCAN_FIELDS = frozenset(
    {
        "message_id",
        "message_id_source",
        "timestamp",
        "bucket",
        "key",
        "verdict",
        "scanner_status",
        "findings",
        "codes",
        "etag",
        "size",
        "version_id",  # the detail's version_id is the version acted on (the scanned one)
        "scanner",
    }
)


def announceable(outcome: Outcome) -> bool:
    """The record has a trusted scan result worth telling anyone about."""
    return outcome.scan is not None and outcome.outcome not in SILENT_OUTCOMES


def detail(outcome: Outcome, config: Config) -> dict[str, Any]:
    """The event detail of an announceable outcome (see the JSON Schema for every field).

    Every string in it is valid Unicode (post_scan.valid_text): the event, the notification and
    the finding are all built from it, and each must encode as UTF-8."""
    scan = outcome.scan
    assert scan is not None, "only records with a scan result are announced"
    findings = [{"malware": f.malware, "type": f.type} for f in scan.findings]
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "verdict": scan.verdict,
        "scanner": scan.scanner,
        "outcome": outcome.outcome,
        "action": _action(outcome, config),
        "dry_run": outcome.dry_run,
        "bucket": scan.bucket,
        "key": scan.key,
        "version_id": outcome.version_id,
        "etag": scan.etag,
        "size": scan.size,
        "file_id": outcome.file_id,
        "findings": findings[:MAX_FINDINGS],
        "findings_count": len(findings),
        "codes": list(scan.codes),
        "scanner_status": scan.scanner_status,
        "scan_timestamp": float(scan.timestamp),
        "scan_message_id": scan.message_id,
        "scan_message_id_source": scan.message_id_source,
        "destination": outcome.destination,
        "actions": list(outcome.actions),
        "reason": outcome.reason,
        "error": _error(outcome.error),
        "delivery": outcome.delivery,
        "topic_arn": outcome.topic_arn,
        "sns_message_id": outcome.sns_message_id,
        "queue_message_id": outcome.queue_message_id,
        "receive_count": outcome.receive_count,
        "function_name": config.function_name,
        "exposure_seconds": outcome.exposure_seconds,
    }
    body.update(_further_fields(outcome, scan, body))
    return repaired_data(body)


def render(body: dict[str, Any]) -> str:
    """Compact JSON, non-ASCII kept (the sizes AWS limits are UTF-8 bytes of this text)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def put_events_entry(body: dict[str, Any], config: Config) -> dict[str, Any]:
    """One PutEvents entry for the configured bus."""
    assert config.event_bus is not None
    return {
        "EventBusName": config.event_bus,
        "Source": config.event_source,
        "DetailType": DETAIL_TYPE,
        "Detail": render(body),
    }


def entry_size(entry: dict[str, Any]) -> int:
    """The size EventBridge counts against its request limit (AWS: "Calculating PutEvents event
    entry size"): Source, DetailType and Detail in UTF-8 bytes, 14 for a Time, each resource."""
    size = sum(len(entry[name].encode("utf-8")) for name in ("Source", "DetailType", "Detail"))
    size += 14 if "Time" in entry else 0
    return size + sum(len(resource.encode("utf-8")) for resource in entry.get("Resources", []))


def _action(outcome: Outcome, config: Config) -> str:
    """The row's scan_action: the first target's (a fallback may differ from the settings')."""
    targets = getattr(outcome, "targets", None)
    if targets:
        return str(targets[0].action)
    assert outcome.scan is not None
    return scan_action(outcome.scan.verdict, config)


def _error(error: Exception | None) -> dict[str, str] | None:
    if error is None:
        return None
    return {"type": type(error).__name__, "message": str(error)}


def _further_fields(outcome: Outcome, scan: ScanResult, body: dict[str, Any]) -> dict[str, Any]:
    """Outcome and ScanResult fields the detail does not name yet, under their own names (scan
    fields prefixed scan_ where a name is taken), when their value is plain data."""
    found: dict[str, Any] = {}
    for source, known, prefix in (
        (outcome, _OUTCOME_FIELDS, ""),
        (scan, _SCAN_FIELDS, "scan_"),
    ):
        for field in dataclasses.fields(source):  # type: ignore[arg-type]
            if field.name in known or field.name.startswith("_"):
                continue
            value = _plain(getattr(source, field.name))
            if value is _NOT_PLAIN:
                continue
            name = field.name if field.name not in body else prefix + field.name
            if name not in body and name not in found:
                found[name] = value
    return found


_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    """value as JSON-ready data, or _NOT_PLAIN (objects, exceptions, ...)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(item) for item in value]
        if any(item is _NOT_PLAIN for item in items):
            return _NOT_PLAIN
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _plain(v) for k, v in value.items()}
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items.values()) else items
    summary = getattr(value, "summary", None)
    if callable(summary):  # an object that says what the log line reports about it
        return _plain(summary())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    return _NOT_PLAIN
