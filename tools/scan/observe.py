"""What the function may change, read before and after it runs: the scanned object (its versions
and tags), the file's row, the copies along the routes, and what it announced.

Announcements are caught where they go: a temporary SQS queue subscribed to the notification topic
and targeted by a rule on the event bus for the function's events (both removed afterwards), and
Security Hub's findings for the object.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from emulator.launcher import Account
from scan.target import Function

VERDICTS = ("malicious", "clean", "incomplete", "failed", "unscanned")


@dataclass
class Snapshot:
    versions: list[str]  # newest first: "VERSION SIZE B (current)" / "delete marker"
    tags: dict[str, str]  # of the current version
    row: dict[str, Any] | None  # None: no table, or no file id
    copies: dict[str, str]  # "s3://bucket/key" -> "SIZE B, tags ..." of every route's copy


@dataclass
class Announced:
    events: list[dict[str, Any]] = field(default_factory=list)  # the events' detail
    notifications: list[dict[str, Any]] = field(default_factory=list)  # subject + attributes
    findings: list[str] = field(default_factory=list)  # Security Hub finding titles


def _route_copies(function: Function, bucket: str, key: str) -> dict[str, tuple[str, str]]:
    """verdict -> (destination bucket, key of the copy) for every configured route."""
    found = {}
    for verdict in VERDICTS:
        target = function.setting(f"ROUTE_{verdict.upper()}")
        if target:
            destination, _, prefix = target.partition("/")
            found[verdict] = (destination, f"{prefix}{bucket}/{key}")
    return found


def file_id_of(function: Function, tags: dict[str, str]) -> str | None:
    return tags.get(function.setting("FILE_ID_TAG_KEY") or "file_id")


def snapshot(
    account: Account, function: Function, bucket: str, key: str, file_id: str | None
) -> Snapshot:
    s3 = account.client("s3")
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    entries = [
        (v["LastModified"], f"{_short(v.get('VersionId'))} {v['Size']} B", v["IsLatest"])
        for v in listing.get("Versions", [])
        if v["Key"] == key
    ] + [
        (m["LastModified"], "delete marker", m["IsLatest"])
        for m in listing.get("DeleteMarkers", [])
        if m["Key"] == key
    ]
    entries.sort(key=lambda e: (e[2], e[0]), reverse=True)
    versions = [text + (" (current)" if latest else "") for _, text, latest in entries]
    tags = _tags(s3, bucket, key)
    row = _row(account, function, file_id)
    return Snapshot(versions, tags, row, _copies(account, function, bucket, key))


def _short(version_id: str | None) -> str:
    if not version_id or version_id == "null":
        return "unversioned"
    return f"version {version_id[:8]}"


def _tags(s3: Any, bucket: str, key: str) -> dict[str, str]:
    try:
        tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    except ClientError:
        return {}
    return {t["Key"]: t["Value"] for t in tag_set}


def _row(account: Account, function: Function, file_id: str | None) -> dict[str, Any] | None:
    table = function.setting("FILE_ID_TABLE")
    if not table or file_id is None:
        return None
    key_name = function.setting("FILE_ID_TABLE_KEY") or "file_id"
    try:
        item = account.client("dynamodb").get_item(
            TableName=table.split("table/")[-1], Key={key_name: {"S": file_id}}, ConsistentRead=True
        )
    except ClientError as exc:
        return {"(unreadable)": exc.response["Error"]["Code"]}
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.get("Item", {}).items()}


def _copies(account: Account, function: Function, bucket: str, key: str) -> dict[str, str]:
    s3 = account.client("s3")
    found = {}
    for destination, copy_key in _route_copies(function, bucket, key).values():
        try:
            head = s3.head_object(Bucket=destination, Key=copy_key)
        except ClientError:
            continue
        found[f"s3://{destination}/{copy_key}"] = f"{head['ContentLength']} B" + (
            f", SSE-KMS {head['SSEKMSKeyId']}" if head.get("SSEKMSKeyId") else ""
        )
    return found


class Listener:
    """A temporary queue that receives the function's notifications and events."""

    def __init__(self, account: Account, function: Function) -> None:
        self.account = account
        self.function = function
        self.queue_url: str | None = None
        self.subscription: str | None = None
        self.rule: tuple[str, str] | None = None  # (bus, rule name)
        self.finding_ids: set[str] = set()

    def __enter__(self) -> Listener:
        topic = self.function.setting("NOTIFY_TOPIC_ARN")
        bus = self.function.setting("EVENT_BUS")
        if self.function.setting("SECURITY_HUB_PRODUCT_ARN"):
            self.finding_ids = {f["Id"] for f in self._findings()}
        if not (topic or bus):
            return self
        sqs = self.account.client("sqs")
        name = f"fss-scan-cli-{uuid.uuid4().hex[:8]}"
        self.queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        if topic:
            self.subscription = self.account.client("sns").subscribe(
                TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
            )["SubscriptionArn"]
        if bus:
            events = self.account.client("events")
            source = self.function.setting("EVENT_SOURCE") or "fss-post-scan"
            events.put_rule(
                Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [source]})
            )
            events.put_targets(
                Rule=name, EventBusName=bus, Targets=[{"Id": "scan-cli", "Arn": queue_arn}]
            )
            self.rule = (bus, name)
        return self

    def _findings(self) -> list[dict[str, Any]]:
        try:
            return self.account.client("securityhub").get_findings()["Findings"]
        except ClientError:
            return []

    def heard(self) -> Announced:
        announced = Announced()
        if self.function.setting("SECURITY_HUB_PRODUCT_ARN"):
            announced.findings = [
                f.get("Title", f["Id"]) for f in self._findings() if f["Id"] not in self.finding_ids
            ]
        if self.queue_url is None:
            return announced
        sqs = self.account.client("sqs")
        while True:
            received = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                return announced
            for message in received:
                body = json.loads(message["Body"])
                if body.get("Type") == "Notification":
                    attributes = body.get("MessageAttributes") or {}
                    announced.notifications.append(
                        {
                            "subject": body.get("Subject"),
                            **{k: v.get("Value") for k, v in attributes.items()},
                        }
                    )
                else:
                    announced.events.append(body.get("detail") or {})

    def __exit__(self, *exc: object) -> None:
        if self.rule is not None:
            events = self.account.client("events")
            bus, name = self.rule
            events.remove_targets(Rule=name, EventBusName=bus, Ids=["scan-cli"])
            events.delete_rule(Name=name, EventBusName=bus)
        if self.subscription is not None:
            self.account.client("sns").unsubscribe(SubscriptionArn=self.subscription)
        if self.queue_url is not None:
            self.account.client("sqs").delete_queue(QueueUrl=self.queue_url)
