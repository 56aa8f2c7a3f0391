"""Static checks of the Terraform code: fmt, validate, provider schemas, checkov, terraform test.

Each check runs the real tool on the repository as a user or CI would; the assertions carry the
tool's own output so a failure reads like the tool's report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tooling import (
    REPO_ROOT,
    checkov_binary,
    missing_tool,
    require_terraform,
    tfschema_lint_script,
)

pytestmark = pytest.mark.terraform

EXAMPLES = sorted(p.parent for p in REPO_ROOT.glob("examples/*/main.tf"))
MODULE_DIRS = [REPO_ROOT, *EXAMPLES]


def _run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _assert_ok(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"


_initialised: set[Path] = set()


def _init(terraform: str, directory: Path) -> None:
    if directory in _initialised:
        return
    result = _run([terraform, "init", "-backend=false", "-input=false", "-no-color"], directory)
    _assert_ok(result, f"terraform init in {directory.relative_to(REPO_ROOT) or '.'}")
    _initialised.add(directory)


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {"basic", "file-id-to-dynamodb", "complete"} <= names, names


def test_terraform_fmt():
    terraform = require_terraform()
    result = _run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color"], REPO_ROOT)
    _assert_ok(result, "terraform fmt -check -recursive")


@pytest.mark.parametrize(
    "directory", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO_ROOT)) or "root"
)
def test_terraform_validate(directory: Path):
    terraform = require_terraform()
    _init(terraform, directory)
    result = _run([terraform, "validate", "-json", "-no-color"], directory)
    report = json.loads(result.stdout)
    problems = [d for d in report.get("diagnostics", []) if d["severity"] in {"error", "warning"}]
    assert report["valid"] and not problems, json.dumps(problems, indent=2)


def test_provider_schemas_aws5_and_aws6():
    """Every resource argument and attribute exists in hashicorp/aws 5.x and 6.x (we claim both)."""
    script = tfschema_lint_script()
    if script is None:
        missing_tool("tf_schema_lint.py not found (set TFSCHEMA_LINT to its path)")
    result = _run([sys.executable, str(script), "-q", "--recursive", str(REPO_ROOT)], REPO_ROOT)
    _assert_ok(result, "tf_schema_lint.py")
    assert " 0 error(s), 0 warning(s)" in result.stdout, result.stdout
    for major in ("aws-5.", "aws-6."):
        assert major in result.stdout, f"no {major}x schema was checked:\n{result.stdout}"


def test_checkov_has_no_failed_check():
    checkov = checkov_binary()
    if checkov is None:
        missing_tool("checkov not found (make setup installs it into .venv-checkov)")
    result = _run(
        [
            checkov,
            "-d",
            ".",
            "--framework",
            "terraform",
            "--compact",
            "--quiet",
            "--skip-path",
            r"\.terraform",
            "--skip-path",
            r"\.venv",
            "--output",
            "json",
        ],
        REPO_ROOT,
    )
    assert result.returncode == 0, f"checkov reported failed checks:\n{result.stdout[-20000:]}"
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 0, f"checkov checked nothing:\n{result.stdout[-5000:]}"


TFTEST_FILES = sorted(REPO_ROOT.glob("tests/*.tftest.hcl"))


def test_tftest_files_exist():
    assert TFTEST_FILES, "no tests/*.tftest.hcl plan-level tests found"


@pytest.mark.parametrize("tftest", TFTEST_FILES, ids=lambda p: p.name)
def test_terraform_test(tftest: Path):
    terraform = require_terraform()
    _init(terraform, REPO_ROOT)
    result = _run(
        [terraform, "test", "-no-color", f"-filter={tftest.relative_to(REPO_ROOT)}"], REPO_ROOT
    )
    _assert_ok(result, f"terraform test {tftest.name}")
    assert " 0 failed" in result.stdout and " passed" in result.stdout, result.stdout
