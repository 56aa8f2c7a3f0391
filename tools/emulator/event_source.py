"""An emulated SQS event source mapping: what Lambda's pollers do for a queue, run in-process.

moto keeps event source mappings (the Lambda API answers for them) but cannot run a function, so
the emulator server stops moto from trying (see server.py) and this module does the polling:

- read the deployed mapping from the Lambda API (queue, batch size, ReportBatchItemFailures);
- receive up to batch size messages, build the event Lambda sends (documented SQS event shape);
- call the function (the caller passes how, e.g. the deployed handler run in-process);
- on success delete every message except the ones listed in ``batchItemFailures``; on a function
  error, or a response Lambda would reject, keep the whole batch. Kept messages are made visible
  again at once (instead of after the visibility timeout), so a test does not wait; SQS's own
  redrive policy then moves a message received ``maxReceiveCount`` times to the dead-letter queue
  on the next receive, as on AWS.

Partial batch response rules (AWS Lambda developer guide, "Implementing partial batch responses"):
null/empty response or null/empty ``batchItemFailures`` = all succeeded; a response that is not an
object, or an ``itemIdentifier`` that is missing, empty or not a message of the batch = the whole
batch failed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Message system attributes Lambda copies into a record's "attributes".
RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
)
SQS_RECEIVE_LIMIT = 10  # messages per ReceiveMessage call


class _Account(Protocol):
    region: str

    def client(self, service: str) -> Any: ...


Invoke = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Mapping:
    """The parts of a deployed SQS event source mapping the poller uses."""

    uuid: str
    function_arn: str
    queue_arn: str
    queue_url: str
    batch_size: int
    reports_batch_item_failures: bool
    enabled: bool


@dataclass
class Drained:
    """What a drain did: batches invoked, message ids deleted / kept, function errors."""

    batches: int = 0
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def deployed_mapping(account: _Account, function_name: str) -> Mapping:
    """The function's one SQS event source mapping, as the Lambda API describes it."""
    lambda_ = account.client("lambda")
    function_arn = lambda_.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    # Filtered here: moto's FunctionName filter matches only the exact string the mapping was
    # created with (name or ARN).
    mappings = [
        m
        for page in lambda_.get_paginator("list_event_source_mappings").paginate()
        for m in page["EventSourceMappings"]
    ]
    sqs_mappings = [
        m
        for m in mappings
        if m["FunctionArn"] == function_arn and m["EventSourceArn"].split(":")[2] == "sqs"
    ]
    if len(sqs_mappings) != 1:
        raise LookupError(f"{function_name} has {len(sqs_mappings)} SQS event source mappings")
    (found,) = sqs_mappings
    queue_arn = found["EventSourceArn"]
    _, _, _, _, owner, queue_name = queue_arn.split(":")
    queue_url = account.client("sqs").get_queue_url(
        QueueName=queue_name, QueueOwnerAWSAccountId=owner
    )["QueueUrl"]
    return Mapping(
        uuid=found["UUID"],
        function_arn=found["FunctionArn"],
        queue_arn=queue_arn,
        queue_url=queue_url,
        batch_size=found.get("BatchSize", 10),
        reports_batch_item_failures="ReportBatchItemFailures"
        in (found.get("FunctionResponseTypes") or []),
        enabled=found.get("State", "Enabled") == "Enabled",
    )


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A ReceiveMessage attribute value in the event's camelCase shape (binary as base64)."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = b64(value["BinaryValue"])
    return converted


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda sends for a received message."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: attributes[k] for k in RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(response: Any, batch_ids: list[str]) -> list[str]:
    """Which messages of a batch failed, by the partial batch response rules (pure)."""
    if response is None or response == {}:
        return []
    if not isinstance(response, dict):
        return list(batch_ids)
    failures = response.get("batchItemFailures")
    if not failures:
        return []
    if not isinstance(failures, list):
        return list(batch_ids)
    failed: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return list(batch_ids)
        failed.append(identifier)
    return [i for i in batch_ids if i in failed]


class EventSource:
    """Polls one deployed mapping's queue and invokes `invoke` with each batch."""

    def __init__(self, account: _Account, mapping: Mapping, invoke: Invoke) -> None:
        self.account = account
        self.mapping = mapping
        self.invoke = invoke
        self._sqs = account.client("sqs")

    def _receive(self) -> list[dict[str, Any]]:
        """Up to batch size messages (several receives, as Lambda's pollers gather a batch)."""
        messages: list[dict[str, Any]] = []
        while len(messages) < self.mapping.batch_size:
            wanted = min(SQS_RECEIVE_LIMIT, self.mapping.batch_size - len(messages))
            received = self._sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=wanted,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def poll_once(self, result: Drained) -> bool:
        """Receive and invoke one batch; False when the queue gave nothing."""
        messages = self._receive()
        if not messages:
            return False
        event = {
            "Records": [
                sqs_record(m, self.mapping.queue_arn, self.account.region) for m in messages
            ]
        }
        ids = [m["MessageId"] for m in messages]
        result.batches += 1
        try:
            response = self.invoke(event)
        except Exception as exc:  # a function error fails the whole batch, as on Lambda
            result.errors.append(f"{type(exc).__name__}: {exc}")
            failed = list(ids)
        else:
            if self.mapping.reports_batch_item_failures:
                failed = failed_message_ids(response, ids)
            else:
                failed = []
        done = [m for m in messages if m["MessageId"] not in failed]
        kept = [m for m in messages if m["MessageId"] in failed]
        for chunk in _chunks(done):
            self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in chunk],
            )
        for chunk in _chunks(kept):
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in chunk
                ],
            )
        result.deleted.extend(m["MessageId"] for m in done)
        result.kept.extend(m["MessageId"] for m in kept)
        return True

    def drain(self, max_batches: int = 1000) -> Drained:
        """Poll until a receive comes back empty (every message deleted or moved to the DLQ)."""
        result = Drained()
        if not self.mapping.enabled:
            return result
        while self.poll_once(result):
            if result.batches >= max_batches:
                raise RuntimeError(f"queue not drained after {max_batches} batches: {result}")
        return result


def _chunks(messages: list[dict[str, Any]]) -> list[list[tuple[int, dict[str, Any]]]]:
    indexed = list(enumerate(messages))
    return [indexed[i : i + SQS_RECEIVE_LIMIT] for i in range(0, len(indexed), SQS_RECEIVE_LIMIT)]


def drain_deployed(account: _Account, function_name: str, invoke: Invoke) -> Drained:
    """Drain the queue of the function's deployed mapping through `invoke`."""
    return EventSource(account, deployed_mapping(account, function_name), invoke).drain()
