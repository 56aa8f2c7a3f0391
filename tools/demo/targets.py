"""Where the demo runs: the local emulator (default) or a real AWS account (DEMO_TARGET=aws).

Both give boto3 clients, Terraform's environment and a way to deliver events to the function;
everything else in the demo is the same code. Only delivery differs: AWS runs the function on
SNS's deliveries itself, the emulator cannot run functions (no Docker), so the demo runs the
deployed zip's handler in-process on the events the emulator recorded, and writes its output to
the function's log group as the Lambda runtime would.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

import boto3

from emulator import MotoServer
from emulator.events import sns_lambda_event
from emulator.lambda_runner import run_deployed_handler, write_function_log
from emulator.staging import provider_override, terraform_environment

EMULATOR_ACCOUNT = "123456789012"
EMULATOR_REGION = "us-east-1"


class Target(Protocol):
    kind: str
    region: str
    account_id: str
    partition: str
    log_timeout: float  # how long the function's log lines may take to show up
    settle_timeout: float  # how long a deleted resource may still be listed

    def start(self) -> str: ...

    def client(self, service: str) -> Any: ...

    def terraform_env(self) -> dict[str, str]: ...

    def provider_override(self) -> str | None: ...

    def deliver(self, function: str, published: list[str], direct: list[dict]) -> str: ...

    def stop(self) -> str: ...


class EmulatorTarget:
    kind = "emulator"
    region = EMULATOR_REGION
    account_id = EMULATOR_ACCOUNT
    partition = "aws"
    log_timeout = 5.0
    settle_timeout = 0.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.server: MotoServer | None = None

    def start(self) -> str:
        self.server = MotoServer(self.workdir / "moto-server.log")
        self.account = self.server.account(self.account_id, self.region)
        return f"moto server pid {self.server.pid} listening on {self.server.url}"

    def client(self, service: str) -> Any:
        return self.account.client(service)

    def terraform_env(self) -> dict[str, str]:
        assert self.server is not None
        return {**terraform_environment(self.server.url), **self.account.environment()}

    def provider_override(self) -> str | None:
        return provider_override(self.region)

    def deliver(self, function: str, published: list[str], direct: list[dict]) -> str:
        """Run the deployed handler on each recorded SNS delivery and on each direct event."""
        assert self.server is not None
        function_arn = self.client("lambda").get_function(FunctionName=function)["Configuration"][
            "FunctionArn"
        ]
        recorded = {
            event["Records"][0]["Sns"]["MessageId"] if "Records" in event else event["id"]: event
            for event in self.server.lambda_deliveries(function_arn)
        }
        missing = [message_id for message_id in published if message_id not in recorded]
        if missing:
            raise RuntimeError(
                f"SNS or EventBridge delivered no event to {function} for message(s) {missing}"
            )
        events = [recorded[message_id] for message_id in published] + direct
        for event in events:
            self._invoke(function, event)
        return (
            f"ran the deployed zip's handler on {len(published)} SNS / EventBridge deliveries the "
            f"emulator recorded and {len(direct)} direct invocation(s)"
        )

    def _invoke(self, function: str, event: dict) -> None:
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                run_deployed_handler(self.account, function, event, self.workdir)
            except Exception as exc:  # Lambda would retry, then dead-letter; the log shows it
                print(f"[ERROR] {type(exc).__name__}: {exc}")
        # The function logs at DEBUG in examples/complete: its logging output (boto3's included)
        # goes to a file in the work dir; its stdout (the JSON log lines) to CloudWatch Logs.
        with open(self.workdir / "function-debug.log", "a") as log:
            log.write(stderr.getvalue())
        write_function_log(self.account, function, stdout.getvalue().splitlines())

    def stop(self) -> str:
        if self.server is None:
            return "no emulator running"
        self.server.stop()
        return f"moto server pid {self.server.pid} stopped"


class AwsTarget:
    """A real account: the caller's usual AWS credentials and region (profile, env, SSO ...)."""

    kind = "aws"
    log_timeout = 180.0
    settle_timeout = 90.0

    def __init__(self) -> None:
        # boto3 reads AWS_DEFAULT_REGION and the profile; Terraform also reads AWS_REGION.
        self.session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
        self._clients: dict[str, Any] = {}
        self.region = self.account_id = ""
        self.partition = "aws"

    def start(self) -> str:
        region = self.session.region_name
        if not region:
            raise RuntimeError("no AWS region configured: set AWS_REGION (or a profile's region)")
        identity = self.client("sts").get_caller_identity()
        self.region, self.account_id = region, identity["Account"]
        self.partition = identity["Arn"].split(":")[1]
        return f"account {self.account_id}, region {self.region}, as {identity['Arn']}"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def terraform_env(self) -> dict[str, str]:
        return {**terraform_environment(None), "AWS_REGION": self.region}

    def provider_override(self) -> str | None:
        return None

    def deliver(self, function: str, published: list[str], direct: list[dict]) -> str:
        """SNS delivers the published messages itself; direct events are invoked asynchronously."""
        for event in direct:
            self.client("lambda").invoke(
                FunctionName=function, InvocationType="Event", Payload=json.dumps(event)
            )
        return (
            f"SNS delivers the {len(published)} published results; "
            f"{len(direct)} event(s) invoked directly"
        )

    def stop(self) -> str:
        return "nothing to stop (real AWS)"


def forged_event(partition: str, region: str, message: dict[str, Any]) -> dict[str, Any]:
    """An SNS-shaped event from a topic no storage stack owns, as an attacker could send it."""
    topic = f"arn:{partition}:sns:{region}:999999999999:fss-look-alike-ScanResultTopic"
    return sns_lambda_event(
        topic, f"{topic}:{uuid.uuid4()}", json.dumps(message), str(uuid.uuid4())
    )
