"""Tell people and systems what happened to each scan result, after the actions.

For the records of one invocation (1 from SNS, up to the batch size from SQS), once every record
has its final outcome:

- one EventBridge event per announced record (EVENT_BUS), PutEvents with up to 10 entries a call;
- one SNS notification per announced record (NOTIFY_TOPIC_ARN), PublishBatch with up to 10;
- one Security Hub finding per malicious file (SECURITY_HUB_PRODUCT_ARN), one BatchImportFindings.

So a queue batch of 10 costs at most one call per target; a batch is split further only when its
entries together exceed the service's 256 KiB request limit. A record is announced when its scan
result was trusted (not ``rejected``), it is not one of this module's own copies, and its verdict
is in NOTIFY_VERDICTS (findings: every malicious verdict). Failed records are announced too, on
every attempt: a malicious file that could not be handled is the notice people need most.

Nothing is dropped: an entry the service refused, or a call that failed after boto3's retries,
turns its record into an ``error`` (AnnounceError), so Lambda or the queue delivers it again; the
actions are idempotent, and the retry announces again, to every target (at least once: consumers
dedupe, see docs/notifications.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ParamValidationError

from post_scan import events, findings, notify
from post_scan.config import Config
from post_scan.pipeline import ERROR, Outcome

MAX_BATCH_ENTRIES = 10  # PutEvents and PublishBatch
MAX_FINDINGS_PER_CALL = 100  # BatchImportFindings
# EventBridge: entries of one PutEvents under 256 KB; SNS: one message and a whole batch at most
# 256 KiB (262,144 bytes). The lower bound for both, with room for the request's own framing.
MAX_REQUEST_BYTES = 256_000

# The calls made, as the log line's `actions` lists them.
PUT_EVENT = "put_event"
PUBLISH = "publish"
IMPORT_FINDING = "import_finding"


class AnnounceError(RuntimeError):
    """An event, notification or finding of this record could not be sent: the record fails."""


class Sender(Protocol):
    """The three calls (post_scan.publishers holds the boto3 ones)."""

    def put_events(self, entries: list[dict[str, Any]]) -> list[str | None]:
        """Per entry, in order: None when EventBridge took it, else why not."""
        ...

    def publish_batch(self, topic_arn: str, entries: list[dict[str, Any]]) -> dict[str, str]:
        """Entry Id -> why SNS refused it, for each refused entry."""
        ...

    def import_findings(self, items: list[dict[str, Any]]) -> dict[str, str]:
        """Finding Id -> why Security Hub refused it, for each refused finding."""
        ...


@dataclass
class Planned:
    """What one record announces (None: nothing to that target)."""

    index: int  # of the record in the invocation
    detail: dict[str, Any]
    event: dict[str, Any] | None = None
    notification: dict[str, Any] | None = None
    finding: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    settled: set[str] = field(default_factory=set)  # the targets whose answer is known


class Announcer:
    def __init__(
        self,
        config: Config,
        sender: Sender | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self._sender = sender
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self.config.has_announcements

    @property
    def sender(self) -> Sender:
        if self._sender is None:  # boto3 clients only once something is announced
            from post_scan.publishers import AwsSender

            self._sender = AwsSender()
        return self._sender

    def plan(self, outcomes: Sequence[Outcome]) -> list[Planned]:
        """The announcements of these outcomes (no call is made). A record whose announcement
        cannot even be built is planned with that problem, so it fails instead of going unsaid."""
        planned = []
        for index, outcome in enumerate(outcomes):
            if not events.announceable(outcome):
                continue
            try:
                item = self._plan_one(index, outcome)
            except Exception as exc:  # a bug, or data no builder expected: never silent
                item = Planned(index, {}, problems=[f"{type(exc).__name__}: {exc}"])
            if item.event or item.notification or item.finding or item.problems:
                planned.append(item)
        return planned

    def _plan_one(self, index: int, outcome: Outcome) -> Planned:
        config = self.config
        assert outcome.scan is not None
        detail = events.detail(outcome, config)
        item = Planned(index, detail)
        if config.announced(outcome.scan.verdict):
            if config.event_bus is not None:
                item.event = events.put_events_entry(detail, config)
            if config.notify_topic_arn is not None:
                item.notification = notify.message_entry(detail, config.notify_chat, "")
        if config.security_hub_product_arn is not None and findings.wanted(detail):
            item.finding = findings.finding(detail, config.security_hub_product_arn, self._clock())
        return item

    def announce(self, outcomes: Sequence[Outcome]) -> None:
        """Send what the outcomes announce; a record whose announcement failed becomes an error.

        Every step that could fail on one record's data (building, sizing, sending) fails that
        record alone; an unexpected failure of a whole step fails the records it had not settled
        yet, never silently."""
        if not self.enabled:
            return
        planned = self.plan(outcomes)
        if not planned:
            return
        for what, send, wanted in (
            ("event", self._events, [p for p in planned if p.event is not None]),
            ("notification", self._notifications, [p for p in planned if p.notification]),
            ("finding", self._findings, [p for p in planned if p.finding is not None]),
        ):
            if not wanted:
                continue
            try:
                send(wanted)
            except Exception as exc:  # a bug: the records not settled yet fail, loudly
                _all_failed([p for p in wanted if what not in p.settled], what, exc)
        for item in planned:
            outcome = outcomes[item.index]
            outcome.actions.extend(item.sent)
            if item.problems:
                _fail(outcome, item.problems)

    # -- the three targets ------------------------------------------------------------------

    def _events(self, planned: list[Planned]) -> None:
        self._in_batches(planned, "event", PUT_EVENT, events.entry_size, self._put_events)

    def _put_events(self, chunk: list[Planned]) -> list[str | None]:
        results = self.sender.put_events([p.event for p in chunk])  # type: ignore[misc]
        if len(results) != len(chunk):
            raise AnnounceError(f"{len(results)} results for {len(chunk)} entries")
        return results

    def _notifications(self, planned: list[Planned]) -> None:
        self._in_batches(planned, "notification", PUBLISH, notify.entry_size, self._publish)

    def _publish(self, chunk: list[Planned]) -> list[str | None]:
        topic = self.config.notify_topic_arn
        assert topic is not None
        entries = [{**p.notification, "Id": str(n)} for n, p in enumerate(chunk)]  # type: ignore[dict-item]
        refused = self.sender.publish_batch(topic, entries)
        return [refused.get(str(number)) for number in range(len(chunk))]

    def _in_batches(
        self,
        planned: list[Planned],
        what: str,
        action: str,
        measure: Callable[[dict[str, Any]], int],
        send: Callable[[list[Planned]], list[str | None]],
    ) -> None:
        """Size each record's entry on its own (one that cannot be sized or is too large fails
        alone), then send them in batches of MAX_BATCH_ENTRIES and MAX_REQUEST_BYTES."""
        measured: list[tuple[Planned, int]] = []
        for item in planned:
            entry = item.event if what == "event" else item.notification
            try:
                measured.append((item, measure(entry)))  # type: ignore[arg-type]
            except Exception as exc:  # e.g. text that is not valid Unicode
                _all_failed([item], what, exc)
        for chunk in _chunks(measured, MAX_BATCH_ENTRIES, what):
            self._send_batch(chunk, what, action, send)

    def _send_batch(
        self,
        chunk: list[Planned],
        what: str,
        action: str,
        send: Callable[[list[Planned]], list[str | None]],
    ) -> None:
        try:
            results = send(chunk)
        except Exception as exc:
            if len(chunk) > 1 and _local(exc):  # one entry's data, not the service: find it
                for item in chunk:
                    self._send_batch([item], what, action, send)
                return
            _all_failed(chunk, what, exc)
            return
        for item, problem in zip(chunk, results, strict=True):
            _settle(item, action, what, problem)

    def _findings(self, planned: list[Planned]) -> None:
        # Two records about the same file (a duplicate delivery in one batch) share a finding:
        # it is sent once, the last one wins, and its result counts for both.
        by_id: dict[str, list[Planned]] = {}
        for item in planned:
            by_id.setdefault(item.finding["Id"], []).append(item)  # type: ignore[index]
        ids = list(by_id)
        for start in range(0, len(ids), MAX_FINDINGS_PER_CALL):
            self._import(ids[start : start + MAX_FINDINGS_PER_CALL], by_id)

    def _import(self, chunk: list[str], by_id: dict[str, list[Planned]]) -> None:
        try:
            refused = self.sender.import_findings([by_id[i][-1].finding for i in chunk])  # type: ignore[misc]
        except Exception as exc:
            if len(chunk) > 1 and _local(exc):
                for finding_id in chunk:
                    self._import([finding_id], by_id)
                return
            for finding_id in chunk:
                _all_failed(by_id[finding_id], "finding", exc)
            return
        for finding_id in chunk:
            for item in by_id[finding_id]:
                _settle(item, IMPORT_FINDING, "finding", refused.get(finding_id))


def _local(exc: Exception) -> bool:
    """A failure of the request's own data (encoding, parameter validation) rather than of the
    service or the network: worth sending the entries one by one to fail only the bad one."""
    return isinstance(exc, UnicodeError | TypeError | ValueError | ParamValidationError)


def _chunks(measured: list[tuple[Planned, int]], count: int, what: str) -> list[list[Planned]]:
    """Consecutive groups of at most `count` entries and MAX_REQUEST_BYTES; an entry too large on
    its own fails its record instead of being sent."""
    chunks: list[list[Planned]] = []
    current: list[Planned] = []
    total = 0
    for item, size in measured:
        if size > MAX_REQUEST_BYTES:
            item.settled.add(what)
            item.problems.append(f"{what} is {size} bytes, over the {MAX_REQUEST_BYTES} limit")
            continue
        if current and (len(current) == count or total + size > MAX_REQUEST_BYTES):
            chunks.append(current)
            current, total = [], 0
        current.append(item)
        total += size
    if current:
        chunks.append(current)
    return chunks


def _settle(item: Planned, action: str, what: str, problem: str | None) -> None:
    item.settled.add(what)
    if problem is None:
        item.sent.append(action)
    else:
        item.problems.append(f"{what} refused: {problem}")


def _all_failed(items: list[Planned], what: str, why: Exception | str) -> None:
    text = f"{type(why).__name__}: {why}" if isinstance(why, Exception) else why
    for item in items:
        item.settled.add(what)
        item.problems.append(f"{what} not sent: {text}")


def _fail(outcome: Outcome, problems: list[str]) -> None:
    error = AnnounceError("; ".join(problems))
    if outcome.outcome != ERROR:
        outcome.outcome, outcome.error = ERROR, error
    outcome.notes.append(f"announcement failed, the record is retried: {error}")
