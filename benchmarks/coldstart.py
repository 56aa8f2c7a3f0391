"""Cold import time: each measurement is a fresh Python process timing one statement.

As in a Lambda execution environment, the function's own modules have no bytecode cache: they are
copied (without ``__pycache__``) into a temporary folder and run with PYTHONDONTWRITEBYTECODE, so
every run compiles them. boto3 and botocore keep the caches they were installed with, as the
runtime's own SDK does. Only the statement is timed, in CPU time (the interpreter's start is not).

The goal (issue 20, docs/performance.md): the handler import plus the first S3 client within 1.10x
of ``import boto3`` + ``boto3.client("s3")``, the seed's cold path. The ratio is taken run by run
(the cases alternate, so both sides of a pair see the same machine) and its median reported.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.scenarios import GUARDDUTY_PLAN
from emulator.environ import environ_copy

# The environment of a minimal deployment: one bucket, everything else default.
MINIMAL_ENVIRONMENT = {"ALLOWED_BUCKETS": "bench-uploads", "AWS_DEFAULT_REGION": "us-east-1"}
DELETING_ENVIRONMENT = {**MINIMAL_ENVIRONMENT, "DELETE_MALICIOUS": "true"}
GOAL_RATIO = 1.10


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


BASELINE = ImportCase(
    'import boto3 + boto3.client("s3") (the seed)',
    'import boto3; boto3.client("s3")',
    MINIMAL_ENVIRONMENT,
)
HANDLER_WITH_S3 = ImportCase(
    "import post_scan.handler + the first S3 client, DELETE_MALICIOUS=true",
    "import post_scan.handler; post_scan.aws.s3_client()",
    DELETING_ENVIRONMENT,
)
CASES = (
    ImportCase("import boto3", "import boto3", MINIMAL_ENVIRONMENT),
    BASELINE,
    ImportCase("import post_scan.handler", "import post_scan.handler", MINIMAL_ENVIRONMENT),
    ImportCase(
        "import post_scan.handler, DELETE_MALICIOUS=true (checks the S3 model: creates the client)",
        "import post_scan.handler",
        DELETING_ENVIRONMENT,
    ),
    HANDLER_WITH_S3,
    ImportCase(
        "import post_scan.handler + the first S3 client, GuardDuty plans set (GUARDDUTY_PLAN_ARNS)",
        "import post_scan.handler; post_scan.aws.s3_client()",
        {**DELETING_ENVIRONMENT, "GUARDDUTY_PLAN_ARNS": GUARDDUTY_PLAN},
    ),
    ImportCase(
        "the same + post_scan.guardduty (loaded with the first GuardDuty event)",
        "import post_scan.handler; post_scan.aws.s3_client(); import post_scan.guardduty",
        {**DELETING_ENVIRONMENT, "GUARDDUTY_PLAN_ARNS": GUARDDUTY_PLAN},
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
started = time.process_time()
{statement}
print((time.process_time() - started) * 1000)
"""


def time_import(case: ImportCase, lambda_dir: Path) -> float:
    """CPU milliseconds one fresh interpreter spends in the statement (its startup excluded).

    CPU time, not wall time: on a shared machine another process's work would land in the wall
    time of whichever case it hit. The statement reads only cached files and makes no call.
    """
    environment = {
        **environ_copy(("AWS_", "PYTHON")),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
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
    with tempfile.TemporaryDirectory(prefix="fss-coldstart-") as workdir:
        package = Path(workdir) / "lambda"
        shutil.copytree(lambda_dir, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for _ in range(runs):
            for case, runs_ms in zip(CASES, timings, strict=True):
                runs_ms.append(time_import(case, package))
    return [ImportTiming(case, runs_ms) for case, runs_ms in zip(CASES, timings, strict=True)]


def goal_ratios(timings: list[ImportTiming]) -> list[float]:
    """HANDLER_WITH_S3 / BASELINE, run by run."""
    by_case = {timing.case.name: timing.runs_ms for timing in timings}
    return [
        handler / baseline
        for handler, baseline in zip(
            by_case[HANDLER_WITH_S3.name], by_case[BASELINE.name], strict=True
        )
    ]
