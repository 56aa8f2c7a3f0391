"""The README's contracts match the code: inputs/outputs block, environment table, usage block."""

from __future__ import annotations

import importlib.util
import re

import hcl2
from tooling import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _between(begin: str, end: str) -> str:
    start, stop = README.index(begin), README.index(end)
    assert start < stop, f"{begin} must come before {end}"
    return README[start + len(begin) : stop]


def _gen_tf_docs():
    spec = importlib.util.spec_from_file_location(
        "gen_tf_docs", REPO_ROOT / "scripts/gen_tf_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inputs_and_outputs_block_is_current():
    docs = _gen_tf_docs()
    expected = docs.render(REPO_ROOT)
    current = docs.BEGIN + _between(docs.BEGIN, docs.END) + docs.END
    assert current == expected, (
        "README inputs/outputs are stale: run .venv/bin/python scripts/gen_tf_docs.py . README.md"
    )


def _readme_contract_variables() -> list[str]:
    table = _between("<!-- CONTRACT:BEGIN -->", "<!-- CONTRACT:END -->")
    return re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M)


def _module_environment() -> set[str]:
    with (REPO_ROOT / "main.tf").open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    environments = [block["environment"] for block in parsed["locals"] if "environment" in block]
    assert len(environments) == 1, "main.tf should define local.environment once"
    return {key.strip('"') for key in environments[0]}


def test_environment_table_matches_module_and_engine():
    documented = _readme_contract_variables()
    assert len(documented) == len(set(documented)), documented
    assert set(documented) == _module_environment(), "README table vs main.tf local.environment"
    config_source = (REPO_ROOT / "lambda/post_scan/config.py").read_text(encoding="utf-8")
    read_by_engine = set(re.findall(r'"([A-Z][A-Z_]+)"', config_source)) - {
        "AWS_LAMBDA_FUNCTION_NAME",
        "DEBUG",
        "INFO",
        "WARNING",
        "ERROR",
        "CRITICAL",
    }
    assert set(documented) == read_by_engine, "README table vs variables config.py reads"


def test_usage_block_uses_only_module_inputs():
    block = _between("<!-- USAGE:BEGIN -->", "<!-- USAGE:END -->")
    hcl = re.search(r"```hcl\n(.*?)```", block, flags=re.S)
    assert hcl, "the usage block must be an ```hcl fence"
    parsed = hcl2.loads(hcl.group(1))
    (module_blocks,) = parsed["module"]
    (arguments,) = module_blocks.values()
    variables_tf = (REPO_ROOT / "variables.tf").read_text(encoding="utf-8")
    declared = set(re.findall(r'^variable "([a-z0-9_]+)"', variables_tf, flags=re.M))
    used = {
        name
        for name in arguments
        if not name.startswith("__") and name not in {"source", "version"}
    }
    assert used <= declared, used - declared
    required = {
        name
        for name in declared
        if not re.search(
            rf'variable "{name}" \{{(?:(?!\nvariable ).)*?\n  default', variables_tf, flags=re.S
        )
    }
    assert required <= used, f"usage block misses required inputs {required - used}"
