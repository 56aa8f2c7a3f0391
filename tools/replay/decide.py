"""Pure decisions: what a dead-letter message is, and what replaying it means in each mode.

Dead-letter bodies this knows:
- a Lambda on-failure destination record (direct mode): {"version", "timestamp",
  "requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
  "requestPayload": <the original event>, "responseContext", "responsePayload"}; when the record
  would be too large for the destination, Lambda drops the payloads (the record then has no
  requestPayload and cannot be replayed: the event is only in the function's log);
- an SNS notification (SNS subscription redrive in direct mode, or a delivery-queue message moved
  by the redrive policy in queue mode): {"Type": "Notification", "MessageId", "TopicArn",
  "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL", ...};
- an EventBridge event (GuardDuty's scan results: what a rule's target could not be delivered,
  or a delivery-queue message moved by the redrive policy in queue mode): {"version", "id",
  "detail-type", "source", "account", "time", "region", "resources", "detail"}; an on-failure
  record's requestPayload may be one too (a rule invoked the function directly).
Anything else is UNKNOWN: reported and left in the dead-letter queue, never deleted.

Direct mode replays an on-failure record only when its requestContext.functionArn is the target
function (any version or alias of it): a record another function's on-failure destination wrote,
or one written to look like it, is REFUSED and left in the queue.

Each plan names the scan results it carries (`ids`): the SNS MessageId of a notification, the SNS
MessageIds of the records in an on-failure record's event, the EventBridge event's id (or, for an
event without either, Lambda's request ID). A run replays each of them at most once (see run.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

DIRECT = "direct"  # invoke the function with the original event
QUEUE = "queue"  # send the body back to the delivery queue

ON_FAILURE = "on-failure record"
NOTIFICATION = "sns notification"
EVENTBRIDGE_EVENT = "eventbridge event"
UNKNOWN = "unknown"

# arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
_FUNCTION_ARN = re.compile(
    r"(?P<unqualified>arn:[a-z0-9-]+:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+)"
    r"(?::[A-Za-z0-9_$-]+)?"
)

_NOTIFICATION_IDS = ("MessageId", "TopicArn")
# Message attribute fields SendMessage accepts (ReceiveMessage also returns empty list fields).
_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")


@dataclass(frozen=True)
class Plan:
    """What to do with one dead-letter message."""

    kind: str  # ON_FAILURE, NOTIFICATION, EVENTBRIDGE_EVENT or UNKNOWN
    summary: str  # for the operator: what the message is, or why it is not replayed
    event: dict[str, Any] | None = None  # DIRECT: the event to invoke the function with
    body: str | None = None  # QUEUE: the body to send to the delivery queue
    ids: tuple[str, ...] = ()  # the scan results it carries ("sns:<MessageId>", ...)
    refused: bool = False  # an on-failure record of another function

    @property
    def replayable(self) -> bool:
        return self.event is not None or self.body is not None


def plan(body: str, mode: str, function_arn: str | None = None) -> Plan:
    """Classify a dead-letter body and decide how `mode` replays it.

    `function_arn`: the function direct mode invokes; on-failure records of any other function
    are refused (None: no check, for callers that have already chosen the records).
    """
    data = _json_object(body)
    if data is not None and _is_on_failure_record(data):
        return _plan_on_failure(data, mode, function_arn)
    if data is not None and _is_notification(data):
        summary = f"{NOTIFICATION} {data['MessageId']} from {data['TopicArn']}"
        ids = (f"sns:{data['MessageId']}",)
        if mode == QUEUE:
            return Plan(NOTIFICATION, summary, body=body, ids=ids)
        return Plan(NOTIFICATION, summary, event=sns_event(data), ids=ids)
    if data is not None and _is_eventbridge_event(data):
        summary = f"{EVENTBRIDGE_EVENT} {data['id']} ({data['detail-type']} from {data['source']})"
        ids = (f"event:{data['id']}",)
        if mode == QUEUE:
            return Plan(EVENTBRIDGE_EVENT, summary, body=body, ids=ids)
        return Plan(EVENTBRIDGE_EVENT, summary, event=data, ids=ids)
    return Plan(UNKNOWN, f"not a dead letter this tool knows: {_short(body)}")


def unqualified_function_arn(arn: str) -> str | None:
    """The function's ARN without a version or alias; None when `arn` is no function ARN."""
    match = _FUNCTION_ARN.fullmatch(arn) if isinstance(arn, str) else None
    return match["unqualified"] if match else None


