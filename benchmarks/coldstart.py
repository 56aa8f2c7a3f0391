"""Cold import time: each measurement is a fresh Python process timing one import."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The environment of a minimal deployment: one bucket, everything else default.
MINIMAL_ENVIRONMENT = {"ALLOWED_BUCKETS": "bench-uploads", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class ImportCase:
    name: str
    statement: str
    environment: dict[str, str]


@dataclass(frozen=True)
class ImportTiming:
    case: ImportCase
    runs_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


CASES = (
    ImportCase("import boto3", "import boto3", MINIMAL_ENVIRONMENT),
    ImportCase("import post_scan.handler", "import post_scan.handler", MINIMAL_ENVIRONMENT),
    ImportCase(
        "import post_scan.handler, DELETE_MALICIOUS=true (reads the S3 model)",
        "import post_scan.handler",
        {**MINIMAL_ENVIRONMENT, "DELETE_MALICIOUS": "true"},
    ),
    ImportCase(
        "import post_scan.handler + the first S3 and DynamoDB clients",
        "import post_scan.handler; post_scan.aws.s3_client(); post_scan.aws.dynamodb_client()",
        MINIMAL_ENVIRONMENT,
    ),
)

_PROGRAM = """
import sys, time
sys.path.insert(0, {lambda_dir!r})
started = time.perf_counter()
{statement}
print((time.perf_counter() - started) * 1000)
"""


def time_import(case: ImportCase, lambda_dir: Path) -> float:
    """Milliseconds one fresh interpreter spends in the statement (its startup excluded)."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))},
        "AWS_EC2_METADATA_DISABLED": "true",
        **case.environment,
    }
    program = _PROGRAM.format(lambda_dir=str(lambda_dir), statement=case.statement)
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure_imports(lambda_dir: Path, runs: int) -> list[ImportTiming]:
    """Runs alternate between the cases, so a busy moment does not hit one case only."""
    timings: list[list[float]] = [[] for _ in CASES]
    for _ in range(runs):
        for case, runs_ms in zip(CASES, timings, strict=True):
            runs_ms.append(time_import(case, lambda_dir))
    return [ImportTiming(case, runs_ms) for case, runs_ms in zip(CASES, timings, strict=True)]
