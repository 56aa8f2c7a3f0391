"""The weekly-review summary made of the queries' results, as text, Markdown or JSON (pure).

Keys, file ids, malware names and reasons come from uploads and scanners: in text and Markdown
they are shown with control characters escaped (no forged lines, no terminal escape sequences)
and, in Markdown, with the characters that make tables and links escaped.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from report.insights import Result

VERDICT_ORDER = ("malicious", "clean", "incomplete", "failed", "unscanned")
LISTED = 10  # rows of the malicious files and failures shown in text and Markdown


@dataclass
class Summary:
    log_group: str
    start: int
    end: int
    verdicts: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, dict[str, int]] = field(default_factory=dict)
    malware: list[dict[str, Any]] = field(default_factory=list)
    exposure: dict[str, float] = field(default_factory=dict)  # files, p50, p99, slowest
    slowest: list[dict[str, str]] = field(default_factory=list)
    malicious_files: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    failures_by_outcome: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, str]] | None = None
    failed_queries: dict[str, str] = field(default_factory=dict)
    bytes_scanned: float = 0.0


def _count(text: str | None) -> int:
    return int(float(text)) if text else 0


def build(
    log_group: str,
    start: int,
    end: int,
    results: dict[str, Result],
    history: Result | None = None,
) -> Summary:
    summary = Summary(log_group, start, end)
    everything = [*results.values(), *([history] if history else [])]
    summary.failed_queries = {r.name: r.error or r.status for r in everything if not r.ok}
    summary.bytes_scanned = sum(r.bytes_scanned for r in everything)
    rows = {name: result.rows for name, result in results.items()}
    totals: Counter[str] = Counter()
    for row in rows.get("verdicts-by-bucket", []):
        count = _count(row.get("results"))
        bucket, verdict = row.get("bucket", ""), row.get("verdict", "")
        totals[verdict] += count
        summary.buckets.setdefault(bucket, {})[verdict] = count
    order = {v: n for n, v in enumerate(VERDICT_ORDER)}
    summary.verdicts = dict(sorted(totals.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
    summary.malware = [
        {"name": row.get("findings.0.malware", ""), "files": _count(row.get("files"))}
        for row in rows.get("top-malware", [])
    ]
    for row in rows.get("exposure-percentiles", [])[:1]:
        if _count(row.get("files")):
            summary.exposure = {
                name: float(row[name]) for name in ("files", "p50", "p99", "slowest") if name in row
            }
    summary.slowest = rows.get("slowest-exposures", [])
    summary.malicious_files = rows.get("malicious-files", [])
    summary.failures = rows.get("failures", [])
    summary.failures_by_outcome = dict(
        Counter(_failure_kind(row) for row in summary.failures).most_common()
    )
    if history is not None:
        summary.history = history.rows
    return summary


def _failure_kind(row: dict[str, str]) -> str:
    outcome = row.get("outcome", "")
    if outcome in ("error", "rejected", "fallback"):
        return outcome
    return f"verdict {row.get('verdict', '')}"  # failed or unscanned: the scanner's failure


# --- rendering --------------------------------------------------------------------------------


def clean(value: Any, limit: int = 300) -> str:
    """One line of printable text; control characters (newlines, ESC) as escapes."""
    text = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(value)
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def seconds(value: float | str | None) -> str:
    if value in (None, ""):
        return "-"
    number = float(value)  # type: ignore[arg-type]
    if number < 60:
        return f"{number:.1f} s"
    whole = round(number)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _where(row: dict[str, str]) -> str:
    if not row.get("bucket"):
        return "(no scan result: " + (row.get("reason") or "unreadable message") + ")"
    return f"s3://{row.get('bucket')}/{row.get('key', '')}"


def _megabytes(count: float) -> str:
    return f"{count / 1_000_000:.1f} MB"


def render_text(summary: Summary) -> str:
    out = [
        f"FSS post-scan report: {clean(summary.log_group)}, "
        f"{_when(summary.start)} to {_when(summary.end)}",
        "",
        "Scan results by verdict"
        + ("" if summary.verdicts else ": none in this period (or the query failed)"),
    ]
    out += [f"  {verdict:<12} {count:>9,}" for verdict, count in summary.verdicts.items()]
    if summary.buckets:
        out += ["", "By bucket"]
        for bucket, counts in sorted(summary.buckets.items()):
            listed = ", ".join(f"{v} {n:,}" for v, n in counts.items())
            out.append(f"  {clean(bucket)}: {listed}")
    out += ["", "Malware found most often (first finding of each file)"]
    out += [f"  {m['files']:>6,}  {clean(m['name'])}" for m in summary.malware] or ["  none"]
    out += ["", "Exposure: how long malicious files stayed readable before removal"]
    if summary.exposure:
        exposure = summary.exposure
        out.append(
            f"  {int(exposure['files']):,} files removed: p50 {seconds(exposure.get('p50'))}, "
            f"p99 {seconds(exposure.get('p99'))}, slowest {seconds(exposure.get('slowest'))}"
        )
        out += [
            f"  {seconds(row.get('exposure_seconds')):>12}  {clean(_where(row))}"
            f"{'  file id ' + clean(row['file_id']) if row.get('file_id') else ''}"
            for row in summary.slowest[:LISTED]
        ]
    else:
        out.append("  no malicious file was removed in this period")
    out += ["", f"Malicious files: {len(summary.malicious_files):,}"]
    out += [
        f"  {row.get('@timestamp', '')[:19]}  {clean(row.get('action', '-'))}  {clean(_where(row))}"
        for row in summary.malicious_files[:LISTED]
    ]
    if len(summary.malicious_files) > LISTED:
        out.append(f"  ... and {len(summary.malicious_files) - LISTED:,} more (--format json)")
    out += ["", f"Needing action: {len(summary.failures):,}"]
    if summary.failures_by_outcome:
        out.append(
            "  " + ", ".join(f"{kind} {n:,}" for kind, n in summary.failures_by_outcome.items())
        )
    out += [
        f"  {row.get('@timestamp', '')[:19]}  {clean(row.get('outcome', ''))}"
        f"  {clean(_where(row))}: {clean(row.get('reason', ''))}"
        for row in summary.failures[:LISTED]
    ]
    if summary.history is not None:
        out += ["", f"File history: {len(summary.history)} log line(s)"]
        out += [
            f"  {row.get('@timestamp', '')[:19]}  {clean(row.get('verdict', '-'))}"
            f"  {clean(row.get('outcome', ''))}  {clean(_where(row))}"
            for row in summary.history
        ]
    out += ["", _footer(summary)]
    return "\n".join(out) + "\n"


def _footer(summary: Summary) -> str:
    text = f"Logs Insights scanned {_megabytes(summary.bytes_scanned)}."
    if summary.failed_queries:
        failed = "; ".join(f"{n}: {clean(e)}" for n, e in summary.failed_queries.items())
        text += f" INCOMPLETE: queries failed: {failed}"
    return text


def _md(value: Any) -> str:
    text = clean(value)
    for char in "\\|`*_[]<>#":
        text = text.replace(char, "\\" + char)
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["_none_"]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def render_markdown(summary: Summary) -> str:
    out = [
        f"## FSS post-scan report: {_md(summary.log_group)}",
        "",
        f"{_when(summary.start)} to {_when(summary.end)}",
        "",
        "### Scan results by verdict",
        "",
    ]
    verdicts = list(summary.verdicts)
    out += _table(
        ["bucket", *verdicts],
        [
            [_md(bucket), *[f"{counts.get(v, 0):,}" for v in verdicts]]
            for bucket, counts in sorted(summary.buckets.items())
        ]
        + ([["**all**", *[f"**{summary.verdicts[v]:,}**" for v in verdicts]]] if verdicts else []),
    )
    out += ["", "### Malware found most often", ""]
    out += _table(
        ["malware (first finding)", "files"],
        [[_md(m["name"]), f"{m['files']:,}"] for m in summary.malware],
    )
    out += ["", "### Exposure", ""]
    if summary.exposure:
        e = summary.exposure
        out.append(
            f"{int(e['files']):,} malicious files removed; readable for p50 "
            f"{seconds(e.get('p50'))}, p99 {seconds(e.get('p99'))}, at most "
            f"{seconds(e.get('slowest'))}."
        )
        out.append("")
        out += _table(
            ["readable for", "file", "file id"],
            [
                [seconds(r.get("exposure_seconds")), _md(_where(r)), _md(r.get("file_id", ""))]
                for r in summary.slowest[:LISTED]
            ],
        )
    else:
        out.append("No malicious file was removed in this period.")
    out += ["", f"### Needing action ({len(summary.failures):,})", ""]
    out += _table(
        ["time", "outcome", "file", "reason"],
        [
            [
                _md(r.get("@timestamp", "")[:19]),
                _md(r.get("outcome", "")),
                _md(_where(r)),
                _md(r.get("reason", "")),
            ]
            for r in summary.failures[:LISTED]
        ],
    )
    out += ["", f"_{_md(_footer(summary))}_"]
    return "\n".join(out) + "\n"


def render_json(summary: Summary) -> str:
    return json.dumps(asdict(summary), indent=2, ensure_ascii=False) + "\n"
