"""AWS quotas on the documents a deployment holds, checked the way AWS counts them.

The emulator (moto) enforces none of these, so the apply tests read what was deployed and call
these checks. Each check returns the problems it found (an empty list: within every quota), so a
test can report them all at once. Numbers and how AWS counts them: docs/scale.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# IAM: all inline policies of one role together, whitespace not counted.
IAM_INLINE_CHARACTERS_PER_ROLE = 10_240
# IAM: one customer managed policy (whitespace not counted), and how many a role may attach.
IAM_MANAGED_POLICY_CHARACTERS = 6_144
IAM_MANAGED_POLICIES_PER_ROLE = 10
# Lambda: the function's resource-based policy, and all environment variables as JSON.
LAMBDA_RESOURCE_POLICY_BYTES = 20_480
LAMBDA_ENVIRONMENT_BYTES = 4_096
# SQS: a queue's access policy.
SQS_POLICY_BYTES = 8_192
SQS_POLICY_STATEMENTS = 20
SQS_POLICY_CONDITIONS = 10
# SNS: a topic's access policy; KMS: a key policy.
SNS_TOPIC_POLICY_BYTES = 30_720
KMS_KEY_POLICY_BYTES = 32_768

_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Size:
    """One document's measure next to its quota."""

    what: str
    measured: int
    quota: int
    unit: str

    @property
    def ok(self) -> bool:
        return self.measured <= self.quota

    def __str__(self) -> str:
        return f"{self.what}: {self.measured:,} of {self.quota:,} {self.unit}"


def iam_characters(document: str | dict[str, Any]) -> int:
    """Characters IAM counts in a policy: every character but whitespace (also inside strings)."""
    text = document if isinstance(document, str) else json.dumps(document)
    return len(_WHITESPACE.sub("", text))


def _bytes(document: str | dict[str, Any]) -> int:
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    return len(text.encode("utf-8"))


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def condition_count(document: dict[str, Any]) -> int:
    """Conditions as SQS counts them: one per key under each condition operator, all statements."""
    return sum(
        len(keys)
        for statement in _statements(document)
        for keys in (statement.get("Condition") or {}).values()
    )


def role_sizes(iam: Any, role_name: str) -> list[Size]:
    """The role's inline policies (together) and each attached customer managed policy."""
    inline = 0
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for name in page["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            inline += iam_characters(document)
    sizes = [
        Size(
            f"role {role_name} inline policies",
            inline,
            IAM_INLINE_CHARACTERS_PER_ROLE,
            "characters",
        )
    ]
    attached = [
        policy
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
        for policy in page["AttachedPolicies"]
    ]
    sizes.append(
        Size(
            f"role {role_name} attached policies",
            len(attached),
            IAM_MANAGED_POLICIES_PER_ROLE,
            "policies",
        )
    )
    for policy in attached:
        arn = policy["PolicyArn"]
        if ":aws:policy/" in arn:  # AWS managed: not the deployment's document
            continue
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"][
            "Document"
        ]
        sizes.append(
            Size(
                f"managed policy {arn}",
                iam_characters(document),
                IAM_MANAGED_POLICY_CHARACTERS,
                "characters",
            )
        )
    return sizes


def function_sizes(lambda_: Any, function_name: str) -> list[Size]:
    """The function's environment and its resource-based policy (none: 0 bytes)."""
    configuration = lambda_.get_function_configuration(FunctionName=function_name)
    variables = configuration.get("Environment", {}).get("Variables", {})
    # Lambda measures the variables as a JSON object (its error message quotes that string).
    environment = _bytes(json.dumps(variables, separators=(",", ":")))
    try:
        policy = lambda_.get_policy(FunctionName=function_name)["Policy"]
    except lambda_.exceptions.ResourceNotFoundException:
        policy = ""
    return [
        Size(
            f"function {function_name} environment", environment, LAMBDA_ENVIRONMENT_BYTES, "bytes"
        ),
        Size(
            f"function {function_name} resource policy",
            _bytes(policy),
            LAMBDA_RESOURCE_POLICY_BYTES,
            "bytes",
        ),
    ]


def queue_sizes(sqs: Any, queue_url: str) -> list[Size]:
    """The queue's access policy: bytes, statements, conditions."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])[
        "Attributes"
    ]
    text = attributes.get("Policy", "")
    document = json.loads(text) if text else {}
    name = queue_url.rsplit("/", 1)[-1]
    return [
        Size(f"queue {name} policy", _bytes(text), SQS_POLICY_BYTES, "bytes"),
        Size(
            f"queue {name} policy", len(_statements(document)), SQS_POLICY_STATEMENTS, "statements"
        ),
        Size(
            f"queue {name} policy", condition_count(document), SQS_POLICY_CONDITIONS, "conditions"
        ),
    ]


def topic_sizes(sns: Any, topic_arn: str) -> list[Size]:
    policy = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("Policy", "")
    return [Size(f"topic {topic_arn} policy", _bytes(policy), SNS_TOPIC_POLICY_BYTES, "bytes")]


def key_sizes(kms: Any, key_id: str) -> list[Size]:
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    return [Size(f"key {key_id} policy", _bytes(policy), KMS_KEY_POLICY_BYTES, "bytes")]


def over_quota(sizes: list[Size]) -> list[str]:
    """The sizes that exceed their quota, as readable lines (empty: all within)."""
    return [str(size) for size in sizes if not size.ok]
