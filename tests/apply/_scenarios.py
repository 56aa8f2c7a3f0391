"""The roots the apply tests deploy: each example, and the README's usage block as written.

For each: where it is staged, which moto account and region it goes to, which prerequisites
(topics, buckets, table, network, ...) it needs, and the tfvars pointing at them. Examples get
non-default values where they accept them, so that a value dropped on the way shows up, and run in
different regions and partitions (file-id-to-dynamodb goes to aws-cn) so that a hard-coded region,
account or `arn:aws:` shows up too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
from _harness import REPO_ROOT, Account, MotoServer, Scenario, stage_example, stage_module

from emulator import guardduty

USAGE_BEGIN = "<!-- USAGE:BEGIN -->"
USAGE_END = "<!-- USAGE:END -->"
README_KEY = "readme-usage"
FOREIGN_ACCOUNT = "700000000099"  # owns the second topic of `complete` (cross-account subscription)


def _topic(account: Account, name: str) -> str:
    return account.client("sns").create_topic(Name=name)["TopicArn"]


def _bucket(
    account: Account,
    name: str,
    *,
    versioned: bool,
    kms_key: str | None = None,
    object_lock: bool = False,
) -> dict:
    s3 = account.client("s3")
    lock = {"ObjectLockEnabledForBucket": True} if object_lock else {}
    if account.region == "us-east-1":
        s3.create_bucket(Bucket=name, **lock)
    else:
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": account.region},
            **lock,
        )
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return {"name": name, "versioned": versioned, "kms_key": kms_key}


def _table(account: Account, name: str, key: str) -> dict:
    account.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
    )
    return {"name": name, "key": key}


def _prepare_basic(account: Account, root: Path) -> tuple[dict, dict]:
    topic = _topic(account, "basic-stack-ScanResultTopic-A1")
    bucket = _bucket(account, f"basic-uploads-{account.account_id}", versioned=True)
    variables = {
        "region": account.region,
        "scan_result_topic_arn": topic,
        "bucket_name": bucket["name"],
    }
    return variables, {"topics": {"storage_stack": topic}, "buckets": [bucket], "table": None}


def _prepare_file_ids(account: Account, root: Path) -> tuple[dict, dict]:
    topic = _topic(account, "ids-stack-ScanResultTopic-B2")
    bucket = _bucket(account, f"ids-uploads-{account.account_id}", versioned=False)
    variables = {
        "region": account.region,
        "name": "fss-ids",
        "scan_result_topic_arn": topic,
        "bucket_name": bucket["name"],
        "file_id_tag_key": "app-file-id",
    }
    return variables, {"topics": {"storage_stack": topic}, "buckets": [bucket], "table": None}


def _prepare_quarantine(account: Account, root: Path) -> tuple[dict, dict]:
    topic = _topic(account, "quarantine-stack-ScanResultTopic-E5")
    uploads_key = account.client("kms").create_key(Description="uploads bucket key")
    uploads_key_arn = uploads_key["KeyMetadata"]["Arn"]
    buckets = [
        _bucket(account, f"q-uploads-{account.account_id}", versioned=True),
        _bucket(
            account, f"q-archive-{account.account_id}", versioned=False, kms_key=uploads_key_arn
        ),
    ]
    promote = _bucket(account, f"q-promoted-{account.account_id}", versioned=False)
    variables = {
        "region": account.region,
        "scan_result_topic_arn": topic,
        "bucket_names": [b["name"] for b in buckets],
        "quarantine_bucket_name": f"q-quarantine-{account.account_id}",
        "quarantine_retention_days": 30,
        "quarantine_force_destroy": True,  # the tests leave quarantined copies behind
        "promote_bucket_name": promote["name"],
        "promote_prefix": "clean/",
        "bucket_kms_key_arns": [uploads_key_arn],
    }
    facts = {
        "topics": {"storage_stack": topic},
        "buckets": buckets,
        "table": None,
        "quarantine_bucket": variables["quarantine_bucket_name"],
        "promote_bucket": promote["name"],
    }
    return variables, facts


def _prepare_queue(account: Account, root: Path) -> tuple[dict, dict]:
    topic = _topic(account, "queue-stack-ScanResultTopic-F6")
    # Object Lock lets a test block a delete (legal hold) and lift the block again.
    bucket = _bucket(
        account, f"queue-uploads-{account.account_id}", versioned=True, object_lock=True
    )
    variables = {
        "region": account.region,
        "name": "fss-queued",
        "scan_result_topic_arn": topic,
        "bucket_name": bucket["name"],
        "file_id_tag_key": "upload-id",
        "batch_size": 7,
        "maximum_concurrency": 4,
        "max_receive_count": 3,
        "queue_age_alarm_seconds": 600,
    }
    return variables, {"topics": {"storage_stack": topic}, "buckets": [bucket], "table": None}


NOTIFY_EMAIL = "secops@example.com"


def _prepare_notifications(account: Account, root: Path) -> tuple[dict, dict]:
    topic = _topic(account, "notify-stack-ScanResultTopic-G7")
    # Object Lock lets a test block a delete (legal hold): a malicious file that cannot be handled.
    bucket = _bucket(
        account, f"notify-uploads-{account.account_id}", versioned=True, object_lock=True
    )
    # Security Hub is enabled per account and region by the security team, not by this module.
    account.client("securityhub").enable_security_hub()
    variables = {
        "region": account.region,
        "name": "fss-notify",
        "scan_result_topic_arn": topic,
        "bucket_name": bucket["name"],
        "file_id_tag_key": "upload-id",
        "notify_email_addresses": [NOTIFY_EMAIL],
        "delivery_mode": "queue",
        "security_hub_findings": True,
    }
    return variables, {"topics": {"storage_stack": topic}, "buckets": [bucket], "table": None}


def _role(account: Account, name: str, path: str = "/") -> str:
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    iam = account.client("iam")
    return iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust)["Role"]["Arn"]


def _prepare_read_protection(account: Account, root: Path) -> tuple[dict, dict]:
    topic = _topic(account, "rp-stack-ScanResultTopic-G7")
    bucket = _bucket(account, f"rp-uploads-{account.account_id}", versioned=True)
    # The storage stack's roles that read (presigned URLs) and tag objects.
    scanner_roles = [
        _role(account, "rp-stack-BucketListenerExecutionRole-1A2B"),
        _role(account, "rp-stack-PostScanActionTagExecutionRole-3C4D"),
    ]
    break_glass = _role(account, "incident-reader", path="/break-glass/")
    variables = {
        "region": account.region,
        "scan_result_topic_arn": topic,
        "bucket_name": bucket["name"],
        "scanner_role_arns": scanner_roles,
        "break_glass_role_arns": [break_glass],
    }
    facts = {
        "topics": {"storage_stack": topic},
        "buckets": [bucket],
        "table": None,
        "scanner_roles": scanner_roles,
        "break_glass_role": break_glass,
        "roles": [*scanner_roles, break_glass],
    }
    return variables, facts


def _prepare_guardduty(account: Account, root: Path) -> tuple[dict, dict]:
    """moto has no Malware Protection plans: the example gets an existing plan's ARN (and its
    role); emulator.guardduty stands in for GuardDuty (tags, default-bus events)."""
    plan = guardduty.plan_arn("aws", account.region, account.account_id, "gd0example0plan01")
    role = _role(account, "gd-uploads-malware-protection", path="/service-role/")
    variables = {
        "region": account.region,
        "bucket_name": f"gd-uploads-{account.account_id}",
        "quarantine_bucket_name": f"gd-quarantine-{account.account_id}",
        "plan_arn": plan,
        "plan_role_arn": role,
        "force_destroy": True,  # the tests leave scanned and quarantined objects behind
    }
    facts = {
        "topics": {},
        "buckets": [],  # the example makes its own bucket
        "table": None,
        "roles": [role],
        "guardduty": {
            "plan": plan,
            "bucket": variables["bucket_name"],
            "quarantine": variables["quarantine_bucket_name"],
        },
    }
    return variables, facts


def _prepare_complete(server: MotoServer) -> Any:
    def prepare(account: Account, root: Path) -> tuple[dict, dict]:
        foreign = server.account(FOREIGN_ACCOUNT, account.region)
        topics = {
            "uploads": _topic(account, "uploads-ScanResultTopic-C3"),
            "archive": _topic(foreign, "archive-ScanResultTopic-D4"),
        }
        bucket_key = account.client("kms").create_key(Description="uploads bucket key")
        bucket_key_arn = bucket_key["KeyMetadata"]["Arn"]
        buckets = [
            _bucket(account, f"complete-uploads-{account.account_id}", versioned=True),
            _bucket(
                account,
                f"complete-archive-{account.account_id}",
                versioned=False,
                kms_key=bucket_key_arn,
            ),
        ]
        table = _table(account, "app-files", "upload_id")
        bus = account.client("events").create_event_bus(Name="uploads-scan-results")["EventBusArn"]
        ec2 = account.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
            for cidr in ("10.20.1.0/24", "10.20.2.0/24")
        ]
        group = ec2.create_security_group(
            GroupName="fss-post-scan", Description="post-scan function", VpcId=vpc
        )["GroupId"]
        boundary = account.client("iam").create_policy(
            PolicyName="platform-boundary",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Action":"*","Resource":"*"}]}',
        )["Policy"]["Arn"]
        variables = {
            "region": account.region,
            "scan_result_topic_arns": topics,
            "bucket_names": [b["name"] for b in buckets],
            "file_id_table_name": table["name"],
            "file_id_table_key": table["key"],
            "bucket_kms_key_arns": [bucket_key_arn],
            "vpc_subnet_ids": subnets,
            "vpc_security_group_ids": [group],
            "reserved_concurrent_executions": 3,
            "role_permissions_boundary_arn": boundary,
            "dry_run": False,
            "event_bus_name": bus.rsplit("/", 1)[1],
            "notify_email_addresses": ["uploads-security@example.com"],
            "alarm_topic_arns": [_topic(account, "complete-ops-alarms")],
        }
        facts = {
            "topics": topics,
            "buckets": buckets,
            "table": table,
            "foreign_accounts": [foreign],
            "event_buses": ["uploads-scan-results"],
            "other_topics": variables["alarm_topic_arns"],
        }
        return variables, facts

    return prepare


################################################################################
# README usage block
################################################################################


def readme_usage_block() -> tuple[str | None, str]:
    """(the ```hcl block between the USAGE markers, or None; why not)."""
    readme = REPO_ROOT / "README.md"
    text = readme.read_text() if readme.is_file() else ""
    if USAGE_BEGIN not in text or USAGE_END not in text:
        return None, f"README.md has no {USAGE_BEGIN} ... {USAGE_END} section yet"
    section = text.split(USAGE_BEGIN, 1)[1].split(USAGE_END, 1)[0]
    match = re.search(r"```hcl\n(.*?)```", section, re.DOTALL)
    if match is None:
        return None, "the README usage section holds no ```hcl block"
    return match.group(1), ""


def localize_usage_block(block: str, module_path: str) -> str:
    """Point the block's module `source` at the local copy; nothing else changes.

    A registry `version` constraint cannot go with a local path, so a `version` line directly in
    the module block is dropped as part of that rewrite.
    """
    rewritten, count = re.subn(
        r'^(\s*)source\s*=\s*"[^"]*"', rf'\1source = "{module_path}"', block, flags=re.MULTILINE
    )
    assert count == 1, f"expected one `source = ...` line in the README usage block, found {count}"
    return re.sub(r'^\s*version\s*=\s*"[^"]*"\s*\n', "", rewritten, flags=re.MULTILINE)


def usage_arguments(block: str) -> dict[str, Any]:
    calls = hcl2.loads(block).get("module", [])
    assert len(calls) == 1, "the README usage block must hold exactly one module block"
    (body,) = calls[0].values()
    return {k: _literal(v) for k, v in body.items() if not k.startswith("__")}


def _literal(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_literal(v) for v in value]
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items() if not k.startswith("__")}
    return value


