"""Start and stop the patched moto server (``server.py``), and the accounts it emulates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from emulator.environ import environ_copy

TOOLS_DIR = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


class MotoServer:
    """The patched moto server in its own process, on a free loopback port.

    The process gets its own session, so a Ctrl-C in the terminal reaches only the caller, which
    can still clean up against the server before it calls ``stop``.
    """

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        python_path = os.pathsep.join(filter(None, [str(TOOLS_DIR), os.environ.get("PYTHONPATH")]))
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "emulator.server", "--host", LOOPBACK, "--port", "0"],
                env={**environ_copy(), "PYTHONPATH": python_path},
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"moto server did not start:\n{log_path.read_text()}")
        self.url: str = line.split()[1]
        self.pid = self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def account(self, account_id: str, region: str) -> Account:
        """Credentials of a (new or existing) moto account, obtained like a pipeline would."""
        return emulated_account(self.url, account_id, region)

    def lambda_deliveries(self, function_arn: str) -> list[dict[str, Any]]:
        """Events SNS, or an EventBridge rule, delivered to this function (recorded by the
        server, see server.py)."""
        return lambda_deliveries(self.url, function_arn)

    def sns_notifications(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """What SNS delivered to e-mail / HTTP(S) subscriptions (to `endpoint`, or all), as the
        subscriber receives it: protocol, endpoint, message (that protocol's body), subject,
        message_attributes (recorded by the server, see server.py)."""
        query = urllib.parse.urlencode({"endpoint": endpoint} if endpoint else {})
        with urllib.request.urlopen(f"{self.url}/_test/sns-notifications?{query}") as response:
            return json.load(response)


def lambda_deliveries(server_url: str, function_arn: str) -> list[dict[str, Any]]:
    """Events SNS, or an EventBridge rule, delivered to this function (server.py)."""
    query = urllib.parse.urlencode({"function_arn": function_arn})
    with urllib.request.urlopen(f"{server_url}/_test/sns-deliveries?{query}") as response:
        return json.load(response)


def emulated_account(server_url: str, account_id: str, region: str) -> Account:
    """Credentials of a (new or existing) account of the emulator at server_url, obtained like a
    pipeline would (STS AssumeRole; moto maps the keys it hands out to that account)."""
    session = boto3.session.Session(  # not the default session: this may run in threads
        aws_access_key_id="emulator", aws_secret_access_key="emulator"
    )
    sts = session.client("sts", endpoint_url=server_url, region_name=region)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/emulator",
        RoleSessionName="emulator",
    )["Credentials"]
    account = Account(
        server_url=server_url,
        region=region,
        account_id=account_id,
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    actual = account.client("sts").get_caller_identity()["Account"]
    if actual != account_id:
        raise RuntimeError(f"moto mapped the credentials to {actual}, not {account_id}")
    return account


@dataclass(frozen=True)
class Account:
    """One emulated account: boto3 clients for it, and its credentials as environment variables."""

    server_url: str
    region: str
    account_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            session = boto3.session.Session(
                aws_access_key_id=self.access_key_id,
                aws_secret_access_key=self.secret_access_key,
                aws_session_token=self.session_token,
                region_name=self.region,
            )
            self._clients[service] = session.client(
                service,
                endpoint_url=self.server_url,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
            )
        return self._clients[service]

    def environment(self) -> dict[str, str]:
        """How a pipeline (or the Lambda runtime) would hand these credentials to a process."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.server_url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
