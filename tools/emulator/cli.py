"""`make emulator`: the local AWS emulator for your own root, in the foreground or detached.

    python -m emulator [--port 4599] [--root DIR] [--topic ARN] [--bucket NAME] [--table NAME[:KEY]]
    python -m emulator --detach ...      # start it in the background, print how to use it, return
    python -m emulator stop              # stop the one started from this state directory
    python -m emulator status            # is it running, and where

The server (``emulator.server``, started with ``--keep-running``) is its own process: it does not
exit when the shell or the make that started it does. In the foreground, Ctrl-C (or SIGTERM) stops
it; ``--detach`` starts it in a session of its own and writes its pid and URL into the state
directory (``.emulator/`` by default), where ``stop``, ``status`` and ``make scan`` find them.
Every run prints the endpoint, the provider settings to paste and what it created for the root.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emulator.environ import environ_copy
from emulator.launcher import LOOPBACK, TOOLS_DIR
from emulator.prerequisites import Prerequisites, create_prerequisites, from_root
from emulator.staging import REPO_ROOT

DEFAULT_PORT = 4599
DEFAULT_STATE_DIR = REPO_ROOT / ".emulator"
DEFAULT_REGION = "us-east-1"
# moto puts requests signed with any access key it did not hand out into this account.
DEFAULT_ACCOUNT = "123456789012"
ACCESS_KEY = "test"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class State:
    """Where a running emulator is described: its pid, URL and region, and its log."""

    directory: Path

    @property
    def pid_file(self) -> Path:
        return self.directory / "emulator.pid"

    @property
    def info_file(self) -> Path:
        return self.directory / "emulator.json"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    @property
    def override_file(self) -> Path:
        return self.directory / "emulator_override.tf"

    def running_pid(self) -> int | None:
        """The pid in the pid file, if that process is alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def info(self) -> dict[str, str]:
        return json.loads(self.info_file.read_text())

    def clear(self) -> None:
        for path in (self.pid_file, self.info_file):
            path.unlink(missing_ok=True)


def read_endpoint(state_dir: Path) -> dict[str, str] | None:
    """The running emulator's {url, region, account_id} from its state directory, or None."""
    state = State(state_dir)
    if state.running_pid() is None or not state.info_file.is_file():
        return None
    return state.info()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is gone for every purpose here.
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return status != "Z"
    return True


def provider_override(url: str, region: str) -> str:
    """The provider settings a root needs for the emulator (an override file: delete it to plan
    against AWS again)."""
    return f"""\
# Written by `make emulator` for the local AWS emulator at {url}; delete this file to plan
# against AWS again. Run terraform with AWS_ENDPOINT_URL={url} in its environment.
provider "aws" {{
  region                      = "{region}"
  access_key                  = "{ACCESS_KEY}"
  secret_key                  = "{ACCESS_KEY}"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
}}
"""


def _parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="make emulator ARGS=...",
        description=(
            "Run the local AWS emulator (a patched moto server) for your own root: apply the "
            "root against it, then simulate the scanner with `make scan`."
        ),
    )
    cli.add_argument(
        "command",
        nargs="?",
        choices=("run", "stop", "status"),
        default="run",
        help="run (default): start it; stop: stop the one started from --state-dir; status",
    )
    cli.add_argument("--host", default=LOOPBACK, help=f"address to listen on ({LOOPBACK})")
    cli.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0: a free one)"
    )
    cli.add_argument(
        "--region", default=DEFAULT_REGION, help=f"region of the provider ({DEFAULT_REGION})"
    )
    cli.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the pid, URL, log and provider override go (.emulator/ in the repository)",
    )
    cli.add_argument(
        "--detach",
        action="store_true",
        help="start in the background (for scripts) and return once it accepts requests",
    )
    cli.add_argument(
        "--root",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help=(
            "a root that calls the module: create the topics, buckets and table its module call "
            "names with literal values (repeatable)"
        ),
    )
    cli.add_argument("--topic", action="append", default=[], metavar="ARN", help="create a topic")
    cli.add_argument(
        "--bucket", action="append", default=[], metavar="NAME", help="create a bucket"
    )
    cli.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="NAME[:KEY]",
        help="create a DynamoDB table keyed by KEY (file_id) of type S",
    )
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state = State(args.state_dir.resolve())
    if args.command == "stop":
        return stop(state)
    if args.command == "status":
        return status(state)
    return run(args, state)


def status(state: State) -> int:
    pid = state.running_pid()
    if pid is None:
        print(f"emulator: not running (state directory {state.directory})")
        return 1
    print(f"emulator: pid {pid} listening on {state.info()['url']}")
    return 0


