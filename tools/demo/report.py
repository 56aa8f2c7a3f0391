"""The before/after table of each case, and whether the case went as expected."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

from demo.cases import OLDER_CLEAN, Case
from demo.state import Snapshot, Upload
from report.summary import clean, seconds

ASPECT_WIDTH = 9
BEFORE_WIDTH = 37
AFTER_WIDTH = 43
APP_ATTRIBUTES = ("filename", "owner", "status")
SHOWN_SCAN_ATTRIBUTES = ("scan_verdict", "scan_action", "scan_findings", "scan_codes")


def _object_lines(snapshot: Snapshot) -> list[str]:
    if not snapshot.versions:
        return ["no object, no versions"]
    count = len(snapshot.versions)
    lines = [f"{count} version{'s' if count > 1 else ''}:"] if count > 1 else []
    return lines + [v.describe() for v in snapshot.versions]


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "[]"
    if isinstance(value, dict) and "malware" in value:
        return f"{value['malware']} ({value['type']})" if value.get("type") else value["malware"]
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value)


def _row_lines(row: dict[str, Any], key_name: str) -> list[str]:
    """The row's attributes, the key left out (the case header names it), empty lists too."""
    if not row:
        return ["no row"]
    app = ", ".join(f"{name}={_value(row[name])}" for name in APP_ATTRIBUTES if name in row)
    lines = [app] if app else []
    verdict = [f"{n}={_value(row[n])}" for n in ("scan_verdict", "scan_action") if n in row]
    if verdict:
        lines.append(", ".join(verdict))
    lines += [
        f"{name}={_value(row[name])}" for name in ("scan_findings", "scan_codes") if row.get(name)
    ]
    also = sorted(
        name for name in row if name not in (key_name, *APP_ATTRIBUTES, *SHOWN_SCAN_ATTRIBUTES)
    )
    if also:
        lines.append("+ " + ", ".join(also))
    return lines


def _delivered(upload: Upload) -> list[str]:
    case = upload.case
    source = "forged event, topic not listed" if case.forged else f"topic {case.place}"
    if case.scanner == "guardduty":
        source = "GuardDuty event, default bus"
    return [f"{case.verdict} scan result ({source})"]


def _function_lines(log: dict[str, Any]) -> list[str]:
    if not log:
        return ["no log line found"]
    actions = ", ".join(log.get("actions") or []) or "none (no AWS call)"
    lines = [f"outcome: {log.get('outcome')}", f"actions: {actions}"]
    if log.get("reason"):
        lines.append(f"reason: {log['reason']}")
    if log.get("error"):
        lines.append(f"error: {log['error'].get('type')}: {log['error'].get('message')}")
    return lines


def _announced_lines(announced: dict[str, Any]) -> list[str]:
    """What the event and the notification said (the first lines of each)."""
    if not announced:
        return ["nothing (no event, no notification)"]
    lines = []
    event = announced.get("event")
    if event:
        lines.append(
            f"event: {event['verdict']}, {event['outcome']}, action {event['action']}, "
            f"file_id {event['file_id']}"
        )
    else:
        lines.append("no event")
    notification = announced.get("notification")
    if notification:
        lines.append(f"notification: {notification['subject']}")
    else:
        lines.append("no notification")
    return lines


def _cell(lines: list[str], width: int) -> list[str]:
    wrapped: list[str] = []
    for line in lines:
        wrapped += textwrap.wrap(line, width, break_on_hyphens=False) or [""]
    return wrapped


