"""The cost tables of docs/cost.md, computed from docs/cost-data.json.

    python3 scripts/gen_cost_doc.py            # rewrite the block between the COST markers
    python3 scripts/gen_cost_doc.py --print    # print it instead

Per configuration, the module's own AWS cost per million scan results, itemised, for clean
results and for malicious ones (a real mix is in between: mostly clean), and what it costs per
month whatever the traffic. Standard library only.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "docs" / "cost-data.json"
DOC = REPO / "docs" / "cost.md"
BEGIN = "<!-- COST:BEGIN -->"
END = "<!-- COST:END -->"
MILLION = 1_000_000


def load() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def unit_price(data: dict[str, Any], item: str) -> float:
    price = data["prices"][item]
    return price["usd"] / price["per"]


def items_per_million(
    data: dict[str, Any], config: dict[str, Any], verdict: str
) -> dict[str, float]:
    """Item -> USD for a million scan results of this verdict (every one alike)."""
    work = config[verdict]
    calls: dict[str, int] = work["calls"]
    assume = data["assumptions"]
    queue = config["delivery"] == "queue"
    batch = assume["queue_batch_size"] if queue else 1
    invocations = MILLION / batch
    # Billed duration: the engine's time and one round trip per AWS call, per message; rounded
    # up to the millisecond per invocation (a batch's records run one after the other).
    ms_per_message = assume["engine_ms_per_message"] + assume["aws_ms_per_call"] * sum(
        calls.values()
    )
    billed_ms = math.ceil(ms_per_message * batch) * invocations
    gb_seconds = billed_ms / 1000 * assume["memory_mb"] / 1024
    items = {
        "Lambda requests": invocations * unit_price(data, "lambda_request"),
        "Lambda duration": gb_seconds * unit_price(data, "lambda_gb_second"),
    }
    by_item: dict[str, float] = {}
    for operation, count in calls.items():
        item = data["operations"][operation]
        by_item[item] = by_item.get(item, 0.0) + count * MILLION * unit_price(data, item)
    labels = {
        "s3_tier1": "S3 requests",
        "s3_tier2": "S3 requests",
        "s3_delete": "S3 requests",
        "dynamodb_write": "DynamoDB writes",
        "eventbridge_event": "EventBridge events",
        "sns_publish": "SNS publishes",
        "securityhub_finding": "Security Hub findings",
    }
    for item, usd in by_item.items():
        label = labels[item]
        items[label] = items.get(label, 0.0) + usd
    if queue:
        requests = data["queue"]["sqs_requests_per_message"] * MILLION
        requests += data["queue"]["sqs_requests_per_batch"] * invocations
        items["SQS requests"] = requests * unit_price(data, "sqs_request")
    log_bytes = (
        work["log_bytes"] * MILLION + assume["platform_log_bytes_per_invocation"] * invocations
    )
    items["CloudWatch Logs ingestion"] = log_bytes * unit_price(data, "logs_gb")
    return items


def monthly(data: dict[str, Any], config: dict[str, Any]) -> dict[str, float]:
    """Item -> USD a month whatever the traffic (while scan results arrive every hour)."""
    fixed = {
        "custom metrics": data["metrics"]["per_function"] * unit_price(data, "custom_metric_month"),
        "alarms (with alarm_topic_arns)": config["alarms"] * unit_price(data, "alarm_month"),
    }
    if config["delivery"] == "queue":
        idle = data["queue"]["idle_sqs_requests_per_month"]
        fixed["idle queue polling"] = idle * unit_price(data, "sqs_request")
    return fixed


def money(usd: float) -> str:
    if usd == 0:
        return "0"
    if usd < 0.01:
        return "< 0.01"
    return f"{usd:,.2f}"


ITEM_ORDER = [
    "Lambda requests",
    "Lambda duration",
    "S3 requests",
    "DynamoDB writes",
    "EventBridge events",
    "SNS publishes",
    "Security Hub findings",
    "SQS requests",
    "CloudWatch Logs ingestion",
]


def render(data: dict[str, Any]) -> str:
    configs = data["configurations"]
    per = {
        (c["name"], verdict): items_per_million(data, c, verdict)
        for c in configs
        for verdict in ("clean", "malicious")
    }
    lines = [
        f"Prices of {data['prices_date']}, {data['region']}; USD per million scan results "
        "(clean / malicious), itemised; the last rows are per month, whatever the traffic.",
        "",
        "| | " + " | ".join(c["name"] for c in configs) + " |",
        "|---|" + "---|" * len(configs),
    ]
    for item in ITEM_ORDER:
        cells = []
        for c in configs:
            clean = per[(c["name"], "clean")].get(item)
            malicious = per[(c["name"], "malicious")].get(item)
            cells.append(
                "-"
                if clean is None and malicious is None
                else f"{money(clean or 0)} / {money(malicious or 0)}"
            )
        if any(cell != "-" for cell in cells):
            lines.append(f"| {item} | " + " | ".join(cells) + " |")
    totals = [
        f"**{money(sum(per[(c['name'], 'clean')].values()))} / "
        f"{money(sum(per[(c['name'], 'malicious')].values()))}**"
        for c in configs
    ]
    lines.append("| **per million scan results** | " + " | ".join(totals) + " |")
    fixed = {c["name"]: monthly(data, c) for c in configs}
    for item in ("custom metrics", "alarms (with alarm_topic_arns)", "idle queue polling"):
        cells = [
            money(fixed[c["name"]][item]) if item in fixed[c["name"]] else "-" for c in configs
        ]
        lines.append(f"| {item}, per month | " + " | ".join(cells) + " |")
    lines += [
        "",
        "What each configuration does per scan result (measured with `make bench`; clean results "
        "make no AWS call in any of them):",
        "",
        "| configuration | inputs | delivery | AWS calls per malicious result "
        "| log line bytes (clean / malicious) |",
        "|---|---|---|---|---|",
    ]
    for c in configs:
        calls = " + ".join(f"{n} {op}" for op, n in c["malicious"]["calls"].items()) or "none"
        lines.append(
            f"| {c['name']} | {c['inputs']} | {c['delivery']} | {calls} | "
            f"{c['clean']['log_bytes']:,} / {c['malicious']['log_bytes']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    block = render(load())
    if "--print" in argv:
        print(block)
        return 0
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
