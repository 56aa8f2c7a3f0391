"""Which emulator, which account, which deployed function the simulated scan result is for."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.cli import DEFAULT_ACCOUNT, DEFAULT_REGION, read_endpoint
from emulator.launcher import Account, emulated_account

HANDLER = "post_scan.handler.lambda_handler"


class TargetError(Exception):
    """The emulator or the function is not there: the message says what to do."""


@dataclass(frozen=True)
class Function:
    """A deployed post-scan function, as the Lambda API describes it."""

    name: str
    arn: str
    environment: dict[str, str]
    queue_mode: bool

    def setting(self, name: str) -> str:
        return self.environment.get(name, "")

    def listed(self, name: str) -> list[str] | None:
        """An allow-list variable's items; None when it is kept in the package (file:NAME)."""
        value = self.setting(name)
        if value.startswith("file:"):
            return None
        return [item for item in value.split(",") if item]


def connect(
    state_dir: Path, endpoint: str | None, region: str | None, account_id: str | None
) -> Account:
    """The emulated account to act in: the endpoint given, else AWS_ENDPOINT_URL, else the
    emulator `make emulator` started (its state directory)."""
    running = read_endpoint(state_dir)
    url = endpoint or os.environ.get("AWS_ENDPOINT_URL") or (running or {}).get("url")
    if not url:
        raise TargetError(
            f"no emulator is running (nothing in {state_dir}): start one with `make emulator` "
            "(or pass --endpoint URL)"
        )
    region = region or (running or {}).get("region") or os.environ.get("AWS_REGION")
    account_id = account_id or (running or {}).get("account_id") or DEFAULT_ACCOUNT
    try:
        return emulated_account(url, account_id, region or DEFAULT_REGION)
    except Exception as exc:  # connection refused, not a moto server, ...
        raise TargetError(f"cannot reach the emulator at {url}: {exc}") from exc


def find_function(account: Account, bucket: str, name: str | None) -> Function:
    """The post-scan function to run: the one named, else the only one that acts on `bucket`."""
    lambda_ = account.client("lambda")
    if name:
        try:
            config = lambda_.get_function(FunctionName=name)["Configuration"]
        except lambda_.exceptions.ResourceNotFoundException as exc:
            raise TargetError(f"no function {name} in account {account.account_id}") from exc
        return _function(account, config)
    found = [
        f
        for page in lambda_.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f.get("Handler") == HANDLER
    ]
    if not found:
        raise TargetError(
            f"no post-scan function in account {account.account_id}, region {account.region}: "
            "apply your root against the emulator first (docs/local-testing.md)"
        )
    functions = [_function(account, config) for config in found]
    acting = [f for f in functions if bucket in (f.listed("ALLOWED_BUCKETS") or [bucket])]
    if len(acting) == 1:
        return acting[0]
    names = ", ".join(sorted(f.name for f in acting or functions))
    if not acting:
        raise TargetError(
            f"no post-scan function lists bucket {bucket} (functions: {names}); name one with "
            "--function to send it a result for that bucket anyway (it will reject it)"
        )
    raise TargetError(f"several functions act on {bucket} ({names}): choose one with --function")


def _function(account: Account, config: dict[str, Any]) -> Function:
    mappings = account.client("lambda").list_event_source_mappings(
        FunctionName=config["FunctionArn"]
    )["EventSourceMappings"]
    queue_mode = any(
        m["EventSourceArn"].split(":")[2] == "sqs" and m.get("State", "Enabled") == "Enabled"
        for m in mappings
        if m.get("FunctionArn") == config["FunctionArn"]
    )
    return Function(
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        queue_mode=queue_mode,
    )


def describe(function: Function) -> str:
    delivery = "queue delivery" if function.queue_mode else "direct delivery"
    return f"{function.name} ({delivery})"


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
