"""The demo's closing exposure figures (tools/demo/report.py exposure()) from log lines the engine
printed: the worst figure first, one row per removed file, the table and the plain form."""

from __future__ import annotations

import pytest
from log_lines_kit import printed_once

from demo.report import exposure


@pytest.fixture
def logs(request):
    return [p.line for p in printed_once(request)]


def test_the_worst_exposure_leads(logs):
    removed = [log for log in logs if log["exposure_seconds"] is not None]
    lines = exposure(logs, table=False)
    assert lines[0].startswith(
        f"malware readable for at most 1 min 35 s in this run ({len(removed)} malicious files"
    )
    assert "emulator timings, not AWS's" in lines[0]
    assert len(lines) == 1 + len(removed)
    assert lines[1] == (
        "  s3://uploads-bucket/virus-3.exe: readable for 1 min 35 s "
        "(upload to scan 30.0 s, scan to done 1 min 5 s)"
    )


def test_the_table_lines_up(logs):
    lines = exposure(logs, table=True)
    body = lines[1:]
    assert body[0].startswith("\u250c") and body[-1].startswith("\u2514")
    assert len({len(line) for line in body}) == 1  # every row as wide as the rules
    assert "readable for" in body[1] and "virus-3.exe" in body[3]


def test_nothing_removed(logs):
    kept = [log for log in logs if log["exposure_seconds"] is None]
    assert exposure(kept, table=True) == ["exposure: no malicious file was removed in this run"]


def test_against_aws_the_figures_are_not_called_emulated(logs):
    (first, *_) = exposure(logs, table=False, emulated=False)
    assert "measured in your AWS account" in first and "emulator" not in first