def _plan_on_failure(data: dict[str, Any], mode: str, function_arn: str | None) -> Plan:
    context = data["requestContext"]
    condition = context.get("condition") or "?"
    if data.get("requestPayload") is None:
        return Plan(ON_FAILURE, f"{ON_FAILURE} ({condition}) {_dropped_payload(context)}")
    payload = data["requestPayload"]
    records = payload.get("Records") if isinstance(payload, dict) else None
    bridged = isinstance(payload, dict) and _is_eventbridge_event(payload)
    if bridged:
        records = [payload]
    if not isinstance(records, list) or not records:
        return Plan(ON_FAILURE, f"{ON_FAILURE} without the original event (requestPayload)")
    summary = f"{ON_FAILURE} ({condition}) of an event with {len(records)} record(s)"
    if bridged:
        summary = f"{ON_FAILURE} ({condition}) of {EVENTBRIDGE_EVENT} {payload['id']}"
    if mode == QUEUE:
        return Plan(ON_FAILURE, f"{summary}: written by direct mode, replay it with --function")
    if function_arn is not None:
        target = unqualified_function_arn(function_arn)
        if target is None:
            raise ValueError(f"not a Lambda function ARN: {function_arn!r}")
        written_by = context.get("functionArn")
        if unqualified_function_arn(written_by) != target:
            return Plan(
                ON_FAILURE,
                f"{summary}, written for function {_short(str(written_by), 200)}, not {target}: "
                "refused (another function's on-failure destination, or a forged record)",
                refused=True,
            )
    return Plan(ON_FAILURE, summary, event=payload, ids=_event_ids(records, context))


def _event_ids(records: list[Any], context: dict[str, Any]) -> tuple[str, ...]:
    """The SNS MessageIds of an event's records; Lambda's request ID when it has none."""
    ids = []
    for record in records:
        if isinstance(record, dict) and _is_eventbridge_event(record):
            ids.append(f"event:{record['id']}")
            continue
        sns = record.get("Sns") if isinstance(record, dict) else None
        message_id = sns.get("MessageId") if isinstance(sns, dict) else None
        if isinstance(message_id, str) and message_id:
            ids.append(f"sns:{message_id}")
    if ids:
        return tuple(dict.fromkeys(ids))
    request_id = context.get("requestId")
    return (f"lambda-request:{request_id}",) if isinstance(request_id, str) and request_id else ()


def _dropped_payload(context: dict[str, Any]) -> str:
    """How to find an event whose on-failure record came without it."""
    request_id = context.get("requestId") or "?"
    function_arn = context.get("functionArn") or "?"
    # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    parts = function_arn.split(":") if isinstance(function_arn, str) else []
    name = parts[6] if len(parts) > 6 and parts[5] == "function" else None
    default = f", by default /aws/lambda/{name}" if name else ""
    return (
        "without the original event: Lambda dropped requestPayload (the record was too large "
        f"for the destination); the log lines of request ID {request_id} in the log group of "
        f"{function_arn}{default}, name its records (bucket, key, sns_message_id): handle those "
        "objects, then delete this message"
    )


def _is_on_failure_record(data: dict[str, Any]) -> bool:
    context = data.get("requestContext")
    if not isinstance(context, dict):
        return False
    if "requestPayload" in data:
        return True
    # Lambda dropped the payloads: recognise the record by what it keeps.
    identified = any(isinstance(context.get(k), str) for k in ("requestId", "functionArn"))
    return identified and (isinstance(data.get("responseContext"), dict) or "version" in data)


def _is_notification(data: dict[str, Any]) -> bool:
    return (
        data.get("Type") == "Notification"
        and all(
            isinstance(data.get(name), str) and data[name] for name in ("MessageId", "TopicArn")
        )
        and isinstance(data.get("Message"), str)
    )


def _is_eventbridge_event(data: dict[str, Any]) -> bool:
    return all(
        isinstance(data.get(name), str) and data[name] for name in ("id", "source", "detail-type")
    ) and isinstance(data.get("detail"), dict)


# Rows a final receive of the function left to the replay (post_scan.pending): kept in the event.
PENDING_FIELD = "PostScanPending"


def sns_event(notification: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda builds from an SNS notification (one record; field names as Lambda's),
    with the function's own PostScanPending block when the dead letter carries one."""
    topic = notification["TopicArn"]
    unsubscribe = notification.get("UnsubscribeURL") or notification.get("UnsubscribeUrl") or ""
    subscription = parse_qs(urlsplit(unsubscribe).query).get("SubscriptionArn", [""])[0]
    pending = {PENDING_FIELD: notification[PENDING_FIELD]} if PENDING_FIELD in notification else {}
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
                    **pending,
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
