"""Command line of the report tool: arguments, the Logs client, progress, output, exit code."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from report import insights, summary
from report.insights import Result

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
FORMATS = {
    "text": summary.render_text,
    "markdown": summary.render_markdown,
    "json": summary.render_json,
}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m report",
        description=(
            "Summarise what the post-scan function did, for a weekly review: scan results by "
            "verdict and bucket, the malware found most often, how long malicious files stayed "
            "readable (p50, p99, the slowest files), and what needs action. Runs the module's "
            "saved CloudWatch Logs Insights queries (queries/*.query) on the function's log "
            "group; Logs Insights charges for the data it scans (printed at the end)."
        ),
    )
    group = cli.add_mutually_exclusive_group(required=True)
    group.add_argument("--name", help="the module's name: the log group is /aws/lambda/NAME")
    group.add_argument("--log-group", metavar="NAME", help="the function's log group")
    cli.add_argument(
        "--since",
        default="7d",
        help="start of the period: 90m, 24h, 7d, 2w before --until, or a date (2024-05-01, "
        "2024-05-01T12:00, UTC) (default 7d)",
    )
    cli.add_argument("--until", default="now", help="end of the period: now (default) or a date")
    cli.add_argument(
        "--file",
        metavar="KEY_OR_FILE_ID",
        help="also show one file's history (the saved query file-history)",
    )
    cli.add_argument("--format", choices=sorted(FORMATS), default="text")
    cli.add_argument("--region", help="AWS region (default: the standard boto3 configuration)")
    cli.add_argument(
        "--timeout", type=float, default=900.0, help="give up on queries after SECONDS (900)"
    )
    return cli


def moment(text: str, now: float, anchor: float | None = None) -> float:
    """Epoch seconds of `text`: now, a relative span before `anchor` (default now), or a date."""
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return (anchor if anchor is not None else now) - int(relative[1]) * _UNIT_SECONDS[
            relative[2]
        ]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not now, 90m / 24h / 7d / 2w, or a date like 2024-05-01"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


class ProgressLine:
    """Where the queries are: one line rewritten in place on a terminal, a line per finished
    query otherwise (logs, CI)."""

    def __init__(self, stream: TextIO, what: str) -> None:
        self.stream, self.what = stream, what
        self.tty = stream.isatty()

    def __call__(
        self, done: int, total: int, elapsed: float, scanned: float, result: Result | None
    ) -> None:
        state = (
            f"{done}/{total} queries done, {elapsed:.0f} s, {scanned / 1_000_000:.1f} MB scanned"
        )
        if self.tty:
            end = "\n" if done == total else ""
            self.stream.write(f"\r{self.what}: {state}\033[K{end}")
        elif result is None:
            self.stream.write(f"{self.what}: {total} queries started\n")
        else:
            self.stream.write(f"  {result.name}: {result.status.lower()} ({state})\n")
        self.stream.flush()


def main(
    argv: Sequence[str] | None = None,
    *,
    logs: Any = None,
    now: float | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    sleep: Any = time.sleep,
) -> int:
    """Run the report; `logs` replaces the boto3 CloudWatch Logs client (tests)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    cli = parser()
    args = cli.parse_args(argv)
    current = time.time() if now is None else now
    try:
        end = moment(args.until, current)
        start = moment(args.since, current, anchor=end)
    except argparse.ArgumentTypeError as exc:
        cli.print_usage(err)
        err.write(f"python -m report: error: {exc}\n")
        return 2
    if start >= end:
        err.write("python -m report: error: --since must be before --until\n")
        return 2
    log_group = args.log_group or f"/aws/lambda/{args.name}"
    if logs is None:
        logs = boto3.session.Session(region_name=args.region).client("logs")
    queries = insights.load_queries()
    if args.file:
        queries[insights.HISTORY_QUERY] = insights.history_query(args.file)
    progress = ProgressLine(err, f"running the saved queries on {log_group}")
    try:
        results = insights.run_queries(
            logs,
            log_group,
            int(start),
            int(end),
            queries,
            progress,
            timeout=args.timeout,
            sleep=sleep,
        )
    except (BotoCoreError, ClientError) as exc:
        err.write(f"python -m report: error: {exc}\n")
        return 2
    history = results.pop(insights.HISTORY_QUERY, None)
    report = summary.build(log_group, int(start), int(end), results, history)
    out.write(FORMATS[args.format](report))
    if report.failed_queries:
        err.write(
            "python -m report: some queries did not complete, the summary is incomplete: "
            + ", ".join(report.failed_queries)
            + "\n"
        )
        return 1
    return 0
