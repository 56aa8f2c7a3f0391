"""Command line of the rescan tool: arguments, boto3 clients, exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from rescan import aws
from rescan.run import Marker, MarkerError, Progress, RateLimit, rescan

# Throttled calls are retried with backoff (adaptive mode also slows the client down).
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m rescan",
        description=(
            "Start GuardDuty Malware Protection on-demand scans (SendObjectMalwareScan) of the "
            "objects in a bucket that GuardDuty never scanned: each current version under the "
            "prefix without a GuardDutyMalwareScanStatus tag. The bucket must have a Malware "
            "Protection plan (with tagging on: the tag is how scanned objects are recognised). "
            "The results reach the post-scan function through the plan's rule like any other. "
            "A dry run by default: add --execute to start scans."
        ),
    )
    cli.add_argument("--bucket", required=True, metavar="NAME")
    cli.add_argument("--prefix", default="", help="only keys under this prefix (default all)")
    cli.add_argument(
        "--execute", action="store_true", help="start the scans (without it: a dry run)"
    )
    cli.add_argument(
        "--rate",
        type=_positive_float,
        default=5.0,
        metavar="PER_SECOND",
        help="at most this many scans started per second (default 5)",
    )
    cli.add_argument(
        "--marker-file",
        type=Path,
        metavar="PATH",
        help=(
            "resume: the last key handled is kept here; a later run with the same file starts "
            "after it (until a failure, after which it stays put so the next run tries again)"
        ),
    )
    cli.add_argument(
        "--max-objects", type=_positive_int, metavar="N", help="handle at most N versions"
    )
    cli.add_argument(
        "--expected-bucket-owner", metavar="ACCOUNT", help="refuse a bucket of another account"
    )
    cli.add_argument(
        "--no-count", action="store_true", help="do not list once first to size the progress bar"
    )
    cli.add_argument("--region", help="AWS region (default: the standard boto3 configuration)")
    return cli


def main(argv: Sequence[str] | None = None, *, session: Any = None, out: Any = print) -> int:
    args = parser().parse_args(argv)
    session = session or boto3.session.Session(region_name=args.region)
    bucket = aws.S3Bucket(
        session.client("s3", config=RETRIES), args.bucket, args.expected_bucket_owner
    )
    scan = aws.scanner(session.client("guardduty", config=RETRIES), args.bucket)
    marker = Marker(args.marker_file, args.bucket, args.prefix) if args.marker_file else None
    try:
        after = marker.load() if marker is not None else None
    except MarkerError as exc:
        print(f"rescan: {exc}", file=sys.stderr)
        return 2
    total = None if args.no_count else bucket.count(args.prefix, after)
    if total is not None and args.max_objects is not None:
        total = min(total, args.max_objects)
    tty = sys.stderr.isatty()
    progress = Progress(lambda text: print(text, file=sys.stderr, end="" if tty else "\n"), tty)
    summary = rescan(
        bucket,
        scan,
        prefix=args.prefix,
        dry_run=not args.execute,
        rate=RateLimit(args.rate),
        marker=marker,
        max_objects=args.max_objects,
        progress=progress,
        total=total,
        out=out,
    )
    if tty:
        print(file=sys.stderr)
    return summary.exit_code


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
