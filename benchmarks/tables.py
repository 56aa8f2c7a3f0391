"""Formatting only: measured results in, Markdown tables (for docs/performance.md) out."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence

from benchmarks.batches import BatchRow
from benchmarks.burst import BurstRow
from benchmarks.coldstart import GOAL_RATIO, ImportTiming, goal_ratios
from benchmarks.package import Package
from benchmarks.plan import PlanTiming
from benchmarks.scenarios import ANNOUNCE_OPERATIONS, extra_calls, minimum_calls, why_extra
from benchmarks.throughput import Row

# Calls are listed in the order the pipeline makes them.
OPERATION_ORDER = (
    "HeadObject",
    "ListObjectVersions",
    "GetObjectTagging",
    "UpdateItem",
    "CopyObject",
    "UploadPartCopy",
    "DeleteObject",
    "PutEvents",
    "PublishBatch",
    "BatchImportFindings",
)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with padded columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (works for a handful of values too)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def calls_text(calls: Counter[str]) -> str:
    """`2 HeadObject + 1 DeleteObject`, in pipeline order; `none` when there are none."""
    known = [op for op in OPERATION_ORDER if calls[op]]
    others = sorted(op for op in calls if op not in OPERATION_ORDER and calls[op])
    return " + ".join(f"{calls[op]} {op}" for op in known + others) or "none"


def throughput_table(rows: Sequence[Row]) -> str:
    body = [
        [
            row.scenario.name,
            row.verdict,
            str(row.messages),
            f"{row.messages / row.seconds:,.0f}" if row.seconds else "-",
            f"{percentile(row.latencies_ms, 0.50):.2f}",
            f"{percentile(row.latencies_ms, 0.95):.2f}",
            str(sum(row.calls_per_message.values())),
            str(max(row.log_bytes)) if row.log_bytes else "-",
        ]
        for row in rows
    ]
    headers = ["flags", "verdict", "messages", "msgs/s", "p50 ms", "p95 ms", "AWS calls/msg"]
    headers.append("log line bytes")
    return table(headers, body)


def batch_table(rows: Sequence[BatchRow]) -> str:
    """Per batch (one invocation) and per message; calls are those of a whole batch."""
    body = []
    for row in rows:
        size = row.per_batch(row.sizes, "sizes")
        p50 = percentile(row.latencies_ms, 0.50)
        body.append(
            [
                row.scenario.name,
                row.verdict,
                str(row.batches),
                str(size),
                str(row.per_batch(row.processed, "processed records")),
                str(row.per_batch(row.failures, "batch item failures")),
                f"{row.messages / row.seconds:,.0f}" if row.seconds else "-",
                f"{p50:.2f}",
                f"{percentile(row.latencies_ms, 0.95):.2f}",
                f"{p50 / size:.2f}",
                str(sum(row.per_batch(row.calls, "calls").values())),
                str(sum(row.per_batch(row.calls, "calls")[op] for op in ANNOUNCE_OPERATIONS)),
            ]
        )
    headers = [
        "flags",
        "verdict",
        "batches",
        "records/batch",
        "processed/batch",
        "batchItemFailures",
        "msgs/s",
        "batch p50 ms",
        "batch p95 ms",
        "p50 ms/msg",
        "AWS calls/batch",
        "of which announcing",
    ]
    return table(headers, body)


def burst_table(rows: Sequence[BurstRow]) -> str:
    """One row per burst: what happened to every message, and what it cost."""
    body = [
        [
            row.flags,
            f"{row.messages:,}",
            f"{row.poison:,}",
            f"{row.processed:,}",
            str(row.lost),
            str(row.duplicates),
            f"{row.dead_letters:,}",
            f"{row.invocations:,}",
            f"{row.drain_seconds:.1f}",
            f"{row.messages / row.drain_seconds:,.0f}" if row.drain_seconds else "-",
            f"{row.handler_seconds:.1f}",
            calls_text(row.engine_calls),
            calls_text(row.poller_calls),
        ]
        for row in rows
    ]
    headers = [
        "flags (malicious)",
        "messages",
        "poison",
        "processed once",
        "lost",
        "twice",
        "in the DLQ",
        "invocations",
        "drain s",
        "msgs/s",
        "handler s",
        "engine calls",
        "poller SQS calls",
    ]
    return table(headers, body)


def api_calls_table(rows: Sequence[Row]) -> str:
    """Calls per message next to the minimum; extras get a numbered reason below the table."""
    reasons: list[str] = []
    body = []
    for row in rows:
        measured = row.calls_per_message
        minimum = minimum_calls(row.scenario, row.verdict)
        extras = extra_calls(measured, minimum)
        marks = []
        for operation in sorted(extras, key=_operation_rank):
            reason = why_extra(row.scenario, row.verdict, operation)
            if reason not in reasons:
                reasons.append(reason)
            marks.append(f"+{extras[operation]} {operation} [{reasons.index(reason) + 1}]")
        body.append(
            [
                row.scenario.name,
                row.verdict,
                calls_text(measured),
                calls_text(minimum),
                ", ".join(marks) or "-",
            ]
        )
    rendered = table(["flags", "verdict", "engine", "minimum", "over the minimum"], body)
    notes = [f"[{number}] {reason}" for number, reason in enumerate(reasons, 1)]
    return "\n".join([rendered, "", *notes]) if notes else rendered


def imports_table(timings: Sequence[ImportTiming]) -> str:
    body = [
        [
            timing.case.name,
            str(len(timing.runs_ms)),
            f"{timing.median_ms:.0f}",
            f"{min(timing.runs_ms):.0f}-{max(timing.runs_ms):.0f}",
        ]
        for timing in timings
    ]
    rendered = table(
        ["fresh process, no bytecode cache for the function", "runs", "median ms", "range ms"], body
    )
    ratios = goal_ratios(list(timings))
    return (
        f'{rendered}\n\nHandler import + first S3 client / (import boto3 + boto3.client("s3")),'
        f" run by run: median {statistics.median(ratios):.2f}"
        f" (range {min(ratios):.2f}-{max(ratios):.2f}; goal <= {GOAL_RATIO:.2f})"
    )


def package_table(package: Package) -> str:
    body = [
        [
            str(package.files),
            f"{package.uncompressed_bytes:,}",
            f"{package.zip_bytes:,}",
            f"{package.zip_bytes / 1024:.1f} KiB",
        ]
    ]
    return table(["files", "bytes", "zip bytes", "zip"], body)


def _operation_rank(operation: str) -> int:
    if operation in OPERATION_ORDER:
        return OPERATION_ORDER.index(operation)
    return len(OPERATION_ORDER)


def plan_table(plans: Sequence[PlanTiming] | str) -> str:
    """First plan of a new deployment against the emulator, per delivery mode."""
    if isinstance(plans, str):
        return plans
    body = [
        [
            plan.mode,
            plan.check_bucket_names,
            str(plan.resources),
            str(len(plan.runs_s)),
            f"{plan.median_s:.1f}",
            f"{min(plan.runs_s):.1f}-{max(plan.runs_s):.1f}",
        ]
        for plan in plans
    ]
    return table(
        ["delivery_mode", "check_bucket_names", "resources to add", "plans", "median s", "range s"],
        body,
    )
