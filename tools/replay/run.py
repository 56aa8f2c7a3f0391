"""The replay loop: receive, decide, deliver, delete only after success, release the rest."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from replay import decide

# Invokes the function synchronously with an event: (succeeded, detail for the operator).
Invoke = Callable[[dict[str, Any]], tuple[bool, str]]
# Sends a body (with message attributes) to the delivery queue: (succeeded, detail).
Send = Callable[[str, dict[str, Any]], tuple[bool, str]]


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, Any] = field(default_factory=dict)  # SQS MessageAttributes


class DeadLetters(Protocol):
    def receive(self, limit: int) -> list[Message]: ...

    def delete(self, message: Message) -> None: ...

    def hide(self, messages: list[Message]) -> None:
        """Make received messages invisible again for the receive visibility timeout."""
        ...

    def release(self, messages: list[Message]) -> None:
        """Make received messages visible now."""
        ...


@dataclass
class Summary:
    """What one run did. Every received message is counted exactly once."""

    received: int = 0
    replayed: int = 0  # replayed and deleted
    duplicates_deleted: int = 0  # direct mode: the very event was replayed in this run
    failed: int = 0  # replay attempted, failed: left in the queue
    skipped: int = 0  # unknown bodies, or replayable only in the other mode: left
    refused: int = 0  # on-failure records of another function: left
    duplicates: int = 0  # a scan result this run already replayed or tried: not sent again, left
    would_replay: int = 0

    @property
    def exit_code(self) -> int:
        left = self.failed + self.skipped + self.refused + self.duplicates
        return 1 if left else 0

    def line(self, dry_run: bool) -> str:
        if dry_run:
            return (
                f"dry run: {self.received} received, {self.would_replay} would be replayed, "
                f"{self.skipped} skipped, {self.refused} refused, {self.duplicates} duplicates; "
                "nothing was changed"
            )
        return (
            f"{self.received} received: {self.replayed} replayed and deleted, "
            f"{self.duplicates_deleted} duplicates of those deleted; left in the queue: "
            f"{self.failed} failed, {self.skipped} skipped, {self.refused} refused, "
            f"{self.duplicates} duplicates"
        )


@dataclass
class _Attempt:
    """A scan result this run tried to replay: from which message, how, with what outcome."""

    message_id: str
    ok: bool
    payload: str  # the canonical event (direct) or body (queue) that was replayed


def replay(
    dead_letters: DeadLetters,
    mode: str,
    *,
    invoke: Invoke | None = None,
    send: Send | None = None,
    max_messages: int | None = None,
    batch_size: int = 10,
    dry_run: bool = False,
    function_arn: str | None = None,
    out: Callable[[str], None] = print,
) -> Summary:
    """Replay up to `max_messages` dead letters (all when None) in `mode` (decide.DIRECT/QUEUE).

    Direct mode with `function_arn`: on-failure records of other functions are refused.

    Each scan result (SNS MessageId, see decide.Plan.ids) is replayed at most once per run:
    another message carrying one already replayed or tried in this run is a duplicate and is not
    sent again (in queue mode it may be the very message this run sent, failed again and moved
    back by the redrive policy). A duplicate stays in the queue, except in direct mode when the
    same event was replayed successfully in this run (nothing is lost by deleting it).

    Messages that were not replayed stay invisible until the end of the run (so one run never
    handles a message twice), then are released (visibility 0) for the next run. When one of them
    reappears mid-run (the run outlasts the visibility timeout) it is hidden again and the run
    goes on: it ends at the first empty receive, or when the held messages come back faster than
    they can be hidden again.
    """
    if (mode == decide.DIRECT and invoke is None) or (mode == decide.QUEUE and send is None):
        raise ValueError(f"mode {mode} needs its delivery callable")
    summary = Summary()
    held: dict[str, Message] = {}  # by message ID, with its latest receipt handle
    seen: set[str] = set()
    attempts: dict[str, _Attempt] = {}  # by scan result id (decide.Plan.ids)
    step = _Step(dead_letters, mode, invoke, send, dry_run, function_arn, summary, out)
    only_held = 0  # consecutive receives that returned only messages already seen
    try:
        while max_messages is None or summary.received < max_messages:
            limit = batch_size if max_messages is None else max_messages - summary.received
            batch = dead_letters.receive(min(batch_size, limit))
            if not batch:
                break
            fresh = [message for message in batch if message.message_id not in seen]
            again = [message for message in batch if message.message_id in seen]
            held.update((message.message_id, message) for message in again)
            only_held = 0 if fresh else only_held + 1
            # Each such receive returns at least one held message; more of them in a row than
            # there are held messages means hiding them again does not keep them hidden.
            if only_held > len(held):
                out(
                    "stopped: messages left in the queue by this run keep reappearing (visibility "
                    "timeout too short?); messages not received yet stay for the next run"
                )
                break
            if again:
                dead_letters.hide(again)
            for message in fresh:
                seen.add(message.message_id)
                summary.received += 1
                if not step.handle(message, attempts):
                    held[message.message_id] = message
    finally:
        if held:
            dead_letters.release(list(held.values()))
    out(summary.line(dry_run))
    return summary


@dataclass
class _Step:
    """Handles one received message: decide, deduplicate, deliver, delete."""

    dead_letters: DeadLetters
    mode: str
    invoke: Invoke | None
    send: Send | None
    dry_run: bool
    function_arn: str | None
    summary: Summary
    out: Callable[[str], None]

    def handle(self, message: Message, attempts: dict[str, _Attempt]) -> bool:
        """True when the message was deleted (replayed, or a duplicate of a replayed event)."""
        plan = decide.plan(message.body, self.mode, self.function_arn)
        name, summary = message.message_id, self.summary
        if plan.refused:
            summary.refused += 1
            self.out(f"refused  {name}: {plan.summary}")
            return False
        if not plan.replayable:
            summary.skipped += 1
            self.out(f"skipped  {name}: {plan.summary}")
            return False
        payload = _payload(plan)
        earlier = [attempts[i] for i in plan.ids if i in attempts]
        if earlier:
            return self._duplicate(message, plan, payload, earlier)
        if self.dry_run:
            summary.would_replay += 1
            _remember(attempts, plan, name, ok=True, payload=payload)
            target = "invoke the function with" if plan.event is not None else "send to the queue"
            self.out(f"would    {name}: {target} {plan.summary}")
            return False
        ok, detail = self._deliver(plan, message)
        _remember(attempts, plan, name, ok=ok, payload=payload)
        if not ok:
            summary.failed += 1
            self.out(f"failed   {name}: {plan.summary}: {detail}")
            return False
        if not self._delete(message, f"replayed ({detail}) but"):
            return False
        summary.replayed += 1
        self.out(f"replayed {name}: {plan.summary}: {detail}")
        return True

    def _duplicate(
        self, message: Message, plan: decide.Plan, payload: str, earlier: list[_Attempt]
    ) -> bool:
        name, first = message.message_id, earlier[0]
        same_event = self.mode == decide.DIRECT and all(
            a.ok and a.payload == payload for a in earlier
        )
        if same_event and not self.dry_run:
            # Direct mode invokes synchronously: this exact event has been handled.
            if not self._delete(message, "a duplicate of a replayed event,"):
                return False
            self.summary.duplicates_deleted += 1
            self.out(
                f"deleted  {name}: {plan.summary}: the same event as {first.message_id}, "
                "replayed in this run"
            )
            return True
        self.summary.duplicates += 1
        what = "sent to the delivery queue" if self.mode == decide.QUEUE else "replayed"
        outcome = what if all(a.ok for a in earlier) else f"{what} without success"
        again = (
            " (or that very message, failed again and moved back by the redrive policy)"
            if self.mode == decide.QUEUE
            else ""
        )
        self.out(
            f"duplicate {name}: {plan.summary}: carries the scan result of {first.message_id}"
            f"{again}, {outcome} in this run: not sent again, left in the queue"
        )
        return False

    def _deliver(self, plan: decide.Plan, message: Message) -> tuple[bool, str]:
        try:
            if plan.event is not None:
                assert self.invoke is not None
                return self.invoke(plan.event)
            assert self.send is not None and plan.body is not None
            return self.send(plan.body, decide.sendable_attributes(message.attributes))
        except Exception as exc:  # one message's delivery error must not stop the others
            return False, f"{type(exc).__name__}: {exc}"

    def _delete(self, message: Message, done: str) -> bool:
        try:
            self.dead_letters.delete(message)
        except Exception as exc:
            self.summary.failed += 1
            self.out(
                f"failed   {message.message_id}: {done} not deleted: {type(exc).__name__}: {exc}"
            )
            return False
        return True


def _payload(plan: decide.Plan) -> str:
    if plan.event is not None:
        return json.dumps(plan.event, sort_keys=True, separators=(",", ":"))
    return plan.body or ""


def _remember(
    attempts: dict[str, _Attempt], plan: decide.Plan, message_id: str, *, ok: bool, payload: str
) -> None:
    for scan_result in plan.ids:
        attempts[scan_result] = _Attempt(message_id, ok, payload)
