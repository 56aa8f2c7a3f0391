################################################################################
# CloudWatch alarms (create_alarms, by default when alarm_topic_arn is set)
################################################################################

locals {
  # A known create_alarms decides alone, so an alarm topic ARN that is unknown until apply works.
  create_alarms = var.create_alarms != null ? var.create_alarms : var.alarm_topic_arn != null

  # Keys are static (for_each); values may be known only after apply.
  alarm_definitions = {
    dead-letters = {
      description = "Messages are waiting in the dead-letter queue of ${var.name}: fix the cause, then replay them (see the module output replay_command)."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = local.dead_letter_queue_name }
      statistic   = "Maximum"
      threshold   = var.alarms.dead_letters_threshold
    }
    errors = {
      description = "The function ${var.name} failed (a raised error or a timeout)."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      statistic   = "Sum"
      threshold   = var.alarms.errors_threshold
    }
    throttles = {
      description = "Invocations of the function ${var.name} were throttled (concurrency limit)."
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      statistic   = "Sum"
      threshold   = var.alarms.throttles_threshold
    }
    unscanned = {
      description = "Uploads to the buckets of ${var.name} are not being scanned (scanner_status -1/-3/-4: invalid licence, scanner error, timeout or throttling): check File Storage Security. Such files are not deleted, and not routed unless routes.unscanned is set."
      namespace   = var.metrics_namespace
      metric_name = "ScanResults"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name, Verdict = "unscanned" }
      statistic   = "Sum"
      threshold   = var.alarms.unscanned_threshold
    }
    queue-age = {
      description = "The oldest scan result in the delivery queue of ${var.name} is older than ${var.alarms.queue_age_threshold_seconds} seconds: the function does not keep up or keeps failing."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = local.delivery_queue_name }
      statistic   = "Maximum"
      threshold   = var.alarms.queue_age_threshold_seconds
    }
    untagged-clean-objects = {
      description = "Clean scan results whose object the scanner had not tagged clean (fss-scan-result = no issues found, fss-scan-detail-code = 0) when ${var.name} checked: read_protection = until_clean denies every read of such objects. Check the scanner's tagging (ScanResultTagFormat = Separated tags, its tagging function's errors); see docs/read-protection.md."
      namespace   = var.metrics_namespace
      metric_name = "UntaggedCleanObjects"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      statistic   = "Sum"
      threshold   = var.alarms.untagged_clean_objects_threshold
    }
  }
  alarms = {
    for key, alarm in local.alarm_definitions : key => alarm
    if local.create_alarms && (key != "queue-age" || local.queue_mode) && (key != "untagged-clean-objects" || local.until_clean)
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  period              = var.alarms.period_seconds
  evaluation_periods  = var.alarms.evaluation_periods
  # No data (no invocations, an empty queue) is the healthy state.
  treat_missing_data = "notBreaching"
  alarm_actions      = [var.alarm_topic_arn]
  ok_actions         = [var.alarm_topic_arn]

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.alarm_topic_arn != null
      error_message = "create_alarms = true needs alarm_topic_arn: the SNS topic the alarms notify."
    }
  }
}
