"""The demo as a user runs it: every step, every case's before/after table, nothing left running.

The smoke test reads only what the demo prints and checks it against what examples/complete
must do to each case (the expectations here are the module's, not copied from the demo). The
other two tests stand a fake `terraform` in for the real one to make a step fail, or to be
interrupted, and check that the demo names the step and still cleans up.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest
from _demo_run import DemoRun

from emulator import jobs

STEPS = 9
CASE_COUNT = 7
EICAR_SIZE = 68


def _steps(output: str) -> dict[int, str]:
    return {int(m[1]): m[0] for m in re.finditer(r"^\[(\d+)/9\] .*$", output, re.MULTILINE)}


def _cases(output: str) -> dict[str, dict]:
    """Each case's header and table: {title: {"header": str, rows: {aspect: (before, after)}}}."""
    cases: dict[str, dict] = {}
    for block in re.split(r"\n(?=case \d+/\d+: )", output)[1:]:
        lines = block.splitlines()
        title = re.match(r"case \d+/(\d+): (.*)", lines[0])
        assert title and int(title[1]) == CASE_COUNT, lines[0]
        rows: dict[str, tuple[list[str], list[str]]] = {}
        current = None
        for line in lines[1:]:
            stripped = line.strip()
            if not stripped.startswith("|") or set(stripped) <= {"|", "-"}:
                continue
            aspect, before, after = (cell.strip() for cell in stripped[1:-1].split("|"))
            if (before, after) == ("before", "after"):
                continue
            current = aspect or current
            assert current is not None, block
            rows.setdefault(current, ([], []))
            if before:
                rows[current][0].append(before)
            if after:
                rows[current][1].append(after)
        result = re.search(r"^  result: (.*)$", block, re.MULTILINE)
        cases[title[2]] = {
            "header": "\n".join(lines[:4]),
            "rows": {k: (" ".join(b), " ".join(a)) for k, (b, a) in rows.items()},
            "object_after": rows.get("object", ([], []))[1],
            "result": result[1] if result else None,
        }
    return cases


