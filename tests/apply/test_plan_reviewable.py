"""Every policy the module writes is known at plan, so a reviewer reads the IAM in the plan.

Plan-level: each configuration is planned (first deploy, empty state) against the emulator, which
only answers the data sources (account, region, partition); the saved plan is read with
`terraform show -json`. No policy argument the module sets may be `(known after apply)`: not the
role's policies, the queue policies, the Lambda permissions, the trust policy, nor the redrive
and filter policies. (The mode switch, a plan against existing state, is checked in
test_apply_pipelines.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _harness import MotoServer, stage_module
from _pipeline import Job, planned_actions, unknown_policy_arguments, write_root

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
        "alarm_topic_arn": f"arn:aws:sns:{REGION}:{account}:ops-alarms",
        "subscription_filter_policy": '{"scanning_result": {"Findings": [{"exists": true}]}}',
    }


CONFIGURATIONS: dict[str, tuple[str, Any]] = {
    "direct-defaults": ("710000000001", lambda account: {}),
    "direct-every-flag": ("710000000002", _every_flag),
    "queue-every-flag": (
        "710000000003",
        lambda account: {
            **_every_flag(account),
            "delivery_mode": "queue",
            "queue": {"kms_key_arn": KEY.format(account=account), "maximum_concurrency": 5},
        },
    ),
    "queue-existing-table": (
        "710000000004",
        lambda account: {
            "delivery_mode": "queue",
            "extract_file_id": True,
            "file_id_table_name": f"arn:aws:dynamodb:{REGION}:{account}:table/app-files",
            "delete_malicious": True,
        },
    ),
}


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_every_policy_is_known_at_plan(
    configuration: str, moto_server: MotoServer, terraform_binary: str, tmp_path: Path
):
    account_id, extra_inputs = CONFIGURATIONS[configuration]
    account = moto_server.account(account_id, REGION)
    stage_module(tmp_path / "module")
    inputs = {
        "name": "fss-reviewed",
        "scan_result_topic_arns": {
            "uploads": f"arn:aws:sns:{REGION}:{account_id}:uploads-ScanResultTopic-1",
            "archive": f"arn:aws:sns:{REGION}:720000000009:archive-ScanResultTopic-2",
        },
        "bucket_names": [f"uploads-{account_id}", f"archive-{account_id}"],
        **extra_inputs(account_id),
    }
    job = Job(
        write_root(tmp_path / "root", account, "../module", inputs),
        terraform_binary,
        moto_server,
        account,
    )
    job.init()
    job.plan()
    plan = job.show_json()

    actions = planned_actions(plan)
    assert actions, "a first deploy creates resources"
    assert all(a == ["create"] for a in actions.values()), actions
    assert unknown_policy_arguments(plan) == []
    # The check itself sees the unknowns a first deploy has (so it cannot pass by reading nothing).
    role = next(
        c for c in plan["resource_changes"] if c["address"] == "module.post_scan.aws_iam_role.this"
    )
    assert role["change"]["after_unknown"]["arn"] is True
