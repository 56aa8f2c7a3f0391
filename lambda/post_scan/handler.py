"""Lambda entry point: post_scan.handler.lambda_handler.

Configuration is read and checked at import (cold start), so a wrong setting fails the first
invocation with a message naming the variable instead of failing in the middle of a message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from post_scan import aws, logline
from post_scan.config import ROUTE_VARIABLES, Config, load_config
from post_scan.message import SQS, EventError, ScanMessageError, event_records
from post_scan.pipeline import ERROR, Outcome, Pipeline, S3Store, UpdateSender

if TYPE_CHECKING:
    from post_scan.record import Refusal

logger = logging.getLogger("post_scan")


class RecordsFailed(RuntimeError):
    """Raised after every record was tried, so Lambda retries / dead-letters the event."""


class BotocoreTooOld(RuntimeError):
    """The runtime's botocore cannot send conditional deletes (DeleteObject IfMatch)."""


def build_pipeline(
    config: Config, s3: S3Store | None = None, send_update: UpdateSender | None = None
) -> Pipeline:
    """The pipeline wired to boto3; tests may pass their own S3 store or update sender."""
    return Pipeline(
        config,
        s3 or aws.S3Objects(owner_of=config.bucket_owner),
        send_update or _send_update,
    )


def _send_update(request: dict[str, Any]) -> str | Refusal:
    """The row update in DynamoDB (post_scan.record: loaded with the first row, not at import)."""
    from post_scan import record

    return record.send_update(aws.dynamodb_client(), request)


def cold_start(environ: Mapping[str, str]) -> Pipeline:
    """Read and check the configuration once per execution environment."""
    config = load_config(environ)
    _configure_logging(config.log_level)
    for warning in config.warnings():
        logger.warning(warning)
    deleters = conditional_deleters(config)
    if deleters and not aws.supports_conditional_delete():
        raise BotocoreTooOld(
            f"{' and '.join(deleters)} need(s) a boto3/botocore whose S3 DeleteObject supports "
            "IfMatch (conditional deletes in unversioned buckets); package a newer boto3 with "
            "the function"
        )
    return build_pipeline(config)


def conditional_deleters(config: Config) -> list[str]:
    """The settings that can make the function delete with IfMatch (empty: it never deletes)."""
    found = []
    if config.delete_malicious:
        found.append("DELETE_MALICIOUS=true")
    if config.routes and config.moves:
        names = ", ".join(ROUTE_VARIABLES[verdict][0] for verdict in config.routes)
        found.append(f"ROUTE_MODE=move with {names}")
    return found


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:  # the Lambda runtime installs one; plain Python does not
        logging.basicConfig()
    root.setLevel(level)


def handle_event(pipeline: Pipeline, event: Any, context: Any = None) -> dict[str, Any]:
    """Process every record and print one log line each.

    SNS event: raise at the end if any record failed (Lambda retries, then dead-letters it).
    SQS event: return a partial batch response naming exactly the failed records' messageIds,
    so only those return to the queue. An event that cannot be handled record by record raises.
    """
    try:
        delivery, records = event_records(event)
    except EventError as exc:
        outcome = Outcome(dry_run=pipeline.config.dry_run, outcome=ERROR, error=exc)
        outcome.notes.append(str(exc))
        _emit(pipeline, outcome)
        raise
    time_left = _time_left(context)
    outcomes = [pipeline.process(item, time_left) for item in records]
    # Events, notifications and findings go out after every record's actions, in batches; a
    # record whose announcement failed is an error from here on (so it is delivered again).
    if pipeline.config.has_announcements:
        _announce(pipeline, outcomes)
    failures: list[dict[str, str]] = []
    for outcome in outcomes:
        _emit(pipeline, outcome)  # one line per record, whatever it holds
        if outcome.outcome == ERROR:
            failures.append({"itemIdentifier": str(outcome.queue_message_id)})
            if not isinstance(outcome.error, ScanMessageError):
                logger.error("record failed", exc_info=outcome.error)
    if delivery == SQS:
        return {"batchItemFailures": failures}
    if failures:
        failed = len(failures)
        raise RecordsFailed(f"{failed} of {len(records)} record(s) failed; see the log lines")
    return {"records": len(records)}


def _time_left(context: Any) -> Callable[[], float] | None:
    """Seconds the invocation has left, from the Lambda context (None outside Lambda)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return lambda: remaining() / 1000


def _announce(pipeline: Pipeline, outcomes: list[Outcome]) -> None:
    """Announce the outcomes. The announcer keeps each record's failure to that record; should it
    still raise (a bug), every record it had to announce fails, none goes unsaid silently."""
    from post_scan.announce import AnnounceError, Announcer  # loaded only where used
    from post_scan.events import announceable

    try:
        Announcer(pipeline.config).announce(outcomes)
    except Exception as exc:
        logger.error("announcing failed", exc_info=exc)
        error = AnnounceError(f"announcing failed: {type(exc).__name__}: {exc}")
        for outcome in outcomes:
            if announceable(outcome) and outcome.outcome != ERROR:
                outcome.outcome, outcome.error = ERROR, error
                outcome.notes.append(f"{error}; the record is retried")


def _emit(pipeline: Pipeline, outcome: Outcome) -> None:
    """Print the record's log line; when it cannot be rendered, a minimal one, and the record
    fails (Errors = 1, delivered again): a record is never processed without a line."""
    config = pipeline.config
    now_ms = int(time.time() * 1000)
    names = (config.metrics_namespace, config.function_name, now_ms)
    try:
        line = logline.render(outcome, *names)
    except Exception as exc:
        logger.error("log line failed", exc_info=exc)
        line = logline.fallback(outcome, *names, exc)
        if outcome.outcome != ERROR:
            outcome.outcome, outcome.error = ERROR, exc
    print(line)


PIPELINE = cold_start(os.environ)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle_event(PIPELINE, event, context)
