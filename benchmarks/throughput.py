"""Run the engine in-process against the emulator's moto server and measure each message.

The handler is used the way Lambda uses it: one SNS event with one record per invocation, its
log line printed (into a buffer here), warm clients reused across invocations. Every AWS call the
engine's two boto3 clients make is counted with a botocore ``before-call`` hook; the objects and
the table are set up through separate clients, which are not counted.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

from benchmarks.scenarios import (
    ACCOUNT_ID,
    BASE_ENVIRONMENT,
    EVENT_BUS,
    GUARDDUTY,
    GUARDDUTY_PLAN,
    NOTIFY_TOPIC,
    PROMOTED,
    QUARANTINE,
    REGION,
    TABLE,
    UPLOADS,
    VERSIONED_UPLOADS,
    Scenario,
    announce_environment,
)
from emulator import Account, MotoServer, fss, guardduty
from emulator.environ import environ_copy
from emulator.events import sns_lambda_event

TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:fss-stack-ScanResultTopic-BENCH"
SUBSCRIPTION_ARN = f"{TOPIC_ARN}:00000000-0000-0000-0000-000000000000"
INCOMPLETE_CODES = [101]  # a code in FSS's 100-199 "incomplete scan" range
CLEAN_BODY = b"an ordinary upload\n" * 64


class BenchmarkError(RuntimeError):
    """The engine did not process a benchmark message as expected: the numbers would lie."""


@dataclass
class Row:
    """One flag combination and verdict: timings and the calls of each message."""

    scenario: Scenario
    verdict: str
    latencies_ms: list[float] = field(default_factory=list)
    calls: list[Counter[str]] = field(default_factory=list)
    log_bytes: list[int] = field(default_factory=list)  # of each message's log line (UTF-8)

    @property
    def messages(self) -> int:
        return len(self.latencies_ms)

    @property
    def seconds(self) -> float:
        return sum(self.latencies_ms) / 1000

    @property
    def calls_per_message(self) -> Counter[str]:
        """The calls of one message; BenchmarkError when messages of the row differ."""
        first = self.calls[0]
        if any(calls != first for calls in self.calls[1:]):
            raise BenchmarkError(f"{self.scenario.name}/{self.verdict}: calls vary per message")
        return first


class CallCounter:
    """Counts the API calls (per operation) of some clients: once per call, not per retry."""

    def __init__(self, clients: list[Any]) -> None:
        self.calls: Counter[str] = Counter()
        self._clients = clients
        for client in clients:
            client.meta.events.register("before-call", self._call)

    def take(self) -> Counter[str]:
        """What was counted since the last take()."""
        taken, self.calls = self.calls, Counter()
        return taken

    def close(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-call", self._call)

    def _call(self, model: Any, **kwargs: Any) -> None:
        self.calls[model.name] += 1


@contextlib.contextmanager
def emulated_account(workdir: Path) -> Iterator[Account]:
    """A moto server with the benchmark's buckets and table, and the environment pointing at it."""
    server = MotoServer(workdir / "moto-server.log")
    try:
        account = server.account(ACCOUNT_ID, REGION)
        # The environment the Lambda runtime would give: only the emulated account's AWS_*.
        kept = environ_copy(("AWS_",))
        values = kept | account.environment() | BASE_ENVIRONMENT
        with mock.patch.dict(os.environ, values, clear=True):
            _create_resources(account)
            yield account
    finally:
        server.stop()


def _create_resources(account: Account) -> None:
    s3 = account.client("s3")
    for bucket in (UPLOADS, VERSIONED_UPLOADS, QUARANTINE, PROMOTED):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(
        Bucket=VERSIONED_UPLOADS, VersioningConfiguration={"Status": "Enabled"}
    )
    # The announcement targets (rows with announce=True): a bus, a topic, Security Hub.
    account.client("events").create_event_bus(Name=EVENT_BUS)
    account.client("sns").create_topic(Name=NOTIFY_TOPIC)
    account.client("securityhub").enable_security_hub()
    account.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


# The scanner_status and Error of the results that were not (fully) scanned.
_UNSCANNED_BY = {
    "failed": (fss.UNSUCCESSFUL_SCAN, "scan timed out"),
    "unscanned": (fss.UNSUCCESSFUL_SCANNER_INVOCATION, ""),
}


