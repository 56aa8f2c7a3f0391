"""Queue delivery: the engine fed SQS events of BATCH_SIZE records, as the module's mapping does.

Each batch goes through a real SQS queue on the moto server and the emulator's event source
(``emulator.event_source``): the scan results are sent as SNS notifications (raw message delivery
off, the module's setting), received as one batch, handed to the handler as the SQS event Lambda
builds, and the messages the partial batch response does not name are deleted from the queue.
Only the handler call is timed; sending, receiving and deleting are not, and the poller's SQS
client is not counted. The poisoned row puts one malformed message into each batch and checks
that exactly that message is reported in ``batchItemFailures`` while the others are processed.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.scenarios import SCENARIOS, Scenario
from benchmarks.throughput import (
    REGION,
    TOPIC_ARN,
    BenchmarkError,
    CallCounter,
    engine_clients,
    upload_and_message,
)
from emulator import Account
from emulator.event_source import Drained, EventSource, Mapping

BATCH_SIZE = 10  # the module's default batch_size
QUEUE = "bench-delivery"
VERDICT = "malicious"
POISON = "1 malformed"
# Flag combinations measured with queue delivery; the last one once more with a poisoned batch.
QUEUE_FLAGS = (
    "log only",
    "delete, unversioned",
    "record + delete",
    "quarantine (move)",
    "delete + event + notification + finding",
)
POISONED_FLAGS = "record + delete"


@dataclass
class BatchRow:
    """One flag combination with queue delivery: per batch, time, calls and what failed."""

    scenario: Scenario
    verdict: str
    poisoned: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    calls: list[Counter[str]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    processed: list[int] = field(default_factory=list)

    @property
    def batches(self) -> int:
        return len(self.latencies_ms)

    @property
    def messages(self) -> int:
        return sum(self.sizes)

    @property
    def seconds(self) -> float:
        return sum(self.latencies_ms) / 1000

    def per_batch(self, values: list[Any], what: str) -> Any:
        """The value every batch of the row shares; BenchmarkError when batches differ."""
        if any(value != values[0] for value in values[1:]):
            raise BenchmarkError(f"{self.scenario.name}/{self.verdict}: {what} vary per batch")
        return values[0]


@dataclass
class _Batch:
    """What one handler call did, read from its response and its log lines (not timed)."""

    milliseconds: float
    calls: Counter[str]
    response: Any
    outcomes: dict[str, str]  # the handler's outcome per queue message id


def _notification(message: str) -> str:
    """The SNS notification SNS sends to a SQS subscription without raw message delivery."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC_ARN,
            "Message": message,
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "SignatureVersion": "1",
            "Signature": "dGVzdA==",
            "SigningCertURL": "https://sns.invalid/SimpleNotificationService.pem",
            "UnsubscribeURL": f"https://sns.invalid/?SubscriptionArn={TOPIC_ARN}:bench",
        }
    )


def delivery_queue(
    account: Account, name: str = QUEUE, attributes: dict[str, str] | None = None
) -> Mapping:
    """The delivery queue and the mapping the emulated poller reads (ReportBatchItemFailures)."""
    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Mapping(
        uuid=str(uuid.uuid4()),
        function_arn=f"arn:aws:lambda:{REGION}:{account.account_id}:function:bench",
        queue_arn=arn,
        queue_url=url,
        batch_size=BATCH_SIZE,
        reports_batch_item_failures=True,
        enabled=True,
    )


def _send_batch(account: Account, mapping: Mapping, bodies: list[str]) -> list[str]:
    """Send the bodies; their SQS message ids, in order."""
    sent = account.client("sqs").send_message_batch(
        QueueUrl=mapping.queue_url,
        Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)],
    )
    if sent.get("Failed"):
        raise BenchmarkError(f"SQS refused messages: {sent['Failed']}")
    ids = {entry["Id"]: entry["MessageId"] for entry in sent["Successful"]}
    return [ids[str(i)] for i in range(len(bodies))]


