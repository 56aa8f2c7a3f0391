"""The docs' contracts match the code, and the README stays a front page.

README.md: the usage block and the compact inputs/outputs block; docs/inputs-outputs.md: the full
inputs/outputs block; docs/contract.md: the environment table. The README stays short (size, Usage
on the first screen) and keeps running the test command CI runs.
"""

from __future__ import annotations

import importlib.util
import re

import hcl2
from tooling import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
CONTRACT_DOC = "docs/contract.md"
README_MAX_BYTES = 35_000
USAGE_BEFORE_LINE = 45


def _between(begin: str, end: str, document: str = README) -> str:
    start, stop = document.index(begin), document.index(end)
    assert start < stop, f"{begin} must come before {end}"
    return document[start + len(begin) : stop]


def _gen_tf_docs():
    spec = importlib.util.spec_from_file_location(
        "gen_tf_docs", REPO_ROOT / "scripts/gen_tf_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inputs_and_outputs_blocks_are_current():
    docs = _gen_tf_docs()
    assert set(docs.TARGETS) == {"README.md", "docs/inputs-outputs.md"}
    for relative, renderer in docs.TARGETS.items():
        document = (REPO_ROOT / relative).read_text(encoding="utf-8")
        current = docs.BEGIN + _between(docs.BEGIN, docs.END, document) + docs.END
        assert current == renderer(REPO_ROOT), (
            f"{relative} inputs/outputs are stale: run .venv/bin/python scripts/gen_tf_docs.py ."
        )


def test_compact_block_names_every_input_and_output_with_a_link_to_its_full_entry():
    """The README's short form drops nothing: every input and output, linked to its full row."""
    docs = _gen_tf_docs()
    config = docs.load(REPO_ROOT)
    names = [("input", docs.unquote(k)) for block in config["variable"] for k in block] + [
        ("output", docs.unquote(k)) for block in config["output"] for k in block
    ]
    block = _between(docs.BEGIN, docs.END)
    full = (REPO_ROOT / docs.FULL_DOC).read_text(encoding="utf-8")
    for kind, name in names:
        assert f"]({docs.FULL_DOC}#{kind}_{name})" in block, f"README misses {kind} {name}"
        assert f'<a name="{kind}_{name}"></a>' in full, f"{docs.FULL_DOC} misses {kind} {name}"


def test_compact_summaries():
    docs = _gen_tf_docs()
    assert docs.first_sentence("One. Two.") == "One. …"
    assert docs.first_sentence("Keys (a. b) here. Rest.") == "Keys (a. b) here. …"
    assert docs.first_sentence("No full stop") == "No full stop"
    long = "word " * 60 + "end."
    summary = docs.first_sentence(long)
    assert summary.endswith(" …") and len(summary) <= docs.SUMMARY_CHARS + 2
    assert docs.short_type("map(object({bucket = string, x = optional(string)}))") == "map(object)"
    assert docs.short_type("list(string)") == "list(string)"


def _readme_contract_variables() -> list[str]:
    document = (REPO_ROOT / CONTRACT_DOC).read_text(encoding="utf-8")
    table = _between("<!-- CONTRACT:BEGIN -->", "<!-- CONTRACT:END -->", document)
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
    assert set(documented) == _module_environment(), f"{CONTRACT_DOC} vs main.tf local.environment"
    config_source = (REPO_ROOT / "lambda/post_scan/config.py").read_text(encoding="utf-8")
    read_by_engine = set(re.findall(r'"([A-Z][A-Z_]+)"', config_source)) - {
        "AWS_LAMBDA_FUNCTION_NAME",
        "DEBUG",
        "INFO",
        "WARNING",
        "ERROR",
        "CRITICAL",
    }
    assert set(documented) == read_by_engine, f"{CONTRACT_DOC} table vs variables config.py reads"


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


def test_readme_is_a_front_page():
    size = len(README.encode("utf-8"))
    assert size < README_MAX_BYTES, (
        f"README.md is {size} bytes, the front page must stay under {README_MAX_BYTES}: "
        "move depth into docs/"
    )
    headings = [
        number
        for number, line in enumerate(README.splitlines(), start=1)
        if line.strip() == "## Usage"
    ]
    assert headings, "README.md has no '## Usage' heading"
    assert headings[0] < USAGE_BEFORE_LINE, (
        f"'## Usage' is on line {headings[0]}; it must come before line {USAGE_BEFORE_LINE}"
    )
    assert README.index("<!-- USAGE:BEGIN -->") > README.index("## Usage")


def _development_commands() -> list[str]:
    section = README.split("\n## Development\n", 1)[1].split("\n## ", 1)[0]
    fence = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert fence, "README Development must hold a ```sh block with the test command"
    return [line.split("#", 1)[0].strip() for line in fence.group(1).splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    """CI runs `make test` as the README says, from a clean clone and nothing before it: no
    `make setup`, so the fresh-clone path (`make test` installing its tools) is what CI tests."""
    commands = _development_commands()
    assert commands[0] == "make test", commands
    ci = (REPO_ROOT / ".ci/run").read_text(encoding="utf-8")
    ci_commands = [
        line.strip()
        for line in ci.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert ci_commands[-1] == "make test", "CI must end with the README's test command"
    assert not [c for c in ci_commands if c.startswith("make") and c != "make test"], ci_commands


def test_first_screen_names_both_commands_with_their_time():
    """Before the usage: `make demo` and `make test`, each with how long it takes."""
    first_screen = README.split("## Usage", 1)[0]
    for command in ("make demo", "make test"):
        after = first_screen.split(f"`{command}`", 1)
        assert len(after) == 2, f"the first screen does not name `{command}`"
        assert re.search(r"\d+(?:[.,½]\d*)? ?(?:minutes?|min)\b", after[1].split(".")[0]), (
            f"no duration right after `{command}`"
        )
    assert "[LICENSE](LICENSE)" in first_screen and (REPO_ROOT / "LICENSE").is_file()


def test_feature_flag_table_names_every_statement_of_the_role():
    """Every Sid the role can get (iam.tf) is in the README's feature-flag table."""
    iam = (REPO_ROOT / "iam.tf").read_text(encoding="utf-8")
    sids = set(re.findall(r'\bSid\s*=\s*"([A-Za-z]+)"', iam))
    assert len(sids) > 10, sids
    table = _between("## Feature flags and the IAM they add", "## Warnings")
    missing = sorted(sid for sid in sids if f"`{sid}`" not in table)
    assert not missing, f"README feature-flag table lacks {missing}"
