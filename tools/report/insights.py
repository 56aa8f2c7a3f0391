"""Running the saved queries through CloudWatch Logs Insights (StartQuery, GetQueryResults).

All queries are started at once (Logs Insights runs several side by side), then polled in the
order they were started until each has finished; a progress callback hears about every round.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"
FINISHED = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")
# What the summary is made of, in the order the queries are started.
REPORT_QUERIES = (
    "verdicts-by-bucket",
    "top-malware",
    "exposure-percentiles",
    "slowest-exposures",
    "malicious-files",
    "failures",
)
HISTORY_QUERY = "file-history"
HISTORY_PLACEHOLDER = "KEY_OR_FILE_ID"


def load_queries(names: tuple[str, ...] = REPORT_QUERIES) -> dict[str, str]:
    """The text of queries/NAME.query: the very text the module saves."""
    return {name: (QUERIES_DIR / f"{name}.query").read_text() for name in names}


def history_query(key_or_file_id: str) -> str:
    """file-history with its placeholder replaced by a string literal (quotes escaped)."""
    literal = key_or_file_id.replace("\\", "\\\\").replace('"', '\\"')
    return load_queries((HISTORY_QUERY,))[HISTORY_QUERY].replace(HISTORY_PLACEHOLDER, literal)


@dataclass
class Result:
    name: str
    status: str = "Scheduled"
    rows: list[dict[str, str]] = field(default_factory=list)
    bytes_scanned: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "Complete"


# (finished, total, seconds so far, bytes scanned so far, the result that just finished or None)
Progress = Callable[[int, int, float, float, Result | None], None]


def run_queries(
    logs: Any,
    log_group: str,
    start: int,
    end: int,
    queries: dict[str, str],
    progress: Progress,
    *,
    timeout: float = 900.0,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Result]:
    """Run every query over [start, end] (epoch seconds) of the log group; never raises for a
    query that fails (its Result says why)."""
    began = clock()
    results = {name: Result(name) for name in queries}
    ids: dict[str, str] = {}
    for name, text in queries.items():
        try:
            response = logs.start_query(
                logGroupName=log_group, startTime=start, endTime=end, queryString=text
            )
        except ClientError as exc:
            results[name].status, results[name].error = "Failed", _describe(exc)
            continue
        ids[name] = response["queryId"]
    pending = list(ids)
    progress(len(queries) - len(pending), len(queries), 0.0, 0.0, None)
    while pending:
        if clock() - began > timeout:
            for name in pending:
                results[name].status = "Timeout"
                results[name].error = f"not finished after {timeout:.0f} s"
                _stop(logs, ids[name])
            break
        sleep(poll_seconds)
        for name in list(pending):
            result = results[name]
            try:
                response = logs.get_query_results(queryId=ids[name])
            except ClientError as exc:
                result.status, result.error = "Failed", _describe(exc)
            else:
                result.status = response.get("status", "Unknown")
                result.bytes_scanned = float(response.get("statistics", {}).get("bytesScanned", 0))
                if result.ok:
                    result.rows = [_row(cells) for cells in response.get("results", [])]
            if result.status in FINISHED:
                pending.remove(name)
                scanned = sum(r.bytes_scanned for r in results.values())
                done = len(queries) - len(pending)
                progress(done, len(queries), clock() - began, scanned, result)
    return results


def _row(cells: list[dict[str, str]]) -> dict[str, str]:
    return {cell["field"]: cell.get("value", "") for cell in cells if cell["field"] != "@ptr"}


def _stop(logs: Any, query_id: str) -> None:
    with contextlib.suppress(ClientError):  # finished meanwhile, or not stoppable: nothing to undo
        logs.stop_query(queryId=query_id)


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
