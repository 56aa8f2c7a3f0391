"""Builders for GuardDuty engine tests: the scan-result and Post Scan Action Failed events of
tests/fixtures/scanner/guardduty (AWS's shapes) as a rule delivers them, directly or through SQS."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from engine_kit import ACCOUNT, REGION, T0, sqs_record
from scanner_fixtures import fill, load_guardduty

PLAN_ID = "b4c7f464ab3a4EXAMPLE"
PLAN_ARN = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:malware-protection-plan/{PLAN_ID}"
OTHER_PLAN_ARN = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:malware-protection-plan/otherPlan42"
FIXTURE = load_guardduty()
RESULTS = {result["name"]: result for result in FIXTURE["results"]}
FAILURES = {failure["name"]: failure for failure in FIXTURE["post_scan_action_failed"]}


def iso(seconds_after_t0: float = 30) -> str:
    return (T0 + timedelta(seconds=seconds_after_t0)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _values(bucket: str, key: str, etag: str | None, version_id: str | None, **more: Any) -> dict:
    return {
        "bucket": bucket,
        "key": key,
        "etag": etag if etag is not None else "0" * 32,
        "version_id": version_id,
        "event_id": more.pop("event_id", None) or str(uuid.uuid4()),
        "account": more.pop("account", ACCOUNT),
        "region": REGION,
        "time": more.pop("time", None) or iso(),
        "plan_arn": more.pop("plan_arn", PLAN_ARN),
    }


def gd_event(
    bucket: str,
    key: str,
    result: str = "threats",
    *,
    etag: str | None = None,
    version_id: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The scan-result event of fixture `result` for this object (versionId left out when
    version_id is None: an unversioned bucket)."""
    event = copy.deepcopy(RESULTS[result]["event"])
    if version_id is None:
        event["detail"]["s3ObjectDetails"].pop("versionId", None)
    return fill(event, _values(bucket, key, etag, version_id, **more))


def failure_event(
    bucket: str, key: str, name: str = "max-tag-limit", *, etag: str | None = None, **more: Any
) -> dict[str, Any]:
    event = copy.deepcopy(FAILURES[name]["event"])
    version_id = more.pop("version_id", "v-1")
    return fill(event, _values(bucket, key, etag, version_id, **more))


def gd_env(bucket: str, **env: str) -> dict[str, str]:
    return {"ALLOWED_BUCKETS": bucket, "GUARDDUTY_PLAN_ARNS": PLAN_ARN, **env}


def queued(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The SQS record of a rule that targets the delivery queue: its body is the event."""
    return sqs_record(event, **kwargs)
