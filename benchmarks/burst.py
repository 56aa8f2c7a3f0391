"""A burst of scan results through queue delivery: nothing lost, poison in the dead-letter queue.

The module's queue mode as the emulator runs it: BURST scan results (malicious uploads, flags
``delete, unversioned``) are sent to a delivery queue as SNS notifications, and the emulator's event
source (``emulator.event_source``) drains it in batches of the module's default size into the
handler, deleting what the partial batch response does not name. The queue's redrive policy is the
module's default (5 receives, then the dead-letter queue).

The poisoned burst makes every POISON_EVERY-th message malformed: it fails on every receive, and
after the fifth SQS moves it, unchanged, to the dead-letter queue. The row is only printed when the
outcome is exact: every other message processed exactly once, the delivery queue empty, the
dead-letter queue holding exactly the poison. Otherwise the benchmark stops with what was lost.

Timed: the whole drain (wall clock, the poller's SQS calls against the emulator included: not an
AWS figure), and the handler calls alone. Counted: invocations, the engine's AWS calls and the
poller's SQS calls. Uploading and sending the burst are not timed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass

from benchmarks.batches import (
    BATCH_SIZE,
    _Batch,
    _notification,
    _send_batch,
    batch_runner,
    delivery_queue,
)
from benchmarks.scenarios import SCENARIOS
from benchmarks.throughput import BenchmarkError, CallCounter, engine_clients, upload_and_message
from emulator import Account
from emulator.event_source import EventSource, Mapping

FLAGS = "delete, unversioned"
VERDICT = "malicious"
POISON_EVERY = 100  # 1 % of the burst
MAX_RECEIVE_COUNT = 5  # the module's queue.max_receive_count default


@dataclass(frozen=True)
class BurstRow:
    """What one burst did."""

    flags: str
    messages: int
    poison: int
    processed: int
    duplicates: int
    lost: int
    dead_letters: int
    invocations: int
    drain_seconds: float
    handler_seconds: float
    engine_calls: Counter[str]
    poller_calls: Counter[str]


def _queues(account: Account, name: str) -> tuple[Mapping, str]:
    """A delivery queue with the module's redrive policy, and its dead-letter queue's URL."""
    sqs = account.client("sqs")
    dead_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    return delivery_queue(account, name, {"RedrivePolicy": redrive}), dead_url


def _depth(account: Account, url: str) -> int:
    attributes = account.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _dead_letter_bodies(account: Account, url: str) -> list[str]:
    sqs = account.client("sqs")
    bodies: list[str] = []
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not received:
            return bodies
        bodies.extend(message["Body"] for message in received)


def run_burst(account: Account, messages: int, poisoned: bool, name: str) -> BurstRow:
    scenario = {s.name: s for s in SCENARIOS}[FLAGS]
    mapping, dead_url = _queues(account, name)
    bodies = []
    for number in range(messages):
        message = upload_and_message(account, scenario, VERDICT)
        # A publisher that sent str(dict) instead of JSON: not a scan result, never will be.
        poison = poisoned and number % POISON_EVERY == POISON_EVERY // 2
        bodies.append(_notification(str(message) if poison else json.dumps(message)))
    ids = [
        message_id
        for start in range(0, len(bodies), BATCH_SIZE)
        for message_id in _send_batch(account, mapping, bodies[start : start + BATCH_SIZE])
    ]
    poison_ids = {
        ids[n] for n in range(messages) if poisoned and n % POISON_EVERY == POISON_EVERY // 2
    }

    counter = CallCounter(engine_clients())
    done: list[_Batch] = []
    source = EventSource(account, mapping, batch_runner(scenario, counter, done))
    poller = CallCounter([source._sqs])
    try:
        started = time.perf_counter()
        drained = source.drain(max_batches=messages * (MAX_RECEIVE_COUNT + 1))
        drain_seconds = time.perf_counter() - started
    finally:
        counter.close()
        poller.close()
    if drained.errors:
        raise BenchmarkError(f"{name}: invocations failed: {drained.errors[:3]}")

    processed = Counter(
        message_id
        for batch in done
        for message_id, outcome in batch.outcomes.items()
        if outcome == "processed"
    )
    dead = _dead_letter_bodies(account, dead_url)
    expected_dead = sorted(bodies[ids.index(message_id)] for message_id in poison_ids)
    lost = set(ids) - set(processed) - poison_ids
    row = BurstRow(
        flags=FLAGS,
        messages=messages,
        poison=len(poison_ids),
        processed=len(processed),
        duplicates=sum(count - 1 for count in processed.values()),
        lost=len(lost),
        dead_letters=len(dead),
        invocations=drained.batches,
        drain_seconds=drain_seconds,
        handler_seconds=sum(batch.milliseconds for batch in done) / 1000,
        engine_calls=sum((batch.calls for batch in done), Counter()),
        poller_calls=poller.calls,
    )
    problems = []
    if lost or row.duplicates or set(processed) & poison_ids:
        problems.append(f"lost {len(lost)}, processed twice {row.duplicates}")
    if sorted(dead) != expected_dead:
        problems.append(f"dead-letter queue holds {len(dead)}, expected the {len(poison_ids)}")
    if _depth(account, mapping.queue_url):
        problems.append("the delivery queue is not empty")
    if problems:
        raise BenchmarkError(f"{name}: " + "; ".join(problems))
    return row


def measure_bursts(account: Account, messages: int) -> list[BurstRow]:
    return [
        run_burst(account, messages, poisoned=False, name="bench-burst"),
        run_burst(account, messages, poisoned=True, name="bench-burst-poisoned"),
    ]
