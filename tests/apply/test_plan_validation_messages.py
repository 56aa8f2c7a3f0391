"""Every validation of a list or map input names the entry that is wrong.

Plan-level: a root calls the module with one bad entry among good ones; `terraform plan` must fail
with the input's message, and the message must name the bad entry (key, index value or
`routes.<verdict>.<field>`), so that a platform engineer with 40 buckets sees which one; so do the
preconditions over lists and maps (routes into scanned buckets, owners of a shared route bucket).
The emulator only answers the data sources; nothing is created. (`terraform test` can only expect
a validation to fail, not read its message, hence this test.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import background
import pytest
from _harness import MotoServer
from _pipeline import Job
from tooling import terraform_ready

from emulator.staging import TerraformFailed

pytestmark = [pytest.mark.terraform, pytest.mark.apply]

REGION = "eu-west-1"
ACCOUNT = "711100000001"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:uploads-ScanResultTopic-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b5a3c1e-1111-2222-3333-444455556666"
GD_PLAN = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
BASE: dict[str, Any] = {
    "name": "fss-messages",
    "scan_result_topic_arns": {"uploads": TOPIC},
    "bucket_names": ["uploads-bucket"],
    # The buckets named here exist nowhere; reading them is test_plan_checks.py's subject.
    "check_bucket_names": "off",
    "create_alarms": False,
}

# case -> (inputs over BASE, text the error must contain, texts it must not contain)
CASES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    "topic-key": (
        {"scan_result_topic_arns": {"uploads": TOPIC, "bad key!": TOPIC + "2"}},
        ['"bad key!"'],
        ['"uploads"'],
    ),
    "topic-arn": (
        {"scan_result_topic_arns": {"uploads": TOPIC, "archive": f"arn:aws:sqs:{REGION}:1:q"}},
        [f'archive = "arn:aws:sqs:{REGION}:1:q"'],
        ["uploads ="],
    ),
    "topic-fifo": (
        {"scan_result_topic_arns": {"uploads": TOPIC, "ordered": TOPIC + ".fifo"}},
        [f"ordered = {TOPIC}.fifo"],
        ["uploads ="],
    ),
    "topic-twice": (
        {"scan_result_topic_arns": {"a": TOPIC, "b": TOPIC, "c": TOPIC + "3"}},
        [f"more than once: {TOPIC}."],
        [TOPIC + "3"],
    ),
    "bucket-name": (
        {"bucket_names": ["uploads-bucket", "Bad_Bucket", "archive-bucket"]},
        ['"Bad_Bucket"'],
        ['"uploads-bucket"', '"archive-bucket"'],
    ),
    "bucket-by-name-and-arn": (
        {"bucket_names": ["uploads-bucket", "other-bucket", "arn:aws:s3:::uploads-bucket"]},
        ["more than once: uploads-bucket."],
        ["other-bucket"],
    ),
    "record-verdict": (
        {"record_verdicts": ["malicious", "infected"]},
        ['"infected"'],
        ['"malicious"'],
    ),
    "record-verdict-twice": (
        {"record_verdicts": ["clean", "failed", "clean"]},
        ["more than once: clean."],
        ["failed"],
    ),
    "route-key": (
        {"routes": {"malicious": {"bucket": "q-bucket"}, "quarantine": {"bucket": "q-bucket"}}},
        ['"quarantine"'],
        ['"malicious"'],
    ),
    "route-bucket": (
        {"routes": {"malicious": {"bucket": "q-bucket"}, "clean": {"bucket": "Promote"}}},
        ['routes.clean.bucket = "Promote"'],
        ["routes.malicious"],
    ),
    "route-prefix": (
        {"routes": {"malicious": {"bucket": "q-bucket", "prefix": "/abs/"}}},
        ['routes.malicious.prefix = "/abs/"'],
        [],
    ),
    "route-key-arn": (
        {
            "routes": {
                "malicious": {"bucket": "q-bucket", "kms_key_arn": KEY},
                "failed": {"bucket": "q-bucket", "prefix": "f/", "kms_key_arn": "alias/review"},
            }
        },
        ['routes.failed.kms_key_arn = "alias/review"'],
        ["routes.malicious"],
    ),
    "kms-key": (
        {"kms_key_arns": [KEY, f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"]},
        [f'"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"'],
        [f'"{KEY}"'],
    ),
    "subnet": (
        {
            "vpc_subnet_ids": ["subnet-0123456789abcdef0", "subnet-nothex"],
            "vpc_security_group_ids": ["sg-0123456789abcdef0"],
        },
        ['"subnet-nothex"'],
        ['"subnet-0123456789abcdef0"'],
    ),
    "security-group": (
        {
            "vpc_subnet_ids": ["subnet-0123456789abcdef0"],
            "vpc_security_group_ids": ["sg-0123456789abcdef0", "sg-x"],
        },
        ['"sg-x"'],
        ['"sg-0123456789abcdef0"'],
    ),
    "alarm-topic": (
        {"alarm_topic_arns": [TOPIC, f"arn:aws:sqs:{REGION}:{ACCOUNT}:alarms"]},
        [f'"arn:aws:sqs:{REGION}:{ACCOUNT}:alarms"'],
        [f'"{TOPIC}"'],
    ),
    "alarm-topics-too-many": (
        {"alarm_topic_arns": [f"{TOPIC}-{i}" for i in range(6)]},
        ["given 6"],
        [],
    ),
    "stack-name": (
        {
            "storage_stack_names": [
                "uploads-stack",
                f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/x/1",
            ]
        },
        [f'"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/x/1"'],
        ['"uploads-stack"'],
    ),
    "stack-twice": (
        {"storage_stack_names": ["uploads-stack", "archive-stack", "uploads-stack"]},
        ["more than once: uploads-stack."],
        ["archive-stack"],
    ),
    "bucket-pattern": (
        {"bucket_name_patterns": ["uploads-*", "Uploads/*", "a..b"]},
        ['"Uploads/*"', '"a..b"'],
        ['"uploads-*"'],
    ),
    "bucket-pattern-twice": (
        {"bucket_name_patterns": ["uploads-*", "archive-*", "uploads-*"]},
        ["more than once: uploads-*."],
        ["archive-*"],
    ),
    "route-owner": (
        {
            "routes": {
                "malicious": {"bucket": "q-bucket", "bucket_owner": ACCOUNT},
                "failed": {"bucket": "f-bucket", "bucket_owner": "12345"},
            }
        },
        ['routes.failed.bucket_owner = "12345"'],
        ["routes.malicious"],
    ),
    "scan-type": (
        {"route_scan_types": ["manual", "full"]},
        ['not "full".'],
        ['not "manual"', '"full", "manual"', '"manual", "full"'],
    ),
    "scan-type-twice": (
        {"route_scan_types": ["manual", "schedule", "manual"]},
        ["more than once: manual."],
        ["schedule"],
    ),
    "scanner-routed-verdict": (
        {"scanner_routed_verdicts": ["malicious", "infected"]},
        ['"infected"'],
        ['"malicious"'],
    ),
    "scanner-routed-verdict-twice": (
        {"scanner_routed_verdicts": ["clean", "malicious", "clean"]},
        ["more than once: clean."],
        ["malicious"],
    ),
    "email-address": (
        {"notify_email_addresses": ["ops@example.com", "ops"]},
        ['"ops"'],
        ['"ops@example.com"'],
    ),
    "email-address-twice": (
        {"notify_email_addresses": ["ops@example.com", "sec@example.com", "ops@example.com"]},
        ["more than once: ops@example.com."],
        ["sec@example.com"],
    ),
    "email-verdict": (
        {"notify_email_verdicts": ["malicious", "virus"]},
        ['"virus"'],
        ['"malicious"'],
    ),
    "notify-verdict": (
        {"notify_verdicts": ["failed", "virus"]},
        ['"virus"'],
        ['"failed"'],
    ),
    "notify-verdict-twice": (
        {"notify_verdicts": ["failed", "malicious", "failed"]},
        ["more than once: failed."],
        ["malicious"],
    ),
    "exempt-arn": (
        {
            "read_protection_exempt_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/Scanner",
                f"arn:aws:sts::{ACCOUNT}:assumed-role/Scanner/s1",
            ]
        },
        [f'"arn:aws:sts::{ACCOUNT}:assumed-role/Scanner/s1"'],
        [f'"arn:aws:iam::{ACCOUNT}:role/Scanner"'],
    ),
    "exempt-every-role": (
        {
            "read_protection_exempt_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/Scanner",
                f"arn:aws:iam::{ACCOUNT}:role/*",
            ]
        },
        [f'"arn:aws:iam::{ACCOUNT}:role/*"'],
        [f'"arn:aws:iam::{ACCOUNT}:role/Scanner"'],
    ),
    "exempt-arn-twice": (
        {
            "read_protection_exempt_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/A",
                f"arn:aws:iam::{ACCOUNT}:role/B",
                f"arn:aws:iam::{ACCOUNT}:role/A",
            ]
        },
        [f"more than once: arn:aws:iam::{ACCOUNT}:role/A."],
        [f"arn:aws:iam::{ACCOUNT}:role/B"],
    ),
    "guardduty-entries": (
        {
            "guardduty_plans": {
                "good": {"bucket_name": "gd-good"},
                "bad label!": {"bucket_name": "gd-a"},
                "bucket": {"bucket_name": "Bad_Bucket_GD"},
                "plan": {"bucket_name": "gd-b", "plan_arn": f"arn:aws:guardduty:{REGION}:1:x/y"},
                "six": {"bucket_name": "gd-c", "prefixes": list("abcdef")},
                "prefix": {"bucket_name": "gd-d", "prefixes": ["ok/", "bad*"]},
                "kms": {"bucket_name": "gd-e", "kms_key_arns": ["alias/gd"]},
            }
        },
        [
            '"bad label!"',
            'guardduty_plans.bucket.bucket_name = "Bad_Bucket_GD"',
            f'guardduty_plans.plan.plan_arn = "arn:aws:guardduty:{REGION}:1:x/y"',
            "guardduty_plans.six.prefixes (6)",
            'guardduty_plans.prefix.prefixes "bad*"',
            'guardduty_plans.kms.kms_key_arns "alias/gd"',
        ],
        ["guardduty_plans.good", '"ok/"', '"gd-good"'],
    ),
    "guardduty-bucket-twice": (
        {
            "guardduty_plans": {
                "a": {"bucket_name": "gd-x"},
                "b": {"bucket_name": "gd-x"},
                "c": {"bucket_name": "gd-y"},
            }
        },
        ["more than once: gd-x (a, b)."],
        ["gd-y"],
    ),
    "guardduty-settings-of-the-other-kind-of-plan": (
        {
            "guardduty_plans": {
                "given": {"bucket_name": "gd-a", "plan_arn": GD_PLAN, "prefixes": ["x/"]},
                "created": {"bucket_name": "gd-b", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/r"},
                "fine": {"bucket_name": "gd-c", "prefixes": ["y/"]},
            }
        },
        ["in guardduty_plans.given.", "guardduty_plans.created.role_arn = "],
        ["guardduty_plans.fine", "guardduty_plans.given.role_arn"],
    ),
    "exempt-tagging-role": (
        {
            "read_protection_exempt_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/break-glass/Oncall",
                f"arn:aws:iam::{ACCOUNT}:role/Stack-PostScanActionTagExecutionRole-1",
            ]
        },
        [f'move "arn:aws:iam::{ACCOUNT}:role/Stack-PostScanActionTagExecutionRole-1"'],
        ["Oncall"],
    ),
    "scanner-arn": (
        {
            "read_protection_scanner_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/Scanner",
                f"arn:aws:iam::{ACCOUNT}:root",
            ]
        },
        [f'"arn:aws:iam::{ACCOUNT}:root"'],
        [f'"arn:aws:iam::{ACCOUNT}:role/Scanner"'],
    ),
    "scanner-every-role": (
        {
            "read_protection_scanner_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/Scanner",
                f"arn:aws:iam::{ACCOUNT}:role/*",
            ]
        },
        [f'"arn:aws:iam::{ACCOUNT}:role/*"'],
        [f'"arn:aws:iam::{ACCOUNT}:role/Scanner"'],
    ),
    "scanner-arn-twice": (
        {
            "read_protection_scanner_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/A",
                f"arn:aws:iam::{ACCOUNT}:role/B",
                f"arn:aws:iam::{ACCOUNT}:role/A",
            ]
        },
        [f"more than once: arn:aws:iam::{ACCOUNT}:role/A."],
        [f"arn:aws:iam::{ACCOUNT}:role/B"],
    ),
    "alarm-threshold": (
        {"alarms": {"errors_threshold": -1, "throttles_threshold": 2}},
        ["alarms.errors_threshold = -1"],
        ["throttles_threshold"],
    ),
}


OTHER = "444455556666"
GD_PLAN_ELSEWHERE = f"arn:aws:guardduty:us-east-1:{ACCOUNT}:malware-protection-plan/elsewhere1"
# Preconditions over lists and maps, and of outputs (one plan each):
# case -> (inputs over BASE, wanted, unwanted)
PRECONDITION_CASES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    "route-into-scanned-bucket-without-prefix": (
        {"routes": {"malicious": {"bucket": "uploads-bucket"}, "clean": {"bucket": "c-bucket"}}},
        ['no prefix: routes.malicious.bucket = "uploads-bucket".'],
        ["routes.clean"],
    ),
    "route-into-scanned-bucket-of-another-owner": (
        {
            "routes": {
                "malicious": {"bucket": "uploads-bucket", "prefix": "q/", "bucket_owner": OTHER},
                "clean": {"bucket": "c-bucket", "bucket_owner": OTHER},
            }
        },
        [f'routes.malicious.bucket_owner = "{OTHER}" (bucket uploads-bucket)'],
        ["routes.clean"],
    ),
    "routes-into-one-bucket-with-two-owners": (
        {
            "routes": {
                "malicious": {"bucket": "q-bucket", "bucket_owner": OTHER},
                "failed": {"bucket": "q-bucket", "prefix": "f/"},
                "clean": {"bucket": "c-bucket"},
            }
        },
        [
            f'q-bucket (routes.failed.bucket_owner = "{ACCOUNT}", '
            f'routes.malicious.bucket_owner = "{OTHER}")'
        ],
        ["routes.clean", "c-bucket"],
    ),
    "guardduty-plan-of-another-region": (
        {
            "guardduty_plans": {
                "east": {"bucket_name": "gd-a", "plan_arn": GD_PLAN_ELSEWHERE},
                "here": {"bucket_name": "gd-b", "plan_arn": GD_PLAN},
            }
        },
        [f"guardduty_plans.east.plan_arn = {GD_PLAN_ELSEWHERE}"],
        ["guardduty_plans.here"],
    ),
    "guardduty-read-protection-needs-the-plans-role": (
        {
            "read_protection": "malicious",
            "guardduty_plans": {
                "no_role": {"bucket_name": "gd-a", "plan_arn": GD_PLAN},
                "created": {"bucket_name": "gd-b"},
            },
        },
        ["give role_arn (the existing plan's role) in guardduty_plans.no_role."],
        ["guardduty_plans.created"],
    ),
    "read-protection-policy-over-20-kb": (
        {
            "bucket_names": ["uploads-bucket", "archive-bucket"],
            "read_protection": "until_clean",
            "read_protection_exempt_principal_arns": [
                f"arn:aws:iam::{ACCOUNT}:role/{'r' * 150}{i}" for i in range(150)
            ],
        },
        ["(archive-bucket: ", " bytes, uploads-bucket: ", " bytes)"],
        [],
    ),
}


def _errors(output: str, title: str) -> list[tuple[str, str]]:
    """(first value line, message) of each `Error: <title>`, the message on one line: the text
    after the values Terraform shows under the source snippet (which echoes the whole input;
    `var.x is list of string with 3 elements`, `var.alarms.errors_threshold is -1`), up to
    `This was checked by` or the end of the box."""
    found: list[tuple[str, str]] = []
    for block in output.split(f"Error: {title}")[1:]:
        lines: list[str] = []
        for raw in block.splitlines():
            if raw.lstrip().startswith("╵"):
                break
            lines.append(re.sub(r"^[\s│╷]+", "", raw).rstrip())
        values = next((i for i, line in enumerate(lines) if line.startswith("├")), None)
        if values is None or "" not in lines[values + 1 :]:
            continue
        body = lines[values + 1 :]
        message = " ".join(line for line in body[body.index("") :] if line)
        found.append((body[0], message.split(" This was checked by")[0]))
    return found


def _messages(output: str) -> dict[str, list[str]]:
    """Variable name -> the error messages of its failed validations."""
    found: dict[str, list[str]] = {}
    for value, message in _errors(output, "Invalid value for variable"):
        named = re.match(r"var\.(\w+)", value)
        if named:
            found.setdefault(named.group(1), []).append(message)
    return found


def _rounds() -> list[list[str]]:
    """The cases grouped so that no two in a group set the same input: one plan per group
    reports every failed validation of every input (Terraform checks all of them)."""
    rounds: list[list[str]] = []
    for case in sorted(CASES):
        inputs = set(CASES[case][0])
        for group in rounds:
            if not inputs & {name for other in group for name in CASES[other][0]}:
                group.append(case)
                break
        else:
            rounds.append([case])
    return rounds


def _failed_plan(job: Job, document: str, inputs: dict[str, Any]) -> str:
    """The output of a plan of the root `document` with `inputs` over the module's (empty when
    it planned)."""
    config = json.loads(document)
    config["module"]["post_scan"].update(inputs)
    (job.root / "main.tf.json").write_text(json.dumps(config, indent=2))
    try:
        job.run("plan", "-input=false", "-no-color", "-lock=false")
    except TerraformFailed as failed:
        return failed.output
    return ""


@background.work("messages")
def _plan_messages(session: pytest.Session) -> dict[str, list[str]]:
    """Case -> the messages of the inputs it sets: validations from one failed plan per round,
    preconditions from one plan per case (in the background from the end of collection, on a
    server of its own)."""
    terraform = terraform_ready()
    workdir = session.config._tmp_path_factory.mktemp("messages")  # the tmp_path_factory's
    server = MotoServer(workdir / "moto-server.log")
    background.at_exit(server.stop)
    account = server.account(ACCOUNT, REGION)
    job = Job.module_root(workdir, server, account, terraform, BASE)
    job.plan()  # the good inputs plan
    document = (job.root / "main.tf.json").read_text()
    found: dict[str, list[str]] = {}
    for group in _rounds():
        output = _failed_plan(job, document, {k: v for c in group for k, v in CASES[c][0].items()})
        assert "Invalid value for variable" in output, f"{group} planned without an error"
        by_variable = _messages(output)
        for case in group:
            found[case] = [m for name in CASES[case][0] for m in by_variable.get(name, [])]
    for case, (inputs, _, _) in PRECONDITION_CASES.items():
        output = _failed_plan(job, document, inputs)
        assert "precondition failed" in output, f"{case} planned without an error"
        found[case] = [
            m
            for title in ("Resource precondition failed", "Module output value precondition failed")
            for _, m in _errors(output, title)
        ]
    (job.root / "main.tf.json").write_text(document)
    return found


@pytest.fixture(scope="module")
def messages(request: pytest.FixtureRequest) -> dict[str, list[str]]:
    return background.result("messages", request.session)


@pytest.mark.parametrize("case", sorted(CASES) + sorted(PRECONDITION_CASES))
def test_validation_names_the_bad_entry(case: str, messages: dict[str, list[str]]):
    inputs, wanted, unwanted = {**CASES, **PRECONDITION_CASES}[case]
    text = " ".join(messages[case])
    assert text, f"no validation message for {sorted(inputs)}"
    for fragment in wanted:
        assert fragment in text, f"{fragment!r} not named in: {text}"
    for fragment in unwanted:
        assert fragment not in text, f"{fragment!r} is fine but named in: {text}"
