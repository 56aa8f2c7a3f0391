"""Pure decisions: what a dead-letter message is, and what replaying it means in each mode.

Dead-letter bodies this knows:
- a Lambda on-failure destination record (direct mode): {"version", "timestamp",
  "requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
  "requestPayload": <the original event>, "responseContext", "responsePayload"};
- an SNS notification (SNS subscription redrive in direct mode, or a delivery-queue message moved
  by the redrive policy in queue mode): {"Type": "Notification", "MessageId", "TopicArn",
  "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL", ...}.
Anything else is UNKNOWN: reported and left in the dead-letter queue, never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

DIRECT = "direct"  # invoke the function with the original event
QUEUE = "queue"  # send the body back to the delivery queue

ON_FAILURE = "on-failure record"
NOTIFICATION = "sns notification"
UNKNOWN = "unknown"

_NOTIFICATION_IDS = ("MessageId", "TopicArn")
# Message attribute fields SendMessage accepts (ReceiveMessage also returns empty list fields).
_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")


@dataclass(frozen=True)
class Plan:
    """What to do with one dead-letter message."""

    kind: str  # ON_FAILURE, NOTIFICATION or UNKNOWN
    summary: str  # for the operator: what the message is, or why it is not replayed
    event: dict[str, Any] | None = None  # DIRECT: the event to invoke the function with
    body: str | None = None  # QUEUE: the body to send to the delivery queue

    @property
    def replayable(self) -> bool:
        return self.event is not None or self.body is not None


def plan(body: str, mode: str) -> Plan:
    """Classify a dead-letter body and decide how `mode` replays it."""
    data = _json_object(body)
    if data is not None and _is_on_failure_record(data):
        return _plan_on_failure(data, mode)
    if data is not None and _is_notification(data):
        summary = f"{NOTIFICATION} {data['MessageId']} from {data['TopicArn']}"
        if mode == QUEUE:
            return Plan(NOTIFICATION, summary, body=body)
        return Plan(NOTIFICATION, summary, event=sns_event(data))
    return Plan(UNKNOWN, f"not a dead letter this tool knows: {_short(body)}")


def _plan_on_failure(data: dict[str, Any], mode: str) -> Plan:
    context = data.get("requestContext") or {}
    condition = context.get("condition", "?") if isinstance(context, dict) else "?"
    payload = data["requestPayload"]
    records = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not records:
        return Plan(ON_FAILURE, f"{ON_FAILURE} without the original event (requestPayload)")
    summary = f"{ON_FAILURE} ({condition}) of an event with {len(records)} record(s)"
    if mode == QUEUE:
        return Plan(ON_FAILURE, f"{summary}: written by direct mode, replay it with --function")
    return Plan(ON_FAILURE, summary, event=payload)


def _is_on_failure_record(data: dict[str, Any]) -> bool:
    return "requestPayload" in data and isinstance(data.get("requestContext"), dict)


def _is_notification(data: dict[str, Any]) -> bool:
    return (
        data.get("Type") == "Notification"
        and all(
            isinstance(data.get(name), str) and data[name] for name in ("MessageId", "TopicArn")
        )
        and isinstance(data.get("Message"), str)
    )


def sns_event(notification: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda builds from an SNS notification (one record; field names as Lambda's)."""
    topic = notification["TopicArn"]
    unsubscribe = notification.get("UnsubscribeURL") or notification.get("UnsubscribeUrl") or ""
    subscription = parse_qs(urlsplit(unsubscribe).query).get("SubscriptionArn", [""])[0]
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription or f"{topic}:replayed",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": notification["MessageId"],
                    "TopicArn": topic,
                    "Subject": notification.get("Subject"),
                    "Message": notification["Message"],
                    "Timestamp": notification.get("Timestamp"),
                    "SignatureVersion": notification.get("SignatureVersion"),
                    "Signature": notification.get("Signature"),
                    "SigningCertUrl": notification.get("SigningCertURL")
                    or notification.get("SigningCertUrl"),
                    "UnsubscribeUrl": unsubscribe or None,
                    "MessageAttributes": notification.get("MessageAttributes") or {},
                },
            }
        ]
    }


def sendable_attributes(attributes: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """ReceiveMessage's MessageAttributes, reduced to what SendMessage accepts."""
    sendable = {}
    for name, value in (attributes or {}).items():
        if isinstance(value, dict) and "DataType" in value:
            sendable[name] = {k: value[k] for k in _ATTRIBUTE_FIELDS if k in value}
    return sendable


def _json_object(body: str) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")
