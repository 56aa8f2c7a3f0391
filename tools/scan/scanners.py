"""What a scanner does after scanning an object: tag it, then publish the result.

Each scanner is one class with the same two steps, so another source (GuardDuty Malware
Protection for S3: its tag GuardDutyMalwareScanStatus and its EventBridge event on the default
bus) slots in beside File Storage Security's once the module accepts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from emulator import fss
from emulator.launcher import Account
from scan.target import Function, TargetError


@dataclass(frozen=True)
class Published:
    """What the scanner sent: where, its id (the SNS MessageId), and the message itself."""

    channel: str  # e.g. "topic arn:aws:sns:..."
    message_id: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Scanned:
    """The scanned object as the scanner saw it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int


class Scanner(Protocol):
    name: str

    def tags(self, verdict: str) -> dict[str, str]: ...

    def publish(
        self, account: Account, function: Function, scanned: Scanned, verdict: str
    ) -> Published: ...


class FileStorageSecurity:
    """Trend Micro File Storage Security: fss-* tags (separate-tags format), then one JSON message
    per object on the storage stack's scan-result topic."""

    name = "fss"

    def __init__(self, topic: str | None) -> None:
        self.topic = topic

    def tags(self, verdict: str) -> dict[str, str]:
        return fss.scan_tags(verdict)

    def _topic(self, function: Function) -> str:
        if self.topic:
            return self.topic
        topics = function.listed("ALLOWED_TOPIC_ARNS")
        if not topics:
            raise TargetError(
                f"{function.name} keeps its topics in its package: give the topic with --topic"
            )
        return topics[0]

    def publish(
        self, account: Account, function: Function, scanned: Scanned, verdict: str
    ) -> Published:
        topic = self._topic(function)
        message = fss.verdict_message(
            verdict,
            scanned.bucket,
            scanned.key,
            account.region,
            size=scanned.size,
            etag=scanned.etag,
        )
        _, _, _, region, owner, _ = topic.split(":", 5)
        # The storage stack publishes as its own account (which may not be the function's).
        publisher = account if owner == account.account_id else _account_of(account, owner, region)
        message_id = publisher.client("sns").publish(TopicArn=topic, Message=json.dumps(message))[
            "MessageId"
        ]
        return Published(f"topic {topic}", message_id, message)


class GuardDuty:
    """GuardDuty Malware Protection for S3: not a source of this module version."""

    name = "guardduty"

    def tags(self, verdict: str) -> dict[str, str]:
        raise TargetError(
            "--scanner guardduty: this version of the module has no GuardDuty source; "
            "simulate File Storage Security (--scanner fss)"
        )

    def publish(
        self, account: Account, function: Function, scanned: Scanned, verdict: str
    ) -> Published:
        raise AssertionError("unreachable: tags() refuses first")


def _account_of(account: Account, owner: str, region: str) -> Account:
    from emulator.launcher import emulated_account

    return emulated_account(account.server_url, owner, region)


def scanner(name: str, topic: str | None) -> Scanner:
    if name == "fss":
        return FileStorageSecurity(topic)
    return GuardDuty()
