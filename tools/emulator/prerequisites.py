"""What a consumer root expects to exist before its first apply, created in the emulator.

The module reads or uses existing things: the scan-result topics, the scanned buckets (read at
plan: check_bucket_names), the application's table (its key checked at plan), the routes'
destination buckets, an event bus or a notification topic given by name. ``from_root`` finds them
in a root's module calls where they are literal values (``var.x`` and resource attributes are
left to the root: they are reported, not guessed); ``create_prerequisites`` creates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import hcl2
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.launcher import emulated_account


@dataclass
class Prerequisites:
    topics: list[str] = field(default_factory=list)  # topic ARNs (their account and region)
    buckets: list[str] = field(default_factory=list)  # names, in the default account
    tables: dict[str, str] = field(default_factory=dict)  # name -> partition key (type S)
    event_buses: list[str] = field(default_factory=list)  # names, in the default account

    def merged(self, other: Prerequisites) -> Prerequisites:
        return Prerequisites(
            topics=_distinct(self.topics + other.topics),
            buckets=_distinct(self.buckets + other.buckets),
            tables={**self.tables, **other.tables},
            event_buses=_distinct(self.event_buses + other.event_buses),
        )

    def describe(self) -> str:
        parts = [f"topic {t}" for t in self.topics] + [f"bucket {b}" for b in self.buckets]
        parts += [f"table {t}" for t in self.tables] + [f"bus {b}" for b in self.event_buses]
        return ", ".join(parts) or "nothing"


def _distinct(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _literal(value: Any) -> Any:
    """python-hcl2 keeps string literals quoted and wraps expressions in ${...}: a literal string
    comes back unquoted, anything else (an expression) as None."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"' and "${" not in value:
            return value[1:-1]
        return None
    if isinstance(value, list):
        return [_literal(v) for v in value]
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items() if not k.startswith("__")}
    return value


def _module_calls(root: Path) -> list[dict[str, Any]]:
    calls = []
    for tf_file in sorted(root.glob("*.tf")):
        with open(tf_file) as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("module", []):
            calls += list(block.values())
    return calls


def from_root(root: Path) -> tuple[Prerequisites, list[str]]:
    """The prerequisites the root's module calls name literally, and notes on what they name
    otherwise (not created)."""
    found = Prerequisites()
    skipped: list[str] = []
    calls = [c for c in _module_calls(root) if "scan_result_topic_arns" in c or "bucket_names" in c]
    if not calls:
        return found, [f"{root}: no module call with scan_result_topic_arns or bucket_names"]
    for call in calls:
        arguments = {k: v for k, v in call.items() if not k.startswith("__")}

        def literal(name: str, arguments: dict[str, Any] = arguments) -> Any:
            value = _literal(arguments[name]) if name in arguments else None
            if name in arguments and value is None:
                skipped.append(f"{name} (not a literal value in {root}: create it yourself)")
            return value

        topics = literal("scan_result_topic_arns") or {}
        found.topics += [arn for arn in topics.values() if arn]
        found.buckets += [
            b.split(":::")[-1] for b in (literal("bucket_names") or []) if b is not None
        ]
        for verdict, route in (literal("routes") or {}).items():
            bucket = route.get("bucket") if isinstance(route, dict) else None
            if bucket and not route.get("bucket_owner"):
                found.buckets.append(bucket.split(":::")[-1])
            elif bucket is None:
                skipped.append(f"routes.{verdict}.bucket (not a literal value)")
        table = literal("file_id_table_name")
        if table and not table.startswith("arn:"):
            found.tables[table] = literal("file_id_table_key") or "file_id"
        bus = literal("event_bus_name")
        if bus and bus != "default" and not bus.startswith("arn:"):
            found.event_buses.append(bus)
        notify = literal("notify_topic_arn")
        if notify:
            found.topics.append(notify)
    return found, skipped


def _client(url: str, region: str, access_key: str, service: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=access_key, region_name=region
    ).client(service, endpoint_url=url, config=Config(s3={"addressing_style": "path"}))


def create_prerequisites(
    url: str, region: str, access_key: str, wanted: Prerequisites
) -> list[str]:
    """Create what `wanted` lists (topics in their ARN's account and region, the rest in the
    default account and `region`); returns one line per thing created or already there."""
    done: list[str] = []
    for arn in wanted.topics:
        _, _, _, topic_region, owner, name = arn.split(":", 5)
        account = emulated_account(url, owner, topic_region)
        created = account.client("sns").create_topic(Name=name)["TopicArn"]
        done.append(f"SNS topic {created}")
    s3 = _client(url, region, access_key, "s3")
    for bucket in wanted.buckets:
        # us-east-1 takes no location constraint.
        where = {} if region == "us-east-1" else {"LocationConstraint": region}
        options = {"CreateBucketConfiguration": where} if where else {}
        try:
            s3.create_bucket(Bucket=bucket, **options)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        done.append(f"S3 bucket {bucket}")
    dynamodb = _client(url, region, access_key, "dynamodb")
    for table, key in wanted.tables.items():
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        )
        done.append(f"DynamoDB table {table} (partition key {key}, type S)")
    events = _client(url, region, access_key, "events")
    for bus in wanted.event_buses:
        events.create_event_bus(Name=bus)
        done.append(f"EventBridge bus {bus}")
    return done
