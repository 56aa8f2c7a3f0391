################################################################################
# Queue delivery (delivery_mode = "queue"): topics -> delivery queue -> event source mapping
################################################################################

locals {
  # AWS recommends a visibility timeout of at least six times the function timeout plus the batching
  # window, so that a batch retried after throttling is not received twice while still running.
  queue_visibility_timeout_seconds = coalesce(
    var.queue.visibility_timeout_seconds,
    min(43200, 6 * var.timeout + var.queue.maximum_batching_window_in_seconds),
  )
}

resource "aws_sqs_queue" "delivery" {
  count = local.delivery_queue_enabled ? 1 : 0

  name                       = local.delivery_queue_name
  visibility_timeout_seconds = local.queue_visibility_timeout_seconds
  message_retention_seconds  = var.queue.message_retention_seconds
  kms_master_key_id          = var.queue.kms_key_arn
  sqs_managed_sse_enabled    = var.queue.kms_key_arn == null ? true : null

  tags = var.tags

  # The dead-letter queue first: its redrive allow policy, then this queue's redrive policy
  # (aws_sqs_queue_redrive_policy.delivery) name both.
  depends_on = [aws_sqs_queue.this]

  lifecycle {
    # A new name: the new queue and its subscriptions exist before the old ones go.
    create_before_destroy = true

    precondition {
      condition     = local.queue_visibility_timeout_seconds >= var.timeout
      error_message = "queue.visibility_timeout_seconds (${local.queue_visibility_timeout_seconds}) must be at least the function timeout (${var.timeout}); Lambda rejects the event source mapping otherwise. AWS recommends 6 x timeout."
    }
    precondition {
      # A moved message keeps its original enqueue time; a shorter DLQ retention would drop it early.
      condition     = var.dead_letter_queue_message_retention_seconds >= var.queue.message_retention_seconds
      error_message = "dead_letter_queue_message_retention_seconds (${var.dead_letter_queue_message_retention_seconds}) must be at least queue.message_retention_seconds (${var.queue.message_retention_seconds}): SQS keeps a message's original enqueue time when it moves it to the dead-letter queue."
    }
  }
}

# After max_receive_count failed receives SQS moves the message, unchanged, to the module's
# dead-letter queue (the same one direct mode uses). Set once the dead-letter queue allows this
# queue as its source (redrive allow policy); nothing is subscribed or polled before.
resource "aws_sqs_queue_redrive_policy" "delivery" {
  count = local.delivery_queue_enabled ? 1 : 0

  queue_url = aws_sqs_queue.delivery[0].url
  redrive_policy = jsonencode({
    deadLetterTargetArn = local.dead_letter_queue_arn
    maxReceiveCount     = var.queue.max_receive_count
  })

  depends_on = [aws_sqs_queue_redrive_allow_policy.this]
}

locals {
  # Statements of the delivery queue's policy (size checked against the SQS quotas in scale.tf).
  delivery_queue_policy_statements = [
    for s in concat([
      {
        # Lets exactly the scan-result topics deliver (also topics in other accounts).
        Sid       = "AllowScanResultTopicsDelivery"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.delivery_queue_arn
        Condition = local.topic_source_condition
      },
      # No request without TLS, whoever sends it.
      merge(local.deny_insecure_transport, { Resource = local.delivery_queue_arn }),
    ], local.guardduty_queue_statements["delivery"]) : s
    if local.delivery_queue_enabled && (s.Sid != "AllowScanResultTopicsDelivery" || length(local.topic_arns) > 0)
  ]
}

resource "aws_sqs_queue_policy" "delivery" {
  count = local.delivery_queue_enabled ? 1 : 0

  queue_url = aws_sqs_queue.delivery[0].url
  policy    = local.sqs_policy_documents["delivery"]

  lifecycle {
    precondition {
      condition     = local.sqs_policy_fits["delivery"]
      error_message = local.sqs_policy_errors["delivery"]
    }
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  count = local.delivery_queue_enabled ? 1 : 0

  event_source_arn                   = aws_sqs_queue.delivery[0].arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.queue.batch_size
  maximum_batching_window_in_seconds = var.queue.maximum_batching_window_in_seconds
  # The function lists the messages it failed on; only those are received again.
  function_response_types = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.queue.maximum_concurrency == null ? [] : [var.queue.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.reserved_concurrent_executions == null || var.queue.maximum_concurrency == null || try(var.queue.maximum_concurrency <= var.reserved_concurrent_executions, true)
      error_message = "queue.maximum_concurrency (${coalesce(var.queue.maximum_concurrency, 0)}) must not exceed reserved_concurrent_executions (${coalesce(var.reserved_concurrent_executions, 0)}): Lambda would throttle the extra batches, and every throttled receive counts toward queue.max_receive_count, so scan results would reach the dead-letter queue without having failed."
    }
  }

  # Lambda checks at creation that the role may read the queue; no message is received before the
  # queue has its redrive policy (else a failing message would be received forever).
  depends_on = [aws_iam_role_policy.this, aws_sqs_queue_redrive_policy.delivery]
}

# A warning, not an error: without a cap the pollers scale past the reserved concurrency.
check "queue_concurrency_within_reserved_concurrency" {
  assert {
    condition     = !(local.delivery_queue_enabled && var.reserved_concurrent_executions != null && var.queue.maximum_concurrency == null)
    error_message = "delivery_mode = \"queue\" with reserved_concurrent_executions but no queue.maximum_concurrency: set queue.maximum_concurrency to at most the reserved concurrency, or throttled batches count toward queue.max_receive_count and may reach the dead-letter queue."
  }
}

