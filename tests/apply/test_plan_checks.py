"""Mistakes the plan catches (checks.tf), against the emulator's real API answers.

The mocked provider of the plan-level tests reads anything; here the AWS provider asks the
emulator: a listed bucket that does not exist fails the plan and the error names it; an existing
table keyed by another attribute (or with a sort key) fails it with both keys named; a bucket the
same configuration creates fails check_bucket_names = "plan" (it does not exist yet) and passes
"apply", which reads it once Terraform has created it, and still names a misspelled one then.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from _harness import MotoServer
from _pipeline import Job

from emulator.staging import TerraformFailed

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

REGION = "eu-west-1"
ACCOUNT = "711100000007"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:uploads-ScanResultTopic-1"


def _inputs(name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "name": name,
        "scan_result_topic_arns": {"uploads": TOPIC},
        "bucket_names": [f"uploads-{ACCOUNT}"],
        "create_alarms": False,
        **inputs,
    }


def _module(name: str, **inputs: Any) -> dict[str, Any]:
    """A further module call in the root (beside the post_scan call Job.module_root writes)."""
    return {"source": "../module", **_inputs(name, **inputs)}


def _failed(job: Job, *args: str) -> str:
    with pytest.raises(TerraformFailed) as failed:
        job.run(*args)
    return re.sub(r"[│╷╵]", "", failed.value.output)


@pytest.fixture(scope="module")
def account(moto_server: MotoServer) -> Any:
    account = moto_server.account(ACCOUNT, REGION)
    s3 = account.client("s3")
    s3.create_bucket(
        Bucket=f"uploads-{ACCOUNT}", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    dynamodb = account.client("dynamodb")
    dynamodb.create_table(
        TableName="keyed-by-id",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    dynamodb.create_table(
        TableName="with-sort-key",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "file_id", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "file_id", "KeyType": "HASH"},
            {"AttributeName": "version", "KeyType": "RANGE"},
        ],
    )
    return account


def test_plan_names_missing_buckets_and_wrong_table_keys(
    moto_server: MotoServer, terraform_binary: str, tmp_path: Path, account: Any
):
    created = f"created-alongside-{ACCOUNT}"
    job = Job.module_root(
        tmp_path,
        moto_server,
        account,
        terraform_binary,
        _inputs("fss-typo", bucket_names=[f"uploads-{ACCOUNT}", f"uplaods-{ACCOUNT}"]),
        extra={
            "resource": {"aws_s3_bucket": {"created": {"bucket": created}}},
            "module": {
                "wrong_key": _module(
                    "fss-wrong-key", extract_file_id=True, file_id_table_name="keyed-by-id"
                ),
                "sort_key": _module(
                    "fss-sort-key", extract_file_id=True, file_id_table_name="with-sort-key"
                ),
                "created": _module("fss-created", bucket_names=["${aws_s3_bucket.created.bucket}"]),
                # The same bucket by its id, unknown at plan: read at apply, and it plans.
                "by_id": _module("fss-by-id", bucket_names=["${aws_s3_bucket.created.id}"]),
            },
        },
    )
    text = " ".join(_failed(job, "plan", "-input=false", "-no-color", "-lock=false").split())
    # The misspelled bucket, with the input it came from; not the right one.
    assert f"reading S3 Bucket (uplaods-{ACCOUNT}): couldn't find resource" in text
    assert 'module.post_scan.data.aws_s3_bucket.bucket_names["1"]' in text
    assert f"reading S3 Bucket (uploads-{ACCOUNT})" not in text
    # Both keys of the table keyed by another attribute.
    assert (
        'The file id table keyed-by-id has the partition key "id" (type S), but '
        'file_id_table_key = "file_id"'
    ) in text
    assert 'Set file_id_table_key = "id" if that attribute holds the file id' in text
    # The table with a sort key.
    assert 'has the partition key "file_id" (type S) and the sort key "version"' in text
    # A bucket the same configuration creates does not exist at plan: "plan" cannot read it.
    assert f"reading S3 Bucket ({created}): couldn't find resource" in text
    assert "module.created.data.aws_s3_bucket.bucket_names" in text
    errors = text.split("Error: ")[1:]
    assert not [e for e in errors if "module.by_id." in e or "Invalid for_each" in e], errors


def test_apply_mode_reads_buckets_created_alongside_after_creating_them(
    moto_server: MotoServer, terraform_binary: str, tmp_path: Path, account: Any
):
    created = f"made-here-{ACCOUNT}"
    typo = f"mistyped-{ACCOUNT}"
    job = Job.module_root(
        tmp_path,
        moto_server,
        account,
        terraform_binary,
        _inputs(
            "fss-apply-mode",
            bucket_names=["${aws_s3_bucket.created.bucket}", f"uploads-{ACCOUNT}"],
            check_bucket_names="apply",
        ),
        extra={"resource": {"aws_s3_bucket": {"created": {"bucket": created}}}},
    )
    # The plan succeeds: the buckets are read at apply, after the one made here exists.
    job.plan()
    plan = job.show_json()
    reads = {
        c["address"]: c["change"]["actions"]
        for c in plan["resource_changes"]
        if c["address"].startswith("module.post_scan.data.aws_s3_bucket.bucket_names")
    }
    assert reads == {
        'module.post_scan.data.aws_s3_bucket.bucket_names["0"]': ["read"],
        'module.post_scan.data.aws_s3_bucket.bucket_names["1"]': ["read"],
    }
    # Applying the check (and what it depends on) creates the bucket, then reads it.
    target = "-target=module.post_scan.data.aws_s3_bucket.bucket_names"
    job.run("apply", "-input=false", "-no-color", "-auto-approve", target)
    assert created in [b["Name"] for b in account.client("s3").list_buckets()["Buckets"]]
    # A misspelled name still fails, at apply, named.
    document = (job.root / "main.tf.json").read_text()
    (job.root / "main.tf.json").write_text(document.replace(f"uploads-{ACCOUNT}", typo))
    text = " ".join(
        _failed(job, "apply", "-input=false", "-no-color", "-auto-approve", target).split()
    )
    assert f"reading S3 Bucket ({typo}): couldn't find resource" in text
