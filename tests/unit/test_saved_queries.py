"""The saved Logs Insights queries (queries/*.query, saved by observability.tf, run by tools/report)
against log lines the engine really printed.

Each query is parsed (tests/logs_insights.py: the commands it uses, nothing more) and its fields
checked against the lines: a field the engine renames or drops breaks a test, and so does a field
pushed beyond the first fields Logs Insights discovers. Then each query runs over the lines and its
answer is compared with the same question answered directly from the lines in Python.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest
from log_lines_kit import MANY_FINDINGS, MANY_VERSIONS, Printed, printed_once
from logs_insights import FIELD_LIMIT, Event, all_fields, flatten, parse, run, tokenize

from post_scan.config import VERDICTS

QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"
OBSERVABILITY_TF = QUERIES_DIR.parent / "observability.tf"
QUERIES = {path.stem: path.read_text() for path in sorted(QUERIES_DIR.glob("*.query"))}
SYSTEM_FIELDS = {"@timestamp", "@message", "@ptr", "@logStream", "@log"}


@pytest.fixture
def printed(request):
    return printed_once(request)


def _events(printed: list[Printed]) -> list[Event]:
    return [Event(p.timestamp_ms, p.text, f"ptr-{n}") for n, p in enumerate(printed)]


def _rows(name: str, printed: list[Printed], text: str | None = None) -> list[dict[str, str]]:
    results = run(text or QUERIES[name], _events(printed))
    return [{cell["field"]: cell["value"] for cell in row} for row in results]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def test_the_module_saves_every_query_file():
    pattern = r"saved_queries = \{\s*for key in \[(.*?)\]"
    listed = re.search(pattern, OBSERVABILITY_TF.read_text(), re.S)
    assert listed, "observability.tf: local.saved_queries not found"
    assert sorted(re.findall(r'"([^"]+)"', listed[1])) == sorted(QUERIES)
    assert len(QUERIES) == 7


def test_the_lines_cover_every_kind_of_record(printed):
    """The lines these tests read: every outcome the queries look for is among them."""
    outcomes = Counter(p.line["outcome"] for p in printed)
    assert {"processed", "fallback", "error", "rejected", "ignored"} <= set(outcomes), outcomes
    verdicts = {p.line["verdict"] for p in printed}
    assert set(VERDICTS) <= verdicts, verdicts
    assert any(len(p.line["findings"]) == MANY_FINDINGS for p in printed)
    assert any(len(p.line["targets"]) == MANY_VERSIONS for p in printed)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_a_query_reads_only_fields_the_engine_prints(name, printed):
    query = parse(QUERIES[name])
    printed_fields = {f for p in printed for f in all_fields(p.line)}
    unknown = query.fields_used - printed_fields - SYSTEM_FIELDS
    assert not unknown, f"{name} reads fields no log line has: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_the_fields_a_query_reads_are_among_those_logs_insights_discovers(name, printed):
    """Every field the query reads, in every line that has it, is within the first FIELD_LIMIT
    flattened fields: a scan with 150 findings or a key with 30 versions hides none of them."""
    used = parse(QUERIES[name]).fields_used - SYSTEM_FIELDS
    for p in printed:
        present = {f for f, v in flatten(p.line, limit=math.inf).items() if v is not None}
        discovered = set(flatten(p.line, limit=FIELD_LIMIT))
        hidden = (used & present) - discovered
        assert not hidden, f"{name}: {sorted(hidden)} beyond field {FIELD_LIMIT} of {p.text[:200]}"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_fields_compared_with_not_equal_are_never_missing(name, printed):
    """Whether Logs Insights counts a missing field as unequal is not documented: a query must
    only use != on fields every line has."""
    for field in parse(QUERIES[name]).not_equal_fields:
        assert all(p.line.get(field) is not None for p in printed), field


def test_verdict_lists_are_the_engines():
    for name, text in QUERIES.items():
        for match in re.finditer(r"verdict in \[([^\]]*)\]", text):
            listed = re.findall(r'"([^"]+)"', match[1])
            assert set(listed) <= set(VERDICTS), (name, listed)
    by_bucket = re.search(r"verdict in \[([^\]]*)\]", QUERIES["verdicts-by-bucket"])
    assert re.findall(r'"([^"]+)"', by_bucket[1]) == list(VERDICTS)


def test_every_query_is_within_the_evaluated_subset():
    for name, text in QUERIES.items():
        parse(text)  # raises Unsupported otherwise
        assert len(text) <= 10_000, name
        assert tokenize(text)


# --- what each query answers ------------------------------------------------------------------


def _malicious(printed: list[Printed]) -> list[Printed]:
    return [p for p in printed if p.line["verdict"] == "malicious"]


def test_malicious_files(printed):
    rows = _rows("malicious-files", printed)
    expected = [p for p in _malicious(printed) if p.line["outcome"] != "rejected"]
    expected.sort(key=lambda p: p.timestamp_ms, reverse=True)
    assert [r["key"] for r in rows] == [p.line["key"] for p in expected]
    deleted = {p.line["key"]: p.line for p in expected if p.line["exposure_seconds"] is not None}
    assert len(deleted) >= 8
    for row in rows:
        line = deleted.get(row["key"])
        if line is None:
            assert "exposure_seconds" not in row  # nothing removed: no figure
            continue
        assert row["exposure_seconds"] == _number(line["exposure_seconds"])
        assert row["action"] == line["targets"][0]["action"]
        assert row["file_id"] == line["file_id"]
        assert row["bucket"] == line["bucket"]
    assert {r["action"] for r in rows} >= {"delete", "quarantine"}


def test_failures(printed):
    rows = _rows("failures", printed)
    expected = [
        p.line
        for p in printed
        if p.line["outcome"] in ("error", "rejected", "fallback")
        or p.line["verdict"] in ("failed", "unscanned")
    ]
    assert Counter((r["outcome"], r.get("key")) for r in rows) == Counter(
        (line["outcome"], line["key"]) for line in expected
    )
    assert {r["outcome"] for r in rows} == {"error", "rejected", "fallback", "processed"}
    assert all(r["reason"] for r in rows)


def test_slowest_exposures(printed):
    rows = _rows("slowest-exposures", printed)
    removed = [p.line for p in printed if p.line["exposure_seconds"] is not None]
    removed.sort(key=lambda line: line["exposure_seconds"], reverse=True)
    assert [(r["key"], r["exposure_seconds"]) for r in rows] == [
        (line["key"], _number(line["exposure_seconds"])) for line in removed[:20]
    ]
    assert rows[0]["exposure_seconds"] == "95.125"


def test_exposure_percentiles(printed):
    (row,) = _rows("exposure-percentiles", printed)
    values = sorted(p.line["exposure_seconds"] for p in printed if p.line["exposure_seconds"])
    rank = lambda q: values[math.ceil(q / 100 * len(values)) - 1]  # noqa: E731
    assert row == {
        "files": _number(len(values)),
        "p50": _number(rank(50)),
        "p99": _number(rank(99)),
        "slowest": _number(values[-1]),
    }


def test_verdicts_by_bucket(printed):
    rows = _rows("verdicts-by-bucket", printed)
    expected = Counter(
        (p.line["bucket"], p.line["verdict"])
        for p in printed
        if p.line["verdict"] in VERDICTS and p.line["outcome"] not in ("error", "rejected")
    )
    assert {(r["bucket"], r["verdict"]): int(r["results"]) for r in rows} == dict(expected)
    assert [int(r["results"]) for r in rows] == sorted(expected.values(), reverse=True)


def test_top_malware(printed):
    rows = _rows("top-malware", printed)
    expected = Counter(
        p.line["findings"][0]["malware"]
        for p in _malicious(printed)
        if p.line["outcome"] not in ("error", "rejected")
    )
    assert {r["findings.0.malware"]: int(r["files"]) for r in rows} == dict(expected)
    assert rows[0]["findings.0.malware"] == "Eicar_test_file"


@pytest.mark.parametrize("by", ["key", "file_id"])
def test_file_history(printed, by):
    wanted = {"key": "virus-1.exe", "file_id": "id-virus-1.exe"}[by]
    text = QUERIES["file-history"].replace("KEY_OR_FILE_ID", wanted)
    rows = _rows("file-history", printed, text)
    expected = [p for p in printed if p.line[by] == wanted]
    assert len(expected) == 1 and [r["key"] for r in rows] == ["virus-1.exe"]
    assert rows[0]["exposure_seconds"] == "42.25"
    assert rows[0]["@timestamp"].startswith("2024-05-01 12:01:")