def _table(rows: list[tuple[str, list[str], list[str]]]) -> list[str]:
    widths = (ASPECT_WIDTH, BEFORE_WIDTH, AFTER_WIDTH)

    def line(cells: tuple[str, str, str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(("", "before", "after")), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for aspect, before, after in rows:
        left, right = _cell(before, BEFORE_WIDTH), _cell(after, AFTER_WIDTH)
        for i in range(max(len(left), len(right))):
            out.append(
                line(
                    (
                        aspect if i == 0 else "",
                        left[i] if i < len(left) else "",
                        right[i] if i < len(right) else "",
                    )
                )
            )
    return out


def check(upload: Upload, before: Snapshot, after: Snapshot) -> list[str]:
    """What differs from the case's expectation (empty: as expected)."""
    expected = upload.case.expected
    problems: list[str] = []
    outcome = after.log.get("outcome")
    if outcome != expected.outcome:
        problems.append(f"outcome {outcome!r}, expected {expected.outcome!r}")
    if expected.object_after == "unchanged":
        wanted = before.versions
    elif expected.object_after == "scanned version gone":
        wanted = [v for v in before.versions if v.label == OLDER_CLEAN]
        wanted = [type(v)(v.label, v.size, True) for v in wanted]
    else:
        wanted = []
    if after.versions != wanted:
        problems.append(f"object {expected.object_after!r} expected")
    verdict, action = after.row.get("scan_verdict"), after.row.get("scan_action")
    if expected.verdict is None:
        if any(name.startswith("scan_") for name in after.row):
            problems.append("row changed, expected untouched")
    elif (verdict, action) != (expected.verdict, expected.action):
        wanted = f"{expected.verdict}/{expected.action}"
        problems.append(f"row has {verdict}/{action}, expected {wanted}")
    problems += _check_announced(upload, after)
    app_before = {k: v for k, v in before.row.items() if not k.startswith(("scan_", "s3_"))}
    app_after = {k: v for k, v in after.row.items() if not k.startswith(("scan_", "s3_"))}
    if app_after != app_before:
        problems.append("the application's own attributes changed")
    return problems


def _check_announced(upload: Upload, after: Snapshot) -> list[str]:
    """An event and a notification with the final outcome and the file id, or nothing at all."""
    if not upload.case.expected.announced:
        return ["announced, expected nothing"] if after.announced else []
    event, notification = after.announced.get("event"), after.announced.get("notification")
    if not event or not notification:
        return [f"announced {sorted(after.announced)}, expected an event and a notification"]
    problems = []
    if (event["outcome"], event["file_id"]) != (after.log.get("outcome"), upload.file_id):
        problems.append(f"event says {event['outcome']}/{event['file_id']}")
    if notification["detail"] != event:
        problems.append("the notification's default body is not the event's detail")
    if notification["attributes"].get("verdict") != event["verdict"]:
        problems.append("the notification's verdict attribute is wrong")
    return problems


def render(
    number: int,
    total: int,
    upload: Upload,
    before: Snapshot,
    after: Snapshot,
    key_name: str,
    problems: list[str],
) -> str:
    case: Case = upload.case
    header = [
        f"case {number}/{total}: {case.title}",
        f"  s3://{upload.bucket}/{case.key}",
        *textwrap.wrap(
            f"file_id {upload.file_id}; expected: {case.expectation}",
            96,
            initial_indent="  ",
            subsequent_indent="    ",
        ),
    ]
    rows = [
        ("object", _object_lines(before), _object_lines(after)),
        ("table row", _row_lines(before.row, key_name), _row_lines(after.row, key_name)),
        ("function", _delivered(upload), _function_lines(after.log)),
        ("announced", ["-"], _announced_lines(after.announced)),
    ]
    verdict = "as expected" if not problems else "NOT as expected: " + "; ".join(problems)
    body = [f"  {line}" for line in _table(rows)]
    return "\n".join([*header, *body, f"  result: {verdict}"])


def exposure(logs: list[dict[str, Any]], table: bool, emulated: bool = True) -> list[str]:
    """The run's own exposure figures, from its log lines: how long each malicious file the
    function removed stayed readable, and the delays that made it up. `table`: a box table (a
    terminal that shows Unicode); otherwise one plain line per file. `emulated`: the run used the
    local emulator, whose timings are not AWS's."""
    removed = [log for log in logs if log.get("exposure_seconds") is not None]
    if not removed:
        return ["exposure: no malicious file was removed in this run"]
    removed.sort(key=lambda log: log["exposure_seconds"], reverse=True)
    worst = removed[0]["exposure_seconds"]
    lines = [
        f"malware readable for at most {seconds(worst)} in this run ({len(removed)} malicious "
        f"file{'s' if len(removed) > 1 else ''} removed; "
        + (
            "emulator timings, not AWS's: a local moto server"
            if emulated
            else "measured in your AWS account"
        )
        + ", the demo's own pauses between steps included)"
    ]
    rows = [
        (
            clean(f"s3://{log['bucket']}/{log['key']}", 60 if table else 120),
            seconds(log["exposure_seconds"]),
            seconds(log.get("scan_seconds")),
            seconds(log.get("action_delay_seconds")),
        )
        for log in removed
    ]
    header = ("file", "readable for", "upload to scan", "scan to done")
    if not table:
        return lines + [
            f"  {file}: readable for {readable} (upload to scan {scan}, scan to done {done})"
            for file, readable, scan, done in rows
        ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def row(cells: tuple[str, ...]) -> str:
        return (
            "\u2502 "
            + " \u2502 ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
            + " \u2502"
        )

    def rule(left: str, middle: str, right: str) -> str:
        return left + middle.join("\u2500" * (w + 2) for w in widths) + right

    return [
        *lines,
        rule("\u250c", "\u252c", "\u2510"),
        row(header),
        rule("\u251c", "\u253c", "\u2524"),
        *[row(r) for r in rows],
        rule("\u2514", "\u2534", "\u2518"),
    ]