def _drop_kept(account: Account, mapping: Mapping, kept: list[str]) -> None:
    """Delete what the poller gave back to the queue, so the next batch starts empty."""
    sqs = account.client("sqs")
    left = set(kept)
    for _ in range(5):
        received = sqs.receive_message(
            QueueUrl=mapping.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in received:
            sqs.delete_message(QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"])
            left.discard(message["MessageId"])
        if not left:
            return
    raise BenchmarkError(f"kept messages not found in the queue again: {sorted(left)}")


def batch_runner(
    scenario: Scenario, counter: CallCounter, batches: list[_Batch]
) -> Callable[[dict[str, Any]], Any]:
    """invoke(event) for the poller: the handler on the scenario's pipeline, timed and counted."""
    from post_scan import handler  # imported late: its import reads the environment
    from post_scan.config import load_config

    pipeline = handler.build_pipeline(load_config(scenario.environment()))

    def invoke(event: dict[str, Any]) -> Any:
        out = io.StringIO()
        counter.take()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            response = handler.handle_event(pipeline, event)
        milliseconds = (time.perf_counter() - started) * 1000
        calls = counter.take()
        lines = [json.loads(text) for text in out.getvalue().splitlines()]
        ids = [record["messageId"] for record in event["Records"]]
        if len(lines) != len(ids):
            raise BenchmarkError(f"{scenario.name}: {len(lines)} log lines for {len(ids)} records")
        # One line per record, in the event's order.
        outcomes = {
            message_id: line["outcome"] for message_id, line in zip(ids, lines, strict=True)
        }
        batches.append(_Batch(milliseconds, calls, response, outcomes))
        return response

    return invoke


def run_batch_row(
    account: Account,
    mapping: Mapping,
    scenario: Scenario,
    batches: int,
    counter: CallCounter,
    poisoned: bool = False,
) -> BatchRow:
    """`batches` batches of BATCH_SIZE scan results; with `poisoned`, one malformed message each."""
    row = BatchRow(scenario, f"{VERDICT}, {POISON}" if poisoned else VERDICT, poisoned)
    done: list[_Batch] = []
    source = EventSource(account, mapping, batch_runner(scenario, counter, done))
    for _ in range(batches):
        messages = [upload_and_message(account, scenario, VERDICT) for _ in range(BATCH_SIZE)]
        bodies = [json.dumps(message) for message in messages]
        if poisoned:
            # A publisher that sent str(dict) instead of JSON: not a scan result, never will be.
            bodies[BATCH_SIZE // 2] = str(messages[BATCH_SIZE // 2])
        ids = _send_batch(account, mapping, [_notification(body) for body in bodies])
        poison = {ids[BATCH_SIZE // 2]} if poisoned else set()
        result = Drained()
        if not source.poll_once(result):
            raise BenchmarkError(f"{scenario.name}: the poller received nothing")
        if result.errors:  # the poller catches what the handler raises, as Lambda does
            raise BenchmarkError(f"{scenario.name}: the invocation failed: {result.errors}")
        batch = done.pop()
        _check_batch(scenario, batch, ids, poison, result)
        if result.kept:
            _drop_kept(account, mapping, result.kept)
        row.latencies_ms.append(batch.milliseconds)
        row.calls.append(batch.calls)
        row.sizes.append(len(ids))
        row.failures.append(len(batch.response["batchItemFailures"]))
        row.processed.append(sum(o == "processed" for o in batch.outcomes.values()))
    return row


def _check_batch(
    scenario: Scenario, batch: _Batch, ids: list[str], poison: set[str], result: Drained
) -> None:
    """The whole batch was one event; exactly the poison failed, was reported and kept."""
    name = scenario.name
    if sorted(batch.outcomes) != sorted(ids):
        raise BenchmarkError(f"{name}: the event was not the batch sent ({len(batch.outcomes)})")
    failed = {item["itemIdentifier"] for item in batch.response.get("batchItemFailures", [])}
    errors = {message_id for message_id, o in batch.outcomes.items() if o == "error"}
    if failed != poison or errors != poison:
        raise BenchmarkError(f"{name}: reported {failed}, errors {errors}, poisoned {poison}")
    unprocessed = {m for m, o in batch.outcomes.items() if o != "processed"} - poison
    if unprocessed:
        raise BenchmarkError(f"{name}: not processed: {unprocessed}")
    if set(result.kept) != poison or set(result.deleted) != set(ids) - poison:
        raise BenchmarkError(f"{name}: the poller kept {result.kept}, poisoned {poison}")


def measure_batches(account: Account, batches: int) -> list[BatchRow]:
    """QUEUE_FLAGS with clean batches, then POISONED_FLAGS with one malformed message a batch."""
    by_name = {scenario.name: scenario for scenario in SCENARIOS}
    mapping = delivery_queue(account)
    counter = CallCounter(engine_clients())
    try:
        rows = [
            run_batch_row(account, mapping, by_name[name], batches, counter) for name in QUEUE_FLAGS
        ]
        rows.append(
            run_batch_row(account, mapping, by_name[POISONED_FLAGS], batches, counter, True)
        )
        return rows
    finally:
        counter.close()
