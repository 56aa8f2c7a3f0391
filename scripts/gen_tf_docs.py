"""The inputs/outputs blocks of README.md (compact) and docs/inputs-outputs.md (full).

The full block is a stand-in for `terraform-docs markdown table` (a Go binary that is not on every
machine): Requirements, Providers, Modules, Resources, Inputs and Outputs (sorted by name). The
README's block is the compact form of the same data: one line per input (required ones first) and
per output, the first sentence of each description, each name linked to its full entry. Both sit
between the BEGIN_TF_DOCS / END_TF_DOCS markers. Needs python-hcl2 8.x (in .venv).

    .venv/bin/python scripts/gen_tf_docs.py .          # rewrite both blocks
    .venv/bin/python scripts/gen_tf_docs.py . --print  # print them instead
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
            try:
                return json.loads(value)
            except json.JSONDecodeError:  # a template with nested quotes, e.g. "${join(", ", x)}"
                return value[1:-1]
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


def parts(module: Path) -> tuple[dict, dict, dict, dict, dict]:
    """The parsed module: config, the terraform block, providers, variables and outputs by name."""
    config = load(module)
    terraform = unquote(config["terraform"][0])
    providers = {
        name: spec
        for block in terraform.get("required_providers", [])
        for name, spec in block.items()
    }
    variables = {unquote(k): unquote(v) for block in config["variable"] for k, v in block.items()}
    outputs = {unquote(k): unquote(v) for block in config["output"] for k, v in block.items()}
    return config, terraform, providers, variables, outputs


def render(module: Path) -> str:
    config, terraform, providers, variables, outputs = parts(module)

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
    for name in sorted(outputs):
        out.append(
            f'| <a name="output_{name}"></a> [{esc(name)}](#output\\_{esc(name)}) '
            f"| {cell_text(outputs[name].get('description', 'n/a'))} |"
        )
    out.append(END)
    return "\n".join(out)


FULL_DOC = "docs/inputs-outputs.md"
SUMMARY_CHARS = 120


def first_sentence(text: str) -> str:
    """Up to the first full stop outside parentheses, at most SUMMARY_CHARS; "…" when cut."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "." and depth <= 0 and (index + 1 == len(text) or text[index + 1] == " "):
            head = text[: index + 1]
            break
    else:
        head = text
    if len(head) > SUMMARY_CHARS:
        head = head[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(",;:")
    return head if head == text else head + " …"


def short_type(type_expr: str) -> str:
    """`object({...})` -> `object`, `map(object({...}))` -> `map(object)`."""
    while "({" in type_expr:
        start = type_expr.index("({")
        depth, stop = 0, start
        for stop in range(start, len(type_expr)):
            depth += {"(": 1, ")": -1}.get(type_expr[stop], 0)
            if depth == 0:
                break
        type_expr = type_expr[:start] + type_expr[stop + 1 :]
    return type_expr


def one_line(value: Any) -> str:
    text = json.dumps(value, separators=(", ", ": ")) if isinstance(value, (list, dict)) else None
    return text if text is not None else hcl_value(value)


def render_compact(module: Path) -> str:
    """The README's block: what an adopter scans for; every name links to its full entry."""
    _, terraform, providers, variables, outputs = parts(module)
    versions = ", ".join(
        [f"Terraform {terraform['required_version']}"]
        + [f"{name} {providers[name]['version']}" for name in sorted(providers)]
    )
    out = [
        BEGIN,
        f"Requires {versions}. Generated from the `*.tf` files by `scripts/gen_tf_docs.py`: "
        f"full descriptions, types, providers and resources in [{FULL_DOC}]({FULL_DOC}).",
        "",
        "### Inputs",
        "",
        "| Name | Type | Default | Description |",
        "|------|------|---------|-------------|",
    ]
    for name in sorted(variables, key=lambda n: ("default" in variables[n], n)):
        spec = variables[name]
        default = "**required**" if "default" not in spec else f"`{one_line(spec['default'])}`"
        summary = first_sentence(spec.get("description", "n/a"))
        out.append(
            f"| [{esc(name)}]({FULL_DOC}#input_{name}) | `{short_type(spec.get('type', 'any'))}` "
            f"| {cell_text(default)} | {cell_text(summary)} |"
        )
    out += ["", "### Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name in sorted(outputs):
        out.append(
            f"| [{esc(name)}]({FULL_DOC}#output_{name}) "
            f"| {cell_text(first_sentence(outputs[name].get('description', 'n/a')))} |"
        )
    out.append(END)
    return "\n".join(out)


# Each generated file and the form of its block.
TARGETS = {"README.md": render_compact, FULL_DOC: render}


def replace_block(document: str, block: str) -> str:
    """The document with the text between (and including) the markers replaced by block."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"no {BEGIN} ... {END} markers found")
    return document[:start] + block + document[end + len(END) :]


def main(argv: list[str]) -> None:
    args = [arg for arg in argv if not arg.startswith("--")]
    module = Path(args[0] if args else ".")
    for relative, renderer in TARGETS.items():
        block = renderer(module)
        if "--print" in argv:
            print(f"{relative}:\n{block}\n")
            continue
        target = module / relative
        document = target.read_text(encoding="utf-8")
        target.write_text(replace_block(document, block), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
