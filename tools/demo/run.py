"""`make demo`: apply examples/complete, feed it scan results, show before/after, destroy it all.

Steps print as they go ("[4/9] applying examples/complete ..."). A failure names the step and
why, and the clean-up steps (destroy, remove the simulated infrastructure, stop the emulator)
still run; so do they on Ctrl-C. Exit code 0 only when every step ran and every case went as
expected.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from demo import report
from demo.cases import GUARDDUTY_SCANNER, OLDER_CLEAN, SCANNED, Case, cases_for
from demo.infra import TABLE_KEY, Existing
from demo.state import (
    Snapshot,
    Upload,
    announcements,
    drain,
    log_lines,
    read_row,
    read_versions,
    version_ident,
)
from demo.targets import AwsTarget, EmulatorTarget, Target, forged_event
from emulator import fss, guardduty
from emulator.staging import OVERRIDE_FILE, REPO_ROOT, TerraformFailed, run_logged, stage_example

EXAMPLE = "complete"
TOTAL_STEPS = 9
MIN_TERRAFORM = (1, 5)
TFVARS_FILE = "demo.auto.tfvars.json"
PLUGIN_CACHE = REPO_ROOT / ".demo" / "terraform-plugin-cache"


class StepFailed(Exception):
    def __init__(self, number: int, name: str, why: str) -> None:
        super().__init__(f"step {number}/{TOTAL_STEPS} ({name}): {why}")
        self.number, self.name, self.why = number, name, why


def say(text: str = "", end: str = "\n") -> None:
    print(text, end=end, flush=True)


def _why(exc: BaseException) -> str:
    if isinstance(exc, TerraformFailed):
        command = " ".join(exc.cmd[1:2])
        tail = "\n".join(f"    {line}" for line in exc.tail(25).splitlines())
        return f"terraform {command} exited {exc.returncode}; last lines of {exc.log_path}:\n{tail}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


class Progress:
    def __init__(self) -> None:
        self.number = 0

    @contextmanager
    def step(self, name: str, note: str = "", number: int | None = None) -> Iterator[list[str]]:
        """Print "[n/9] name (note) ...", then "ok (time): <detail>" or "FAILED".

        The body appends to the yielded list what the step found out (the detail).
        """
        self.number = number or self.number + 1
        say(f"[{self.number}/{TOTAL_STEPS}] {name}{f' ({note})' if note else ''} ...", end="")
        started = time.monotonic()
        detail: list[str] = []
        try:
            yield detail
        except KeyboardInterrupt:
            say(" interrupted")
            raise
        except Exception as exc:
            say(" FAILED")
            raise StepFailed(self.number, name, _why(exc)) from exc
        elapsed = time.monotonic() - started
        say(f" ok ({elapsed:.1f} s)" + (f": {'; '.join(detail)}" if detail else ""))


@dataclass
class Terraform:
    binary: str
    root: Path
    env: dict[str, str]
    log: Path
    initialised: bool = False

    def run(self, *args: str, keep_output: bool = True) -> str:
        command = [self.binary, *args]
        return run_logged(command, self.root, self.env, self.log, keep_output=keep_output)

    def outputs(self) -> dict[str, Any]:
        values = json.loads(self.run("output", "-json", "-no-color", keep_output=False))
        return {name: value["value"] for name, value in values.items()}

    def resources(self) -> list[str]:
        return self.run("state", "list", keep_output=False).split()


@dataclass
class Demo:
    target: Target
    workdir: Path
    terraform_binary: str
    prefix: str = field(default_factory=lambda: f"fss-demo-{secrets.token_hex(3)}")
    existing: Existing | None = None
    terraform: Terraform | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    log_by_message: dict[str, dict[str, Any]] = field(default_factory=dict)
    announced: dict[str, dict[str, Any]] = field(default_factory=dict)  # by scan message id

    # -- steps ------------------------------------------------------------------------------

    def simulate_existing(self) -> str:
        self.existing = Existing(self.prefix)
        return self.existing.create(self.target)

    def apply(self) -> str:
        assert self.existing is not None
        root = stage_example(self.workdir / "deployment", EXAMPLE)
        override = self.target.provider_override()
        if override:
            (root / OVERRIDE_FILE).write_text(override)
        (root / TFVARS_FILE).write_text(json.dumps(self.existing.tfvars(self.target), indent=2))
        env = self.target.terraform_env()
        if not env.get("TF_PLUGIN_CACHE_DIR") and not env.get("TF_CLI_CONFIG_FILE"):
            PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)  # later runs skip the download
            env["TF_PLUGIN_CACHE_DIR"] = str(PLUGIN_CACHE)
        self.terraform = Terraform(self.terraform_binary, root, env, self.workdir / "terraform.log")
        self.terraform.run("init", "-input=false", "-no-color")
        self.terraform.initialised = True
        self.terraform.run("apply", "-auto-approve", "-input=false", "-no-color")
        self.outputs = self.terraform.outputs()
        count = len(self.terraform.resources())
        # Listen to the notifications the way a consumer would: an SQS subscription of the topic.
        self.existing.listen(self.target, self.outputs["notify_topic_arn"])
        return f"{count} resources, function {self.outputs['lambda_function_name']}"

    @property
    def cases(self) -> list[Case]:
        return cases_for(self.target.kind)

    def upload(self) -> str:
        assert self.existing is not None
        for case in self.cases:
            self.uploads.append(self._upload(case))
        buckets = len({u.bucket for u in self.uploads})
        return f"{len(self.uploads)} files in {buckets} buckets, rows in {self.existing.table}"

    def _upload(self, case: Case) -> Upload:
        assert self.existing is not None
        s3 = self.target.client("s3")
        bucket = self.existing.buckets[case.place]
        file_id = f"{case.name}-{uuid.uuid4().hex[:8]}"
        labels = {}
        if case.older_clean_version:
            older = s3.put_object(
                Bucket=bucket,
                Key=case.key,
                Body=b"older clean version\n",
                Tagging=urlencode({TABLE_KEY: f"{case.name}-previous"}),
            )
            labels[version_ident(older.get("VersionId"), older["ETag"])] = OLDER_CLEAN
        self.target.client("dynamodb").put_item(
            TableName=self.existing.table,
            Item={
                TABLE_KEY: {"S": file_id},
                "filename": {"S": case.key.rsplit("/", 1)[-1]},
                "owner": {"S": "demo-app"},
                "status": {"S": "uploaded"},
            },
        )
        scanned = s3.put_object(
            Bucket=bucket, Key=case.key, Body=case.body, Tagging=urlencode({TABLE_KEY: file_id})
        )
        is_eicar = case.body == fss.eicar()
        labels[version_ident(scanned.get("VersionId"), scanned["ETag"])] = (
            f"{SCANNED} (EICAR)" if is_eicar else SCANNED
        )
        if case.scanner == GUARDDUTY_SCANNER:  # GuardDuty tags when it publishes (publish())
            return Upload(case, bucket, file_id, scanned["ETag"].strip('"'), len(case.body), labels)
        # FSS tags what it scanned (keeping the application's tags).
        fss_verdict = "clean" if case.forged else case.verdict
        tags = {TABLE_KEY: file_id, **fss.scan_tags(fss_verdict)}
        version = {"VersionId": scanned["VersionId"]} if scanned.get("VersionId") else {}
        s3.put_object_tagging(
            Bucket=bucket,
            Key=case.key,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
            **version,
        )
        return Upload(case, bucket, file_id, scanned["ETag"].strip('"'), len(case.body), labels)

    def snapshot(self, upload: Upload) -> Snapshot:
        assert self.existing is not None
        dynamodb = self.target.client("dynamodb")
        return Snapshot(
            read_versions(self.target.client("s3"), upload),
            read_row(dynamodb, self.existing.table, TABLE_KEY, upload.file_id),
        )

    def publish(self) -> tuple[str, list[dict]]:
        """Publish each real scan result to its topic; build the forged events."""
        assert self.existing is not None
        sns = self.target.client("sns")
        forged = []
        for upload in self.uploads:
            case = upload.case
            if case.scanner == GUARDDUTY_SCANNER:
                # The stand-in tags the scanned version and puts GuardDuty's event on the default
                # bus; the module's rule delivers it (the emulator records the delivery).
                done = guardduty.scan(
                    self.target.client("s3"),
                    self.target.client("events"),
                    self.existing.plan_arn,
                    upload.bucket,
                    case.key,
                )
                upload.sns_message_id = upload.scan_message_id = done["event_id"]
                continue
            message = case.message(upload.bucket, self.target.region, upload.etag)
            upload.scan_message_id = message["sqs_message_id"]
            if case.forged:
                event = forged_event(self.target.partition, self.target.region, message)
                upload.sns_message_id = event["Records"][0]["Sns"]["MessageId"]
                forged.append(event)
                continue
            topic = self.existing.topics[case.place]
            upload.sns_message_id = sns.publish(TopicArn=topic, Message=json.dumps(message))[
                "MessageId"
            ]
        published = len(self.uploads) - len(forged)
        return f"{published} messages (and {len(forged)} forged event kept aside)", forged

    def deliver(self, forged: list[dict]) -> str:
        function = self.outputs["lambda_function_name"]
        published = [u.sns_message_id for u in self.uploads if not u.case.forged]
        how = self.target.deliver(function, published, forged)
        group = self.outputs["cloudwatch_log_group_name"]
        found = self._wait_for_log_lines(group)
        announced = self._wait_for_announcements()
        return (
            f"{how}; {len(found)} log lines read from {group}; {announced} events and "
            "notifications read from the consumer queues"
        )

    def _wait_for_announcements(self) -> int:
        """Read the bus rule's queue and the topic's queue until every expected announcement
        is there (or the log timeout passes: the report then shows what is missing)."""
        assert self.existing is not None
        sqs = self.target.client("sqs")
        wanted = {u.scan_message_id for u in self.uploads if u.case.expected.announced}
        events: list[dict[str, Any]] = []
        notifications: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.target.log_timeout
        while True:
            events += drain(sqs, self.existing.events_queue)
            notifications += drain(sqs, self.existing.notifications_queue)
            self.announced = announcements(events, notifications)
            complete = all(len(self.announced.get(m, {})) == 2 for m in wanted)
            if complete or time.monotonic() > deadline:
                return len(events) + len(notifications)
            time.sleep(5)

    def _wait_for_log_lines(self, group: str) -> dict[str, dict[str, Any]]:
        wanted = {u.sns_message_id for u in self.uploads}
        logs = self.target.client("logs")
        deadline = time.monotonic() + self.target.log_timeout
        while True:
            events = [
                event
                for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group)
                for event in page.get("events", [])
            ]
            found = {k: v for k, v in log_lines(events).items() if k in wanted}
            if len(found) == len(wanted) or time.monotonic() > deadline:
                break
            time.sleep(5)
        for upload in self.uploads:
            upload_log = found.get(upload.sns_message_id)
            if upload_log is None:
                raise RuntimeError(
                    f"no log line of the function for case {upload.case.name!r} within "
                    f"{self.target.log_timeout:.0f} s (SNS message {upload.sns_message_id})"
                )
        self.log_by_message = found
        return found

    def destroy(self) -> str:
        assert self.terraform is not None
        self.terraform.run("destroy", "-auto-approve", "-input=false", "-no-color")
        left = self.terraform.resources()
        if left:
            raise RuntimeError(f"still in the Terraform state after destroy: {', '.join(left)}")
        if not self.outputs:
            return "destroyed what the unfinished apply had created"
        deadline = time.monotonic() + self.target.settle_timeout
        while (remaining := leftovers(self.target, self.outputs)) and time.monotonic() < deadline:
            time.sleep(10)
        if remaining:
            raise RuntimeError(f"left behind: {'; '.join(remaining)}")
        return (
            "nothing left behind (function, role, log group, dead-letter queue, subscriptions, "
            "notification topic gone; KMS key pending deletion)"
        )


def leftovers(target: Target, outputs: dict[str, Any]) -> list[str]:
    """What of the deployment the account still shows (the KMS key only as pending deletion)."""
    found = []
    function = outputs["lambda_function_name"]
    if _exists(lambda: target.client("lambda").get_function(FunctionName=function)):
        found.append(f"function {function}")
    role = outputs["lambda_role_name"]
    if _exists(lambda: target.client("iam").get_role(RoleName=role)):
        found.append(f"role {role}")
    group = outputs["cloudwatch_log_group_name"]
    groups = target.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    if any(g["logGroupName"] == group for g in groups):
        found.append(f"log group {group}")
    queues = target.client("sqs").list_queues(QueueNamePrefix=f"{function}-dlq-")
    found += [f"queue {url}" for url in queues.get("QueueUrls", [])]
    for arn in outputs["sns_subscription_arns"].values():
        if _exists(
            lambda arn=arn: target.client("sns").get_subscription_attributes(SubscriptionArn=arn)
        ):
            found.append(f"subscription {arn}")
    topic = outputs["notify_topic_arn"]
    if _exists(lambda: target.client("sns").get_topic_attributes(TopicArn=topic)):
        found.append(f"topic {topic}")
    key = target.client("kms").describe_key(KeyId=outputs["kms_key_arn"])["KeyMetadata"]
    if key["KeyState"] != "PendingDeletion":
        found.append(f"KMS key {key['Arn']} ({key['KeyState']})")
    return found


def _exists(call: Any) -> bool:
    try:
        call()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ResourceNotFoundException", "NoSuchEntity", "NotFound", "NotFoundException"):
            return False
        raise
    return True


def _terraform_binary() -> str:
    binary = os.environ.get("TERRAFORM_BINARY") or shutil.which("terraform")
    if not binary:
        raise RuntimeError("terraform not found on PATH (install Terraform >= 1.5)")
    return binary


def check_tools(binary: str) -> str:
    result = subprocess.run(
        [binary, "version", "-json"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{binary} version exited {result.returncode}: {result.stderr}")
    version = json.loads(result.stdout)["terraform_version"]
    numbers = tuple(int(part) for part in version.split(".")[:2])
    if numbers < MIN_TERRAFORM:
        raise RuntimeError(f"Terraform {version} is too old: examples/complete needs >= 1.5")
    python = ".".join(str(n) for n in sys.version_info[:3])
    return f"terraform {version} ({binary}), Python {python}"


def print_report(demo: Demo, befores: dict[str, Snapshot]) -> int:
    """Every case's table; returns how many went as expected."""
    good = 0
    for number, upload in enumerate(demo.uploads, start=1):
        after = demo.snapshot(upload)
        after.log = demo.log_by_message[upload.sns_message_id]
        after.announced = demo.announced.get(upload.scan_message_id, {})
        before = befores[upload.case.name]
        problems = report.check(upload, before, after)
        good += not problems
        say()
        say(report.render(number, len(demo.uploads), upload, before, after, TABLE_KEY, problems))
    say()
    return good


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument(
        "--target",
        choices=["emulator", "aws"],
        default=os.environ.get("DEMO_TARGET") or "emulator",
        help="emulator (default): a local moto server; aws: your AWS account (DEMO_TARGET=aws)",
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the work dir (state, logs) at the end"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)

    workdir = Path(tempfile.mkdtemp(prefix="fss-post-scan-demo-"))
    target: Target = EmulatorTarget(workdir) if args.target == "emulator" else AwsTarget()
    started = time.monotonic()
    where = (
        "a local AWS emulator (moto server on 127.0.0.1; nothing leaves this machine)"
        if target.kind == "emulator"
        else "your AWS account: it creates real resources, then destroys them"
    )
    say(f"FSS post-scan demo: examples/{EXAMPLE} against {where}")
    say(f"work dir: {workdir} (Terraform state and logs)")
    progress = Progress()
    demo: Demo | None = None
    failure: BaseException | None = None
    good = 0
    try:
        with progress.step("checking tools") as detail:
            binary = _terraform_binary()
            detail.append(check_tools(binary))
        emulated = target.kind == "emulator"
        with progress.step(
            "starting the AWS emulator" if emulated else "connecting to AWS",
            "moto server on 127.0.0.1" if emulated else "",
        ) as detail:
            detail.append(target.start())
        demo = Demo(target, workdir, binary)
        with progress.step(
            "simulating your existing infrastructure", "scan-result topics, buckets, app table"
        ) as detail:
            detail.append(demo.simulate_existing())
        with progress.step(
            f"applying examples/{EXAMPLE}",
            "terraform init + apply; about a minute, mostly the AWS provider waiting for SQS",
        ) as detail:
            detail.append(demo.apply())
        with progress.step(
            f"uploading {len(demo.cases)} demo files",
            "file_id tag and app row each, EICAR test string generated now; FSS tags its own",
        ) as detail:
            detail.append(demo.upload())
            befores = {u.case.name: demo.snapshot(u) for u in demo.uploads}
        with progress.step(
            "publishing the scan results", "FSS: to the topics; GuardDuty: on the default bus"
        ) as detail:
            message, forged = demo.publish()
            detail.append(message)
        with progress.step("delivering them to the deployed function") as detail:
            detail.append(demo.deliver(forged))
        good = print_report(demo, befores)
    except (Exception, KeyboardInterrupt) as exc:
        failure = exc
        if isinstance(exc, StepFailed):
            say(f"\ndemo failed at {exc}\ncleaning up")
        elif isinstance(exc, KeyboardInterrupt):
            say(f"\ninterrupted during step {progress.number}/{TOTAL_STEPS}; cleaning up")
        else:
            say(f"\ndemo failed after step {progress.number}/{TOTAL_STEPS}: {_why(exc)}")
    clean = cleanup(progress, target, demo)
    elapsed = time.monotonic() - started
    if demo is not None and demo.log_by_message:
        say()
        lines = list(demo.log_by_message.values())
        emulated = target.kind == "emulator"
        for line in report.exposure(lines, table=_draws_boxes(), emulated=emulated):
            say(line)

    total = len(cases_for(target.kind))
    if failure is None and clean and good == total:
        say(f"demo complete: {good} of {total} cases as expected ({elapsed:.0f} s)")
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    if failure is None and clean:
        say(f"demo finished, but only {good} of {total} cases went as expected")
    say(f"work dir kept for its logs: {workdir}")
    return 130 if isinstance(failure, KeyboardInterrupt) else 1


def _draws_boxes() -> bool:
    """A terminal that can show the exposure table's box-drawing characters."""
    try:
        "\u2502\u250c".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return sys.stdout.isatty()


def cleanup(progress: Progress, target: Target, demo: Demo | None) -> bool:
    """Steps 8 and 9, whatever happened before; True when everything is gone."""
    clean = True
    try:
        with progress.step(f"destroying examples/{EXAMPLE}", "terraform destroy", 8) as detail:
            if demo is None or demo.terraform is None or not demo.terraform.initialised:
                detail.append("nothing was applied")
            else:
                detail.append(demo.destroy())
    except (StepFailed, KeyboardInterrupt) as exc:
        clean = False
        _manual_cleanup_hint(demo, exc)
    try:
        with progress.step(
            "removing the simulated infrastructure and stopping the emulator"
            if target.kind == "emulator"
            else "removing the simulated infrastructure",
            number=9,
        ) as detail:
            try:
                failed = demo.existing.remove() if demo and demo.existing else []
            finally:
                detail.append(target.stop())
            if failed:
                raise RuntimeError("could not delete " + "; ".join(failed))
    except (StepFailed, KeyboardInterrupt) as exc:
        clean = False
        _manual_cleanup_hint(demo, exc)
    return clean


def _manual_cleanup_hint(demo: Demo | None, exc: BaseException) -> None:
    say(f"  {exc}" if isinstance(exc, StepFailed) else "  interrupted")
    if demo is None or demo.target.kind != "aws":
        return
    if demo.terraform is not None:
        say(f"  to remove the deployment: cd {demo.terraform.root} && terraform destroy")
    if demo.existing is not None:
        say(f"  then delete what the demo created before it (names start with {demo.prefix}):")
        for name in demo.existing.names():
            say(f"    {name}")


if __name__ == "__main__":
    sys.exit(main())
