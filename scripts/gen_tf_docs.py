"""The README's inputs/outputs block, in terraform-docs' markdown table format.

A stand-in for `terraform-docs markdown table` (a Go binary that is not on every machine):
Requirements, Providers, Modules, Resources, Inputs and Outputs (sorted by name), between the
BEGIN_TF_DOCS / END_TF_DOCS markers. Needs python-hcl2 8.x (in .venv).

    .venv/bin/python scripts/gen_tf_docs.py .            # print the block
    .venv/bin/python scripts/gen_tf_docs.py . README.md  # replace the block in README.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import hcl2


def unquote(value: Any) -> Any:
    """python-hcl2 8.x keeps the quotes of string literals and wraps expressions in ${...}."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return json.loads(value)
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def load(module: Path) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for tf in sorted(module.glob("*.tf")):
        with tf.open() as handle:
            for key, blocks in hcl2.load(handle).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def esc(name: str) -> str:
    return name.replace("_", "\\_")


def hcl_value(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{pad}  {hcl_value(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}  {json.dumps(k)}: {hcl_value(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    return str(value)


def cell_default(value: Any) -> str:
    text = hcl_value(value)
    if "\n" in text:
        return "<pre>" + text.replace("\n", "<br>") + "</pre>"
    return f"`{text}`"


def cell_text(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def render(module: Path) -> str:
    config = load(module)
    terraform = unquote(config["terraform"][0])
    providers = {
        name: spec
        for block in terraform.get("required_providers", [])
        for name, spec in block.items()
    }

    out = [
        BEGIN,
        "## Requirements",
        "",
        "| Name | Version |",
        "|------|---------|",
    ]
    out.append(
        f'| <a name="requirement_terraform"></a> [terraform](#requirement\\_terraform) '
        f"| {terraform['required_version']} |"
    )
    for name in sorted(providers):
        out.append(
            f'| <a name="requirement_{name}"></a> [{esc(name)}](#requirement\\_{esc(name)}) '
            f"| {providers[name]['version']} |"
        )

    out += ["", "## Providers", "", "| Name | Version |", "|------|---------|"]
    for name in sorted(providers):
        out.append(
            f'| <a name="provider_{name}"></a> [{esc(name)}](#provider\\_{esc(name)}) '
            f"| {providers[name]['version']} |"
        )

    out += [
        "",
        "## Modules",
        "",
        "No modules.",
        "",
        "## Resources",
        "",
        "| Name | Type |",
        "|------|------|",
    ]
    rows = []
    for kind, label, folder in (
        ("resource", "resource", "resources"),
        ("data", "data source", "data-sources"),
    ):
        for block in config.get(kind, []):
            for rtype, named in block.items():
                rtype = unquote(rtype)
                for rname in named:
                    provider, _, short = rtype.partition("_")
                    url = f"https://registry.terraform.io/providers/hashicorp/{provider}/latest/docs/{folder}/{short}"
                    rows.append(
                        (
                            f"{rtype}.{unquote(rname)}",
                            f"| [{rtype}.{unquote(rname)}]({url}) | {label} |",
                        )
                    )
    out += [row for _, row in sorted(rows)]

    out += [
        "",
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    variables = {unquote(k): unquote(v) for block in config["variable"] for k, v in block.items()}
    for name in sorted(variables):
        spec = variables[name]
        required = "default" not in spec
        default = "n/a" if required else cell_default(spec["default"])
        out.append(
            f'| <a name="input_{name}"></a> [{esc(name)}](#input\\_{esc(name)}) '
            f"| {cell_text(spec.get('description', 'n/a'))} | `{spec.get('type', 'any')}` "
            f"| {default} | {'yes' if required else 'no'} |"
        )

    out += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    outputs = {unquote(k): unquote(v) for block in config["output"] for k, v in block.items()}
    for name in sorted(outputs):
        out.append(
            f'| <a name="output_{name}"></a> [{esc(name)}](#output\\_{esc(name)}) '
            f"| {cell_text(outputs[name].get('description', 'n/a'))} |"
        )
    out.append(END)
    return "\n".join(out)


def replace_block(document: str, block: str) -> str:
    """The document with the text between (and including) the markers replaced by block."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"no {BEGIN} ... {END} markers found")
    return document[:start] + block + document[end + len(END) :]


def main(argv: list[str]) -> None:
    module = Path(argv[0] if argv else ".")
    block = render(module)
    if len(argv) < 2:
        print(block)
        return
    target = Path(argv[1])
    target.write_text(replace_block(target.read_text(encoding="utf-8"), block), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
