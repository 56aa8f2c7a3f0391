"""What the demo reads back: an upload's versions, the app's row, the function's log line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from demo.cases import Case


@dataclass
class Upload:
    """One case's upload, as the demo made it."""

    case: Case
    bucket: str
    file_id: str
    etag: str  # of the scanned upload, unquoted
    size: int
    labels: dict[str, str]  # version id (versioned bucket) or ETag -> what that version is
    sns_message_id: str = ""  # of the delivery that carries its scan result (GuardDuty: event id)
    scan_message_id: str = ""  # the scan result's own id (sqs_message_id)


@dataclass(frozen=True)
class Version:
    label: str
    size: int
    current: bool
    delete_marker: bool = False

    def describe(self) -> str:
        text = "delete marker" if self.delete_marker else f"{self.label} {self.size} B"
        return text + (" (current)" if self.current else "")


@dataclass
class Snapshot:
    versions: list[Version]  # newest first
    row: dict[str, Any]
    log: dict[str, Any] = field(default_factory=dict)  # the function's log line (after only)
    # What the function announced (after only): "event" (the EventBridge event's detail) and
    # "notification" (subject, attributes, and its default body: the detail).
    announced: dict[str, Any] = field(default_factory=dict)


def version_ident(version_id: str | None, etag: str) -> str:
    """How the demo names a version: its id in a versioned bucket, else its ETag."""
    return version_id if version_id and version_id != "null" else etag.strip('"')


def read_versions(s3: Any, upload: Upload) -> list[Version]:
    key = upload.case.key
    listing = s3.list_object_versions(Bucket=upload.bucket, Prefix=key)
    entries = [
        (
            v["LastModified"],
            Version(
                upload.labels.get(version_ident(v.get("VersionId"), v["ETag"]), "unknown version"),
                v["Size"],
                v["IsLatest"],
            ),
        )
        for v in listing.get("Versions", [])
        if v["Key"] == key
    ]
    entries += [
        (m["LastModified"], Version("delete marker", 0, m["IsLatest"], delete_marker=True))
        for m in listing.get("DeleteMarkers", [])
        if m["Key"] == key
    ]
    entries.sort(key=lambda entry: (entry[1].current, entry[0]), reverse=True)
    return [version for _, version in entries]


def read_row(dynamodb: Any, table: str, key_name: str, file_id: str) -> dict[str, Any]:
    item = dynamodb.get_item(
        TableName=table, Key={key_name: {"S": file_id}}, ConsistentRead=True
    ).get("Item", {})
    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def log_lines(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The function's JSON log lines among CloudWatch Logs events, by SNS message id (GuardDuty:
    the EventBridge event's id)."""
    lines: dict[str, dict[str, Any]] = {}
    for event in events:
        try:
            line = json.loads(event["message"])
        except ValueError:
            continue  # START/END/REPORT lines and other output
        if not isinstance(line, dict) or "outcome" not in line:
            continue
        delivery = line.get("sns_message_id") or line.get("message_id")
        if delivery:
            lines[delivery] = line
    return lines


def announcements(
    event_bodies: list[dict[str, Any]], notification_bodies: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """What was announced, by scan message id: the events (bodies of the bus rule's queue) and the
    notifications (SNS notifications in the subscribed queue's bodies)."""
    found: dict[str, dict[str, Any]] = {}
    for event in event_bodies:
        detail = event.get("detail") or {}
        found.setdefault(str(detail.get("scan_message_id")), {})["event"] = detail
    for notification in notification_bodies:
        detail = json.loads(notification["Message"])
        found.setdefault(str(detail.get("scan_message_id")), {})["notification"] = {
            "subject": notification.get("Subject"),
            "attributes": {
                name: value.get("Value")
                for name, value in (notification.get("MessageAttributes") or {}).items()
            },
            "detail": detail,
        }
    return found


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message body of a queue (JSON), deleting what was read."""
    bodies = []
    while True:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not received:
            return bodies
        for message in received:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
