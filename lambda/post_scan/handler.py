"""Lambda entry point: post_scan.handler.lambda_handler.

Configuration is read and checked at import (cold start), so a wrong setting fails the first
invocation with a message naming the variable instead of failing in the middle of a message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from post_scan import aws, logline, record
from post_scan.config import Config, load_config
from post_scan.message import ScanMessageError
from post_scan.pipeline import ERROR, Outcome, Pipeline, S3Store, UpdateSender

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
        s3 or aws.S3Objects(),
        send_update or (lambda request: record.send_update(aws.dynamodb_client(), request)),
    )


def cold_start(environ: Mapping[str, str]) -> Pipeline:
    """Read and check the configuration once per execution environment."""
    config = load_config(environ)
    _configure_logging(config.log_level)
    for warning in config.warnings():
        logger.warning(warning)
    if config.delete_malicious and not aws.supports_conditional_delete():
        raise BotocoreTooOld(
            "DELETE_MALICIOUS=true needs a boto3/botocore whose S3 DeleteObject supports "
            "IfMatch (conditional deletes); package a newer boto3 with the function"
        )
    return build_pipeline(config)


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:  # the Lambda runtime installs one; plain Python does not
        logging.basicConfig()
    root.setLevel(level)


def handle_event(pipeline: Pipeline, event: Any) -> dict[str, int]:
    """Process every record, print one log line each, then fail if any record failed."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        outcome = Outcome(dry_run=pipeline.config.dry_run, outcome=ERROR)
        outcome.error = ScanMessageError("event has no Records list")
        outcome.notes.append(str(outcome.error))
        _emit(pipeline, outcome)
        raise outcome.error
    failed = 0
    for item in records:
        outcome = pipeline.process(item)
        _emit(pipeline, outcome)
        if outcome.outcome == ERROR:
            failed += 1
            if not isinstance(outcome.error, ScanMessageError):
                logger.error("record failed", exc_info=outcome.error)
    if failed:
        raise RecordsFailed(f"{failed} of {len(records)} record(s) failed; see the log lines")
    return {"records": len(records)}


def _emit(pipeline: Pipeline, outcome: Outcome) -> None:
    config = pipeline.config
    now_ms = int(time.time() * 1000)
    print(logline.render(outcome, config.metrics_namespace, config.function_name, now_ms))


PIPELINE = cold_start(os.environ)


def lambda_handler(event: Any, context: Any) -> dict[str, int]:
    return handle_event(PIPELINE, event)
