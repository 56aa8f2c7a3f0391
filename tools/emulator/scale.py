"""An organisation-scale deployment for the emulator: what the scale apply test and `make bench`
(plan time) share.

1,000 buckets and 301 topics: STACKS File Storage Security storage stacks in the deployment's
account (CloudFormation stacks with the storage stack's output names: each gives a topic and a
bucket), an account scanner stack (its topic in its SSM outputs parameter), FOREIGN_TOPICS topics
in each of two FSS accounts (by ARN), and LISTED_BUCKETS more buckets by name. Every flag that
adds statements is on; the buckets are named by pattern in the role and the topics by account in
the resource policies (docs/scale.md).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Protocol

from emulator.staging import stage_module

STACKS = 100
FOREIGN_TOPICS = 100  # per FSS account
LISTED_BUCKETS = 900
FSS_ACCOUNTS = ("710000000011", "710000000012")

# Storage stack outputs, named as in Trend Micro's FSS-Storage-Stack template.
STORAGE_STACK_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "ScanResultTopic": {"Type": "AWS::SNS::Topic"},
        "S3BucketToScan": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": ""}},
    },
    "Outputs": {
        "ScanResultTopicARN": {"Value": {"Ref": "ScanResultTopic"}},
        "ScanningBucket": {"Value": {"Ref": "S3BucketToScan"}},
    },
}

# The root that calls the module (staged as <module copy>/root).
ROOT_TF = """\
variable "name" { type = string }
variable "delivery_mode" { type = string }
variable "scan_result_topic_arns" { type = map(string) }
variable "storage_stack_names" { type = list(string) }
variable "bucket_names" { type = list(string) }
variable "bucket_name_patterns" { type = list(string) }
variable "account_scanner_stack_name" { type = string }
variable "check_bucket_names" { type = string }

module "post_scan" {
  source = "../"

  name                   = var.name
  delivery_mode          = var.delivery_mode
  scan_result_topic_arns = var.scan_result_topic_arns
  storage_stack_names    = var.storage_stack_names
  account_scanner_stack_name = var.account_scanner_stack_name
  bucket_names           = var.bucket_names
  bucket_name_patterns   = var.bucket_name_patterns
  topic_policy_scope     = "account"
  check_bucket_names     = var.check_bucket_names

  delete_malicious     = true
  extract_file_id      = true
  create_file_id_table = true
  kms_key_arns         = ["arn:aws:kms:eu-west-1:710000000099:key/0000-0001"]
  tracing_mode         = "Active"
}
"""


class _Account(Protocol):
    account_id: str
    region: str

    def client(self, service: str) -> Any: ...


def bucket_prefix(account: _Account) -> str:
    """Bucket names are global: each deployment's buckets carry its account id."""
    return f"acme-{account.account_id}-"


def create_foreign_topics(accounts: list[_Account]) -> dict[str, str]:
    """FOREIGN_TOPICS scan-result topics in each FSS account: {label: topic ARN}."""
    topics = {}
    for account in accounts:
        sns = account.client("sns")
        short = account.account_id[-2:]
        for i in range(FOREIGN_TOPICS):
            name = f"fss-{short}-{i:03d}-ScanResultTopic-1A2B3C4D5E6F"
            topics[f"fss-{short}-{i:03d}"] = sns.create_topic(Name=name)["TopicArn"]
    return topics


def create_storage_stacks(account: _Account) -> tuple[list[str], dict[str, str], list[str]]:
    """STACKS storage stacks: (stack names, stack name -> topic ARN, their buckets)."""
    cloudformation = account.client("cloudformation")
    names, buckets = [], []
    for i in range(STACKS):
        name = f"fss-storage-{i:03d}"
        bucket = f"{bucket_prefix(account)}stack-{i:03d}"
        template = copy.deepcopy(STORAGE_STACK_TEMPLATE)
        template["Resources"]["S3BucketToScan"]["Properties"]["BucketName"] = bucket
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
        names.append(name)
        buckets.append(bucket)
    topics = {}
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
            topics[stack["StackName"]] = outputs["ScanResultTopicARN"]
    return names, topics, buckets


ACCOUNT_SCANNER_STACK = "fss-account-scanner"
# The account scanner stack's topic, as Trend Micro's template names it; its outputs parameter is
# written by the template itself (OutputsParameterStore) and here by create_account_scanner.
ACCOUNT_SCANNER_TEMPLATE: dict[str, Any] = {
    "Resources": {"ScanResultTopic": {"Type": "AWS::SNS::Topic"}},
}


def create_account_scanner(account: _Account) -> str:
    """An account scanner stack and its outputs parameter; returns its topic ARN."""
    cloudformation = account.client("cloudformation")
    stack_id = cloudformation.create_stack(
        StackName=ACCOUNT_SCANNER_STACK, TemplateBody=json.dumps(ACCOUNT_SCANNER_TEMPLATE)
    )["StackId"]
    (resource,) = cloudformation.describe_stack_resources(StackName=ACCOUNT_SCANNER_STACK)[
        "StackResources"
    ]
    topic = resource["PhysicalResourceId"]
    # <stack name>-OutputsParameter-<first part of the UUID at the end of the stack id>
    suffix = stack_id.split("/")[2].split("-")[0]
    account.client("ssm").put_parameter(
        Name=f"{ACCOUNT_SCANNER_STACK}-OutputsParameter-{suffix}",
        Type="String",
        Value=json.dumps({"CloudOneRegion": "us-1", "ScanResultTopicARN": topic}),
    )
    return topic


def listed_buckets(account: _Account) -> list[str]:
    return [f"{bucket_prefix(account)}uploads-{i:04d}" for i in range(LISTED_BUCKETS)]


def create_listed_buckets(account: _Account) -> list[str]:
    """The LISTED_BUCKETS buckets in the account (check_bucket_names reads them at plan)."""
    s3 = account.client("s3")
    names = listed_buckets(account)
    location = {"LocationConstraint": account.region}
    for name in names:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration=location)
    return names


def root_variables(
    account: _Account,
    mode: str,
    stacks: list[str],
    foreign_topics: dict[str, str],
    check_bucket_names: str = "off",
) -> dict[str, Any]:
    """The tfvars of ROOT_TF for one delivery mode (the listed buckets are read at plan only with
    check_bucket_names = "plan": they must exist then, create_listed_buckets)."""
    return {
        "name": f"fss-scale-{mode}",
        "delivery_mode": mode,
        "scan_result_topic_arns": foreign_topics,
        "storage_stack_names": stacks,
        "bucket_names": listed_buckets(account),
        "bucket_name_patterns": [f"{bucket_prefix(account)}*"],
        "account_scanner_stack_name": ACCOUNT_SCANNER_STACK,
        "check_bucket_names": check_bucket_names,
    }


def stage_root(destination: Path) -> Path:
    """The module copied to destination and ROOT_TF beside it as destination/root; returns it."""
    root = stage_module(destination) / "root"
    root.mkdir()
    (root / "main.tf").write_text(ROOT_TF)
    return root
