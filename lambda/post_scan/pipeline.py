"""The ordered pipeline for one SNS or SQS record. No boto3 here: S3 and DynamoDB come in as ports.

envelope -> topic guard -> parse -> bucket guard -> [locate] -> [own copy?] -> per target (each
scanned version): [tags, file id] -> [verdict conflict?] -> [HEAD of the source] -> plan ->
[record] -> [route: copy + verify] -> [delete]. Each version's row is recorded, with the action
that will be done, before anything is copied or deleted; an error a retry may cure stops the
record before the delete, so a retry still finds the file and its tag, and a copy that failed or
does not match never costs the source. A failure no retry can cure, on a malicious file that must
leave the scanned bucket, falls back to another way of making it harmless (outcome `fallback`);
so does a row update that fails on the final receive of a queued message, whose row then waits
in the dead-letter queue (post_scan.pending). A benign verdict whose bytes S3 cannot single out
is not acted on (outcome `unproven`); a row that names another object is left alone (outcome
`row_conflict`). Every S3 call first checks the invocation's remaining time (post_scan.budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from post_scan import timing
from post_scan.budget import Budget
from post_scan.config import SCAN_TYPE_GATED_VERDICTS, SCAN_TYPES, UNTIL_CLEAN, Config, Route
from post_scan.failures import PERMANENT, classify, describe
from post_scan.locate import FOUND, GONE, UNPROVEN, Location, locate
from post_scan.message import (
    CLEAN,
    EVENTBRIDGE,
    FSS,
    GUARDDUTY,
    MALICIOUS,
    PENDING_FIELD,
    SCAN_RESULT_TYPE,
    SNS,
    SQS,
    Envelope,
    NotAScanResult,
    ScanMessageError,
    ScanResult,
    is_eventbridge_event,
    is_queue_record,
    parse_record,
    parse_scan_result,
    queue_record,
)
from post_scan.objects import (
    ALREADY_GONE,
    DELETED,
    PRECONDITION_FAILED,
    CopyResult,
    Head,
    ObjectChanged,
    ObjectGone,
    ObjectVersion,
    StoredObject,
)
from post_scan.route import (
    ROUTED_MARK,
    CopyVerificationError,
    at_route_destination,
    copy_arguments,
    deletes_source,
    destination_url,
    is_own_copy,
    verify_copy,
)
from post_scan.targets import (
    Target,
    VerdictConflict,
    check_conflicts,
    copy_failed,
    may_fall_back,
    plan,
)

if TYPE_CHECKING:
    from post_scan.pending import PendingRow
    from post_scan.record import Refusal, VerdictRow

# Features that may be off are loaded at their first use, not at cold start: the rows
# (post_scan.record), the dead-letter queue's pending rows (post_scan.pending), the scanner's tags
# (post_scan.scanner_tags, read only to record, route or check read protection) and read protection
# (post_scan.protection).

PROCESSED = "processed"
REJECTED = "rejected"
OBJECT_GONE = "object_gone"
SUPERSEDED = "superseded"
# The row outcomes are post_scan.record's refusals of the same names, spelled here too so that
# naming an outcome never loads the rows' module (a feature that may be off).
STALE_VERDICT = "stale_verdict"
ROW_MISSING = "row_missing"
ROW_CONFLICT = "row_conflict"  # the row names another object, left untouched (RowConflicts)
# Also an outcome: UNPROVEN (locate.py: a benign verdict whose scanned bytes S3's evidence cannot
# single out, nothing done to the object; UnprovenLocations).
SKIPPED_OWN_COPY = "skipped_own_copy"
FALLBACK = "fallback"  # a malicious file made harmless another way than configured (see targets)
IGNORED = "ignored"  # published on the topic, but says it is not a scan result (its `type`)
# GuardDuty could not tag a scanned object ("Post Scan Action Failed"): logged and counted only.
POST_SCAN_ACTION_FAILED = "post_scan_action_failed"
ERROR = "error"


class S3Store(Protocol):
    def head(self, bucket: str, key: str) -> Head: ...

    def tags(self, bucket: str, key: str, version_id: str | None) -> dict[str, str]: ...

    def versions(
        self, bucket: str, key: str, on_page: Callable[[], None] | None = None
    ) -> list[ObjectVersion]: ...

    def delete_version(self, bucket: str, key: str, version_id: str) -> str: ...

    def delete_if_match(self, bucket: str, key: str, etag: str) -> str: ...

    def describe(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        etag: str | None = None,
        checksums: bool = False,
    ) -> StoredObject: ...

    def copy(
        self,
        source_bucket: str,
        source_key: str,
        source: StoredObject,
        destination_bucket: str,
        destination_key: str,
        extra_args: dict[str, Any],
    ) -> CopyResult: ...


# Sends an UpdateItem request; returns RECORDED or the refusal (record.Refusal; a bare
# STALE_VERDICT or ROW_MISSING string is accepted too), raises otherwise.
UpdateSender = Callable[[dict[str, Any]], "str | Refusal"]
# Sends a message body to the dead-letter queue of this ARN (aws.send_dead_letter).
DeadLetterSender = Callable[[str, str], None]

# until_clean: a clean object not tagged clean yet is looked at once more after this pause (the
# scanner tags in parallel with this function), when the invocation has the time for it.
RECHECK_SECONDS = 2.0
RECHECK_MARGIN_SECONDS = 10.0


@dataclass
class Outcome:
    """Everything the log line reports about one record."""

    dry_run: bool
    delivery: str | None = None  # sns, sqs or sqs-raw (message.SNS / SQS / SQS_RAW)
    queue_message_id: str | None = None
    receive_count: int | None = None
    sns_message_id: str | None = None
    topic_arn: str | None = None
    scan: ScanResult | None = None
    version_id: str | None = None
    file_id: str | None = None
    file_id_missing: bool = False
    destination: str | None = None  # s3://bucket/key of the routed copy
    actions: list[str] = field(default_factory=list)
    outcome: str = PROCESSED
    notes: list[str] = field(default_factory=list)
    ambiguous: bool | None = None
    scan_type: str | None = None  # Vision One's fss-scan-type, when the tags were read
    moved_by_scanner: bool = False  # gone, and the scanner moves this verdict's files itself
    # None of the scanned content located is left in the scanned bucket after this record: each
    # target was deleted (or moved) by it or was already gone, or the object was gone when it
    # looked. False when it is still there or not known to be gone (dry run, superseded, an error
    # before the delete). The Security Hub state and the notifications say what it says.
    removed: bool = False
    # until_clean: a clean verdict whose object (or promoted copy) is not tagged clean: unreadable
    untagged_clean: bool = False
    error: Exception | None = None
    duration_ms: float = 0.0
    targets: list[Target] = field(default_factory=list)  # the scanned version(s) acted on
    fallback: str | None = None  # why the configured action was not done (FallbackActions)
    verdict_conflict: bool = False  # refused: the scanner's tag says malicious (VerdictConflicts)
    scanner: str | None = None  # whose message: message.FSS or GUARDDUTY (None: unusable event)
    plan_arn: str | None = None  # GuardDuty: the malware protection plan that sent the event
    # GuardDuty "Post Scan Action Failed": what it says (guardduty.ActionFailure); never announced.
    action_failure: Any = None
    row_conflict: bool = False  # a row names another object: left untouched (RowConflicts)
    # Seconds (timing.py; None: not applicable). Malicious content readable: from LastModified until
    # the function's delete of it succeeded (the slowest of its versions); the scanner's delay: from
    # LastModified to the scan's start; the function's: from the scan result's timestamp to the end.
    exposure_seconds: float | None = None
    scan_seconds: float | None = None
    action_delay_seconds: float | None = None
    clamped_timings: bool = False  # one of them came out negative (clock skew): reported as 0

    @property
    def reason(self) -> str:
        return "; ".join(self.notes)

    @property
    def live(self) -> list[Target]:
        """The targets still there (not deleted by someone else meanwhile)."""
        return [t for t in self.targets if not t.gone]


class _Reader:
    """S3Reader for one bucket/key that lists each S3 read in the outcome's actions and checks
    the invocation's remaining time before each call (every page of a listing too)."""

    def __init__(
        self, store: S3Store, bucket: str, key: str, actions: list[str], budget: Budget
    ) -> None:
        self._store, self._bucket, self._key, self._actions = store, bucket, key, actions
        self._budget = budget
        self._tags: dict[str | None, dict[str, str]] = {}

    def head(self) -> Head:
        self._budget.check("HEAD of the key")
        self._actions.append("head")
        return self._store.head(self._bucket, self._key)

    def tags(self, version_id: str | None) -> dict[str, str]:
        if version_id not in self._tags:
            self._budget.check("a tag read")
            self._actions.append("read_tags")
            self._tags[version_id] = self._store.tags(self._bucket, self._key, version_id)
        return self._tags[version_id]

    def versions(self) -> list[ObjectVersion]:
        self._actions.append("list_versions")
        on_page = lambda: self._budget.check("a page of the version listing")  # noqa: E731
        return self._store.versions(self._bucket, self._key, on_page=on_page)

    def version(self, version_id: str) -> ObjectVersion:
        self._actions.append("head_version")
        stored = self._store.describe(self._bucket, self._key, version_id=version_id)
        return ObjectVersion(
            version_id=stored.version_id or version_id,
            etag=stored.etag,
            last_modified=stored.last_modified,  # type: ignore[arg-type]
            size=stored.size,
            metadata=stored.metadata,
        )


