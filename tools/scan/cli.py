"""`make scan`: simulate the scanner for a function deployed into the local emulator.

    make scan ARGS="--bucket B --key K --verdict malicious [--file-id ID] [--function NAME]"

1. Uploads the object when it is not there (the EICAR test file for malicious, a text file
   otherwise; with --file-id, tagged with the function's file id tag), unless --no-upload.
2. Tags it as the scanner would, and publishes the scanner's result (File Storage Security: the
   JSON message on the scan-result topic).
3. Runs the deployed function on what SNS delivered (or, in queue mode, on what its event source
   mapping receives), as Lambda would, from the deployed zip.
4. Prints the function's log line and what changed: the object's versions and tags, the file's
   row, the copies along its routes, and the events, notifications and findings it announced.

Exit code 0 when the function ran without error (whatever its outcome), 1 when it failed (Lambda
would retry, then send the event to the dead-letter queue), 2 when there was nothing to run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from emulator import fss
from emulator.cli import DEFAULT_STATE_DIR
from emulator.launcher import Account
from scan.deliver import Run, run_function
from scan.observe import Announced, Listener, Snapshot, file_id_of, snapshot
from scan.scanners import Scanned, scanner
from scan.target import Function, TargetError, connect, describe, find_function

CLEAN_BODY = b"a clean test file, uploaded by make scan\n"


def _parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog='make scan ARGS="..."',
        description=(
            "Simulate the scanner for a post-scan function deployed into the local emulator "
            "(make emulator): tag the object, publish the scan result, run the deployed "
            "function as Lambda would, and show what changed."
        ),
    )
    cli.add_argument("--bucket", required=True, help="the scanned bucket")
    cli.add_argument("--key", required=True, help="the object's key")
    cli.add_argument("--verdict", required=True, choices=fss.VERDICTS)
    cli.add_argument(
        "--scanner",
        choices=("fss", "guardduty"),
        default="fss",
        help="which scanner to simulate (fss: File Storage Security)",
    )
    cli.add_argument("--function", help="the function (default: the one that lists the bucket)")
    cli.add_argument("--topic", help="the scan-result topic (default: the function's first)")
    cli.add_argument("--file-id", help="tag an uploaded object with this file id")
    cli.add_argument(
        "--no-upload", action="store_true", help="fail instead of uploading a missing object"
    )
    cli.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="the emulator's state directory (as given to make emulator)",
    )
    cli.add_argument("--endpoint", help="the emulator's URL (default: the running emulator's)")
    cli.add_argument("--region", help="region (default: the emulator's)")
    cli.add_argument("--account", help="account id (default: the emulator's, 123456789012)")
    cli.add_argument(
        "--verbose", action="store_true", help="also print the function's logging (stderr)"
    )
    return cli


@dataclass
class Result:
    """One simulated scan: what was done, what the function said, and what changed."""

    function: Function
    uploaded: bool
    file_id: str | None
    scan_tags: dict[str, str]
    channel: str
    run: Run
    before: Snapshot
    after: Snapshot
    announced: Announced


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = simulate(args)
    except TargetError as exc:
        print(f"scan: {exc}", file=sys.stderr)
        return 2
    print(_report(args, result))
    return 1 if result.run.errors else 0


def simulate(args: argparse.Namespace) -> Result:
    account = connect(args.state_dir, args.endpoint, args.region, args.account)
    function = find_function(account, args.bucket, args.function)
    chosen = scanner(args.scanner, args.topic)
    scan_tags = chosen.tags(args.verdict)  # refuses a scanner the module cannot take
    scanned, uploaded = _object(account, function, args)
    file_id = args.file_id or file_id_of(function, _current_tags(account, scanned))
    before = snapshot(account, function, args.bucket, args.key, file_id)
    _tag(account, scanned, scan_tags)
    with Listener(account, function) as listener:
        published = chosen.publish(account, function, scanned, args.verdict)
        run = run_function(account, function, published.message_id)
        announced = listener.heard()
    after = snapshot(account, function, args.bucket, args.key, file_id)
    return Result(
        function, uploaded, file_id, scan_tags, published.channel, run, before, after, announced
    )


def _object(account: Account, function: Function, args: argparse.Namespace) -> tuple[Scanned, bool]:
    """The object to scan (uploaded first when missing); whether it was uploaded."""
    s3 = account.client("s3")
    try:
        head = s3.head_object(Bucket=args.bucket, Key=args.key)
        uploaded = False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise TargetError(f"cannot read s3://{args.bucket}/{args.key}: {exc}") from exc
        if args.no_upload:
            raise TargetError(
                f"s3://{args.bucket}/{args.key} does not exist (--no-upload)"
            ) from exc
        body = fss.eicar() if args.verdict == "malicious" else CLEAN_BODY
        extra: dict[str, Any] = {}
        if args.file_id:
            tag = function.setting("FILE_ID_TAG_KEY") or "file_id"
            extra["Tagging"] = f"{tag}={args.file_id}"
        try:
            s3.put_object(Bucket=args.bucket, Key=args.key, Body=body, **extra)
        except ClientError as put_error:
            raise TargetError(
                f"cannot upload s3://{args.bucket}/{args.key}: {put_error}"
            ) from put_error
        head = s3.head_object(Bucket=args.bucket, Key=args.key)
        uploaded = True
    scanned = Scanned(
        bucket=args.bucket,
        key=args.key,
        version_id=head.get("VersionId"),
        etag=head["ETag"].strip('"'),
        size=head["ContentLength"],
    )
    return scanned, uploaded


def _version(scanned: Scanned) -> dict[str, str]:
    return {"VersionId": scanned.version_id} if scanned.version_id not in (None, "null") else {}


def _current_tags(account: Account, scanned: Scanned) -> dict[str, str]:
    tag_set = account.client("s3").get_object_tagging(
        Bucket=scanned.bucket, Key=scanned.key, **_version(scanned)
    )["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


def _tag(account: Account, scanned: Scanned, scan_tags: dict[str, str]) -> None:
    """Add the scanner's tags to the object's own (the scanner keeps the others)."""
    s3 = account.client("s3")
    version = _version(scanned)
    tags = _current_tags(account, scanned) | scan_tags
    s3.put_object_tagging(
        Bucket=scanned.bucket,
        Key=scanned.key,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
        **version,
    )


def _report(args: argparse.Namespace, result: Result) -> str:
    function, run, before, after = result.function, result.run, result.before, result.after
    announced, file_id = result.announced, result.file_id
    lines = [
        f"scan: s3://{args.bucket}/{args.key}: {args.verdict} ({args.scanner})",
        f"  function  {describe(function)}",
    ]
    if result.uploaded:
        lines.append(
            "  uploaded  "
            + ("the EICAR test file" if args.verdict == "malicious" else "a text file")
        )
    lines += [
        f"  tagged    {', '.join(f'{k}={v}' for k, v in result.scan_tags.items())}",
        f"  published on {result.channel}",
        f"  ran the deployed handler ({run.invocations} invocation(s))"
        + (f"; FAILED: {'; '.join(run.errors)}" if run.errors else ""),
        "",
        "log line:",
    ]
    lines += [f"  {line}" for line in run.log_lines] or ["  (none)"]
    lines += [f"  -> {summary}" for summary in _summaries(run.log_lines)]
    if args.verbose and run.logging:
        lines += ["", "function logging:", *[f"  {line}" for line in run.logging.splitlines()]]
    lines += ["", "what changed:"]
    lines += _changed(
        "object", " | ".join(before.versions) or "none", " | ".join(after.versions) or "gone"
    )
    lines += _changed("tags", _pairs(before.tags), _pairs(after.tags))
    if function.setting("FILE_ID_TABLE"):
        where = f"row ({function.setting('FILE_ID_TABLE_KEY')}={file_id})" if file_id else "row"
        if file_id is None:
            lines.append(f"  {where:<10} no file id tag on the object (--file-id on upload)")
        else:
            lines += _changed(where, _pairs(before.row or {}), _pairs(after.row or {}))
    else:
        lines.append("  row        no file id table")
    lines += _changed("copies", _pairs(before.copies), _pairs(after.copies))
    told = [f"event {_pairs(e)}" for e in announced.events]
    told += [f"notification {_pairs(n)}" for n in announced.notifications]
    told += [f"Security Hub finding {t}" for t in announced.findings]
    lines.append(f"  {'announced':<10} " + ("; ".join(told) if told else "nothing"))
    return "\n".join(lines)


def _summaries(log_lines: list[str]) -> list[str]:
    """outcome, verdict, actions and reason of each log line."""
    found = []
    for text in log_lines:
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and "outcome" in line:
            actions = ", ".join(line.get("actions") or []) or "none"
            found.append(
                f"outcome {line['outcome']}, verdict {line.get('verdict')}, actions {actions}"
                + (f"; {line['reason']}" if line.get("reason") else "")
            )
    return found


def _pairs(values: dict[str, Any]) -> str:
    if not values:
        return "none"
    return ", ".join(
        f"{k}={json.dumps(v, default=str) if not isinstance(v, str) else v}"
        for k, v in sorted(values.items())
    )


def _changed(what: str, before: str, after: str) -> list[str]:
    if before == after:
        return [f"  {what:<10} unchanged: {after}"]
    return [f"  {what:<10} before: {before}", f"  {'':<10} after:  {after}"]
