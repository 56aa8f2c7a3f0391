"""Cold start: which of the function's modules `import post_scan.handler` loads.

The zip ships no bytecode, so every module imported at cold start is compiled from source on each
new execution environment (benchmarks/coldstart.py measures it). Features that are off are loaded
at their first use only: these tests list exactly what a minimal deployment and one that deletes
malicious files load, so a module that slips back into the cold path fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.environ import environ_copy

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"

# What every message needs: parse, locate, decide, act on S3, log.
COLD_PATH = {
    "post_scan",
    "post_scan.aws",
    "post_scan.budget",
    "post_scan.config",
    "post_scan.failures",
    "post_scan.handler",
    "post_scan.locate",
    "post_scan.logline",
    "post_scan.message",
    "post_scan.objects",
    "post_scan.pipeline",
    "post_scan.route",
    "post_scan.targets",
    "post_scan.timing",
    "post_scan.valid_text",
}
# Loaded with the first use of their feature, never at import.
LAZY = {
    "post_scan.announce",  # EVENT_BUS / NOTIFY_TOPIC_ARN / SECURITY_HUB_PRODUCT_ARN
    "post_scan.events",
    "post_scan.findings",
    "post_scan.notify",
    "post_scan.publishers",
    "post_scan.guardduty",  # the first GuardDuty event (GUARDDUTY_PLAN_ARNS)
    "post_scan.pending",  # a replayed dead letter, or a final receive that could not write a row
    "post_scan.protection",  # a routed copy's tags, READ_PROTECTION=until_clean's check
    "post_scan.record",  # the first row (FILE_ID_TABLE)
    "post_scan.scanner_tags",  # the first tag read (file ids, routes, verdict conflicts)
}

_PROGRAM = """
import json, sys
import post_scan.handler
print(json.dumps(sorted(m for m in sys.modules if m.startswith("post_scan"))))
"""


def _loaded(**settings: str) -> set[str]:
    environment = {
        **environ_copy(("AWS_", "PYTHON")),
        "PYTHONPATH": str(LAMBDA_DIR),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "ALLOWED_BUCKETS": "uploads",
        **settings,
    }
    command = [sys.executable, "-c", _PROGRAM]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_every_module_is_listed_once() -> None:
    shipped = {f"post_scan.{p.stem}" for p in (LAMBDA_DIR / "post_scan").glob("*.py")}
    shipped = {"post_scan" if name == "post_scan.__init__" else name for name in shipped}
    assert COLD_PATH.isdisjoint(LAZY)
    assert shipped == COLD_PATH | LAZY


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"DELETE_MALICIOUS": "true"},  # also creates the S3 client (checks conditional deletes)
        # Features configured but not used yet: their modules wait for their first use.
        {
            "DELETE_MALICIOUS": "true",
            "EXTRACT_FILE_ID": "true",
            "FILE_ID_TABLE": "verdicts",
            "GUARDDUTY_PLAN_ARNS": "arn:aws:guardduty:us-east-1:123456789012:"
            "malware-protection-plan/plan1",
            "READ_PROTECTION": "until_clean",
            "ROUTE_MALICIOUS": "quarantine",
            "EVENT_BUS": "default",
        },
    ],
    ids=["minimal", "delete-malicious", "features-set"],
)
def test_the_handler_import_loads_only_the_cold_path(settings: dict[str, str]) -> None:
    assert _loaded(**settings) == COLD_PATH