def _message(verdict: str, bucket: str, key: str, size: int, etag: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if verdict == "malicious":
        extra["findings"] = [fss.EICAR_FINDING]
    elif verdict == "incomplete":
        extra["codes"] = INCOMPLETE_CODES
    elif verdict in _UNSCANNED_BY:
        extra["scanner_status"], extra["error"] = _UNSCANNED_BY[verdict]
    return fss.scan_result(bucket, key, REGION, size=size, etag=etag, **extra)


def upload_and_event(account: Account, scenario: Scenario, verdict: str) -> dict[str, Any]:
    """An uploaded, scanner-tagged object with a file id, and the event of its scan result: the
    SNS event of FSS's message, or GuardDuty's EventBridge event as its rule delivers it."""
    if scenario.scanner == GUARDDUTY:
        return upload_and_guardduty_event(account, scenario, verdict)
    message = upload_and_message(account, scenario, verdict)
    return sns_lambda_event(TOPIC_ARN, SUBSCRIPTION_ARN, json.dumps(message), str(uuid.uuid4()))


def upload_and_guardduty_event(
    account: Account, scenario: Scenario, verdict: str
) -> dict[str, Any]:
    body = fss.eicar() if verdict == "malicious" else CLEAN_BODY
    key = f"uploads/{verdict}/{uuid.uuid4()}.bin"
    result = guardduty.BY_VERDICT[verdict]
    tags = {guardduty.RESULT_TAG: result, "file_id": str(uuid.uuid4())}
    put = account.client("s3").put_object(
        Bucket=scenario.bucket,
        Key=key,
        Body=body,
        Tagging="&".join(f"{name}={value}" for name, value in tags.items()),
    )
    detail = guardduty.scan_result_detail(
        scenario.bucket, key, put["ETag"].strip('"'), put.get("VersionId"), result
    )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": guardduty.SCAN_RESULT,
        "source": guardduty.SOURCE,
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [GUARDDUTY_PLAN],
        "detail": detail,
    }


def upload_and_message(account: Account, scenario: Scenario, verdict: str) -> dict[str, Any]:
    """An uploaded, FSS-tagged object with a file id, and the scan result FSS publishes for it."""
    body = fss.eicar() if verdict == "malicious" else CLEAN_BODY
    key = f"uploads/{verdict}/{uuid.uuid4()}.bin"
    tags = {**fss.scan_tags(verdict), "file_id": str(uuid.uuid4())}
    put = account.client("s3").put_object(
        Bucket=scenario.bucket,
        Key=key,
        Body=body,
        Tagging="&".join(f"{name}={value}" for name, value in tags.items()).replace(" ", "%20"),
    )
    etag = put["ETag"].strip('"') if scenario.etag else None
    return _message(verdict, scenario.bucket, key, len(body), etag)


def run_row(
    account: Account,
    scenario: Scenario,
    verdict: str,
    messages: int,
    counter: CallCounter,
    handle: Callable[[dict[str, Any]], int],
) -> Row:
    """`messages` invocations, each timed alone (setup excluded), its calls counted and its log
    line measured."""
    row = Row(scenario, verdict)
    for _ in range(messages):
        event = upload_and_event(account, scenario, verdict)
        counter.take()
        started = time.perf_counter()
        log_bytes = handle(event)
        row.latencies_ms.append((time.perf_counter() - started) * 1000)
        row.calls.append(counter.take())
        row.log_bytes.append(log_bytes)
    return row


def engine_runner(scenario: Scenario) -> Callable[[dict[str, Any]], int]:
    """handle(event) -> the log line's size in bytes (UTF-8, with its newline: what CloudWatch
    Logs ingests of it): the handler on a pipeline built from the scenario's environment.

    Raises BenchmarkError unless the one log line says the record was processed.
    """
    from post_scan import handler  # imported late: its import reads the environment
    from post_scan.config import load_config

    pipeline = handler.build_pipeline(load_config(scenario.environment()))

    def handle(event: dict[str, Any]) -> int:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(handler.RecordsFailed):
            handler.handle_event(pipeline, event)
        (text,) = out.getvalue().splitlines()
        line = json.loads(text)
        if line["outcome"] != "processed":
            raise BenchmarkError(f"{scenario.name}: {line['outcome']}: {line['reason']}")
        return len(text.encode()) + 1

    return handle


def engine_clients() -> list[Any]:
    """The engine's own (cached) clients, made now from the current environment: S3, DynamoDB,
    and the announcement clients as post_scan.publishers keys them (service, ARN's region)."""
    from post_scan import aws, publishers

    boto3.DEFAULT_SESSION = None
    aws.reset_clients()
    publishers.reset_clients()
    env = announce_environment()
    announcing = [
        publishers.client("events", publishers.region_of(env["EVENT_BUS"])),
        publishers.client("sns", publishers.region_of(env["NOTIFY_TOPIC_ARN"])),
        publishers.client("securityhub", publishers.region_of(env["SECURITY_HUB_PRODUCT_ARN"])),
    ]
    return [aws.s3_client(), aws.dynamodb_client(), *announcing]


def measure_messages(account: Account, scenarios: tuple[Scenario, ...], messages: int) -> list[Row]:
    """Every scenario with every verdict, `messages` invocations each, on warm clients."""
    counter = CallCounter(engine_clients())
    try:
        return [
            run_row(account, scenario, verdict, messages, counter, handle)
            for scenario in scenarios
            for handle in [engine_runner(scenario)]
            for verdict in scenario.verdicts
        ]
    finally:
        counter.close()
