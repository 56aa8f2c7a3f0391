"""What a deployment must look like for given module inputs, taken from the specs, not the module.

The runtime contract (engine spec) and the IAM rules (module spec) are restated here in Python,
so the apply tests compare what the emulator holds against an independent expectation. Input
defaults are the documented ones: a module default that drifts from the spec shows up as a failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

DEFAULTS: dict[str, Any] = {
    "subscription_filter_policy": None,
    "subscription_filter_policy_scope": "MessageBody",
    "delete_malicious": False,
    "extract_file_id": False,
    "file_id_tag_key": "file_id",
    "create_file_id_table": False,
    "file_id_table_name": None,
    "file_id_table_key": "file_id",
    "file_id_table_upsert": True,
    "file_id_table_kms_key_arn": None,
    "record_verdicts": ["malicious", "incomplete", "failed", "unscanned"],
    "routes": {},
    "route_mode": "move",
    "route_scan_types": ["object created"],
    "scanner_routed_verdicts": [],
    "dry_run": False,
    "log_level": "INFO",
    "metrics_namespace": "FSSPostScan",
    "kms_key_arns": [],
    "runtime": "python3.13",
    "architecture": "arm64",
    "memory_size": 256,
    "timeout": 60,
    "reserved_concurrent_executions": None,
    "tracing_mode": None,
    "vpc_subnet_ids": [],
    "vpc_security_group_ids": [],
    "cloudwatch_logs_retention_in_days": 365,
    "cloudwatch_logs_kms_key_arn": None,
    "dead_letter_queue_kms_key_arn": None,
    "dead_letter_queue_kms_key_alias": None,
    "check_bucket_names": "plan",
    "dead_letter_queue_message_retention_seconds": 1209600,
    "maximum_retry_attempts": 2,
    "maximum_event_age_in_seconds": 21600,
    "role_path": "/",
    "role_permissions_boundary_arn": None,
    "tags": {},
    "delivery_mode": "direct",
    "drain_delivery_queue": False,
    "queue": {},
    "alarm_topic_arns": [],
    "create_alarms": None,
    "alarms": {},
    "event_bus_name": None,
    "event_source": "fss-post-scan",
    "notify_topic_arn": None,
    "create_notify_topic": False,
    "notify_topic_kms_key_arn": None,
    "notify_email_addresses": [],
    "notify_email_verdicts": None,
    "notify_verdicts": None,
    "notify_chat": True,
    "security_hub_findings": False,
    "read_protection": "off",
    "read_protection_exempt_principal_arns": [],
    "guardduty_plans": {},
    # Not required since GuardDuty can be the only scanner.
    "scan_result_topic_arns": {},
    "bucket_names": [],
    "storage_stack_names": [],
    "create_dashboard": False,
    "read_protection_scanner_principal_arns": [],
}

QUEUE_DEFAULTS: dict[str, Any] = {
    "batch_size": 10,
    "maximum_batching_window_in_seconds": 0,
    "maximum_concurrency": None,
    "max_receive_count": 5,
    "visibility_timeout_seconds": None,
    "message_retention_seconds": 345600,
    "kms_key_arn": None,
}

ALARM_DEFAULTS: dict[str, Any] = {
    "period_seconds": 300,
    "evaluation_periods": 1,
    "dead_letters_threshold": 0,
    "errors_threshold": 0,
    "throttles_threshold": 0,
    "rejected_threshold": 0,
    "queue_age_threshold_seconds": 900,
    "unscanned_threshold": 0,
    "untagged_clean_objects_threshold": 0,
    "row_conflicts_threshold": 0,
    "unproven_locations_threshold": 0,
    "exposure_p99_seconds": None,
}

HANDLER = "post_scan.handler.lambda_handler"

# The EC2 actions of AWSLambdaVPCAccessExecutionRole (the module may inline them instead).
VPC_ACTIONS = frozenset(
    {
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:UnassignPrivateIpAddresses",
    }
)


@dataclass(frozen=True)
class Where:
    partition: str
    region: str
    account_id: str


def with_defaults(inputs: dict[str, Any]) -> dict[str, Any]:
    """The module inputs a user passed, completed with the documented defaults."""
    return {**DEFAULTS, **{k: v for k, v in inputs.items() if v is not None}}


def queue_settings(inputs: dict[str, Any]) -> dict[str, Any]:
    """The delivery queue / mapping settings, defaults filled in; the visibility timeout defaults
    to 6 x the function timeout + the batching window (AWS's recommendation), capped at 12 h."""
    settings = {**QUEUE_DEFAULTS, **{k: v for k, v in inputs["queue"].items() if v is not None}}
    if settings["visibility_timeout_seconds"] is None:
        settings["visibility_timeout_seconds"] = min(
            43200, 6 * inputs["timeout"] + settings["maximum_batching_window_in_seconds"]
        )
    return settings


def bucket_names(inputs: dict[str, Any]) -> list[str]:
    """The scanned buckets' names (bucket_names takes names or bucket ARNs), then those of
    guardduty_plans (sorted) that are not among them."""
    named = [re.sub(r"^arn:[^:]+:s3:::", "", b) for b in inputs["bucket_names"]]
    guardduty = sorted({p["bucket_name"] for p in inputs["guardduty_plans"].values()})
    return named + [b for b in guardduty if b not in named]


def guardduty_plan_arns(inputs: dict[str, Any]) -> list[str]:
    """GUARDDUTY_PLAN_ARNS: each plan's ARN, labels sorted (the tests give existing plans)."""
    plans = inputs["guardduty_plans"]
    return [plans[label]["plan_arn"] for label in sorted(plans)]


def guardduty_rule_arns(inputs: dict[str, Any], where: Where) -> list[str]:
    """The rules on the default bus that deliver the plans' events (none without plans)."""
    if not inputs["guardduty_plans"]:
        return []
    rule = f"arn:{where.partition}:events:{where.region}:{where.account_id}:rule/{inputs['name']}"
    return [f"{rule}-gd-results", f"{rule}-gd-tag-failed"]


def delivery_queue_exists(inputs: dict[str, Any]) -> bool:
    """Queue mode, or direct mode while drain_delivery_queue keeps the delivery queue."""
    return inputs["delivery_mode"] == "queue" or bool(inputs["drain_delivery_queue"])


def alarms(inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Alarm key -> what it watches and when it fires; {} without an alarm topic."""
    wanted = inputs["create_alarms"]
    if not (inputs["alarm_topic_arns"] if wanted is None else wanted):
        return {}
    settings = {**ALARM_DEFAULTS, **{k: v for k, v in inputs["alarms"].items() if v is not None}}
    found = {
        "dead-letters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            "Maximum",
            settings["dead_letters_threshold"],
        ),
        "errors": ("AWS/Lambda", "Errors", "FunctionName", "Sum", settings["errors_threshold"]),
        "throttles": (
            "AWS/Lambda",
            "Throttles",
            "FunctionName",
            "Sum",
            settings["throttles_threshold"],
        ),
        # The engine's own EMF metric: scan results whose verdict is unscanned.
        "unscanned": (
            inputs["metrics_namespace"],
            "ScanResults",
            "FunctionName",
            "Sum",
            settings["unscanned_threshold"],
        ),
    }
    # The engine's EMF counters (namespace metrics_namespace, dimension FunctionName).
    emf = inputs["metrics_namespace"]
    found["rejected"] = (emf, "Rejected", "FunctionName", "Sum", settings["rejected_threshold"])
    found["fallbacks"] = (emf, "FallbackActions", "FunctionName", "Sum", 0)
    found["verdict-conflicts"] = (emf, "VerdictConflicts", "FunctionName", "Sum", 0)
    if inputs["guardduty_plans"]:
        found["guardduty-post-scan-action-failed"] = (
            emf,
            "PostScanActionsFailed",
            "FunctionName",
            "Sum",
            0,
        )
    row_conflicts = settings["row_conflicts_threshold"]
    found["row-conflicts"] = (emf, "RowConflicts", "FunctionName", "Sum", row_conflicts)
    unproven = settings["unproven_locations_threshold"]
    found["unproven-locations"] = (emf, "UnprovenLocations", "FunctionName", "Sum", unproven)
    if delivery_queue_exists(inputs):
        found["queue-age"] = (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "QueueName",
            "Maximum",
            settings["queue_age_threshold_seconds"],
        )
        # A failed record is a partial batch failure, not an invocation error.
        found["record-errors"] = (
            emf,
            "Errors",
            "FunctionName",
            "Sum",
            settings["errors_threshold"],
        )
    # Lambda's on-failure destination of asynchronous invocations (both modes).
    found["destination-delivery-failures"] = (
        "AWS/Lambda",
        "DestinationDeliveryFailures",
        "FunctionName",
        "Sum",
        0,
    )
    if inputs["read_protection"] == "until_clean":
        found["untagged-clean-objects"] = (
            inputs["metrics_namespace"],
            "UntaggedCleanObjects",
            "FunctionName",
            "Sum",
            settings["untagged_clean_objects_threshold"],
        )
    # How long malware stayed readable: its p99 over 5 minutes, whatever period_seconds says.
    exposure = settings.get("exposure_p99_seconds")
    if exposure is not None:
        found["exposure"] = (
            inputs["metrics_namespace"],
            "ExposureSeconds",
            "FunctionName",
            "p99",
            exposure,
        )
    return {
        key: {
            "namespace": namespace,
            "metric": metric,
            "dimension": dimension,
            "statistic": statistic,
            "threshold": threshold,
            "period": 300 if key == "exposure" else settings["period_seconds"],
            "evaluation_periods": 1 if key == "exposure" else settings["evaluation_periods"],
            "extra_dimensions": {"Verdict": "unscanned"} if key == "unscanned" else {},
        }
        for key, (namespace, metric, dimension, statistic, threshold) in found.items()
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def table_name(inputs: dict[str, Any]) -> str:
    """The table the function writes to: the created one (<name>-file-ids), the given one, or ""."""
    if inputs["create_file_id_table"]:
        return f"{inputs['name']}-file-ids"
    return inputs["file_id_table_name"] or ""


def table_arn(inputs: dict[str, Any], where: Where) -> str | None:
    name = table_name(inputs)
    if not name:
        return None
    if name.startswith("arn:"):
        return name
    return f"arn:{where.partition}:dynamodb:{where.region}:{where.account_id}:table/{name}"


VERDICTS = ("malicious", "clean", "incomplete", "failed", "unscanned")


def routes(inputs: dict[str, Any], account_id: str = "") -> dict[str, dict[str, Any]]:
    """verdict -> {bucket (a name, also when given as an ARN), prefix ("" when not given),
    kms_key_arn (None when not given), owner (bucket_owner, else the function's account)}."""
    found = {}
    for verdict, route in (inputs["routes"] or {}).items():
        bucket = route["bucket"]
        if bucket.startswith("arn:"):
            bucket = bucket.split(":::", 1)[1]
        found[verdict] = {
            "bucket": bucket,
            "prefix": route.get("prefix") or "",
            "kms_key_arn": route.get("kms_key_arn"),
            "kms_key_alias": route.get("kms_key_alias"),
            "owner": route.get("bucket_owner") or account_id,
        }
    return found


def _route_environment(inputs: dict[str, Any], account_id: str) -> dict[str, str]:
    """ROUTE_<VERDICT> = BUCKET or BUCKET/PREFIX (empty: no route), its _KMS_KEY_ARN and
    _BUCKET_OWNER, ROUTE_MODE."""
    configured = routes(inputs, account_id)
    env = {"ROUTE_MODE": inputs["route_mode"]}
    for verdict in VERDICTS:
        route = configured.get(verdict)
        target = ""
        if route:
            target = route["bucket"] + (f"/{route['prefix']}" if route["prefix"] else "")
        env[f"ROUTE_{verdict.upper()}"] = target
        env[f"ROUTE_{verdict.upper()}_KMS_KEY_ARN"] = (route or {}).get("kms_key_arn") or ""
        env[f"ROUTE_{verdict.upper()}_BUCKET_OWNER"] = (route or {}).get("owner") or ""
    return env


def announced_by_default() -> list[str]:
    """NOTIFY_VERDICTS when notify_verdicts is null: every verdict except clean."""
    return [v for v in VERDICTS if v != "clean"]


def notify_topic_arn(inputs: dict[str, Any], where: Where) -> str | None:
    """The topic the function publishes to: NAME-notifications when created, else the given one."""
    if inputs["create_notify_topic"]:
        p = where.partition
        return f"arn:{p}:sns:{where.region}:{where.account_id}:{inputs['name']}-notifications"
    return inputs["notify_topic_arn"]


def event_bus_arn(inputs: dict[str, Any], where: Where) -> str | None:
    bus = inputs["event_bus_name"]
    if bus is None or bus.startswith("arn:"):
        return bus
    return f"arn:{where.partition}:events:{where.region}:{where.account_id}:event-bus/{bus}"


def security_hub_product(where: Where) -> str:
    account = where.account_id
    return f"arn:{where.partition}:securityhub:{where.region}:{account}:product/{account}/default"


def _announce_environment(inputs: dict[str, Any], where: Where) -> dict[str, str]:
    verdicts = inputs["notify_verdicts"]
    return {
        "EVENT_BUS": inputs["event_bus_name"] or "",
        "EVENT_SOURCE": inputs["event_source"],
        "NOTIFY_TOPIC_ARN": notify_topic_arn(inputs, where) or "",
        "NOTIFY_VERDICTS": ",".join(announced_by_default() if verdicts is None else verdicts),
        "NOTIFY_CHAT": _flag(inputs["notify_chat"]),
        "SECURITY_HUB_PRODUCT_ARN": (
            security_hub_product(where) if inputs["security_hub_findings"] else ""
        ),
    }


def environment(inputs: dict[str, Any], where: Where) -> dict[str, str]:
    """The function's environment: every contract variable, set explicitly."""
    account_id = where.account_id
    return {
        **_route_environment(inputs, account_id),
        **_announce_environment(inputs, where),
        "EXPECTED_BUCKET_OWNER": account_id,
        "ALLOWED_BUCKETS": ",".join(bucket_names(inputs)),
        "ALLOWED_TOPIC_ARNS": ",".join(sorted(inputs["scan_result_topic_arns"].values())),
        "GUARDDUTY_PLAN_ARNS": ",".join(guardduty_plan_arns(inputs)),
        "DELETE_MALICIOUS": _flag(inputs["delete_malicious"]),
        "EXTRACT_FILE_ID": _flag(inputs["extract_file_id"]),
        "DRY_RUN": _flag(inputs["dry_run"]),
        "FILE_ID_TAG_KEY": inputs["file_id_tag_key"],
        "FILE_ID_TABLE": table_name(inputs),
        "FILE_ID_TABLE_KEY": inputs["file_id_table_key"],
        "FILE_ID_TABLE_UPSERT": _flag(inputs["file_id_table_upsert"]),
        "RECORD_VERDICTS": ",".join(inputs["record_verdicts"]),
        "LOG_LEVEL": inputs["log_level"],
        "METRICS_NAMESPACE": inputs["metrics_namespace"],
        "ROUTE_SCAN_TYPES": ",".join(inputs["route_scan_types"]),
        "SCANNER_ROUTED_VERDICTS": ",".join(inputs["scanner_routed_verdicts"]),
        "READ_PROTECTION": inputs["read_protection"],
        **_final_receive_environment(inputs, where),
    }


def _final_receive_environment(inputs: dict[str, Any], where: Where) -> dict[str, str]:
    """While the delivery queue exists: its maxReceiveCount and the dead-letter queue the final
    receive of a malicious result keeps a row's data in (docs/failures.md)."""
    if not delivery_queue_exists(inputs):
        return {"QUEUE_MAX_RECEIVE_COUNT": "", "DEAD_LETTER_QUEUE_ARN": ""}
    dlq = f"arn:{where.partition}:sqs:{where.region}:{where.account_id}:{inputs['name']}-dlq"
    count = str(queue_settings(inputs)["max_receive_count"])
    return {"QUEUE_MAX_RECEIVE_COUNT": count, "DEAD_LETTER_QUEUE_ARN": dlq}


Grant = tuple[str, str, str | None]  # (action, resource, condition as canonical JSON or None)


def owned_by(account_id: str) -> str:
    """The condition that limits S3 statements to buckets of one account (canonical JSON)."""
    return condition({"StringEquals": {"s3:ResourceAccount": account_id}})


def condition(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def via_services(services: list[str], keys: list[str]) -> str:
    """kms:ViaService: the services that may use the keys on the role's behalf, in the keys'
    regions (an SSE-KMS key is in its bucket's or table's region), SERVICE.REGION.amazonaws.com
    in every partition (AWS KMS developer guide)."""
    regions = {key.split(":")[3] for key in keys}
    names = sorted(f"{s}.{r}.amazonaws.com" for s in services for r in regions)
    return condition({"StringEquals": {"kms:ViaService": names}})


def by_alias(service: str, where: Where, owner: str, alias: str) -> tuple[str, str | None]:
    """(resource, condition) of a key given with its alias: the owner's keys in the function's
    region that carry the alias (kms:ResourceAliases), used through `service` there."""
    resource = f"arn:{where.partition}:kms:{where.region}:{owner}:key/*"
    return resource, condition(
        {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": [alias]},
            "StringEquals": {"kms:ViaService": [f"{service}.{where.region}.amazonaws.com"]},
        }
    )


def policy_grants(
    inputs: dict[str, Any], where: Where, dlq_arn: str, delivery_queue_arn: str | None = None
) -> set[Grant]:
    """(action, resource, condition) the role's inline policy must grant, and nothing else.
    S3 statements hold only for buckets of the expected account (s3:ResourceAccount): the
    function's own for scanned buckets, each route's owner for its destination. KMS rights work
    only through the service that uses the key on the role's behalf (kms:ViaService): SQS for the
    queues' keys, S3 for objects and route copies, DynamoDB for a CMK-encrypted verdict table, SNS
    for the notification topic's key.

    Both modes: Lambda's on-failure destination of asynchronous invocations sends to the DLQ as
    the role. Queue mode (and direct mode while draining the delivery queue): the event source
    mapping reads the delivery queue as the role; SQS moves queued dead letters itself.

    VPC access is left out: the module may grant it inline (VPC_ACTIONS on "*") or attach the
    AWS managed policy; the tests check either form separately.
    """
    p = where.partition
    buckets = [f"arn:{p}:s3:::{b}" for b in bucket_names(inputs)]
    objects = [f"{b}/*" for b in buckets]
    log_group = (
        f"arn:{p}:logs:{where.region}:{where.account_id}:log-group:/aws/lambda/{inputs['name']}:*"
    )
    grants: set[Grant] = set()
    own = owned_by(where.account_id)

    def grant(actions: list[str], resources: list[str], when: str | None = None) -> None:
        grants.update((a, r, when) for a in actions for r in resources)

    grant(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group])
    grant(["sqs:SendMessage"], [dlq_arn])
    dlq_key = inputs["dead_letter_queue_kms_key_arn"]
    dlq_alias = inputs["dead_letter_queue_kms_key_alias"]
    if dlq_key and dlq_alias:
        resource, when = by_alias("sqs", where, where.account_id, dlq_alias)
        grant(["kms:GenerateDataKey", "kms:Decrypt"], [resource], when)
    elif dlq_key:
        grant(["kms:GenerateDataKey", "kms:Decrypt"], [dlq_key], via_services(["sqs"], [dlq_key]))
    if delivery_queue_exists(inputs):
        assert delivery_queue_arn, "the delivery queue's ARN is needed while it exists"
        grant(
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            [delivery_queue_arn],
        )
        queue_key = queue_settings(inputs)["kms_key_arn"]
        if queue_key:
            grant(["kms:Decrypt"], [queue_key], via_services(["sqs"], [queue_key]))
    configured = routes(inputs, where.account_id)
    # until_clean: the function reads clean objects' tags (UntaggedCleanObjects).
    until_clean = inputs["read_protection"] == "until_clean"
    if inputs["extract_file_id"] or inputs["delete_malicious"] or configured or until_clean:
        grant(
            [
                "s3:GetObject",
                "s3:GetObjectTagging",
                "s3:GetObjectVersion",
                "s3:GetObjectVersionTagging",
            ],
            objects,
            own,
        )
        grant(["s3:ListBucket", "s3:ListBucketVersions"], buckets, own)
    if inputs["delete_malicious"] or (configured and inputs["route_mode"] == "move"):
        grant(["s3:DeleteObject", "s3:DeleteObjectVersion"], objects, own)
    for route in configured.values():
        # Copy (+ tags) under the route's prefix, HEAD the copy to verify it, abort a failed
        # multipart copy; SSE-KMS with the route's own key.
        destination = f"arn:{p}:s3:::{route['bucket']}/{route['prefix']}*"
        grant(
            ["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:AbortMultipartUpload"],
            [destination],
            owned_by(route["owner"]),
        )
        if route["kms_key_arn"] and route["kms_key_alias"]:
            resource, when = by_alias("s3", where, route["owner"], route["kms_key_alias"])
            grant(["kms:GenerateDataKey", "kms:Decrypt"], [resource], when)
        elif route["kms_key_arn"]:
            key = route["kms_key_arn"]
            grant(["kms:GenerateDataKey", "kms:Decrypt"], [key], via_services(["s3"], [key]))
    arn = table_arn(inputs, where)
    if inputs["extract_file_id"] and arn:
        grant(["dynamodb:UpdateItem"], [arn])
    bus = event_bus_arn(inputs, where)
    if bus:
        grant(["events:PutEvents"], [bus])
    topic = notify_topic_arn(inputs, where)
    if topic:
        grant(["sns:Publish"], [topic])  # PublishBatch is authorized as sns:Publish
        notify_key = inputs["notify_topic_kms_key_arn"]
        if notify_key:
            # SNS encrypts each message with the key on the publisher's behalf.
            grant(
                ["kms:GenerateDataKey", "kms:Decrypt"],
                [notify_key],
                via_services(["sns"], [notify_key]),
            )
    if inputs["security_hub_findings"]:
        grant(["securityhub:BatchImportFindings"], [security_hub_product(where)])
    if inputs["kms_key_arns"]:
        keys = list(inputs["kms_key_arns"])
        services = ["s3", "dynamodb"] if inputs["extract_file_id"] and arn else ["s3"]
        grant(["kms:Decrypt"], keys, via_services(services, keys))
    if inputs["tracing_mode"] == "Active":
        grant(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"])
    return grants


def statement_grants(document: dict[str, Any]) -> tuple[set[Grant], list[str]]:
    """Flatten a policy into (action, resource, condition) grants; also list statements that are
    not plain Allow statements."""
    pairs: set[Grant] = set()
    oddities: list[str] = []
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for s in statements:
        if s.get("Effect") != "Allow" or "NotAction" in s or "NotResource" in s:
            oddities.append(f"unexpected statement shape: {s}")
        when = condition(s.get("Condition"))
        actions = s.get("Action", [])
        resources = s.get("Resource", [])
        for a in [actions] if isinstance(actions, str) else actions:
            for r in [resources] if isinstance(resources, str) else resources:
                pairs.add((a, r, when))
    return pairs, oddities
