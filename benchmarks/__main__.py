"""Benchmark of the Lambda engine: prints Markdown tables.

    PYTHONPATH=lambda:tools .venv/bin/python -m benchmarks [--quick] [--messages N]

Sections: the machine; messages per second and latency per flag combination and verdict
(in-process, against the emulator's moto server); the same with queue delivery (SQS events of
10 records, one batch with a malformed message); AWS API calls per message next to the minimum
each action needs; cold import time of the handler against ``import boto3``; the package size.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from benchmarks import tables
from benchmarks.batches import BATCH_SIZE, QUEUE_FLAGS, measure_batches
from benchmarks.burst import MAX_RECEIVE_COUNT, POISON_EVERY, measure_bursts
from benchmarks.coldstart import measure_imports
from benchmarks.machine import machine_line
from benchmarks.package import build_package
from benchmarks.plan import measure_plans
from benchmarks.scenarios import SCENARIOS
from benchmarks.throughput import emulated_account, measure_messages

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MESSAGES = 100
QUICK_MESSAGES = 3
MIN_BATCHES = 1
IMPORT_RUNS = 7
QUICK_IMPORT_RUNS = 2
BURST = 10_000
QUICK_BURST = 100
PLAN_RUNS = 3


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="few messages and imports (the smoke test)"
    )
    parser.add_argument(
        "--messages",
        type=int,
        help=f"messages per flag combination and verdict "
        f"(default {DEFAULT_MESSAGES}, {QUICK_MESSAGES} with --quick); queue delivery rows "
        f"send as many in batches of {BATCH_SIZE} (at least {MIN_BATCHES} batch)",
    )
    parser.add_argument(
        "--burst",
        type=int,
        help=f"scan results per burst through queue delivery (default {BURST:,}, "
        f"{QUICK_BURST} with --quick; 0: no burst rows)",
    )
    args = parser.parse_args(argv)
    if args.messages is not None and args.messages < 1:
        parser.error("--messages must be at least 1")
    if args.burst is not None and args.burst < 0:
        parser.error("--burst must not be negative")
    return args


def _section(title: str, text: str) -> None:
    print(f"## {title}\n\n{text}\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    messages = args.messages or (QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES)
    import_runs = QUICK_IMPORT_RUNS if args.quick else IMPORT_RUNS
    print("# Benchmark\n")
    _section("Machine", machine_line())
    print(
        f"measuring {len(SCENARIOS)} flag combinations x 4 verdicts x {messages}", file=sys.stderr
    )
    with (
        tempfile.TemporaryDirectory(prefix="fss-bench-") as workdir,
        emulated_account(Path(workdir)) as account,
    ):
        rows = measure_messages(account, SCENARIOS, messages)
        batches = max(MIN_BATCHES, math.ceil(messages / BATCH_SIZE))
        print(
            f"measuring queue delivery: {len(QUEUE_FLAGS) + 1} rows x {batches} batches"
            f" of {BATCH_SIZE}",
            file=sys.stderr,
        )
        batch_rows = measure_batches(account, batches)
        burst = args.burst if args.burst is not None else (QUICK_BURST if args.quick else BURST)
        burst_rows = []
        if burst:
            print(f"measuring two bursts of {burst:,} scan results", file=sys.stderr)
            burst_rows = measure_bursts(account, burst)
    _section("Throughput (one message per invocation, warm clients)", tables.throughput_table(rows))
    _section(
        f"Queue delivery (SQS events of {BATCH_SIZE} records, warm clients)",
        tables.batch_table(batch_rows),
    )
    if burst_rows:
        _section(
            f"Burst through queue delivery (batches of {BATCH_SIZE}; the poisoned burst: 1 in"
            f" {POISON_EVERY} malformed, {MAX_RECEIVE_COUNT} receives, then the dead-letter queue)",
            tables.burst_table(burst_rows),
        )
    _section("AWS API calls per message", tables.api_calls_table(rows))
    print(f"measuring cold imports ({import_runs} runs each)", file=sys.stderr)
    timings = measure_imports(REPO / "lambda", import_runs)
    _section("Cold import (fresh process, median)", tables.imports_table(timings))
    _section(
        "Package (lambda/ zipped like the module's archive_file)",
        tables.package_table(build_package(REPO)),
    )
    if args.quick:
        plans: list | str = "not measured with --quick"
    else:
        print(f"measuring plan time ({PLAN_RUNS} plans per delivery mode)", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="fss-bench-plan-") as workdir:
            plans = measure_plans(Path(workdir), PLAN_RUNS)
    _section("Plan time (1,000 buckets, 300 topics)", tables.plan_table(plans))
    return 0


if __name__ == "__main__":
    sys.exit(main())