def _arn_parts(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN."""
    parts = arn.split(":")
    return parts[3], parts[4]


def readme_scenario(server: MotoServer, block: str) -> Scenario:
    arguments = usage_arguments(block)
    topics = arguments.get("scan_result_topic_arns") or {}
    assert topics, "the README usage block must name its scan_result_topic_arns"
    region, account_id = _arn_parts(sorted(topics.values())[0])

    def stage(destination: Path) -> Path:
        module = stage_module(destination)
        root = module / "readme-usage"
        root.mkdir()
        (root / "main.tf").write_text(localize_usage_block(block, "../"))
        return root

    def prepare(account: Account, root: Path) -> tuple[dict, dict]:
        topic_arns: dict[str, str] = {}
        for key, arn in topics.items():
            topic_region, owner = _arn_parts(arn)
            owner_account = (
                account if owner == account.account_id else server.account(owner, topic_region)
            )
            topic_arns[key] = _topic(owner_account, arn.rsplit(":", 1)[1])
            assert topic_arns[key] == arn, (arn, topic_arns[key])
        buckets = [
            _bucket(account, name, versioned=(i == 0))
            for i, name in enumerate(arguments.get("bucket_names", []))
        ]
        table = None
        table_name = arguments.get("file_id_table_name")
        if table_name and not table_name.startswith("arn:"):
            table = _table(account, table_name, arguments.get("file_id_table_key", "file_id"))
        return {}, {"topics": topic_arns, "buckets": buckets, "table": table}

    return Scenario(README_KEY, account_id, region, stage, prepare)


def scenarios(server: MotoServer) -> list[Scenario]:
    """Every root there is to deploy (the README block only once it exists)."""
    found = [
        Scenario(
            "basic",
            "700000000001",
            "us-east-1",
            lambda d: stage_example(d, "basic"),
            _prepare_basic,
        ),
        Scenario(
            "file-id-to-dynamodb",
            "700000000002",
            "cn-north-1",
            lambda d: stage_example(d, "file-id-to-dynamodb"),
            _prepare_file_ids,
        ),
        Scenario(
            "complete",
            "700000000003",
            "eu-central-1",
            lambda d: stage_example(d, "complete"),
            _prepare_complete(server),
        ),
        Scenario(
            "quarantine",
            "700000000004",
            "ap-southeast-2",
            lambda d: stage_example(d, "quarantine"),
            _prepare_quarantine,
        ),
        Scenario(
            "queue",
            "700000000005",
            "us-west-2",
            lambda d: stage_example(d, "queue"),
            _prepare_queue,
        ),
        Scenario(
            "notifications",
            "700000000006",
            "eu-west-2",
            lambda d: stage_example(d, "notifications"),
            _prepare_notifications,
        ),
        Scenario(
            "read-protection",
            "700000000007",
            "eu-west-3",
            lambda d: stage_example(d, "read-protection"),
            _prepare_read_protection,
        ),
        Scenario(
            "guardduty",
            "700000000008",
            "eu-north-1",
            lambda d: stage_example(d, "guardduty"),
            _prepare_guardduty,
        ),
    ]
    block, _ = readme_usage_block()
    if block is not None:
        found.append(readme_scenario(server, block))
    return found


ALL_KEYS = [
    "basic",
    "file-id-to-dynamodb",
    "complete",
    "quarantine",
    "queue",
    "notifications",
    "read-protection",
    "guardduty",
    README_KEY,
]
