"""The benchmark runs with its documented command and prints every section, row and sane counts.

It measures nothing here (`--quick`: 3 messages a row, one batch of 10 per queue delivery row):
the numbers are for docs/performance.md, the test only checks that the tables are complete, that the
API-call counts make sense and that a batch with one malformed message reports exactly that one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import background
import pytest

from emulator import jobs
from emulator.environ import environ_copy
from post_scan import config

REPO = Path(__file__).resolve().parents[2]
VERDICTS = list(config.VERDICTS)
# The flag combinations docs/performance.md reports.
FLAGS = [
    "log only",
    "record",
    "delete, unversioned",
    "delete, versioned",
    "delete, unversioned, no ETag",
    "record + delete",
    "quarantine (move)",
    "quarantine (copy)",
    "promote clean (move)",
    "delete + event + notification + finding",
    "GuardDuty: delete, versioned",
    "GuardDuty: record + delete, versioned",
    "GuardDuty: quarantine (move), versioned",
    "GuardDuty: delete, unversioned",
    "dry run: record + delete + quarantine",
]
# GuardDuty never says incomplete.
GUARDDUTY_VERDICTS = [v for v in VERDICTS if v != "incomplete"]
SECTIONS = [
    "Machine",
    "Throughput",
    "Queue delivery",
    "Burst through queue delivery",
    "AWS API calls per message",
    "Cold import",
    "Package",
    "Plan time",
]
BATCH_SIZE = 10  # the module's default batch_size
QUICK_BURST = 100  # scan results per burst with --quick
# Queue delivery rows: batches of malicious scan results; the last has one malformed message.
QUEUE_ROWS = [
    ("log only", "malicious"),
    ("delete, unversioned", "malicious"),
    ("record + delete", "malicious"),
    ("quarantine (move)", "malicious"),
    ("delete + event + notification + finding", "malicious"),
    ("record + delete", "malicious, 1 malformed"),
]
ANNOUNCING = ("PutEvents", "PublishBatch", "BatchImportFindings")
ANNOUNCED = "delete + event + notification + finding"
WRITES = ("UpdateItem", "CopyObject", "DeleteObject", "UploadPartCopy")


def _sections(output: str) -> dict[str, str]:
    parts = re.split(r"^## ", output, flags=re.M)[1:]
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in parts}


def _section(sections: dict[str, str], prefix: str) -> str:
    (text,) = [text for title, text in sections.items() if title.startswith(prefix)]
    return text


def _rows(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [
        dict(zip(headers, [cell.strip() for cell in line.strip("|").split("|")], strict=True))
        for line in lines[2:]
    ]


def _calls(text: str) -> dict[str, int]:
    """`1 HeadObject + 1 DeleteObject` -> {HeadObject: 1, DeleteObject: 1}; `none` -> {}."""
    if text == "none":
        return {}
    return {name: int(count) for count, name in (item.split() for item in text.split(" + "))}


@background.work("bench_output")
def _benchmark(session: pytest.Session) -> str:
    """`python -m benchmarks --quick` (a process of its own), in the background from the end of
    collection."""
    env = {
        **environ_copy(),
        "PYTHONPATH": os.pathsep.join([str(REPO / "lambda"), str(REPO / "tools")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=jobs.scaled(75),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def bench_output(request: pytest.FixtureRequest) -> str:
    return background.result("bench_output", request.session)


@pytest.fixture(scope="module")
def sections(bench_output: str) -> dict[str, str]:
    return _sections(bench_output)


def test_every_section_is_printed(sections):
    for name in SECTIONS:
        assert any(title.startswith(name) for title in sections), (name, list(sections))
    assert "cores" in _section(sections, "Machine")
    assert "boto3" in _section(sections, "Machine")


@pytest.mark.parametrize("section", ["Throughput", "AWS API calls per message"])
def test_every_flag_combination_and_verdict_has_a_row(sections, section):
    rows = _rows(_section(sections, section))
    assert [(row["flags"], row["verdict"]) for row in rows] == [
        (flags, verdict)
        for flags in FLAGS
        for verdict in (GUARDDUTY_VERDICTS if flags.startswith("GuardDuty") else VERDICTS)
    ]


def test_throughput_rows_are_measured(sections):
    for row in _rows(_section(sections, "Throughput")):
        assert row["messages"] == "3"
        assert _number(row["msgs/s"]) > 0
        assert 0 < float(row["p50 ms"]) <= float(row["p95 ms"])
        # One JSON log line with its metrics (docs/cost.md prices its ingestion).
        assert 1000 < int(row["log line bytes"]) < 10000, row


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_queue_delivery_rows_are_measured(sections):
    rows = _rows(_section(sections, "Queue delivery"))
    assert [(row["flags"], row["verdict"]) for row in rows] == QUEUE_ROWS
    for row in rows:
        assert int(row["batches"]) >= 1
        assert row["records/batch"] == str(BATCH_SIZE)
        assert _number(row["msgs/s"]) > 0
        assert 0 < _number(row["batch p50 ms"]) <= _number(row["batch p95 ms"])
        assert _number(row["p50 ms/msg"]) == pytest.approx(
            _number(row["batch p50 ms"]) / BATCH_SIZE, abs=0.01
        )


def test_queue_batch_with_a_malformed_message_reports_exactly_that_one(sections):
    rows = {
        (row["flags"], row["verdict"]): row for row in _rows(_section(sections, "Queue delivery"))
    }
    for key in QUEUE_ROWS[:-1]:
        assert rows[key]["batchItemFailures"] == "0", rows[key]
        assert rows[key]["processed/batch"] == str(BATCH_SIZE), rows[key]
    poisoned = rows[QUEUE_ROWS[-1]]
    assert poisoned["batchItemFailures"] == "1"
    assert poisoned["processed/batch"] == str(BATCH_SIZE - 1)


def test_queue_delivery_makes_the_calls_of_one_message_per_processed_record(sections):
    """The actions cost per record what they cost alone; the announcements of a whole batch cost
    one call per target (PutEvents, PublishBatch, BatchImportFindings), not one per record."""
    engine = {key: row["engine"] for key, row in _api_rows(sections).items()}
    for row in _rows(_section(sections, "Queue delivery")):
        alone = engine[(row["flags"], "malicious")]
        actions = sum(n for op, n in alone.items() if op not in ANNOUNCING)
        announcing = sum(n for op, n in alone.items() if op in ANNOUNCING)
        assert int(row["of which announcing"]) == announcing, row  # 1 per target per batch
        expected = int(row["processed/batch"]) * actions + announcing
        assert int(row["AWS calls/batch"]) == expected, row
    assert engine[("record + delete", "malicious")]  # the poisoned row's calls count


def test_announcements_cost_one_call_per_target(sections):
    calls = _api_rows(sections)
    assert {
        op: calls[(ANNOUNCED, "malicious")]["engine"][op] for op in ANNOUNCING
    } == dict.fromkeys(ANNOUNCING, 1)
    for verdict in ("incomplete", "failed"):  # announced, no finding, no S3 call
        assert calls[(ANNOUNCED, verdict)]["engine"] == {"PutEvents": 1, "PublishBatch": 1}
    assert calls[(ANNOUNCED, "clean")]["engine"] == {}  # not in the default NOTIFY_VERDICTS


def _api_rows(sections) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    return {
        (row["flags"], row["verdict"]): {
            "engine": _calls(row["engine"]),
            "minimum": _calls(row["minimum"]),
        }
        for row in _rows(_section(sections, "AWS API calls per message"))
    }


def test_api_calls_per_action(sections):
    calls = _api_rows(sections)
    for verdict in VERDICTS:
        assert calls[("log only", verdict)]["engine"] == {}
    for flags in ("delete, unversioned", "delete, versioned", "delete, unversioned, no ETag"):
        assert calls[(flags, "malicious")]["engine"]["DeleteObject"] == 1
        assert "UpdateItem" not in calls[(flags, "malicious")]["engine"]
        assert calls[(flags, "clean")]["engine"] == {}
    for verdict in ("malicious", "incomplete", "failed", "unscanned"):
        assert calls[("record", verdict)]["engine"]["UpdateItem"] == 1
        assert calls[("record", verdict)]["engine"]["GetObjectTagging"] == 1
    assert calls[("record", "clean")]["engine"] == {}  # not in the default RECORD_VERDICTS
    assert calls[("record + delete", "malicious")]["engine"]["DeleteObject"] == 1
    quarantine = calls[("quarantine (move)", "malicious")]["engine"]
    assert quarantine["CopyObject"] == 1
    assert quarantine["DeleteObject"] == 1
    copy = calls[("quarantine (copy)", "malicious")]["engine"]
    assert copy["CopyObject"] == 1
    assert "DeleteObject" not in copy  # copy mode keeps the source
    promote = calls[("promote clean (move)", "clean")]["engine"]
    assert promote["CopyObject"] == 1
    assert promote["DeleteObject"] == 1
    for verdict in ("malicious", "incomplete", "failed", "unscanned"):
        assert calls[("promote clean (move)", verdict)]["engine"] == {}
    for verdict in VERDICTS:
        dry = calls[("dry run: record + delete + quarantine", verdict)]["engine"]
        assert not set(dry) & set(WRITES), dry


def test_engine_never_makes_fewer_calls_than_the_minimum(sections):
    for key, row in _api_rows(sections).items():
        for operation, count in row["minimum"].items():
            assert row["engine"].get(operation, 0) >= count, (key, row)


def test_every_call_over_the_minimum_is_explained(sections):
    text = _section(sections, "AWS API calls per message")
    notes = dict(re.findall(r"^\[(\d+)\] (.+)$", text, flags=re.M))
    for row in _rows(text):
        extras = re.findall(r"\+\d+ \w+ \[(\d+)\]", row["over the minimum"])
        engine, minimum = _calls(row["engine"]), _calls(row["minimum"])
        assert bool(extras) == (engine != minimum), row
        for number in extras:
            assert notes[number].startswith(("required", "avoidable")), notes[number]


def test_cold_import_compares_the_handler_with_boto3(sections):
    text = _section(sections, "Cold import")
    rows = _rows(text)
    names = [row["fresh process, no bytecode cache for the function"] for row in rows]
    assert names[:2] == ["import boto3", 'import boto3 + boto3.client("s3") (the seed)']
    assert "import post_scan.handler + the first S3 client, DELETE_MALICIOUS=true" in names
    for row in rows:
        assert float(row["median ms"]) > 0
    ratio = re.search(r"run by run: median (\d+\.\d\d) \(range .*; goal <= 1\.10\)", text)
    assert ratio is not None, text
    assert 0.5 < float(ratio.group(1)) < 3


def test_bursts_lose_nothing_and_dead_letter_exactly_the_poison(sections):
    clean, poisoned = _rows(_section(sections, "Burst through queue delivery"))
    for row in (clean, poisoned):
        messages, poison = _number(row["messages"]), _number(row["poison"])
        assert messages == QUICK_BURST
        assert (row["lost"], row["twice"]) == ("0", "0")
        assert _number(row["processed once"]) == messages - poison
        assert _number(row["in the DLQ"]) == poison
        assert _number(row["invocations"]) >= messages / BATCH_SIZE
        assert _calls(row["engine calls"])["DeleteObject"] == messages - poison
    assert clean["poison"] == "0"
    assert _number(poisoned["poison"]) == QUICK_BURST // 100
    # The poison failed on every receive: its batches were given back, then moved by SQS.
    assert "ChangeMessageVisibilityBatch" in _calls(poisoned["poller SQS calls"])
    assert "ChangeMessageVisibilityBatch" not in _calls(clean["poller SQS calls"])


def test_package_counts_the_zipped_engine(sections):
    (row,) = _rows(_section(sections, "Package"))
    sources = [p for p in (REPO / "lambda").rglob("*.py") if "__pycache__" not in p.parts]
    assert int(row["files"]) == len(sources)
    assert 0 < int(row["zip bytes"].replace(",", "")) < int(row["bytes"].replace(",", ""))


def test_guardduty_calls_are_the_floor(sections):
    """The event names the version and its ETag: one HEAD of that version proves it, then the
    action; nothing is listed, no current-object HEAD."""
    calls = _api_rows(sections)
    assert calls[("GuardDuty: delete, versioned", "malicious")]["engine"] == {
        "HeadObject": 1,
        "DeleteObject": 1,
    }
    assert calls[("GuardDuty: record + delete, versioned", "malicious")]["engine"] == {
        "HeadObject": 1,
        "GetObjectTagging": 1,
        "UpdateItem": 1,
        "DeleteObject": 1,
    }
    for flags in FLAGS[-5:-1]:
        for verdict in GUARDDUTY_VERDICTS:
            assert "ListObjectVersions" not in calls[(flags, verdict)]["engine"], (flags, verdict)
