"""The event Lambda receives from an SNS subscription (documented shape, one record)."""

from __future__ import annotations

import datetime
from typing import Any


def sns_lambda_event(
    topic_arn: str,
    subscription_arn: str,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": now,
                    "SignatureVersion": "1",
                    "Signature": "dGVzdA==",
                    "SigningCertUrl": "https://sns.invalid/SimpleNotificationService.pem",
                    "UnsubscribeUrl": f"https://sns.invalid/?SubscriptionArn={subscription_arn}",
                    "MessageAttributes": message_attributes or {},
                },
            }
        ]
    }
