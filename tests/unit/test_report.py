"""`make report` (tools/report) against a stubbed Logs Insights that answers each saved query with
what the query yields over log lines the engine really printed (tests/logs_insights.py): moto's
StartQuery knows only fields/sort/limit, so botocore's Stubber stands in for the service. The
figures the report prints are checked against the same lines counted directly in Python.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter

import botocore.session
import pytest
from botocore.stub import Stubber
from engine_kit import REGION, scan_message, sns_event, sns_record, upload
from log_lines_kit import Printed, printed_once
from logs_insights import Event, run

from report import insights
from report.cli import main
from report.summary import clean

NOW = 1_714_600_000.0  # 2024-05-01 21:46:40 UTC
GROUP = "/aws/lambda/fss-post-scan"
WEEK = 7 * 86400


@pytest.fixture
def printed(request):
    return printed_once(request)


def _logs_client():
    session = botocore.session.get_session()
    return session.create_client(
        "logs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )


def _events(printed: list[Printed]) -> list[Event]:
    return [Event(p.timestamp_ms, p.text, f"ptr-{n}") for n, p in enumerate(printed)]


def _stub(
    printed: list[Printed],
    queries: dict[str, str],
    start: int,
    end: int,
    failing: str | None = None,
):
    """A Logs client that expects each query started once (in order), polled once while it runs,
    then once more for its results."""
    logs = _logs_client()
    stubber = Stubber(logs)
    for name, text in queries.items():
        stubber.add_response(
            "start_query",
            {"queryId": f"q-{name}"},
            {"logGroupName": GROUP, "startTime": start, "endTime": end, "queryString": text},
        )
    for name in queries:
        stubber.add_response(
            "get_query_results", {"status": "Running", "results": []}, {"queryId": f"q-{name}"}
        )
    for name, text in queries.items():
        status = "Failed" if name == failing else "Complete"
        stubber.add_response(
            "get_query_results",
            {
                "status": status,
                "results": run(text, _events(printed)) if status == "Complete" else [],
                "statistics": {"recordsMatched": 1.0, "recordsScanned": 2.0, "bytesScanned": 1e6},
            },
            {"queryId": f"q-{name}"},
        )
    stubber.activate()
    return logs, stubber


def _report(logs, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--name", "fss-post-scan", *args],
        logs=logs,
        now=NOW,
        stdout=out,
        stderr=err,
        sleep=lambda _: None,
    )
    return code, out.getvalue(), err.getvalue()


def test_json_summary_matches_the_log_lines(printed):
    queries = insights.load_queries()
    logs, stubber = _stub(printed, queries, int(NOW) - WEEK, int(NOW))
    code, out, err = _report(logs, "--since", "7d", "--format", "json")
    stubber.assert_no_pending_responses()
    assert code == 0, err
    report = json.loads(out)
    lines = [p.line for p in printed]
    counted = Counter(
        line["verdict"]
        for line in lines
        if line["verdict"] and line["outcome"] not in ("error", "rejected")
    )
    assert report["verdicts"] == dict(counted)
    assert sum(sum(b.values()) for b in report["buckets"].values()) == sum(counted.values())
    exposures = sorted(line["exposure_seconds"] for line in lines if line["exposure_seconds"])
    assert report["exposure"] == {
        "files": len(exposures),
        "p50": exposures[math.ceil(0.5 * len(exposures)) - 1],
        "p99": exposures[math.ceil(0.99 * len(exposures)) - 1],
        "slowest": max(exposures),
    }
    assert (
        report["slowest"][0]["key"]
        == max(
            (line for line in lines if line["exposure_seconds"]),
            key=lambda x: x["exposure_seconds"],
        )["key"]
    )
    assert report["malware"][0] == {"name": "Eicar_test_file", "files": counted_malware(lines)}
    needing = [
        line
        for line in lines
        if line["outcome"] in ("error", "rejected", "fallback")
        or line["verdict"] in ("failed", "unscanned")
    ]
    assert len(report["failures"]) == len(needing)
    assert report["failures_by_outcome"] == dict(
        Counter(
            line["outcome"]
            if line["outcome"] in ("error", "rejected", "fallback")
            else f"verdict {line['verdict']}"
            for line in needing
        )
    )
    assert report["failed_queries"] == {} and report["bytes_scanned"] == 6e6
    # The progress indicator: not a terminal here, so one line per finished query.
    assert "6 queries started" in err and "6/6 queries done" in err


def counted_malware(lines) -> int:
    return sum(
        1
        for line in lines
        if line["verdict"] == "malicious"
        and line["outcome"] not in ("error", "rejected")
        and line["findings"][0]["malware"] == "Eicar_test_file"
    )


def test_text_and_markdown_name_the_figures(printed):
    queries = insights.load_queries()
    for fmt in ("text", "markdown"):
        logs, _ = _stub(printed, queries, int(NOW) - 86400, int(NOW))
        code, out, _ = _report(logs, "--since", "24h", "--format", fmt)
        assert code == 0
        assert "1 min 35 s" in out  # the slowest exposure of the lines (95.125 s)
        assert "Eicar" in out
        if fmt == "markdown":
            assert "| bucket | malicious |" in out
            assert "Eicar\\_test\\_file" in out
        else:
            assert "Scan results by verdict" in out and "Needing action:" in out


def test_a_failed_query_makes_the_report_incomplete(printed):
    queries = insights.load_queries()
    logs, _ = _stub(printed, queries, int(NOW) - WEEK, int(NOW), failing="top-malware")
    code, out, err = _report(logs)
    assert code == 1
    assert "INCOMPLETE: queries failed: top-malware" in out
    assert "top-malware" in err


def test_one_files_history(printed):
    queries = {**insights.load_queries(), "file-history": insights.history_query("id-virus-1.exe")}
    logs, stubber = _stub(printed, queries, int(NOW) - WEEK, int(NOW))
    code, out, _ = _report(logs, "--file", "id-virus-1.exe")
    stubber.assert_no_pending_responses()
    assert code == 0
    assert "File history: 1 log line(s)" in out and "virus-1.exe" in out


def test_history_quotes_cannot_change_the_query():
    text = insights.history_query('x" or key != "')
    assert 'key = "x\\" or key != \\""' in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "is not now"),
        (["--since", "2024-05-02"], "--since must be before --until"),
    ],
)
def test_bad_periods_are_refused(args, message):
    code, _, err = _report(_logs_client(), *args)
    assert code == 2 and message in err


def test_dates_and_spans():
    from report.cli import moment

    assert moment("2024-05-01", NOW) == 1_714_521_600.0
    assert moment("90m", NOW) == NOW - 5400
    assert moment("2w", NOW, anchor=1000.0 + 2 * WEEK) == 1000.0


def test_a_hostile_key_cannot_forge_report_lines(s3, bucket, make_engine):
    """The key comes from the uploader: escape sequences and line breaks are printed escaped."""
    key = "evil\x1b[2J\r\nFORGED: all clear.exe"
    obj = upload(s3, bucket, key)
    engine = make_engine(ALLOWED_BUCKETS=bucket, DELETE_MALICIOUS="true")
    result = engine(sns_event(sns_record(scan_message(bucket, key, etag=obj["etag"]))))
    assert result.line["key"] == key
    printed = [Printed(result.line, result.raw[0], int(NOW * 1000) - 1000)]
    logs, _ = _stub(printed, insights.load_queries(), int(NOW) - WEEK, int(NOW))
    code, out, _ = _report(logs)
    assert code == 0
    assert "\x1b" not in out and "\r" not in out
    assert not any(line.startswith("FORGED") for line in out.splitlines())
    assert clean(key) in out


def test_the_report_runs_the_saved_query_files():
    """What the report runs is what the module saves: queries/NAME.query, unchanged."""
    assert set(insights.REPORT_QUERIES) | {insights.HISTORY_QUERY} <= {
        p.stem for p in insights.QUERIES_DIR.glob("*.query")
    }
    for name, text in insights.load_queries().items():
        assert text == (insights.QUERIES_DIR / f"{name}.query").read_text()


def test_progress_on_a_terminal_rewrites_one_line():
    from report.cli import ProgressLine
    from report.insights import Result

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = ProgressLine(stream, "running")
    progress(0, 2, 0.0, 0.0, None)
    progress(1, 2, 1.0, 2e6, Result("a", "Complete"))
    progress(2, 2, 2.0, 3e6, Result("b", "Complete"))
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")
    assert "2/2 queries done, 2 s, 3.0 MB scanned" in text
