"""Static checks of the Terraform code: fmt, validate, provider schemas, checkov, terraform test.

Each check runs the real tool on the repository as a user or CI would; the assertions carry the
tool's own output so a failure reads like the tool's report.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import background
import pytest
from tooling import (
    REPO_ROOT,
    checkov_binary,
    missing_tool,
    require_terraform,
    tfschema_lint_script,
)

from emulator import jobs
from emulator.environ import environ_copy

pytestmark = pytest.mark.terraform

AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
EXAMPLES = sorted(p.parent for p in REPO_ROOT.glob("examples/*/main.tf"))
MODULE_DIRS = [REPO_ROOT, *EXAMPLES]


def _run(
    args: list[str],
    cwd: Path,
    seconds_alone: float = 75,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool; a Terraform command that plans (validate, test) waits for a slot first
    (emulator.jobs). The timeout is scaled from the step's time on an idle machine."""
    env = {**environ_copy(), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    env.update(extra_env or {})
    heavy = Path(args[0]).name == "terraform" and args[1] in {"validate", "test"}
    with jobs.slot() if heavy else contextlib.nullcontext():
        return subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=jobs.scaled(seconds_alone),
            check=False,
        )


def _assert_ok(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"


_initialised: set[Path] = set()
_init_lock = threading.Lock()  # the validations and `terraform test` initialise the root


def _init(terraform: str, directory: Path) -> None:
    with _init_lock:
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


@background.work("validations")
def _validate_every_root(session: pytest.Session) -> dict[Path, Any]:
    """`terraform init` + `validate` of the root and every example, in the background from the end
    of collection: directory -> the validate run, or what stopped it."""
    terraform = require_terraform()
    found: dict[Path, Any] = {}
    for directory in MODULE_DIRS:
        try:
            _init(terraform, directory)
            found[directory] = _run([terraform, "validate", "-json", "-no-color"], directory)
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            found[directory] = exc
    return found


@pytest.fixture(scope="module")
def validations(request: pytest.FixtureRequest) -> dict[Path, Any]:
    return background.result("validations", request.session)


@pytest.mark.slowstatic
@pytest.mark.parametrize(
    "directory", MODULE_DIRS, ids=lambda p: str(p.relative_to(REPO_ROOT)) or "root"
)
def test_terraform_validate(directory: Path, validations: dict[Path, Any]):
    result = validations[directory]
    if isinstance(result, BaseException):
        raise result
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


@background.work("checkov_run")
def _checkov(session: pytest.Session) -> subprocess.CompletedProcess[str]:
    """checkov over the repository, in the background from the end of collection."""
    checkov = checkov_binary()
    if checkov is None:
        missing_tool("checkov not found (make setup installs it into .venv-checkov)")
    return _run(
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
            "--skip-download",  # no guidelines from the vendor's API: the same checks, offline
        ],
        REPO_ROOT,
    )


@pytest.fixture(scope="module")
def checkov_run(request: pytest.FixtureRequest) -> subprocess.CompletedProcess[str]:
    return background.result("checkov_run", request.session)


@pytest.mark.slowstatic
def test_checkov_has_no_failed_check(checkov_run: subprocess.CompletedProcess[str]):
    result = checkov_run
    assert result.returncode == 0, f"checkov reported failed checks:\n{result.stdout[-20000:]}"
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 0, f"checkov checked nothing:\n{result.stdout[-5000:]}"


TFTEST_FILES = sorted(REPO_ROOT.glob("tests/*.tftest.hcl"))
# `terraform test` of every file on an idle 2-core machine: about 6 minutes (each run block starts
# the providers again, ~3 s of CPU each, and scale.tftest.hcl plans 1,000 buckets).
TFTEST_SECONDS = 400
FILE_STATUS = re.compile(r"^(tests/[^/\s]+\.tftest\.hcl)\.\.\. (pass|fail|skip)$", re.MULTILINE)


def test_tftest_files_exist():
    assert TFTEST_FILES, "no tests/*.tftest.hcl plan-level tests found"


def tftest_file_results(output: str) -> dict[str, str]:
    """`terraform test` output -> {file: pass | fail | skip} from the files' own status lines."""
    return dict(FILE_STATUS.findall(output))


def tftest_file_output(output: str, name: str) -> str:
    """The lines of one file's section of `terraform test` output (its runs and status)."""
    lines = [line for line in output.splitlines() if line.startswith((name, "  run "))]
    start = next((i for i, line in enumerate(lines) if line == f"{name}... in progress"), None)
    if start is None:
        return ""
    section = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(("  run ", name)):
            break
        section.append(line)
    return "\n".join(section)


REATTACH = re.compile(r"TF_REATTACH_PROVIDERS='([^']+)'")


