"""The benchmark runs with its documented command and prints every section, row and sane counts.

It measures nothing here (`--quick`: 3 messages a row): the numbers are for the README, the
test only checks that the tables are complete and that the API-call counts make sense.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERDICTS = ["malicious", "clean", "incomplete", "failed"]
# The flag combinations the README's Performance section reports.
FLAGS = [
    "log only",
    "record",
    "delete, unversioned",
    "delete, versioned",
    "delete, unversioned, no ETag",
    "record + delete",
    "quarantine (move)",
    "dry run: record + delete + quarantine",
]
SECTIONS = ["Machine", "Throughput", "AWS API calls per message", "Cold import", "Package"]
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


@pytest.fixture(scope="module")
def output() -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "lambda"), str(REPO / "tools")])}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def sections(output: str) -> dict[str, str]:
    return _sections(output)


def test_every_section_is_printed(sections):
    for name in SECTIONS:
        assert any(title.startswith(name) for title in sections), (name, list(sections))
    assert "cores" in _section(sections, "Machine")
    assert "boto3" in _section(sections, "Machine")


@pytest.mark.parametrize("section", ["Throughput", "AWS API calls per message"])
def test_every_flag_combination_and_verdict_has_a_row(sections, section):
    rows = _rows(_section(sections, section))
    assert [(row["flags"], row["verdict"]) for row in rows] == [
        (flags, verdict) for flags in FLAGS for verdict in VERDICTS
    ]


def test_throughput_rows_are_measured(sections):
    for row in _rows(_section(sections, "Throughput")):
        assert row["messages"] == "3"
        assert float(row["msgs/s"].replace(",", "")) > 0
        assert 0 < float(row["p50 ms"]) <= float(row["p95 ms"])


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
    for verdict in ("malicious", "incomplete", "failed"):
        assert calls[("record", verdict)]["engine"]["UpdateItem"] == 1
        assert calls[("record", verdict)]["engine"]["GetObjectTagging"] == 1
    assert calls[("record", "clean")]["engine"] == {}  # not in the default RECORD_VERDICTS
    assert calls[("record + delete", "malicious")]["engine"]["DeleteObject"] == 1
    quarantine = calls[("quarantine (move)", "malicious")]["engine"]
    assert quarantine["CopyObject"] == 1
    assert quarantine["DeleteObject"] == 1
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
    rows = _rows(_section(sections, "Cold import"))
    names = [row["fresh process"] for row in rows]
    assert names[0] == "import boto3"
    assert any(name.startswith("import post_scan.handler") for name in names)
    for row in rows:
        assert float(row["median ms"]) > 0


def test_package_counts_the_zipped_engine(sections):
    (row,) = _rows(_section(sections, "Package"))
    sources = [p for p in (REPO / "lambda").rglob("*.py") if "__pycache__" not in p.parts]
    assert int(row["files"]) == len(sources)
    assert 0 < int(row["zip bytes"].replace(",", "")) < int(row["bytes"].replace(",", ""))
