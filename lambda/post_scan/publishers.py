"""Thin boto3 calls for the announcements: PutEvents, PublishBatch, BatchImportFindings.

No decisions here: each call's per-entry failures are returned as text for post_scan.announce.
Clients are created on first use (a function that announces nothing never creates them; the
handler's import stays as fast as before) and cached per region for the execution environment: a
bus or topic given by ARN is called in its own region.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

_BOTO_CONFIG = BotoConfig(retries={"mode": "standard"})


@functools.cache
def client(service: str, region: str | None = None) -> Any:
    return boto3.client(service, region_name=region, config=_BOTO_CONFIG)


def reset_clients() -> None:
    """Forget the cached clients (tests; a new process gets new ones anyway)."""
    client.cache_clear()


def region_of(arn: str) -> str | None:
    """The region of an ARN (None for a name: the function's own region)."""
    parts = arn.split(":")
    if not arn.startswith("arn:") or len(parts) < 4:
        return None
    return parts[3] or None


def _why(code: Any, message: Any) -> str:
    return f"{code or 'Unknown'}: {message or 'no message'}"


class AwsSender:
    """post_scan.announce.Sender over boto3."""

    def put_events(self, entries: list[dict[str, Any]]) -> list[str | None]:
        bus = entries[0].get("EventBusName", "")
        response = client("events", region_of(bus)).put_events(Entries=entries)
        return [
            None
            if result.get("EventId") and not result.get("ErrorCode")
            else _why(result.get("ErrorCode"), result.get("ErrorMessage"))
            for result in response.get("Entries", [])
        ]

    def publish_batch(self, topic_arn: str, entries: list[dict[str, Any]]) -> dict[str, str]:
        response = client("sns", region_of(topic_arn)).publish_batch(
            TopicArn=topic_arn, PublishBatchRequestEntries=entries
        )
        refused = {
            item["Id"]: _why(item.get("Code"), item.get("Message"))
            for item in response.get("Failed", [])
        }
        accepted = {item["Id"] for item in response.get("Successful", [])}
        for entry in entries:
            if entry["Id"] not in accepted and entry["Id"] not in refused:
                refused[entry["Id"]] = "neither successful nor failed in SNS's answer"
        return refused

    def import_findings(self, items: list[dict[str, Any]]) -> dict[str, str]:
        product = items[0]["ProductArn"]
        response = client("securityhub", region_of(product)).batch_import_findings(Findings=items)
        refused = {
            item["Id"]: _why(item.get("ErrorCode"), item.get("ErrorMessage"))
            for item in response.get("FailedFindings", [])
        }
        if response.get("FailedCount", 0) and not refused:
            return {item["Id"]: f"{response['FailedCount']} finding(s) failed" for item in items}
        return refused
