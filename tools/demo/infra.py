"""The infrastructure examples/complete expects to exist already, simulated for the demo.

Two storage stacks' scan-result topics, the scanned buckets (uploads: versioned, archive: not),
the application's table with one row per file, and its EventBridge bus with a rule that feeds a
queue (where the demo reads the events the function announced). After the apply, a second queue
subscribes to the notification topic the module created (where the demo reads the
notifications). All names start with the run's prefix, so a run interrupted in a real account can
be found and removed by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo.cases import ARCHIVE, GUARDDUTY, UPLOADS
from demo.targets import Target
from emulator import guardduty

TABLE_KEY = "file_id"


@dataclass
class Existing:
    prefix: str
    topics: dict[str, str] = field(default_factory=dict)  # place -> topic ARN
    buckets: dict[str, str] = field(default_factory=dict)  # place -> bucket name
    table: str = ""
    bus: str = ""
    plan_arn: str = ""  # the GuardDuty plan of the GUARDDUTY bucket (emulator only)
    events_queue: str = ""  # URL: the events the bus's rule delivered
    notifications_queue: str = ""  # URL: the notifications of the module's topic
    _undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def create(self, target: Target) -> str:
        sns, s3, dynamodb = target.client("sns"), target.client("s3"), target.client("dynamodb")
        for place in (UPLOADS, ARCHIVE):
            arn = sns.create_topic(Name=f"{self.prefix}-{place}-ScanResultTopic")["TopicArn"]
            self.topics[place] = arn
            self._undo.append((f"topic {arn}", lambda arn=arn: sns.delete_topic(TopicArn=arn)))
        places = [(UPLOADS, True), (ARCHIVE, False)]
        if target.kind == "emulator":  # moto has no plans: an existing plan's ARN stands in
            places.append((GUARDDUTY, True))
            self.plan_arn = guardduty.plan_arn(
                target.partition, target.region, target.account_id, self.prefix
            )
        for place, versioned in places:
            name = f"{self.prefix}-{place}-{target.account_id}"
            location = {}
            if target.region != "us-east-1":
                location = {"CreateBucketConfiguration": {"LocationConstraint": target.region}}
            s3.create_bucket(Bucket=name, **location)
            self.buckets[place] = name
            self._undo.append((f"bucket {name}", lambda name=name: _delete_bucket(s3, name)))
            if versioned:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.table = f"{self.prefix}-app-files"
        dynamodb.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": TABLE_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": TABLE_KEY, "KeyType": "HASH"}],
        )
        self._undo.append(
            (f"table {self.table}", lambda: dynamodb.delete_table(TableName=self.table))
        )
        dynamodb.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
        )
        self._create_bus(target)
        return (
            f"topics {', '.join(n.rsplit(':', 1)[1] for n in self.topics.values())}; "
            f"buckets {self.buckets[UPLOADS]} (versioned), {self.buckets[ARCHIVE]}"
            + (f", {self.buckets[GUARDDUTY]} (GuardDuty plan)" if self.plan_arn else "")
            + "; "
            f"table {self.table}; event bus {self.bus}"
        )

    def _queue(self, target: Target, name: str, service: str, source_arn: str) -> tuple[str, str]:
        """An encrypted queue that only `source_arn` (through `service`) may send to."""
        sqs = target.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes={"SqsManagedSseEnabled": "true"})[
            "QueueUrl"
        ]
        self._undo.append((f"queue {name}", lambda: sqs.delete_queue(QueueUrl=url)))
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return url, arn

    def _create_bus(self, target: Target) -> None:
        events = target.client("events")
        self.bus = f"{self.prefix}-scan-results"
        events.create_event_bus(Name=self.bus)
        self._undo.append((f"event bus {self.bus}", lambda: events.delete_event_bus(Name=self.bus)))
        rule = f"{self.prefix}-all-scan-results"
        rule_arn = events.put_rule(
            Name=rule,
            EventBusName=self.bus,
            EventPattern=json.dumps({"detail-type": ["Scan Result Processed"]}),
        )["RuleArn"]
        self._undo.append(
            (f"rule {rule}", lambda: events.delete_rule(Name=rule, EventBusName=self.bus))
        )
        self.events_queue, queue_arn = self._queue(
            target, f"{self.prefix}-announced-events", "events.amazonaws.com", rule_arn
        )
        events.put_targets(
            Rule=rule, EventBusName=self.bus, Targets=[{"Id": "demo-queue", "Arn": queue_arn}]
        )
        self._undo.append(
            (
                f"target of rule {rule}",
                lambda: events.remove_targets(Rule=rule, EventBusName=self.bus, Ids=["demo-queue"]),
            )
        )

    def listen(self, target: Target, topic_arn: str) -> str:
        """Subscribe a queue to the notification topic the module created."""
        self.notifications_queue, queue_arn = self._queue(
            target, f"{self.prefix}-announced-notifications", "sns.amazonaws.com", topic_arn
        )
        sns = target.client("sns")
        subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)[
            "SubscriptionArn"
        ]
        self._undo.append(
            (
                f"subscription {subscription}",
                lambda: sns.unsubscribe(SubscriptionArn=subscription),
            )
        )
        return subscription

    def tfvars(self, target: Target) -> dict[str, Any]:
        """examples/complete's variables, pointing at this infrastructure."""
        return {
            "region": target.region,
            "name": self.prefix,
            "scan_result_topic_arns": dict(self.topics),
            "bucket_names": [self.buckets[UPLOADS], self.buckets[ARCHIVE]],
            "file_id_table_name": self.table,
            "file_id_table_key": TABLE_KEY,
            "event_bus_name": self.bus,
            "guardduty_plans": (
                {"demo": {"bucket_name": self.buckets[GUARDDUTY], "plan_arn": self.plan_arn}}
                if self.plan_arn
                else {}
            ),
        }

    def names(self) -> list[str]:
        return [what for what, _ in self._undo]

    def remove(self) -> list[str]:
        """Delete what create() made, newest first; returns what could not be deleted and why."""
        failed = []
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                failed.append(f"{what}: {exc}")
        return failed


def _delete_bucket(s3: Any, name: str) -> None:
    """Every version and delete marker, then the bucket."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=name)
