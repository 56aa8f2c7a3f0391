"""Pure: the rows a final receive leaves to a replay, as the dead letter carries them.

Queue delivery, malicious verdict, the last receive before SQS dead-letters the message, and the
row update failed with an error a retry could cure (table missing, throttling, AccessDenied): the
file is made harmless anyway (pipeline), so a replay would find nothing at the key and could never
write the row. The function therefore sends the message to the dead-letter queue itself, with
`PostScanPending` beside the SNS notification's fields: for each version acted on, its file id,
version id, action and destination, read before anything was done. Replaying that dead letter once
the cause is fixed writes those rows, and only when the object is gone (pipeline).

The block is trusted as much as the queues are: only the function (its role may send to the
dead-letter queue) and whoever may send to the queues or invoke the function can write it; SNS
never does (it builds the notification). A replayed block can only write a malicious verdict on the
rows it names, each under the row's binding (record.py), and never acts on an object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from post_scan.message import PENDING_FIELD, ScanMessageError

# What a final receive can leave pending: a malicious file deleted or quarantined.
ACTIONS = ("delete", "quarantine")
# Versions acted on in one record: locate.MAX_CANDIDATES without an ETag; with one, every version
# with the same bytes (bounded by the time budget only).
MAX_TARGETS = 1000
_MAX_TEXT = 2048


class RowNotKept(RuntimeError):
    """The final receive made the file harmless but the dead letter could not be sent: the record
    fails (SQS then dead-letters the original message) and its log line has the file ids."""


@dataclass(frozen=True)
class PendingRow:
    file_id: str
    version_id: str | None
    action: str
    destination: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "version_id": self.version_id,
            "action": self.action,
            "destination": self.destination,
        }


def dead_letter_body(notification: dict[str, Any], rows: list[PendingRow], reason: str) -> str:
    """The queued SNS notification, unchanged, with the pending rows beside its fields."""
    block = {"reason": reason, "targets": [row.as_json() for row in rows]}
    return json.dumps({**notification, PENDING_FIELD: block}, ensure_ascii=True)


def parse(value: Any) -> tuple[PendingRow, ...]:
    """The rows of a PostScanPending block; ScanMessageError when it is not one."""
    targets = value.get("targets") if isinstance(value, dict) else None
    if not isinstance(targets, list) or not 0 < len(targets) <= MAX_TARGETS:
        raise ScanMessageError(f"{PENDING_FIELD} has no list of 1-{MAX_TARGETS} targets")
    return tuple(_row(item) for item in targets)


def _row(item: Any) -> PendingRow:
    if not isinstance(item, dict):
        raise ScanMessageError(f"{PENDING_FIELD} target is not an object")
    file_id, action = item.get("file_id"), item.get("action")
    if not _text(file_id) or action not in ACTIONS:
        raise ScanMessageError(f"{PENDING_FIELD} target needs a file_id and an action in {ACTIONS}")
    version_id, destination = item.get("version_id"), item.get("destination")
    if version_id is not None and not _text(version_id):
        raise ScanMessageError(f"{PENDING_FIELD} target version_id is not a string")
    if destination is not None and not (_text(destination) and destination.startswith("s3://")):
        raise ScanMessageError(f"{PENDING_FIELD} target destination is not an s3:// URL")
    return PendingRow(file_id, version_id, action, destination)


def _text(value: Any) -> bool:
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
