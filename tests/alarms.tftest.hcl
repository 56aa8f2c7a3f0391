# Plan-level tests of the CloudWatch alarms: none without an alarm topic or with create_alarms = false;
# with a topic, dead-letters / errors / throttles on the module's own queue and function, the
# engine's EMF metrics rejected / fallbacks / verdict-conflicts / unscanned (ScanResults,
# Verdict=unscanned) in both modes, destination delivery failures in direct mode only,
# record-errors (EMF Errors: partial batch failures are no invocation errors) and queue-age in queue
# mode only; thresholds and periods from `alarms`; validation of the inputs.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

override_resource {
  target          = aws_sqs_queue.this
  override_during = plan
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq"
    name = "fss-post-scan-dlq"
  }
}

override_resource {
  target          = aws_sqs_queue.delivery
  override_during = plan
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery"
    name = "fss-post-scan-delivery"
  }
}

override_resource {
  target          = aws_cloudwatch_metric_alarm.this
  override_during = plan
  values          = { arn = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:fss-post-scan" }
}

variables {
  # The validation runs below need a topic, or they fail on the warning check alarms_notify_someone.
  alarm_topic_arns       = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
  name                   = "fss-post-scan"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket"]
}

run "no_alarms_without_a_topic" {
  command = plan

  # ... and the plan warns that nothing will tell anyone about failures (checks.tf).
  expect_failures = [check.alarms_notify_someone]

  variables {
    alarm_topic_arns = []
    delivery_mode    = "queue"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && output.cloudwatch_alarm_arns == {}
    error_message = "Alarms need an alarm topic."
  }
}

run "no_alarms_when_turned_off" {
  command = plan

  variables {
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
    create_alarms    = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "create_alarms = false must create no alarm."
  }
}

run "direct_mode_alarms" {
  command = plan

  variables {
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
    tags             = { team = "storage" }
  }

  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset([
      "dead-letters", "errors", "throttles", "rejected", "fallbacks", "verdict-conflicts", "row-conflicts", "unproven-locations", "unscanned", "destination-delivery-failures",
    ])
    error_message = "Direct mode: dead-letters, errors, throttles, the EMF alarms and destination delivery failures (no queue-age or record-errors without a delivery queue)."
  }
  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.this : k => [
        a.alarm_name, a.namespace, a.metric_name, a.dimensions, a.statistic, a.comparison_operator, a.threshold,
        a.period, a.evaluation_periods, a.treat_missing_data,
      ]
      } == {
      dead-letters = ["fss-post-scan-dead-letters", "AWS/SQS", "ApproximateNumberOfMessagesVisible", tomap({ QueueName = "fss-post-scan-dlq" }),
      "Maximum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      errors = ["fss-post-scan-errors", "AWS/Lambda", "Errors", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      throttles = ["fss-post-scan-throttles", "AWS/Lambda", "Throttles", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      rejected = ["fss-post-scan-rejected", "FSSPostScan", "Rejected", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      fallbacks = ["fss-post-scan-fallbacks", "FSSPostScan", "FallbackActions", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      verdict-conflicts = ["fss-post-scan-verdict-conflicts", "FSSPostScan", "VerdictConflicts", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      row-conflicts = ["fss-post-scan-row-conflicts", "FSSPostScan", "RowConflicts", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      unproven-locations = ["fss-post-scan-unproven-locations", "FSSPostScan", "UnprovenLocations", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      destination-delivery-failures = ["fss-post-scan-destination-delivery-failures", "AWS/Lambda", "DestinationDeliveryFailures", tomap({ FunctionName = "fss-post-scan" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
      unscanned = ["fss-post-scan-unscanned", "FSSPostScan", "ScanResults", tomap({ FunctionName = "fss-post-scan", Verdict = "unscanned" }),
      "Sum", "GreaterThanThreshold", 0, 300, 1, "notBreaching"]
    }
    error_message = "Alarm definitions are wrong."
  }
  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.alarm_actions == toset(["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]) &&
      a.ok_actions == toset(["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]) &&
      a.tags == tomap({ team = "storage" })
    ])
    error_message = "Every alarm notifies the alarm topic on alarm and OK, and carries the tags."
  }
}

