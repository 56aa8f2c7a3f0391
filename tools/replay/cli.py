"""Command line of the replay tool: arguments, boto3 clients, exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from replay import decide, queues
from replay.run import Invoke, Send, replay

# Longer than the longest Lambda invocation (900 s): a message being replayed stays invisible.
DIRECT_VISIBILITY = 960
QUEUE_VISIBILITY = 60


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m replay",
        description=(
            "Replay the messages of the post-scan dead-letter queue once the cause is fixed. "
            "A message is deleted from the dead-letter queue only after its replay succeeded; "
            "messages that fail again, that this tool does not recognise, that another function "
            "wrote (direct mode) or that carry a scan result this run already replayed or tried "
            "stay there. Each scan result (SNS MessageId) is replayed at most once per run."
        ),
    )
    cli.add_argument("--dead-letter-queue-url", required=True, metavar="URL")
    target = cli.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--function",
        metavar="NAME_OR_ARN",
        help=(
            "direct mode: invoke this function synchronously with each original event; "
            "on-failure records another function wrote are refused (a name is looked up with "
            "lambda:GetFunctionConfiguration, an ARN is used as given)"
        ),
    )
    target.add_argument(
        "--to-queue-url",
        metavar="URL",
        help="queue mode: send each message back to this delivery queue",
    )
    cli.add_argument(
        "--max-messages",
        type=_positive,
        metavar="N",
        help="replay at most N messages (default all)",
    )
    cli.add_argument(
        "--dry-run", action="store_true", help="print what would be replayed, change nothing"
    )
    cli.add_argument("--region", help="AWS region (default: the standard boto3 configuration)")
    cli.add_argument(
        "--visibility-timeout",
        type=_positive,
        metavar="SECONDS",
        help=(
            f"how long a received message stays hidden while it is replayed (default "
            f"{DIRECT_VISIBILITY} with --function, {QUEUE_VISIBILITY} with --to-queue-url)"
        ),
    )
    cli.add_argument(
        "--wait-seconds",
        type=int,
        default=2,
        choices=range(21),
        metavar="0-20",
        help="long-poll time of each receive; the run ends at the first empty receive (2)",
    )
    return cli


def main(
    argv: Sequence[str] | None = None,
    *,
    invoke: Invoke | None = None,
    send: Send | None = None,
    session: Any = None,
) -> int:
    """Run the tool; `invoke` / `send` replace the real Lambda / SQS delivery (tests)."""
    args = parser().parse_args(argv)
    session = session or boto3.session.Session(region_name=args.region)
    mode = decide.DIRECT if args.function else decide.QUEUE
    default_visibility = DIRECT_VISIBILITY if mode == decide.DIRECT else QUEUE_VISIBILITY
    dead_letters = queues.SqsDeadLetters(
        session.client("sqs"),
        args.dead_letter_queue_url,
        visibility_timeout=args.visibility_timeout or default_visibility,
        wait_seconds=args.wait_seconds,
    )
    function_arn = None
    if mode == decide.DIRECT:
        # A synchronous invoke may run for the function's whole timeout (at most 900 s).
        lambda_client = session.client("lambda", config=Config(read_timeout=910))
        try:
            function_arn = queues.function_arn(lambda_client, args.function)
        except (ClientError, BotoCoreError, ValueError) as exc:
            print(
                f"replay: cannot tell which function --function {args.function} is ({exc}); "
                "pass its ARN (the module output lambda_function_arn)",
                file=sys.stderr,
            )
            return 2
        if invoke is None:
            invoke = queues.lambda_invoker(lambda_client, args.function)
    if mode == decide.QUEUE and send is None:
        send = queues.queue_sender(session.client("sqs"), args.to_queue_url)
    summary = replay(
        dead_letters,
        mode,
        invoke=invoke,
        send=send,
        max_messages=args.max_messages,
        # One at a time in direct mode: each invoke may take long, the rest would wait hidden.
        batch_size=1 if mode == decide.DIRECT else 10,
        dry_run=args.dry_run,
        function_arn=function_arn,
    )
    return summary.exit_code


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
