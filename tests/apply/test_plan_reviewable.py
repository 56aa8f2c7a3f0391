"""Every policy the module writes is known at plan, so a reviewer reads the IAM in the plan.

Plan-level: each configuration is planned (first deploy, empty state) against the emulator, which
only answers the data sources (account, region, partition, the listed buckets); the saved plan is
read with `terraform show -json`. No policy argument the module sets may be `(known after
apply)`: not the role's policies, the queue policies, the Lambda permissions, the trust policy,
nor the redrive and filter policies. (The mode switch, a plan against existing state, is checked
in test_apply_pipelines.py.)

Every example (each folder of examples/, found anew on every run) and the README's usage block
are held to the same, on the very plan the apply tests apply (a first deploy: the keys and
buckets the examples create are unknown then), and so is the module's read_protection_policies
output. An example without a scenario in _scenarios.py fails here until it gets one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _harness import OUTPUTS_OUTPUT, REPO_ROOT, Fleet, MotoServer
from _pipeline import Job, any_unknown, planned_actions, unknown_policy_arguments
from _scenarios import ALL_KEYS, README_KEY

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

REGION = "eu-west-3"
KEY = "arn:aws:kms:eu-west-3:{account}:key/0b5a3c1e-1111-2222-3333-444455556666"
ROUTE_KEY = "arn:aws:kms:eu-west-3:{account}:key/0b5a3c1e-7777-8888-9999-000011112222"


def _every_flag(account: str) -> dict[str, Any]:
    return {
        "delete_malicious": True,
        "extract_file_id": True,
        "create_file_id_table": True,
        "file_id_table_kms_key_arn": KEY.format(account=account),
        "routes": {
            "malicious": {
                "bucket": f"quarantine-{account}",
                "prefix": "q/",
                "kms_key_arn": ROUTE_KEY.format(account=account),
            },
            "clean": {"bucket": f"arn:aws:s3:::promoted-{account}"},
        },
        "kms_key_arns": [KEY.format(account=account)],
        "tracing_mode": "Active",
        "vpc_subnet_ids": ["subnet-0123456789abcdef0"],
        "vpc_security_group_ids": ["sg-0123456789abcdef0"],
        "role_permissions_boundary_arn": f"arn:aws:iam::{account}:policy/boundary",
        "role_path": "/service/",
        "dead_letter_queue_kms_key_arn": KEY.format(account=account),
        "alarm_topic_arns": [f"arn:aws:sns:{REGION}:{account}:ops-alarms"],
        "subscription_filter_policy": '{"scanning_result": {"Findings": [{"exists": true}]}}',
    }


ACCOUNT = "710000000001"

# Module call -> its inputs besides name, topics and buckets; one root calls the module once per
# configuration, so a single plan covers them all.
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "direct_defaults": {},
    "direct_every_flag": _every_flag(ACCOUNT),
    "queue_every_flag": {
        **_every_flag(ACCOUNT),
        "delivery_mode": "queue",
        "queue": {"kms_key_arn": KEY.format(account=ACCOUNT), "maximum_concurrency": 5},
    },
    "queue_existing_table": {
        "delivery_mode": "queue",
        "extract_file_id": True,
        "file_id_table_name": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/app-files",
        "delete_malicious": True,
    },
}


def _inputs(call: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"fss-{call.replace('_', '-')}",
        "scan_result_topic_arns": {
            "uploads": f"arn:aws:sns:{REGION}:{ACCOUNT}:uploads-ScanResultTopic-1",
            "archive": f"arn:aws:sns:{REGION}:720000000009:archive-ScanResultTopic-2",
        },
        "bucket_names": [f"uploads-{ACCOUNT}", f"archive-{ACCOUNT}"],
        **extra,
    }


def test_every_policy_is_known_at_plan(
    moto_server: MotoServer, terraform_binary: str, tmp_path: Path
):
    account = moto_server.account(ACCOUNT, REGION)
    # What the plan reads: the listed buckets (check_bucket_names) and the existing table.
    for bucket in _inputs("any", {})["bucket_names"]:
        account.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    account.client("dynamodb").create_table(
        TableName="app-files",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
    )
    calls = sorted(CONFIGURATIONS)
    job = Job.module_root(
        tmp_path,
        moto_server,
        account,
        terraform_binary,
        _inputs(calls[0], CONFIGURATIONS[calls[0]]),
        extra={
            "module": {
                call: {"source": "../module", **_inputs(call, CONFIGURATIONS[call])}
                for call in calls[1:]
            }
        },
    )
    job.plan()
    plan = job.show_json()

    actions = planned_actions(plan)
    for call in ["post_scan", *calls[1:]]:
        assert any(a.startswith(f"module.{call}.") for a in actions), f"{call} plans nothing"
    assert all(a == ["create"] for a in actions.values()), actions
    assert unknown_policy_arguments(plan) == []
    # The check itself sees the unknowns a first deploy has (so it cannot pass by reading nothing).
    roles = [c for c in plan["resource_changes"] if c["address"].endswith(".aws_iam_role.this")]
    assert len(roles) == len(calls)
    assert all(role["change"]["after_unknown"]["arn"] is True for role in roles)


EXAMPLES = sorted(p.parent.name for p in (REPO_ROOT / "examples").glob("*/main.tf"))
# Policies of the module that may stay unknown at plan in a root, and why. None today: a key
# created in the same configuration is given with its alias (kms_key_alias), a bucket by its
# name (.bucket, not .id).
EXCEPTIONS: dict[str, str] = {}


def unknown_read_protection_policies(plan: dict[str, Any]) -> bool:
    """Whether the module's read_protection_policies output (echoed by the apply tests' root
    output apply_test_module_outputs) is unknown, in whole or in part, at plan."""
    unknown = plan["output_changes"][OUTPUTS_OUTPUT]["after_unknown"]
    if unknown is True:
        return True
    value = unknown.get("read_protection_policies", False)
    return any_unknown(value)


@pytest.mark.parametrize("scenario", [*EXAMPLES, README_KEY])
def test_every_example_plans_every_policy_known(fleet: Fleet, scenario: str):
    if scenario not in ALL_KEYS:
        pytest.fail(
            f"examples/{scenario} has no scenario in tests/apply/_scenarios.py: add one (its "
            "prerequisites and tfvars) so that it is applied and its plan reviewed",
            pytrace=False,
        )
    plan = fleet.applied(scenario).plan
    assert plan is not None
    unknown = [
        found for found in unknown_policy_arguments(plan) if f"{scenario}:{found}" not in EXCEPTIONS
    ]
    assert unknown == [], f"unknown at plan in {scenario}: {unknown}"
    assert not unknown_read_protection_policies(plan)
    # The check reads a first deploy's plan, where the function's ARN is not known yet.
    functions = [c for c in plan["resource_changes"] if c["type"] == "aws_lambda_function"]
    assert functions and all(c["change"]["after_unknown"]["arn"] is True for c in functions)
