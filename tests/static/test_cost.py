"""docs/cost.md agrees with docs/cost-data.json, and its arithmetic holds.

The table between the COST markers is what scripts/gen_cost_doc.py computes from the data; the
totals are recomputed here independently (sum of the items per million, the monthly items), and
every configuration's calls per message are at least what benchmarks/scenarios.py argues each
action needs, so a data file that forgets a call cannot pass.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest

from post_scan import logline
from post_scan.message import CLEAN, FAILED, INCOMPLETE, MALICIOUS, UNSCANNED
from post_scan.pipeline import Outcome

REPO = Path(__file__).resolve().parents[2]
DATA = json.loads((REPO / "docs" / "cost-data.json").read_text())
DOC = (REPO / "docs" / "cost.md").read_text()


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_cost_doc", REPO / "scripts" / "gen_cost_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_the_page_shows_what_the_data_computes():
    block = DOC.split("<!-- COST:BEGIN -->\n", 1)[1].split("\n<!-- COST:END -->", 1)[0]
    assert block == _generator().render(DATA), "run python3 scripts/gen_cost_doc.py"


def _price(item: str) -> float:
    return DATA["prices"][item]["usd"] / DATA["prices"][item]["per"]


def _expected_total(config: dict, verdict: str) -> float:
    """USD per million results of one verdict, from first principles."""
    work, assume = config[verdict], DATA["assumptions"]
    batch = assume["queue_batch_size"] if config["delivery"] == "queue" else 1
    invocations = 1e6 / batch
    calls = sum(work["calls"].values())
    ms = math.ceil((assume["engine_ms_per_message"] + assume["aws_ms_per_call"] * calls) * batch)
    usd = invocations * _price("lambda_request")
    usd += invocations * ms / 1000 * assume["memory_mb"] / 1024 * _price("lambda_gb_second")
    usd += sum(n * 1e6 * _price(DATA["operations"][op]) for op, n in work["calls"].items())
    if config["delivery"] == "queue":
        per_message = DATA["queue"]["sqs_requests_per_message"]
        per_message += DATA["queue"]["sqs_requests_per_batch"] / batch
        usd += per_message * 1e6 * _price("sqs_request")
    log_bytes = work["log_bytes"] * 1e6
    log_bytes += assume["platform_log_bytes_per_invocation"] * invocations
    return usd + log_bytes / 2**30 * 0.50


@pytest.mark.parametrize("config", DATA["configurations"], ids=lambda c: c["name"])
def test_totals_are_the_sum_of_their_items(config: dict):
    generator = _generator()
    row = next(
        line for line in DOC.splitlines() if line.startswith("| **per million scan results**")
    )
    index = [c["name"] for c in DATA["configurations"]].index(config["name"])
    cell = row.strip("|").split("|")[index + 1].strip().strip("*")
    clean, malicious = (float(part) for part in cell.split(" / "))
    for verdict, shown in (("clean", clean), ("malicious", malicious)):
        items = generator.items_per_million(DATA, config, verdict)
        assert sum(items.values()) == pytest.approx(_expected_total(config, verdict), rel=1e-9)
        assert shown == pytest.approx(_expected_total(config, verdict), abs=0.005)


def test_monthly_items():
    # The metrics the log line can publish: every counter, every timing, ScanResults per verdict.
    timed = Outcome(dry_run=False, exposure_seconds=1.0, scan_seconds=1.0, action_delay_seconds=1.0)
    published = (
        len(logline.counters(timed))
        + len(logline.timings(timed))
        + len((MALICIOUS, CLEAN, INCOMPLETE, FAILED, UNSCANNED))
    )
    assert DATA["metrics"]["per_function"] == published
    row = "| custom metrics, per month |"
    line = next(text for text in DOC.splitlines() if text.startswith(row))
    shown = [float(cell) for cell in line.strip("|").split("|")[1:]]
    assert shown == pytest.approx([published * _price("custom_metric_month")] * len(shown))
    row = "| alarms (with alarm_topic_arns), per month |"
    line = next(text for text in DOC.splitlines() if text.startswith(row))
    shown = [float(cell) for cell in line.strip("|").split("|")[1:]]
    expected = [c["alarms"] * _price("alarm_month") for c in DATA["configurations"]]
    assert shown == pytest.approx(expected)
    # The standard alarms per mode, as the alarm table in docs/operations.md counts them.
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    direct, queue = map(
        int, re.search(r"\((\d+) in direct mode, (\d+) in queue mode", operations).groups()
    )
    for config in DATA["configurations"]:
        assert config["alarms"] == (queue if config["delivery"] == "queue" else direct), config


def test_calls_are_at_least_what_each_action_needs():
    # benchmarks/ is at the repository root, not on pytest's pythonpath (lambda, tests, tools).
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.scenarios import SCENARIOS, minimum_calls
    finally:
        sys.path.remove(str(REPO))
    scenarios = {s.name: s for s in SCENARIOS}
    for config in DATA["configurations"]:
        scenario = scenarios[config["bench"]]
        for verdict in ("clean", "malicious"):
            needed = minimum_calls(scenario, verdict)
            given = config[verdict]["calls"]
            short = {op: n for op, n in needed.items() if given.get(op, 0) < n}
            assert not short, f"{config['name']} {verdict}: fewer calls than needed: {short}"
            assert set(given) <= set(DATA["operations"]), f"unpriced operation in {given}"


def test_every_price_has_a_source_and_the_date_is_stated():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", DATA["prices_date"])
    assert f"Prices of {DATA['prices_date']}" in DOC
    for name, price in DATA["prices"].items():
        assert price["source"].startswith("https://"), name
