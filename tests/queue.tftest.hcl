# Plan-level tests of delivery_mode: which resources exist in each mode, how the delivery queue, its
# policy, the subscriptions and the event source mapping are wired, exactly which IAM statements the
# role gets per mode, the replay command, and every queue validation rule.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

# The shared mock gives every queue the DLQ's ARN; the delivery queue gets its own.
override_resource {
  target          = aws_sqs_queue.delivery
  override_during = plan
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery"
    name = "fss-post-scan-delivery"
  }
}

variables {
  # No alarm topics in most runs: say so, or each fails on the warning check alarms_notify_someone;
  # the runs with alarm topics set create_alarms = null (the default) again.
  create_alarms = false
  name          = "fss-post-scan"
  scan_result_topic_arns = {
    stack   = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA"
    archive = "arn:aws:sns:eu-west-1:222233334444:fss-ScanResultTopic-BBBB"
  }
  bucket_names = ["uploads-bucket"]
}

run "direct_mode_is_the_default_and_unchanged" {
  command = plan

  assert {
    condition = (
      length(aws_sqs_queue.delivery) == 0 && length(aws_sqs_queue_policy.delivery) == 0 &&
      length(aws_lambda_event_source_mapping.this) == 0 &&
      aws_lambda_function_event_invoke_config.this.function_name == "fss-post-scan" &&
      toset(keys(aws_lambda_permission.this)) == toset(["stack", "archive"])
    )
    error_message = "Direct mode needs the invoke config and one permission per topic, and no queue or mapping."
  }
  assert {
    condition     = alltrue([for s in aws_sns_topic_subscription.this : s.protocol == "lambda" && s.endpoint == "arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan"])
    error_message = "Direct mode subscribes the function."
  }
  assert {
    condition = toset([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid]) == toset([
      "WriteOwnLogs", "SendFailedEventsToDeadLetterQueue",
    ])
    error_message = "Direct mode: logs and the on-failure destination only, got ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = output.delivery_queue_arn == null && output.delivery_queue_url == null
    error_message = "No delivery queue outputs in direct mode."
  }
  assert {
    condition     = output.replay_command == "PYTHONPATH='./tools' python3 -m replay --dead-letter-queue-url https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq --function arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan --region eu-west-1"
    error_message = "Direct-mode replay command is wrong: ${output.replay_command}"
  }
}

