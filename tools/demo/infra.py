"""The infrastructure examples/complete expects to exist already, simulated for the demo.

Two storage stacks' scan-result topics, the scanned buckets (uploads: versioned, archive: not)
and the application's table with one row per file. All names start with the run's prefix, so a
run interrupted in a real account can be found and removed by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo.cases import ARCHIVE, UPLOADS
from demo.targets import Target

TABLE_KEY = "file_id"


@dataclass
class Existing:
    prefix: str
    topics: dict[str, str] = field(default_factory=dict)  # place -> topic ARN
    buckets: dict[str, str] = field(default_factory=dict)  # place -> bucket name
    table: str = ""
    _undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def create(self, target: Target) -> str:
        sns, s3, dynamodb = target.client("sns"), target.client("s3"), target.client("dynamodb")
        for place in (UPLOADS, ARCHIVE):
            arn = sns.create_topic(Name=f"{self.prefix}-{place}-ScanResultTopic")["TopicArn"]
            self.topics[place] = arn
            self._undo.append((f"topic {arn}", lambda arn=arn: sns.delete_topic(TopicArn=arn)))
        for place, versioned in ((UPLOADS, True), (ARCHIVE, False)):
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
        return (
            f"topics {', '.join(n.rsplit(':', 1)[1] for n in self.topics.values())}; "
            f"buckets {self.buckets[UPLOADS]} (versioned), {self.buckets[ARCHIVE]}; "
            f"table {self.table}"
        )

    def tfvars(self, target: Target) -> dict[str, Any]:
        """examples/complete's variables, pointing at this infrastructure."""
        return {
            "region": target.region,
            "name": self.prefix,
            "scan_result_topic_arns": dict(self.topics),
            "bucket_names": [self.buckets[UPLOADS], self.buckets[ARCHIVE]],
            "file_id_table_name": self.table,
            "file_id_table_key": TABLE_KEY,
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
