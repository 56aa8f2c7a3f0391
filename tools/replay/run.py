"""The replay loop: receive, decide, deliver, delete only after success, release the rest."""

from __future__ import annotations

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
    received: int = 0
    replayed: int = 0
    failed: int = 0
    skipped: int = 0  # unknown bodies, or replayable only in the other mode
    would_replay: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.skipped else 0

    def line(self, dry_run: bool) -> str:
        if dry_run:
            return (
                f"dry run: {self.received} received, {self.would_replay} would be replayed, "
                f"{self.skipped} skipped; nothing was changed"
            )
        return (
            f"{self.received} received: {self.replayed} replayed and deleted, "
            f"{self.failed} failed and {self.skipped} skipped (both left in the queue)"
        )


def replay(
    dead_letters: DeadLetters,
    mode: str,
    *,
    invoke: Invoke | None = None,
    send: Send | None = None,
    max_messages: int | None = None,
    batch_size: int = 10,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
) -> Summary:
    """Replay up to `max_messages` dead letters (all when None) in `mode` (decide.DIRECT/QUEUE).

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
                if not _handle(dead_letters, message, mode, invoke, send, dry_run, summary, out):
                    held[message.message_id] = message
    finally:
        if held:
            dead_letters.release(list(held.values()))
    out(summary.line(dry_run))
    return summary


def _handle(
    dead_letters: DeadLetters,
    message: Message,
    mode: str,
    invoke: Invoke | None,
    send: Send | None,
    dry_run: bool,
    summary: Summary,
    out: Callable[[str], None],
) -> bool:
    """True when the message was replayed and deleted."""
    plan = decide.plan(message.body, mode)
    name = message.message_id
    if not plan.replayable:
        summary.skipped += 1
        out(f"skipped  {name}: {plan.summary}")
        return False
    if dry_run:
        summary.would_replay += 1
        target = "invoke the function with" if plan.event is not None else "send to the queue"
        out(f"would    {name}: {target} {plan.summary}")
        return False
    try:
        if plan.event is not None:
            assert invoke is not None
            ok, detail = invoke(plan.event)
        else:
            assert send is not None and plan.body is not None
            ok, detail = send(plan.body, decide.sendable_attributes(message.attributes))
    except Exception as exc:  # one message's delivery error must not stop the others
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        summary.failed += 1
        out(f"failed   {name}: {plan.summary}: {detail}")
        return False
    try:
        dead_letters.delete(message)
    except Exception as exc:
        summary.failed += 1
        out(f"failed   {name}: replayed ({detail}) but not deleted: {type(exc).__name__}: {exc}")
        return False
    summary.replayed += 1
    out(f"replayed {name}: {plan.summary}: {detail}")
    return True