run "queue_mode_defaults" {
  command = plan

  variables {
    delivery_mode = "queue"
  }

  assert {
    condition = (
      length(aws_sqs_queue.delivery) == 1 && length(aws_sqs_queue_policy.delivery) == 1 &&
      length(aws_lambda_event_source_mapping.this) == 1 &&
      length(aws_lambda_permission.this) == 0 &&
      aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
    )
    error_message = "Queue mode: one delivery queue, its policy and one mapping; no SNS permissions; the invoke config stays (asynchronous invocations still fail into the DLQ)."
  }
  assert {
    condition = (
      aws_sqs_queue.delivery[0].name == "fss-post-scan-delivery" &&
      aws_sqs_queue.delivery[0].visibility_timeout_seconds == 360 &&
      aws_sqs_queue.delivery[0].message_retention_seconds == 345600 &&
      aws_sqs_queue.delivery[0].sqs_managed_sse_enabled == true &&
      aws_sqs_queue.delivery[0].kms_master_key_id == null &&
      aws_sqs_queue_redrive_policy.delivery[0].queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery" &&
      jsondecode(aws_sqs_queue_redrive_policy.delivery[0].redrive_policy) == {
        deadLetterTargetArn = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
        maxReceiveCount     = 5
      }
    )
    error_message = "Delivery queue defaults (6 x timeout visibility, 4 days, SSE-SQS, redrive to the DLQ after 5 receives) are wrong."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.delivery[0].policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "AllowScanResultTopicsDelivery"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
        Condition = { ArnEquals = { "aws:SourceArn" = [
          "arn:aws:sns:eu-west-1:222233334444:fss-ScanResultTopic-BBBB",
          "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA",
        ] } }
        }, {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }]
    }
    error_message = "The delivery queue must accept exactly the listed topics, over TLS only: ${aws_sqs_queue_policy.delivery[0].policy}"
  }
  assert {
    condition = {
      for k, s in aws_sns_topic_subscription.this : k => [s.topic_arn, s.protocol, s.endpoint, s.raw_message_delivery, jsondecode(s.redrive_policy).deadLetterTargetArn]
      } == {
      stack   = ["arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA", "sqs", "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery", false, "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]
      archive = ["arn:aws:sns:eu-west-1:222233334444:fss-ScanResultTopic-BBBB", "sqs", "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery", false, "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]
    }
    error_message = "Every topic must feed the one delivery queue (SNS envelope kept, SNS redrive to the DLQ)."
  }
  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].event_source_arn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery" &&
      aws_lambda_event_source_mapping.this[0].function_name == "arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan" &&
      aws_lambda_event_source_mapping.this[0].batch_size == 10 &&
      aws_lambda_event_source_mapping.this[0].maximum_batching_window_in_seconds == 0 &&
      aws_lambda_event_source_mapping.this[0].function_response_types == toset(["ReportBatchItemFailures"]) &&
      length(aws_lambda_event_source_mapping.this[0].scaling_config) == 0
    )
    error_message = "The mapping must read the delivery queue in batches of 10 with partial batch responses and no concurrency cap by default."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Effect, s.Action, s.Resource]
      } == {
      WriteOwnLogs = ["Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      ReceiveFromDeliveryQueue = ["Allow", ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
      ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"]]
      SendFailedEventsToDeadLetterQueue = ["Allow", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
    }
    error_message = "Queue mode: logs, reading the delivery queue, and the on-failure destination of asynchronous invocations (SQS itself moves queued dead letters): ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 3
    error_message = "Duplicate statement ids in the queue-mode policy."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == "arn:aws:sns:eu-west-1:222233334444:fss-ScanResultTopic-BBBB,arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA"
    error_message = "The topic guard stays on in queue mode (the SQS body carries the TopicArn)."
  }
  assert {
    condition = (
      output.delivery_queue_arn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery" &&
      output.delivery_queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery" &&
      output.dead_letter_queue_arn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
    )
    error_message = "Queue outputs are wrong."
  }
  assert {
    condition     = output.replay_command == "PYTHONPATH='./tools' python3 -m replay --dead-letter-queue-url https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq --to-queue-url https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery --region eu-west-1"
    error_message = "Queue-mode replay command is wrong: ${output.replay_command}"
  }
}

