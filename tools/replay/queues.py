"""The boto3 side of the replay: the SQS dead-letter queue, Lambda invoke, SQS send."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from replay import decide
from replay.run import Invoke, Message, Send

_DETAIL_LIMIT = 300


class SqsDeadLetters:
    """ReceiveMessage / DeleteMessage / ChangeMessageVisibility on one queue."""

    def __init__(
        self, client: Any, url: str, visibility_timeout: int, wait_seconds: int = 2
    ) -> None:
        self._client, self._url = client, url
        self._visibility, self._wait = visibility_timeout, wait_seconds

    def receive(self, limit: int) -> list[Message]:
        response = self._client.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=limit,
            VisibilityTimeout=self._visibility,
            WaitTimeSeconds=self._wait,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )
        return [
            Message(
                message_id=item["MessageId"],
                receipt_handle=item["ReceiptHandle"],
                body=item["Body"],
                attributes=item.get("MessageAttributes") or {},
            )
            for item in response.get("Messages", [])
        ]

    def delete(self, message: Message) -> None:
        self._client.delete_message(QueueUrl=self._url, ReceiptHandle=message.receipt_handle)

    def hide(self, messages: list[Message]) -> None:
        self._change_visibility(messages, self._visibility)

    def release(self, messages: list[Message]) -> None:
        self._change_visibility(messages, 0)

    def _change_visibility(self, messages: list[Message], seconds: int) -> None:
        for message in messages:
            try:
                self._client.change_message_visibility(
                    QueueUrl=self._url,
                    ReceiptHandle=message.receipt_handle,
                    VisibilityTimeout=seconds,
                )
            except ClientError:
                # e.g. another consumer received it since: its own visibility timeout applies.
                continue


def function_arn(client: Any, function: str) -> str:
    """The unqualified ARN of the function `--function` names (a name, partial or full ARN).

    A full ARN is taken as it is; anything else is looked up (lambda:GetFunctionConfiguration).
    """
    arn = decide.unqualified_function_arn(function)
    if arn is not None:
        return arn
    found = client.get_function_configuration(FunctionName=function)["FunctionArn"]
    arn = decide.unqualified_function_arn(found)
    if arn is None:
        raise ValueError(f"Lambda answered {found!r} for {function!r}, not a function ARN")
    return arn


def lambda_invoker(client: Any, function: str) -> Invoke:
    """Synchronous invoke; a FunctionError in the response is a failed replay."""

    def invoke(event: dict[str, Any]) -> tuple[bool, str]:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode("utf-8"),
        )
        payload = response["Payload"].read().decode("utf-8", "replace")
        if response.get("FunctionError"):
            return False, f"function error ({response['FunctionError']}): {_short(payload)}"
        return True, f"function returned {_short(payload)}"

    return invoke


def queue_sender(client: Any, url: str) -> Send:
    def send(body: str, attributes: dict[str, Any]) -> tuple[bool, str]:
        arguments: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            arguments["MessageAttributes"] = attributes
        response = client.send_message(**arguments)
        return True, f"sent to the delivery queue as {response['MessageId']}"

    return send


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."