run "queue_mode_adds_the_queue_age_and_record_errors_alarms" {
  command = plan

  variables {
    delivery_mode    = "queue"
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
    alarms = {
      period_seconds               = 60
      evaluation_periods           = 1440
      dead_letters_threshold       = 10
      errors_threshold             = 2
      throttles_threshold          = 3
      rejected_threshold           = 4
      queue_age_threshold_seconds  = 600
      unscanned_threshold          = 5
      row_conflicts_threshold      = 6
      unproven_locations_threshold = 7
    }
    metrics_namespace = "Team/Uploads"
  }

  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset([
      "dead-letters", "errors", "throttles", "rejected", "fallbacks", "verdict-conflicts", "row-conflicts", "unproven-locations", "unscanned", "destination-delivery-failures", "record-errors", "queue-age",
    ])
    error_message = "Queue mode adds queue-age and record-errors; destination-delivery-failures stays (the on-failure destination of asynchronous invocations exists in both modes)."
  }
  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.this : k => [a.namespace, a.metric_name, a.dimensions, a.statistic]
      if contains(["record-errors", "rejected", "fallbacks", "verdict-conflicts", "row-conflicts", "unproven-locations"], k)
      } == {
      record-errors      = ["Team/Uploads", "Errors", tomap({ FunctionName = "fss-post-scan" }), "Sum"]
      rejected           = ["Team/Uploads", "Rejected", tomap({ FunctionName = "fss-post-scan" }), "Sum"]
      fallbacks          = ["Team/Uploads", "FallbackActions", tomap({ FunctionName = "fss-post-scan" }), "Sum"]
      verdict-conflicts  = ["Team/Uploads", "VerdictConflicts", tomap({ FunctionName = "fss-post-scan" }), "Sum"]
      row-conflicts      = ["Team/Uploads", "RowConflicts", tomap({ FunctionName = "fss-post-scan" }), "Sum"]
      unproven-locations = ["Team/Uploads", "UnprovenLocations", tomap({ FunctionName = "fss-post-scan" }), "Sum"]
    }
    error_message = "The EMF alarms watch the engine's metrics in metrics_namespace, dimension FunctionName."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["queue-age"].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.this["queue-age"].metric_name == "ApproximateAgeOfOldestMessage" &&
      aws_cloudwatch_metric_alarm.this["queue-age"].dimensions == tomap({ QueueName = "fss-post-scan-delivery" }) &&
      aws_cloudwatch_metric_alarm.this["queue-age"].statistic == "Maximum"
    )
    error_message = "queue-age must watch the delivery queue's oldest message."
  }
  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.this : k => [a.threshold, a.period, a.evaluation_periods]
      } == {
      dead-letters                  = [10, 60, 1440]
      errors                        = [2, 60, 1440]
      throttles                     = [3, 60, 1440]
      rejected                      = [4, 60, 1440]
      fallbacks                     = [0, 60, 1440]
      verdict-conflicts             = [0, 60, 1440]
      row-conflicts                 = [6, 60, 1440]
      unproven-locations            = [7, 60, 1440]
      record-errors                 = [2, 60, 1440]
      destination-delivery-failures = [0, 60, 1440]
      queue-age                     = [600, 60, 1440]
      unscanned                     = [5, 60, 1440]
    }
    error_message = "Thresholds and periods from `alarms` were not applied."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["unscanned"].namespace == "Team/Uploads"
    error_message = "The unscanned alarm watches the function's own metrics namespace."
  }
  assert {
    condition     = toset(keys(output.cloudwatch_alarm_arns)) == toset(keys(aws_cloudwatch_metric_alarm.this)) && output.cloudwatch_alarm_arns["queue-age"] == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:fss-post-scan"
    error_message = "cloudwatch_alarm_arns must map every alarm key to its ARN."
  }
}

run "long_periods_may_span_a_week" {
  command = plan

  variables {
    alarm_topic_arns = ["arn:aws-us-gov:sns:us-gov-west-1:111122223333:ops-alarms"]
    alarms           = { period_seconds = 3600, evaluation_periods = 168 }
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["errors"].period == 3600
    error_message = "A one-hour period over 7 days is allowed."
  }
}

run "rejects_invalid_alarm_inputs" {
  command = plan

  variables {
    alarm_topic_arns = ["arn:aws:sqs:eu-west-1:111122223333:ops-alarms"]
    alarms           = { period_seconds = 90 }
  }

  expect_failures = [var.alarm_topic_arns, var.alarms]
}

run "rejects_evaluation_longer_than_a_day_for_short_periods" {
  command = plan

  variables {
    alarms = { period_seconds = 60, evaluation_periods = 1441 }
  }

  expect_failures = [var.alarms]
}

run "rejects_evaluation_longer_than_a_week" {
  command = plan

  variables {
    alarms = { period_seconds = 3600, evaluation_periods = 169 }
  }

  expect_failures = [var.alarms]
}

run "rejects_negative_thresholds" {
  command = plan

  variables {
    alarms = { queue_age_threshold_seconds = -1 }
  }

  expect_failures = [var.alarms]
}

run "rejects_a_negative_rejected_threshold" {
  command = plan

  variables {
    alarms = { rejected_threshold = -1 }
  }

  expect_failures = [var.alarms]
}

run "create_alarms_true_needs_a_topic" {
  command = plan

  variables {
    create_alarms    = true
    alarm_topic_arns = []
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this, check.alarms_notify_someone]
}

run "create_alarms_true_creates_them" {
  command = plan

  variables {
    create_alarms    = true
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 10 && contains(keys(aws_cloudwatch_metric_alarm.this), "unproven-locations")
    error_message = "create_alarms = true must create the direct-mode alarms."
  }
}

run "rejects_more_than_five_topics" {
  command = plan

  variables {
    alarm_topic_arns = [for i in range(6) : "arn:aws:sns:eu-west-1:111122223333:ops-${i}"]
  }

  expect_failures = [var.alarm_topic_arns]
}

run "rejects_a_negative_unscanned_threshold" {
  command = plan

  variables {
    alarms = { unscanned_threshold = -1 }
  }

  expect_failures = [var.alarms]
}

run "rejects_a_negative_row_conflicts_threshold" {
  command = plan

  variables {
    alarms = { row_conflicts_threshold = -1 }
  }

  expect_failures = [var.alarms]
}

run "rejects_a_negative_unproven_locations_threshold" {
  command = plan

  variables {
    alarms = { unproven_locations_threshold = -1 }
  }

  expect_failures = [var.alarms]
}