run "queue_mode_settings_and_keys" {
  command = plan

  variables {
    delivery_mode                 = "queue"
    timeout                       = 120
    dead_letter_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/dlq-key"
    tags                          = { team = "storage" }
    queue = {
      batch_size                         = 100
      maximum_batching_window_in_seconds = 5
      maximum_concurrency                = 20
      max_receive_count                  = 3
      message_retention_seconds          = 86400
      kms_key_arn                        = "arn:aws:kms:eu-west-1:111122223333:key/queue-key"
    }
  }

  assert {
    condition = (
      aws_sqs_queue.delivery[0].visibility_timeout_seconds == 725 &&
      aws_sqs_queue.delivery[0].message_retention_seconds == 86400 &&
      aws_sqs_queue.delivery[0].kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/queue-key" &&
      aws_sqs_queue.delivery[0].sqs_managed_sse_enabled != true &&
      jsondecode(aws_sqs_queue_redrive_policy.delivery[0].redrive_policy).maxReceiveCount == 3 &&
      aws_sqs_queue.delivery[0].tags == tomap({ team = "storage" })
    )
    error_message = "Delivery queue settings (visibility 6 x 120 + 5, retention, CMK, max receives, tags) were not applied."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["QUEUE_MAX_RECEIVE_COUNT"] == "3" &&
      aws_lambda_function.this.environment[0].variables["DEAD_LETTER_QUEUE_ARN"] == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
    )
    error_message = "The engine must learn the delivery queue's maxReceiveCount and the dead-letter queue its final receive keeps rows in: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].batch_size == 100 &&
      aws_lambda_event_source_mapping.this[0].maximum_batching_window_in_seconds == 5 &&
      aws_lambda_event_source_mapping.this[0].scaling_config[0].maximum_concurrency == 20 &&
      aws_lambda_event_source_mapping.this[0].tags == tomap({ team = "storage" })
    )
    error_message = "Mapping settings (batch size, window, maximum concurrency, tags) were not applied."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource] if s.Sid != "WriteOwnLogs"
      } == {
      ReceiveFromDeliveryQueue          = [["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"]]
      DecryptDeliveryQueueMessages      = [["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/queue-key"]]
      SendFailedEventsToDeadLetterQueue = [["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      UseDeadLetterQueueKey             = [["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/dlq-key"]]
    }
    error_message = "Queue mode with CMKs: decrypt with the queue's key; the on-failure destination may use the DLQ's key: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "direct_mode_ignores_queue_settings" {
  command = plan

  variables {
    dead_letter_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/dlq-key"
    queue = {
      kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/queue-key"
    }
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource] if s.Sid != "WriteOwnLogs"
      } == {
      SendFailedEventsToDeadLetterQueue = [["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      UseDeadLetterQueueKey             = [["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/dlq-key"]]
    }
    error_message = "Direct mode must not grant anything on the (absent) delivery queue: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "queue_boundary_values_are_accepted" {
  command = plan

  variables {
    delivery_mode                               = "queue"
    timeout                                     = 900
    dead_letter_queue_message_retention_seconds = 1209600
    queue = {
      batch_size                         = 10000
      maximum_batching_window_in_seconds = 300
      maximum_concurrency                = 1000
      max_receive_count                  = 1000
      message_retention_seconds          = 1209600
      kms_key_arn                        = "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd"
    }
  }

  assert {
    condition     = aws_sqs_queue.delivery[0].visibility_timeout_seconds == 5700
    error_message = "6 x 900 + 300 is within the 12-hour limit."
  }
}

run "queue_lower_boundaries_are_accepted" {
  command = plan

  variables {
    delivery_mode = "queue"
    timeout       = 1
    queue = {
      batch_size                 = 1
      maximum_concurrency        = 2
      max_receive_count          = 1
      visibility_timeout_seconds = 1
      message_retention_seconds  = 60
    }
  }

  assert {
    condition     = aws_sqs_queue.delivery[0].visibility_timeout_seconds == 1 && aws_lambda_event_source_mapping.this[0].scaling_config[0].maximum_concurrency == 2
    error_message = "An explicit visibility timeout equal to the function timeout is allowed."
  }
}

run "rejects_unknown_delivery_mode" {
  command = plan

  variables {
    delivery_mode = "sqs"
  }

  expect_failures = [var.delivery_mode]
}

run "rejects_batch_size_out_of_range" {
  command = plan

  variables {
    delivery_mode = "queue"
    queue         = { batch_size = 10001, maximum_batching_window_in_seconds = 1 }
  }

  expect_failures = [var.queue]
}

run "rejects_large_batch_without_window" {
  command = plan

  variables {
    delivery_mode = "queue"
    queue         = { batch_size = 11 }
  }

  expect_failures = [var.queue]
}

run "rejects_batching_window_over_300" {
  command = plan

  variables {
    queue = { maximum_batching_window_in_seconds = 301 }
  }

  expect_failures = [var.queue]
}

run "rejects_maximum_concurrency_of_one" {
  command = plan

  variables {
    queue = { maximum_concurrency = 1 }
  }

  expect_failures = [var.queue]
}

run "rejects_maximum_concurrency_over_1000" {
  command = plan

  variables {
    queue = { maximum_concurrency = 1001 }
  }

  expect_failures = [var.queue]
}

run "rejects_zero_max_receive_count" {
  command = plan

  variables {
    queue = { max_receive_count = 0 }
  }

  expect_failures = [var.queue]
}

run "rejects_visibility_timeout_over_12_hours" {
  command = plan

  variables {
    queue = { visibility_timeout_seconds = 43201 }
  }

  expect_failures = [var.queue]
}

run "rejects_retention_under_a_minute" {
  command = plan

  variables {
    queue = { message_retention_seconds = 59 }
  }

  expect_failures = [var.queue]
}

run "rejects_key_alias_for_the_queue" {
  command = plan

  variables {
    queue = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/queue" }
  }

  expect_failures = [var.queue]
}

run "rejects_visibility_timeout_below_function_timeout" {
  command = plan

  variables {
    delivery_mode = "queue"
    timeout       = 60
    queue         = { visibility_timeout_seconds = 59 }
  }

  expect_failures = [aws_sqs_queue.delivery]
}

run "rejects_dead_letter_retention_shorter_than_queue_retention" {
  command = plan

  variables {
    delivery_mode                               = "queue"
    dead_letter_queue_message_retention_seconds = 86400
    queue                                       = { message_retention_seconds = 86401 }
  }

  expect_failures = [aws_sqs_queue.delivery]
}

run "rejects_maximum_concurrency_above_reserved_concurrency" {
  command = plan

  variables {
    delivery_mode                  = "queue"
    reserved_concurrent_executions = 5
    queue                          = { maximum_concurrency = 6 }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "accepts_maximum_concurrency_equal_to_reserved_concurrency" {
  command = plan

  variables {
    delivery_mode                  = "queue"
    reserved_concurrent_executions = 5
    queue                          = { maximum_concurrency = 5 }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].scaling_config[0].maximum_concurrency == 5
    error_message = "The mapping must be capped at the reserved concurrency."
  }
}

run "warns_when_reserved_concurrency_has_no_queue_cap" {
  command = plan

  variables {
    delivery_mode                  = "queue"
    reserved_concurrent_executions = 5
  }

  expect_failures = [check.queue_concurrency_within_reserved_concurrency]
}

run "drain_keeps_the_delivery_queue_in_direct_mode" {
  command = plan

  variables {
    drain_delivery_queue = true
    create_alarms        = null
    alarm_topic_arns     = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
  }

  assert {
    condition = (
      length(aws_sqs_queue.delivery) == 1 && length(aws_sqs_queue_policy.delivery) == 1 &&
      length(aws_lambda_event_source_mapping.this) == 1 &&
      aws_lambda_event_source_mapping.this[0].event_source_arn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
    )
    error_message = "While draining, the delivery queue, its policy and its mapping stay."
  }
  assert {
    condition     = alltrue([for s in aws_sns_topic_subscription.this : s.protocol == "lambda"]) && length(aws_lambda_permission.this) == 2
    error_message = "Draining is direct mode: the topics invoke the function."
  }
  assert {
    condition     = contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "ReceiveFromDeliveryQueue")
    error_message = "While draining, the function may still read the delivery queue."
  }
  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.this), "queue-age")
    error_message = "While the delivery queue exists, its queue-age alarm stays."
  }
  assert {
    condition     = strcontains(output.replay_command, "--function arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan ") && output.delivery_queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery"
    error_message = "Draining: dead letters replay into the function (direct mode); the delivery queue's URL stays available to watch it empty."
  }
}

run "subscriptions_are_replaced_create_before_destroy" {
  # A mode switch changes protocol and endpoint (both force a new subscription); the ordering that
  # keeps a subscription in place meanwhile is proven by tests/apply/test_apply_pipelines.py.
  command = plan

  assert {
    condition     = length(distinct([for p in aws_lambda_permission.this : p.statement_id])) == 2 && alltrue([for k, p in aws_lambda_permission.this : startswith(p.statement_id, "AllowSNS-${k}-")])
    error_message = "Permission statement ids carry the topic ARN's hash, so a new ARN under the same key can be added before the old statement goes."
  }
}