@dataclass(frozen=True)
class _Wants:
    """What the settings ask for this record's verdict."""

    record: bool
    route: Route | None
    delete: bool
    fall_back: bool  # a permanent failure falls back to making the file harmless another way

    @property
    def tags(self) -> bool:
        return self.record or self.route is not None


class Pipeline:
    def __init__(
        self,
        config: Config,
        s3: S3Store,
        send_update: UpdateSender,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
        send_dead_letter: DeadLetterSender | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._s3 = s3
        self._send_update = send_update
        self._clock = clock
        self._sleep = sleep
        self._send_dead_letter = send_dead_letter
        self.wall_clock = wall_clock  # epoch seconds: the timings' end points
        self._time_left: Callable[[], float] | None = None
        self._budget = Budget(None)

    def process(self, record: Any, time_left: Callable[[], float] | None = None) -> Outcome:
        """Handle one record; never raises (errors are reported in the Outcome).

        time_left: seconds the invocation has left (None: unknown, no limit).
        """
        outcome = Outcome(dry_run=self.config.dry_run)
        started = self._clock()
        self._time_left = time_left
        self._budget = Budget(time_left)
        try:
            self._process(record, outcome)
        except Exception as exc:  # reported per record; the handler fails the invocation
            outcome.outcome, outcome.error = ERROR, exc
            outcome.verdict_conflict = isinstance(exc, VerdictConflict)
            outcome.notes.append(f"{type(exc).__name__}: {exc}")
        outcome.duration_ms = round((self._clock() - started) * 1000, 3)
        if outcome.scan is not None and outcome.outcome != REJECTED:  # a trusted timestamp
            self._timed(outcome, "action_delay_seconds", outcome.scan.timestamp)
        return outcome

    def _timed(self, out: Outcome, name: str, start: Any) -> float:
        """Set out.<name> to the seconds from `start` until now (and count a clamp)."""
        elapsed = timing.between(start, self.wall_clock())
        out.clamped_timings |= elapsed.clamped
        setattr(out, name, elapsed.seconds)
        return elapsed.seconds

    def _process(self, record: Any, out: Outcome) -> None:
        config = self.config
        if is_queue_record(record):  # known even when the body turns out to be unusable
            queued = queue_record(record)
            out.delivery, out.queue_message_id = SQS, queued.message_id
            out.receive_count = queued.receive_count
        else:
            out.delivery = EVENTBRIDGE if is_eventbridge_event(record) else SNS
        envelope = parse_record(record)
        out.delivery = envelope.delivery
        out.sns_message_id, out.topic_arn = envelope.sns_message_id, envelope.topic_arn
        out.scanner = GUARDDUTY if envelope.from_eventbridge else FSS
        if envelope.from_eventbridge:
            scan = self._guardduty_result(envelope, out)
        else:
            scan = self._fss_result(envelope, out)
        if scan is None:
            return
        out.scan = scan
        waiting: tuple[PendingRow, ...] = ()
        if envelope.pending is not None:  # replaying a dead letter: loaded only then
            from post_scan.pending import parse as parse_pending

            waiting = parse_pending(envelope.pending)
        if waiting and scan.verdict != MALICIOUS:
            raise ScanMessageError(f"{PENDING_FIELD} on a {scan.verdict} result")
        if not config.bucket_allowed(scan.bucket):
            out.outcome = REJECTED
            out.notes.append("bucket not in ALLOWED_BUCKETS")
            return

        wants = _Wants(
            record=config.reads_file_id(scan.verdict),  # to record it, or to announce it
            route=config.routes.get(scan.verdict),
            delete=deletes_source(scan.verdict, config),
            fall_back=may_fall_back(scan.verdict, config),
        )
        wants_check = config.read_protection == UNTIL_CLEAN and scan.verdict == CLEAN
        if not (wants.record or wants.route or wants.delete or wants_check):
            out.notes.append(f"no action configured for verdict {scan.verdict}")
            return
        if wants.route is not None and not wants.fall_back:
            # A key too long for the destination fails before any S3 call.
            out.destination = destination_url(wants.route, scan.bucket, scan.key)
        reader = _Reader(self._s3, scan.bucket, scan.key, out.actions, self._budget)
        try:
            location = locate(scan, reader)
            out.notes.append(location.reason)
            if location.status == UNPROVEN:
                out.ambiguous = location.ambiguous
                self._unproven(scan, wants, location, reader, out)
                return
            if location.status != FOUND:
                out.outcome = OBJECT_GONE if location.status == GONE else SUPERSEDED
                if location.status == GONE:
                    out.removed = True
                    self._gone(scan, out)
                if waiting:
                    self._finish_pending(scan, wants, waiting, out)
                return
            out.ambiguous = location.ambiguous
            uploaded = location.targets[0].last_modified
            started = scan.scan_started if scan.scan_started is not None else scan.timestamp
            elapsed = timing.between(uploaded, float(started))
            out.scan_seconds = elapsed.seconds
            out.clamped_timings |= elapsed.clamped
            if location.versioned:
                out.version_id = location.targets[0].version_id
            if self._own_copy(scan, location, out):
                return
            if not (wants.record or wants.route or wants.delete):  # read protection only
                self._check_tagged_clean(scan, reader, out)
                return
            if wants.route is not None and not self._routes_scan_type(scan, reader, out):
                out.destination = None
                wants = replace(
                    wants, route=None, delete=deletes_source(scan.verdict, config, routed=False)
                )
                if not (wants.record or wants.delete):
                    return
            out.targets = [Target(v, location.versioned) for v in location.targets]
            self._read(scan, wants, reader, out)
            plan(scan, config, wants.route, out.live)
            self._report_targets(out)
            if wants.record:
                self._record_all(scan, wants, out)
                if out.row_conflict and scan.verdict != MALICIOUS:
                    out.notes.append(
                        f"nothing copied or deleted: a {scan.verdict} verdict is not acted on for "
                        "a file whose id names another object"
                    )
                    return
            if wants.route is not None:
                self._route_all(scan, wants, out)
            lost = self._dead_letter(envelope, out) if any(t.pending for t in out.live) else None
            if wants.delete:
                self._delete(scan, out)
            elif wants_check:
                self._check_tagged_clean(scan, reader, out)
            if lost is not None:
                from post_scan.pending import RowNotKept

                raise RowNotKept(lost)
        except ObjectGone as exc:
            out.outcome, out.removed = OBJECT_GONE, True
            if not self._gone(scan, out):
                out.notes.append(f"S3 answered {exc}: already handled by an earlier delivery")
        except ObjectChanged as exc:
            out.outcome = SUPERSEDED
            out.notes.append(f"S3 answered {exc}: the key holds a different upload now, left alone")
        self._settle(out)

    def _fss_result(self, envelope: Envelope, out: Outcome) -> ScanResult | None:
        """File Storage Security's scan result from its topic, or None (rejected, ignored)."""
        config = self.config
        if envelope.topic_arn is None:  # raw queue delivery
            if config.allowed_topic_arns:
                out.outcome = REJECTED
                out.notes.append(
                    "raw message delivery: the topic is unknown and ALLOWED_TOPIC_ARNS is set"
                )
                return None
        elif not config.topic_allowed(envelope.topic_arn):
            out.outcome = REJECTED
            out.notes.append("topic not in ALLOWED_TOPIC_ARNS")
            return None
        if envelope.message_type not in (None, SCAN_RESULT_TYPE):
            out.outcome = IGNORED
            out.notes.append(
                f"message attribute type is {envelope.message_type!r}: not a scan result"
            )
            return None
        try:
            return parse_scan_result(envelope.message, *envelope.fallback_id())
        except NotAScanResult as exc:
            out.outcome = IGNORED
            out.notes.append(f"{exc}: not a scan result")
            return None

    def _guardduty_result(self, envelope: Envelope, out: Outcome) -> ScanResult | None:
        """GuardDuty's scan result from an EventBridge event, or None (rejected, or a Post Scan
        Action Failed event, which is only logged and counted)."""
        config, event = self.config, envelope.event
        assert event is not None
        if not config.guardduty_plan_arns:  # nothing read, the parser not even loaded
            out.outcome = REJECTED
            out.notes.append("EventBridge event, but GUARDDUTY_PLAN_ARNS lists no plan")
            return None
        from post_scan import guardduty  # loaded only where GuardDuty results are accepted

        plan, why = guardduty.trust(event, config.guardduty_plan_arns, config.expected_bucket_owner)
        if plan is None:
            out.outcome = REJECTED
            out.notes.append(str(why))
            return None
        out.plan_arn = plan
        if not guardduty.is_action_failure(event):
            return guardduty.parse_scan_result(event)
        failure = guardduty.parse_action_failure(event, plan)
        out.action_failure, out.version_id = failure, failure.version_id
        if not config.bucket_allowed(failure.bucket):
            out.outcome = REJECTED
            out.notes.append("bucket not in ALLOWED_BUCKETS")
            return None
        out.outcome = POST_SCAN_ACTION_FAILED
        where = f"s3://{failure.bucket}/{failure.key}" + (
            f" (version {failure.version_id})" if failure.version_id else ""
        )
        out.notes.append(
            f"GuardDuty could not tag {where}: {'; '.join(failure.reasons) or 'no reason given'}; "
            "a tag-based policy does not protect it"
        )
        return None

    def _gone(self, scan: ScanResult, out: Outcome) -> bool:
        """Say so when the scanned content is gone because the scanner moved it (its own routing,
        declared in SCANNER_ROUTED_VERDICTS); True when that is the explanation."""
        if scan.verdict not in self.config.scanner_routed_verdicts:
            return False
        out.moved_by_scanner = True
        out.notes.append(
            f"moved by the scanner: it moves {scan.verdict} files to its own destination "
            "(SCANNER_ROUTED_VERDICTS), so the object is no longer here"
        )
        return True

    def _routes_scan_type(self, scan: ScanResult, reader: _Reader, out: Outcome) -> bool:
        """Whether this result may be routed, by its scan type (Vision One's fss-scan-type tag).

        Clean and unscanned results only for the scan types in ROUTE_SCAN_TYPES (or when the
        object has no scan-type tag), so a full bucket scan does not move every file in use;
        the other verdicts always (config.SCAN_TYPE_GATED_VERDICTS says why).
        """
        config = self.config
        gated = scan.verdict in SCAN_TYPE_GATED_VERDICTS
        if not gated or config.route_scan_types.issuperset(SCAN_TYPES):
            return True  # nothing to decide: no tag read for it
        from post_scan import scanner_tags

        out.scan_type = scanner_tags.scan_type(reader.tags(out.version_id))
        if config.routes_scan_type(scan.verdict, out.scan_type):
            return True
        allowed = ", ".join(sorted(config.route_scan_types)) or "none"
        out.notes.append(
            f"scan type {out.scan_type!r} ({scanner_tags.SCAN_TYPE_TAG}): {scan.verdict} results "
            f"of this scan type are not routed (ROUTE_SCAN_TYPES: {allowed})"
        )
        return False

    def _own_copy(self, scan: ScanResult, location: Location, out: Outcome) -> bool:
        """True when a target is a copy this module wrote (loop protection).

        The mark is trusted only where route copies land (route.at_route_destination): anywhere
        else an uploader may have set it to make the module skip the object, so the object is
        handled like any upload.
        """
        config = self.config
        trusted = at_route_destination(scan.bucket, scan.key, config.routes, config.allowed_buckets)
        for target in location.targets:
            metadata = target.metadata
            if metadata is None:  # a version found by listing
                if not trusted:  # the mark would not count here: no HEAD needed
                    continue
                self._budget.check("HEAD of a version")
                out.actions.append("head_version")
                stored = self._s3.describe(scan.bucket, scan.key, version_id=target.version_id)
                metadata = stored.metadata
            if not is_own_copy(metadata):
                continue
            if not trusted:
                out.notes.append(f"carries {ROUTED_MARK} outside every route destination: ignored")
                return False
            out.outcome = SKIPPED_OWN_COPY
            out.destination = None
            out.notes.append(f"carries {ROUTED_MARK}: a copy this module wrote, not acted on")
            return True
        return False

    def _read(self, scan: ScanResult, wants: _Wants, reader: _Reader, out: Outcome) -> None:
        """Tags, file id and (routes) the HEAD of each target; refuse a contradicted verdict.

        Unversioned: tags have no version to bind them, so the HEAD after the tag read must show
        the same ETag (If-Match) and LastModified as the HEAD before it: the tags read are the
        scanned upload's, not those of an upload that replaced it in between.
        """
        for target in out.targets:
            if wants.tags:
                try:
                    target.tags = reader.tags(target.version_id)
                except ObjectGone:
                    if not target.versioned:
                        raise
                    target.gone = True
        for target in out.live:
            if wants.route is not None or (wants.tags and not target.versioned):
                self._read_source(scan, target, checksums=wants.route is not None, out=out)
            if target.tags is not None:
                target.file_id = target.tags.get(self.config.file_id_tag_key) or None
        if not out.live:
            raise ObjectGone("every scanned version was deleted meanwhile")
        check_conflicts(scan, out.live)  # on tags now known to be the scanned content's

    def _read_source(self, scan: ScanResult, target: Target, checksums: bool, out: Outcome) -> None:
        self._budget.check("HEAD of the source")
        out.actions.append("read_source")
        try:
            target.source = self._s3.describe(
                scan.bucket,
                scan.key,
                version_id=target.version_id,
                etag=None if target.versioned else target.version.etag,
                checksums=checksums,
            )
        except ObjectGone:
            if not target.versioned:
                raise
            target.gone = True
            return
        if not target.versioned and target.source.last_modified != target.version.last_modified:
            raise ObjectChanged(
                "same ETag but another LastModified: the key was written again while its tags "
                "were read"
            )

    def _report_targets(self, out: Outcome) -> None:
        """The log line's file_id, version_id and destination: those of the first target."""
        first = out.live[0]
        out.file_id, out.destination = first.file_id, first.destination
        if first.versioned:
            out.version_id = first.version_id
        if out.scan_type is None and first.tags is not None:
            from post_scan.scanner_tags import scan_type

            out.scan_type = scan_type(first.tags)

    def _record_all(self, scan: ScanResult, wants: _Wants, out: Outcome) -> None:
        missing = [t.describe() for t in out.live if t.file_id is None]
        if missing:
            out.file_id_missing = True
            key = self.config.file_id_tag_key
            out.notes.append(f"no {key} tag on {', '.join(missing)}: nothing recorded for it")
        if self.config.file_id_table is None:
            if len(missing) < len(out.live):
                out.notes.append("FILE_ID_TABLE not set: verdict logged only")
            return
        for target in out.live:
            self._record(scan, wants, target, out)

    def _record(self, scan: ScanResult, wants: _Wants, target: Target, out: Outcome) -> None:
        config = self.config
        if target.file_id is None or config.file_id_table is None:
            return
        if scan.verdict not in config.record_verdicts:  # read for the announcement only
            out.notes.append(f"{scan.verdict} is not in RECORD_VERDICTS: not recorded")
            return
        row = self._row(scan, target.file_id, target.action, target.version_id, target.destination)
        if config.dry_run:
            out.actions.append("would_record")
            out.notes.append(f"dry run: would record {scan.verdict} for file_id {target.file_id}")
            return
        self._budget.check("the row update")
        try:
            result = self._send_row(row)
        except Exception as exc:
            permanent = classify(exc) == PERMANENT
            final = not permanent and self._final_receive(out)
            if not (wants.fall_back and (permanent or final)):
                raise
            target.recorded = False
            if final:
                # The last receive before SQS dead-letters the message: the file is made
                # harmless anyway; the row waits in the dead-letter queue (_dead_letter).
                target.pending = True
                target.fallbacks.append(
                    f"final receive ({out.receive_count} of {config.queue_max_receive_count}): "
                    f"the row was not updated ({describe(exc)}); it waits in the dead-letter "
                    f"queue ({PENDING_FIELD}) for a replay"
                )
            else:
                target.fallbacks.append(f"the row was not updated ({describe(exc)})")
            return
        target.recorded = self._recorded(result, target.file_id, out)

    def _send_row(self, row: VerdictRow) -> str | Refusal:
        from post_scan.record import build_update

        return self._send_update(build_update(row))

    def _row(
        self,
        scan: ScanResult,
        file_id: str,
        action: str,
        version_id: str | None,
        destination: str | None,
        unproven: str | None = None,
    ) -> VerdictRow:
        from post_scan.record import VerdictRow

        config = self.config
        assert config.file_id_table is not None
        return VerdictRow(
            table=config.file_id_table,
            key_name=config.file_id_table_key,
            file_id=file_id,
            scan=scan,
            action=action,
            version_id=version_id,
            destination=destination,
            upsert=config.file_id_table_upsert,
            unproven=unproven,
        )

    def _recorded(self, result: str | Refusal, file_id: str, out: Outcome) -> bool:
        """True when the row was written; otherwise the outcome and the reason say why not
        (a row conflict outranks a stale verdict or a missing row; an unproven outcome stays)."""
        from post_scan.record import RECORDED, VERDICT_KEPT, Refusal

        kind, bound = (
            (result.result, result.bound_to) if isinstance(result, Refusal) else (result, None)
        )
        if kind == RECORDED:
            out.actions.append("record")
            return True
        if kind == ROW_CONFLICT:
            out.row_conflict = True
            named = bound or "another s3_bucket / s3_key"
            out.notes.append(
                f"file_id {file_id}: the row names another object ({named}): left untouched"
            )
        elif kind == VERDICT_KEPT:
            out.notes.append(f"file_id {file_id}: the row says malicious: kept")
        else:
            out.notes.append(
                f"file_id {file_id}: "
                + (
                    "a newer verdict is already recorded"
                    if kind == STALE_VERDICT
                    else "no row with this file_id and FILE_ID_TABLE_UPSERT is false"
                )
            )
        if out.outcome in (PROCESSED, STALE_VERDICT, ROW_MISSING) and kind != VERDICT_KEPT:
            out.outcome = kind
        return False

    def _final_receive(self, out: Outcome) -> bool:
        """The last receive of a queued SNS notification before SQS moves it to the dead-letter
        queue (QUEUE_MAX_RECEIVE_COUNT); never for SNS (no attempt number) or raw delivery."""
        return out.delivery == SQS and self.config.final_receive(out.receive_count)

    def _dead_letter(self, envelope: Envelope, out: Outcome) -> str | None:
        """Send the message, with the rows the final receive could not write, to the dead-letter
        queue (post_scan.pending); None when sent, else why not (the record then fails, after the
        file was made harmless, and the log line keeps the file ids)."""
        from post_scan import pending

        config = self.config
        waiting = [t for t in out.live if t.pending]
        rows = [
            pending.PendingRow(t.file_id, t.version_id, t.action, t.destination)
            for t in waiting
            if t.file_id is not None
        ]
        assert envelope.notification is not None and config.dead_letter_queue_arn is not None
        reason = (
            f"final receive ({out.receive_count} of {config.queue_max_receive_count}) of a "
            "malicious result: the file was made harmless but its row could not be written; "
            "replay this message once the cause is fixed"
        )
        try:  # never in a dry run: no row update was sent, none failed
            self._budget.check("the dead letter")
            body = pending.dead_letter_body(envelope.notification, rows, reason)
            send = self._send_dead_letter
            if send is None:
                from post_scan import aws  # boto3: loaded only when a dead letter is sent

                send = aws.send_dead_letter
            send(config.dead_letter_queue_arn, body)
        except Exception as exc:
            ids = ", ".join(row.file_id for row in rows)
            return (
                f"the final receive made the file harmless but could not keep its row for a "
                f"replay in the dead-letter queue ({describe(exc)}): file id(s) {ids}, see "
                "targets in this log line"
            )
        out.actions.append("dead_letter")
        out.notes.append(
            f"sent to the dead-letter queue with {PENDING_FIELD} for {len(rows)} row(s)"
        )
        return None

    def _finish_pending(
        self, scan: ScanResult, wants: _Wants, waiting: tuple[PendingRow, ...], out: Outcome
    ) -> None:
        """The object is gone and the message carries rows a final receive left pending: write
        them (a replay of the dead letter). Errors propagate: the replay fails and is retried."""
        config = self.config
        if (
            not wants.record
            or config.file_id_table is None
            or scan.verdict not in config.record_verdicts
        ):
            out.notes.append(
                f"{PENDING_FIELD}: the verdict is not recorded here, nothing to finish"
            )
            return
        out.outcome = PROCESSED
        out.file_id = waiting[0].file_id
        for item in waiting:
            row = self._row(scan, item.file_id, item.action, item.version_id, item.destination)
            if config.dry_run:
                out.actions.append("would_record")
                continue
            self._budget.check("the row update")
            self._recorded(self._send_row(row), item.file_id, out)
        out.notes.append(f"{PENDING_FIELD}: wrote the row(s) an earlier final receive left pending")

    def _unproven(
        self, scan: ScanResult, wants: _Wants, location: Location, reader: _Reader, out: Outcome
    ) -> None:
        """A benign verdict S3's evidence cannot bind to one upload: nothing is done to any
        candidate. The row says why (scan_verdict `unproven`) when every candidate carries the
        same file id, so the row is certainly that of the scanned upload; never otherwise."""
        out.outcome = UNPROVEN
        config = self.config
        recorded = wants.record and scan.verdict in config.record_verdicts
        if not recorded or config.file_id_table is None:
            return
        from post_scan.pending import MAX_TARGETS

        if len(location.targets) > MAX_TARGETS:
            out.notes.append("too many candidates to read their file ids: no row written")
            return
        found: set[str | None] = set()
        for version in location.targets:
            try:
                tags = reader.tags(version.version_id if location.versioned else None)
            except ObjectGone:
                continue
            found.add(tags.get(config.file_id_tag_key) or None)
        if len(found) != 1 or None in found:
            out.notes.append("the candidates do not carry one file id: no row written")
            return
        (file_id,) = found
        assert file_id is not None
        out.file_id = file_id
        single = location.versioned and len(location.targets) == 1
        version_id = location.targets[0].version_id if single else None
        row = self._row(scan, file_id, "none", version_id, None, unproven=location.reason)
        if config.dry_run:
            out.actions.append("would_record")
            return
        self._budget.check("the row update")
        self._recorded(self._send_row(row), file_id, out)

    def _route_all(self, scan: ScanResult, wants: _Wants, out: Outcome) -> None:
        """Copy each target to its destination and verify the copy. A permanent failure of a
        malicious file that must go: deleted without a copy (its row re-recorded first)."""
        assert wants.route is not None
        for target in out.live:
            self._budget.check("a copy")
            if self.config.dry_run:
                out.actions.append("would_copy")
                out.notes.append(f"dry run: would copy {target.describe()} to {target.destination}")
                continue
            try:
                self._copy(scan, wants.route, target, out)
            except ObjectGone:
                if not target.versioned:
                    raise
                target.gone = True
            except ObjectChanged:
                raise
            except Exception as exc:
                if not (wants.fall_back and classify(exc) == PERMANENT):
                    raise
                copy_failed(target, f"the copy failed ({describe(exc)})")
                if target.recorded:  # the row said quarantine: it must say delete now
                    self._record(scan, wants, target, out)
        if not out.live:
            raise ObjectGone("every scanned version was deleted meanwhile")
        out.destination = out.live[0].destination

    def _copy(self, scan: ScanResult, route: Route, target: Target, out: Outcome) -> None:
        """Copy exactly the scanned content, then verify the copy. Raises on any failure."""
        from post_scan.protection import copy_tags, tagged_clean

        source = target.source
        assert source is not None and target.destination_key is not None
        assert target.metadata is not None
        key = target.destination_key
        protection = self.config.read_protection
        tags, note = copy_tags(
            scan.verdict,
            target.tags or {},
            protection,
            scanner=scan.scanner,
            file_id_key=self.config.file_id_tag_key,
        )
        if note:
            out.notes.append(note)
        if (
            protection == UNTIL_CLEAN
            and scan.verdict == CLEAN
            and not tagged_clean(tags, scan.scanner)
        ):
            out.untagged_clean = True
        arguments = copy_arguments(source, route, tags, target.metadata)
        result = self._s3.copy(scan.bucket, scan.key, source, route.bucket, key, arguments)
        out.actions.append("copy")
        self._budget.check("HEAD of the copy")
        try:
            copy = self._s3.describe(route.bucket, key, checksums=source.checksum is not None)
        except ObjectGone as exc:
            raise CopyVerificationError(
                f"no object at {target.destination} after the copy"
            ) from exc
        problems = verify_copy(source, copy, result)
        if problems:
            raise CopyVerificationError(
                f"the copy at {target.destination} is not the scanned content: "
                + "; ".join(problems)
            )
        out.actions.append("verify")
        how = "multipart copy" if result.multipart else "copy"
        out.notes.append(f"{how} of {target.describe()} verified at {target.destination}")

    def _check_tagged_clean(self, scan: ScanResult, reader: _Reader, out: Outcome) -> None:
        """until_clean: readers are denied until the scanner tags the object clean; say so when
        it has not (UntaggedCleanObjects), e.g. because its tagging is off or failing."""
        from post_scan.protection import RESULT_TAGS, tagged_clean

        tags = reader.tags(out.version_id)
        if tagged_clean(tags, scan.scanner):
            return
        left = self._time_left() if self._time_left is not None else None
        if left is not None and left < RECHECK_SECONDS + RECHECK_MARGIN_SECONDS:
            out.notes.append("read protection: not tagged clean yet, no time left to look again")
            return
        self._sleep(RECHECK_SECONDS)
        self._budget.check("a second tag read")
        out.actions.append("read_tags")
        tags = self._s3.tags(scan.bucket, scan.key, out.version_id)
        if tagged_clean(tags, scan.scanner):
            return
        out.untagged_clean = True
        wanted = RESULT_TAGS[scan.scanner].clean
        found = {k: tags[k] for k in wanted if k in tags} or "no result tag"
        needed = ", ".join(f"{k}={v!r}" for k, v in wanted.items())
        out.notes.append(
            f"read protection: clean, but the scanner has not tagged the object {needed} "
            f"({found}) {RECHECK_SECONDS:g} s after the check: until_clean denies every read of it"
        )

    def _delete(self, scan: ScanResult, out: Outcome) -> None:
        # The first target (the newest version) goes last: if a delete fails, the retry still
        # finds it first, and it keeps the usual destination key.
        targets = list(reversed(out.live))
        described = ", ".join(t.describe() for t in out.live)
        if self.config.dry_run:
            out.actions.append("would_delete")
            out.notes.append("dry run: would delete " + described)
            return
        results = []
        for target in targets:
            self._budget.check("a delete")
            if target.versioned:
                assert target.version.version_id is not None
                result = self._s3.delete_version(scan.bucket, scan.key, target.version.version_id)
            else:
                result = self._s3.delete_if_match(scan.bucket, scan.key, target.version.etag)
            results.append(result)
            if result == DELETED and scan.verdict == MALICIOUS:  # readable until this moment
                before = out.exposure_seconds
                exposure = self._timed(out, "exposure_seconds", target.version.last_modified)
                out.exposure_seconds = max(exposure, before or 0.0)
        out.removed = all(result in (DELETED, ALREADY_GONE) for result in results)
        if DELETED in results:
            out.actions.append("delete")
            out.notes.append("deleted " + described)
        if PRECONDITION_FAILED in results:
            out.outcome = SUPERSEDED
            out.notes.append("key now holds a different upload (ETag changed): left it alone")
        elif all(result == ALREADY_GONE for result in results):
            out.outcome = OBJECT_GONE
            out.notes.append("already deleted by an earlier delivery")

    def _settle(self, out: Outcome) -> None:
        """A record that was completed by a fallback says so in its outcome (FallbackActions).

        Not when it ended otherwise (superseded, object_gone): then no fallback was carried out.
        """
        reasons = [f"{t.describe()}: {reason}" for t in out.targets for reason in t.fallbacks]
        if not reasons or out.outcome not in (PROCESSED, STALE_VERDICT, ROW_MISSING, ROW_CONFLICT):
            return
        out.fallback = "; ".join(reasons)
        out.notes.append("FALLBACK " + out.fallback)
        out.outcome = FALLBACK