def _seconds(text: str) -> float:
    """4.2 s, 1 min 5 s, 1 h 2 min (the demo's durations) in seconds."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", text)]
    scale = [3600, 60] if "h" in text else [60, 1] if "min" in text else [1]
    return sum(n * unit for n, unit in zip(numbers, scale, strict=True))


def _case(cases: dict[str, dict], words: str) -> dict:
    found = [title for title in cases if words in title]
    assert len(found) == 1, f"expected one case titled like {words!r}, found {list(cases)}"
    return cases[found[0]]


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _port_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


def _server(output: str) -> tuple[int, str]:
    match = re.search(r"moto server pid (\d+) listening on (http://127\.0\.0\.1:\d+)", output)
    assert match, output
    return int(match[1]), match[2]


@pytest.mark.terraform
@pytest.mark.demo
def test_demo_shows_every_case_and_leaves_nothing_running(demo_run: DemoRun):
    output = demo_run.output
    assert demo_run.process.returncode == 0, output
    steps = _steps(output)
    assert sorted(steps) == list(range(1, STEPS + 1)), output
    assert all(" ... ok (" in line for line in steps.values()), output
    assert "applying examples/complete" in steps[4]
    assert "nothing left behind" in steps[8], steps[8]
    assert f"demo complete: {CASE_COUNT} of {CASE_COUNT} cases as expected" in output

    cases = _cases(output)
    assert len(cases) == CASE_COUNT, list(cases)
    for title, case in cases.items():
        assert case["result"] == "as expected", (title, case)
        before_row, after_row = case["rows"]["table row"]
        app = re.search(r"filename=\S+.*?, owner=demo-app, status=uploaded", before_row)
        assert app and app[0] in after_row, (title, "the app's attributes must stay")

    clean = _case(cases, "clean upload")
    assert clean["rows"]["object"][0] == clean["rows"]["object"][1]
    assert "scan_verdict=clean, scan_action=none" in clean["rows"]["table row"][1]
    assert "outcome: processed" in clean["rows"]["function"][1]

    versioned = _case(cases, "in a versioned bucket")
    before_object = versioned["rows"]["object"][0]
    assert f"scanned upload (EICAR) {EICAR_SIZE} B (current)" in before_object
    assert "older clean version" in before_object
    # The scanned version is gone for good: no delete marker, the older version is current.
    assert versioned["object_after"] == [
        re.search(r"older clean version \d+ B", before_object)[0] + " (current)"
    ]
    row_after = versioned["rows"]["table row"][1]
    assert "scan_verdict=malicious, scan_action=delete" in row_after
    assert "scan_findings=Eicar_test_file" in row_after
    assert "s3_version_id" in row_after
    assert (
        "actions: head, list_versions, read_tags, record, delete"
        in versioned["rows"]["function"][1]
    )

    unicode_key = _case(cases, "spaces and unicode")
    assert "/shared/Müller & Søn/résumé été 2024 ✓.pdf" in unicode_key["header"]
    assert f"scanned upload (EICAR) {EICAR_SIZE} B" in unicode_key["rows"]["object"][0]
    assert unicode_key["object_after"] == ["no object, no versions"]
    assert "scan_verdict=malicious, scan_action=delete" in unicode_key["rows"]["table row"][1]

    incomplete = _case(cases, "incomplete scan")
    assert incomplete["rows"]["object"][0] == incomplete["rows"]["object"][1]
    row_after = incomplete["rows"]["table row"][1]
    assert "scan_verdict=incomplete, scan_action=none" in row_after
    assert re.search(r"scan_codes=1\d\d\b", row_after), row_after

    failure = _case(cases, "scan failure")
    assert failure["rows"]["object"][0] == failure["rows"]["object"][1]
    assert "scan_verdict=failed, scan_action=none" in failure["rows"]["table row"][1]

    # GuardDuty: its event names the version; exactly that one is deleted, the older one stays.
    guarded = _case(cases, "GuardDuty: malicious upload")
    assert "/inbox/2024/scan me+now.pdf" in guarded["header"], "the raw key, not URL-decoded"
    before_object = guarded["rows"]["object"][0]
    assert f"scanned upload (EICAR) {EICAR_SIZE} B (current)" in before_object
    assert guarded["object_after"] == [
        re.search(r"older clean version \d+ B", before_object)[0] + " (current)"
    ]
    row_after = guarded["rows"]["table row"][1]
    assert "scan_verdict=malicious, scan_action=delete" in row_after
    assert "scan_findings=EICAR-Test-File (not a virus) (GuardDuty)" in row_after
    assert "scan_scanner" in row_after
    assert "GuardDuty event, default bus" in guarded["rows"]["function"][0]
    assert "actions: head_version, read_tags, record, delete" in guarded["rows"]["function"][1]
    assert "event: malicious, processed, action delete" in guarded["rows"]["announced"][1]
    # The run's own exposure figures, from its log lines: the three malicious files it deleted
    # (two FSS results, one GuardDuty result).
    duration = r"(\d+\.\d s|\d+ min \d+ s|\d+ h \d+ min)"
    exposure = re.search(
        rf"^malware readable for at most {duration} in this run \(3 malicious files removed; "
        r"emulator timings, not AWS's",
        output,
        re.MULTILINE,
    )
    assert exposure, output
    per_file = re.findall(rf"^  s3://\S.*: readable for {duration} \(upload to scan", output, re.M)
    assert len(per_file) == 3 and max(per_file, key=_seconds) == exposure[1], per_file
    assert output.index(exposure[0]) > output.index(steps[9])  # after the clean-up steps

    forged = _case(cases, "forged")
    assert forged["rows"]["object"][0] == forged["rows"]["object"][1]
    assert forged["rows"]["table row"][0] == forged["rows"]["table row"][1]
    assert "scan_" not in forged["rows"]["table row"][1]
    function_after = forged["rows"]["function"][1]
    assert "outcome: rejected" in function_after
    assert "actions: none" in function_after
    assert "topic not in ALLOWED_TOPIC_ARNS" in function_after
    assert forged["rows"]["announced"][1].startswith("nothing"), "an untrusted result is not told"

    # What each case announced: an event on the bus and a notification on the topic.
    announced = versioned["rows"]["announced"][1]
    assert "event: malicious, processed, action delete, file_id malicious-versioned-" in announced
    assert "notification: [fss-post-scan] Malware found in" in announced
    assert announced.endswith(": deleted"), announced
    assert "event: clean, processed, action none" in clean["rows"]["announced"][1]
    assert "Scan failed" in failure["rows"]["announced"][1]

    pid, url = _server(output)
    assert "moto server pid" in steps[9] and "stopped" in steps[9]
    assert _process_gone(pid), f"moto server {pid} still running"
    assert _port_closed(url), f"{url} still accepts connections"
    workdir = re.search(r"^work dir: (\S+)", output, re.MULTILINE)[1]
    assert not Path(workdir).exists(), f"work dir {workdir} left behind"


FAKE_TERRAFORM = """\
#!/usr/bin/env bash
# Stands in for terraform: records each call; `apply` fails, or hangs until interrupted.
echo "$*" >> "$FAKE_TF_CALLS"
case "$1" in
  version) echo '{"terraform_version": "1.11.4"}' ;;
  init) echo "Terraform has been successfully initialized!" ;;
  apply)
    if [ "$FAKE_TF_APPLY" = hang ]; then
      sleep 120 & child=$!
      trap 'kill $child; echo "interrupted" >> "$FAKE_TF_CALLS"; exit 1' INT
      echo started > "$FAKE_TF_CALLS.apply-started"
      wait $child
      exit 0
    fi
    echo "Error: creating SQS Queue: simulated failure" >&2
    exit 1 ;;
  output) echo '{}' ;;
  state) ;;
  destroy) echo "Destroy complete! Resources: 0 destroyed." ;;
  *) echo "unexpected terraform call: $*" >&2; exit 2 ;;