@contextlib.contextmanager
def _running_aws_provider(directory: Path) -> Iterator[dict[str, str]]:
    """The initialised hashicorp/aws provider of `directory`, started once in its debug mode, and
    the environment that makes Terraform use it (TF_REATTACH_PROVIDERS) instead of starting it
    again for every run block: `mock_provider` still asks the real provider for its schema,
    and each start of the 700 MB binary costs about a second of CPU (a third of a run block's).
    Yields {} (Terraform starts the provider itself) where the provider cannot be started so."""
    found = sorted(
        (directory / ".terraform/providers/registry.terraform.io/hashicorp/aws").glob(
            "*/*/terraform-provider-aws*"
        )
    )
    if not found:
        yield {}
        return
    process = subprocess.Popen(
        [str(found[-1]), "-debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    found_setting: queue.Queue[str | None] = queue.Queue()

    def read(stream: IO[str]) -> None:  # the setting, then its log (which must not fill the pipe)
        for line in stream:
            match = REATTACH.search(line)
            if match:
                found_setting.put(match.group(1))
        found_setting.put(None)

    assert process.stdout is not None
    threading.Thread(target=read, args=(process.stdout,), daemon=True).start()
    try:
        try:
            reattach = found_setting.get(timeout=jobs.scaled(15))
        except queue.Empty:
            reattach = None
        if reattach is None or json.loads(reattach).keys() != {AWS_PROVIDER}:
            yield {}
        else:
            yield {"TF_REATTACH_PROVIDERS": reattach}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tftest_runs(path: Path) -> int:
    """The run blocks of a tftest file."""
    return len(re.findall(r"^run ", path.read_text(encoding="utf-8"), flags=re.MULTILINE))


def tftest_groups(files: list[Path], count: int) -> list[list[Path]]:
    """`files` in at most `count` groups of about the same work (run blocks; scale.tftest.hcl's
    plan 1,000 buckets each, so they count three times), each group in the files' order."""
    work = {path: tftest_runs(path) * (3 if path.name.startswith("scale") else 1) for path in files}
    groups: list[list[Path]] = [[] for _ in range(max(1, min(count, len(files))))]
    loads = [0] * len(groups)
    for path in sorted(files, key=work.__getitem__, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(path)
        loads[lightest] += work[path]
    return [sorted(group) for group in groups if group]


def _terraform_test_group(terraform: str, group: list[Path]) -> subprocess.CompletedProcess[str]:
    filters = [f"-filter={path.relative_to(REPO_ROOT)}" for path in group]
    with _running_aws_provider(REPO_ROOT) as reattach:
        return _run(
            [terraform, "test", "-no-color", *filters],
            REPO_ROOT,
            TFTEST_SECONDS,
            extra_env=reattach,
        )


@background.work("tftest_run")
def _terraform_test(session: pytest.Session) -> subprocess.CompletedProcess[str]:
    """`terraform test` of every tests/*.tftest.hcl file, in one process per core (JOBS=1: one
    process), each with its share of the files (-filter) and its own aws provider process for all
    of its runs; one init for all. In the background from the end of collection: one process runs
    for minutes on one core (Terraform 1.11 runs a file's run blocks one after the other), so
    several share the cores with the unit tests instead of one long process ending last."""
    terraform = require_terraform()
    _init(terraform, REPO_ROOT)
    groups = tftest_groups(TFTEST_FILES, min(jobs.cores(), jobs.jobs()))
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        results = list(pool.map(lambda group: _terraform_test_group(terraform, group), groups))
    return subprocess.CompletedProcess(
        args=[terraform, "test", "-no-color"],
        returncode=max(result.returncode for result in results),
        stdout="\n".join(result.stdout for result in results),
        stderr="\n".join(result.stderr for result in results),
    )


@pytest.fixture(scope="module")
def tftest_run(request: pytest.FixtureRequest) -> subprocess.CompletedProcess[str]:
    return background.result("tftest_run", request.session)


@pytest.mark.tftest
@pytest.mark.parametrize("tftest", TFTEST_FILES, ids=lambda p: p.name)
def test_terraform_test(tftest: Path, tftest_run: subprocess.CompletedProcess[str]):
    name = str(tftest.relative_to(REPO_ROOT))
    results = tftest_file_results(tftest_run.stdout)
    section = tftest_file_output(tftest_run.stdout, name)
    assert results.get(name) == "pass", (
        f"terraform test {tftest.name}: {results.get(name, 'not run')}\n{section}\n"
        f"{tftest_run.stderr}"
    )
    assert "  run " in section and "... fail" not in section, section


@pytest.mark.tftest
def test_terraform_test_ran_every_file_and_passed(tftest_run: subprocess.CompletedProcess[str]):
    """Each file's status comes from the runs of all of them: each file ran once, and said so."""
    results = FILE_STATUS.findall(tftest_run.stdout)
    names = sorted(name for name, _ in results)
    assert names == [str(p.relative_to(REPO_ROOT)) for p in TFTEST_FILES], results
    _assert_ok(tftest_run, "terraform test")
    summaries = re.findall(r"(\d+) passed, (\d+) failed", tftest_run.stdout)
    assert summaries and all(failed == "0" for _, failed in summaries), tftest_run.stdout


def test_tftest_groups_share_the_files_out_once():
    for count in (1, 2, 3, 8, 100):
        groups = tftest_groups(TFTEST_FILES, count)
        assert len(groups) == min(count, len(TFTEST_FILES))
        assert sorted(p for group in groups for p in group) == TFTEST_FILES
    work = [sum(map(tftest_runs, group)) for group in tftest_groups(TFTEST_FILES, 2)]
    assert max(work) - min(work) <= 40, work  # about even


def test_tftest_output_is_read_per_file():
    """The parser reads each file's status and section, and a failed run within a file."""
    output = (
        "tests/a.tftest.hcl... in progress\n"
        '  run "one"... pass\n'
        "tests/a.tftest.hcl... tearing down\n"
        "tests/a.tftest.hcl... pass\n"
        "tests/b.tftest.hcl... in progress\n"
        '  run "two"... fail\n'
        "tests/b.tftest.hcl... tearing down\n"
        "tests/b.tftest.hcl... fail\n"
        "\nFailure! 1 passed, 1 failed.\n"
    )
    assert tftest_file_results(output) == {
        "tests/a.tftest.hcl": "pass",
        "tests/b.tftest.hcl": "fail",
    }
    assert tftest_file_output(output, "tests/b.tftest.hcl").splitlines() == [
        "tests/b.tftest.hcl... in progress",
        '  run "two"... fail',
        "tests/b.tftest.hcl... tearing down",
        "tests/b.tftest.hcl... fail",
    ]
    assert tftest_file_output(output, "tests/c.tftest.hcl") == ""