def stop(state: State) -> int:
    """Stop the emulator of this state directory (SIGTERM, then SIGKILL); 0 also when none runs."""
    pid = state.running_pid()
    if pid is None:
        state.clear()
        print(f"emulator: not running (state directory {state.directory})")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    state.clear()
    print(f"emulator: pid {pid} stopped")
    return 0


def _start_server(args: argparse.Namespace, state: State) -> tuple[subprocess.Popen, str]:
    python_path = os.pathsep.join(filter(None, [str(TOOLS_DIR), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "emulator.server", "--host", args.host]
    command += ["--port", str(args.port), "--keep-running"]
    with open(state.log_file, "w") as log:
        process = subprocess.Popen(
            command,
            env={**environ_copy(), "PYTHONPATH": python_path},
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            # Detached: a session of its own, so no terminal hang-up or Ctrl-C of the shell that
            # started it reaches it. Foreground: Ctrl-C reaches both, as expected.
            start_new_session=args.detach,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()
    if not line.startswith("listening "):
        process.wait(timeout=START_TIMEOUT)
        raise RuntimeError(
            f"the emulator did not start (exit {process.returncode}); its log "
            f"{state.log_file}:\n{state.log_file.read_text()[-2000:]}"
        )
    return process, line.split()[1]


def run(args: argparse.Namespace, state: State) -> int:
    running = state.running_pid()
    if running is not None:
        print(
            f"emulator: already running (pid {running}, {state.info()['url']}); "
            "stop it first: make emulator-stop",
            file=sys.stderr,
        )
        return 1
    state.directory.mkdir(parents=True, exist_ok=True)
    wanted = Prerequisites(
        topics=list(args.topic), buckets=list(args.bucket), tables=_tables(args.table)
    )
    notes: list[str] = []
    for root in args.root:
        found, skipped = from_root(root)
        wanted = wanted.merged(found)
        notes += skipped
    try:
        process, url = _start_server(args, state)
    except RuntimeError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 1
    state.pid_file.write_text(f"{process.pid}\n")
    state.info_file.write_text(
        json.dumps({"url": url, "region": args.region, "account_id": DEFAULT_ACCOUNT}) + "\n"
    )
    state.override_file.write_text(provider_override(url, args.region))
    try:
        created = create_prerequisites(url, args.region, ACCESS_KEY, wanted)
    except Exception as exc:  # anything the emulator refused: say so, leave nothing running
        print(f"emulator: could not create {wanted.describe()}: {exc}", file=sys.stderr)
        stop(state)
        return 1
    print(_message(url, process.pid, args, state, created, notes), flush=True)
    if args.detach:
        return 0
    return _wait_in_foreground(process, state)


def _tables(values: list[str]) -> dict[str, str]:
    tables = {}
    for value in values:
        name, _, key = value.partition(":")
        tables[name] = key or "file_id"
    return tables


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_in_foreground(process: subprocess.Popen, state: State) -> int:
    """Until Ctrl-C or SIGTERM: then stop the server and clear the state directory."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = process.wait()
        print(f"emulator: the server exited ({code}); its log: {state.log_file}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print("\nemulator: stopped")
        return 0
    finally:
        state.clear()


def _message(
    url: str,
    pid: int,
    args: argparse.Namespace,
    state: State,
    created: list[str],
    notes: list[str],
) -> str:
    custom = state.directory != DEFAULT_STATE_DIR.resolve()
    stop = "make emulator-stop" + (f' ARGS="--state-dir {state.directory}"' if custom else "")
    stop_hint = stop if args.detach else f"Ctrl-C here (or {stop})"
    scan_state = f" --state-dir {state.directory}" if custom else ""
    lines = [
        f"Local AWS emulator (moto, patched for this module) listening on {url}",
        f"  pid {pid}; stop it with {stop_hint}; its log: {state.log_file}",
        f"  account {DEFAULT_ACCOUNT}, region {args.region} (any access key works; nothing "
        "is kept once it stops)",
    ]
    lines += [f"  created {item}" for item in created] or ["  created nothing (see --root)"]
    lines += [f"  not created: {note}" for note in notes]
    override = state.override_file
    lines += [
        "",
        "Use it from your root (docs/local-testing.md):",
        f"  cp {override} YOUR_ROOT/   # provider settings; delete it to go back to AWS:",
        *[f"      {line}" for line in provider_override(url, args.region).splitlines()[2:]],
        f"  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID={ACCESS_KEY} "
        f"AWS_SECRET_ACCESS_KEY={ACCESS_KEY} AWS_REGION={args.region}",
        "  terraform init && terraform apply",
        f'  make scan ARGS="--bucket BUCKET --key KEY --verdict malicious{scan_state}"',
    ]
    return "\n".join(lines)