esac
"""


def _fake_terraform_run(tmp_path: Path, apply: str) -> tuple[DemoRun, Path]:
    fake = tmp_path / "terraform"
    fake.write_text(FAKE_TERRAFORM)
    fake.chmod(0o755)
    calls = tmp_path / "terraform-calls.txt"
    env = {
        "TERRAFORM_BINARY": str(fake),
        "FAKE_TF_CALLS": str(calls),
        "FAKE_TF_APPLY": apply,
        "TF_PLUGIN_CACHE_DIR": str(tmp_path / "plugin-cache"),
        "TMPDIR": str(tmp_path),  # the demo's work dir, kept after a failure
        jobs.SLOTS_ENV: "",  # the stand-in uses no CPU: it need not wait for a Terraform slot
    }
    return DemoRun(tmp_path, env=env), calls


def _assert_cleaned_up(output: str, calls: Path) -> None:
    steps = _steps(output)
    assert " ... ok (" in steps[8] and " ... ok (" in steps[9], output
    assert [line.split()[0] for line in calls.read_text().splitlines()][-2:] == [
        "destroy",
        "state",
    ], "destroy must run (then the state is checked)"
    pid, url = _server(output)
    assert _process_gone(pid) and _port_closed(url), "the emulator must be stopped"
    workdir = re.search(r"^work dir kept for its logs: (\S+)$", output, re.MULTILINE)
    assert workdir and (Path(workdir[1]) / "terraform.log").is_file(), output


@pytest.mark.demo
def test_a_failing_step_is_named_and_everything_is_cleaned_up(tmp_path: Path):
    run, calls = _fake_terraform_run(tmp_path, apply="fail")
    code = run.wait(timeout=jobs.scaled(30))
    output = run.output
    assert code == 1, output
    steps = _steps(output)
    assert steps[4].startswith("[4/9] applying examples/complete") and "FAILED" in steps[4]
    assert 5 not in steps, "no step may run after the failed one, except the clean-up"
    failure = re.search(
        r"^demo failed at step 4/9 \(applying examples/complete\): .*$", output, re.M
    )
    assert failure and "terraform apply exited 1" in failure[0], output
    assert "simulated failure" in output, "the reason from Terraform's output must be shown"
    _assert_cleaned_up(output, calls)


@pytest.mark.demo
def test_ctrl_c_stops_terraform_once_and_cleans_up(tmp_path: Path):
    run, calls = _fake_terraform_run(tmp_path, apply="hang")
    started = Path(f"{calls}.apply-started")
    deadline = time.monotonic() + jobs.scaled(15)
    while not started.exists() and run.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), run.output
    run.process.send_signal(signal.SIGINT)
    code = run.wait(timeout=jobs.scaled(30))
    output = run.output
    assert code == 130, output
    assert "interrupted during step 4/9" in output
    recorded = calls.read_text().splitlines()
    assert recorded.count("interrupted") == 1, "terraform must get exactly one SIGINT"
    _assert_cleaned_up(output, calls)
