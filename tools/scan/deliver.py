"""Run the deployed function on what the scanner published, as Lambda would.

Direct delivery: SNS invokes the function with the notification; the emulator records that
event instead of running the function (it cannot: no Docker), and it is run here, in-process,
from the deployed zip. Queue delivery: SNS fills the delivery queue; the emulated event source
mapping receives batches from it and runs the deployed handler on them (emulator.event_source).
Either way the handler's output goes to the function's log group, as the Lambda runtime's would.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.event_source import drain_deployed
from emulator.lambda_runner import warm_deployed_handler, write_function_log
from emulator.launcher import Account, lambda_deliveries
from scan.target import Function, TargetError

DELIVERY_WAIT_S = 5.0


@dataclass
class Run:
    """One run of the deployed handler: its log lines (stdout), its logging (stderr), errors."""

    log_lines: list[str] = field(default_factory=list)
    logging: str = ""
    errors: list[str] = field(default_factory=list)
    invocations: int = 0


def _recorded_event(account: Account, function: Function, message_id: str) -> dict[str, Any]:
    """The event SNS delivered to the function for this message (it may take a moment)."""
    deadline = time.monotonic() + DELIVERY_WAIT_S
    while True:
        for event in lambda_deliveries(account.server_url, function.arn):
            if event["Records"][0]["Sns"]["MessageId"] == message_id:
                return event
        if time.monotonic() > deadline:
            raise TargetError(
                f"SNS delivered nothing to {function.name} for message {message_id}: is the "
                "function subscribed to the topic, and does its filter policy let the result "
                "through (subscription_filter_policy)?"
            )
        time.sleep(0.1)


def run_function(account: Account, function: Function, message_id: str) -> Run:
    run = Run()
    # The function's logging (its cold start included: the runtime's handler is installed then)
    # is kept apart from its log lines (stdout), as CloudWatch Logs would show both.
    logging_output = io.StringIO()
    with (
        contextlib.redirect_stderr(logging_output),
        tempfile.TemporaryDirectory(prefix="fss-scan-") as workdir,
        warm_deployed_handler(account, function.name, Path(workdir)) as handler,
    ):

        def invoke(event: dict[str, Any]) -> Any:
            run.invocations += 1
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout):
                try:
                    return handler(event)
                except Exception as exc:  # Lambda would retry, then dead-letter the event
                    run.errors.append(f"{type(exc).__name__}: {exc}")
                    raise
                finally:
                    run.log_lines += stdout.getvalue().splitlines()

        if function.queue_mode:
            drained = drain_deployed(account, function.name, invoke)
            run.errors += [e for e in drained.errors if e not in run.errors]
        else:
            event = _recorded_event(account, function, message_id)
            with contextlib.suppress(Exception):  # recorded in run.errors
                invoke(event)
    run.logging = logging_output.getvalue()
    write_function_log(account, function.name, run.log_lines)
    return run
