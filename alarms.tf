################################################################################
# CloudWatch alarms (create_alarms, by default when alarm_topic_arns is not empty)
################################################################################

locals {
  # The list's length is known at plan even when its ARNs are not (a topic created in the same
  # configuration), so the default decides at plan and for_each below gets known keys.
  create_alarms = var.create_alarms != null ? var.create_alarms : length(var.alarm_topic_arns) > 0

  # The engine's EMF counters (logline.py): namespace metrics_namespace, dimension FunctionName.
  emf_alarms = {
    # Queue mode: a scan result the function failed on is reported in the partial batch response,
    # not as an invocation error (AWS/Lambda Errors stays 0); the engine's EMF Errors counts it.
    record-errors = {
      description = "The function ${var.name} failed on scan results (EMF metric Errors): they return to the delivery queue and, after queue.max_receive_count receives, go to the dead-letter queue. See the log lines with outcome error."
      metric_name = "Errors"
      threshold   = var.alarms.errors_threshold
    }
    rejected = {
      description = "The function ${var.name} rejected scan results (EMF metric Rejected): a topic not in scan_result_topic_arns or a bucket not in bucket_names. A misspelled bucket name rejects every scan result of that bucket, malicious ones included: check the log lines with outcome rejected."
      metric_name = "Rejected"
      threshold   = var.alarms.rejected_threshold
    }
    fallbacks = {
      description = "The function ${var.name} made a malicious file harmless with a fallback action (EMF metric FallbackActions), because the configured action could not be done: check the log lines and the file's row."
      metric_name = "FallbackActions"
      threshold   = 0
    }
    # GuardDuty could not tag an object it scanned (Post Scan Action Failed: ACCESS_DENIED, or
    # MAX_TAG_LIMIT_EXCEEDED when the uploader used all 10 tags): tag-based read protection does
    # not cover that object. Only with guardduty_plans.
    guardduty-post-scan-action-failed = {
      description = "GuardDuty could not tag objects it scanned for ${var.name} (EMF metric PostScanActionsFailed, from the Post Scan Action Failed events): a tag-based bucket policy does not protect them. Check the log lines with outcome post_scan_action_failed (bucket, key, reasons: ACCESS_DENIED, MAX_TAG_LIMIT_EXCEEDED)."
      metric_name = "PostScanActionsFailed"
      threshold   = 0
    }
    verdict-conflicts = {
      description = "The function ${var.name} refused a non-malicious verdict for an object the scanner tagged malicious (EMF metric VerdictConflicts): a forged or contradicted scan result. Investigate who can publish to the topics or send to the queues."
      metric_name = "VerdictConflicts"
      threshold   = 0
    }
    # A file id tag naming a row bound to another object: a copied or forged tag, or an
    # application that reuses file ids. The row was left untouched (a malicious file still went).
    row-conflicts = {
      description = "The function ${var.name} left rows untouched because the file id tag named a row bound to another object (EMF metric RowConflicts; s3_bucket/s3_key differ): an uploader may have copied another file's id. Check the log lines with row_conflict in the reason (outcome row_conflict, or fallback)."
      metric_name = "RowConflicts"
      threshold   = var.alarms.row_conflicts_threshold
    }
    # A benign verdict (clean, incomplete, failed, unscanned) left undone: without an ETag S3's
    # evidence could not single out the scanned upload. An availability problem (a clean file not
    # promoted, a row that says unproven), not a security one: nothing unscanned was acted on.
    unproven-locations = {
      description = "The function ${var.name} did not act on benign scan results because the scanned upload could not be singled out (EMF metric UnprovenLocations, outcome unproven): no ETag in the scan result and several uploads of the scanned size in the scan window, no TotalBytesOfFile, or an unversioned bucket and no scan_start_timestamp. Those files were not promoted, routed or recorded as that verdict: handle them by hand or rescan them. Every result unproven: version the bucket or use a scanner that sends the ETag (docs/operations.md)."
      metric_name = "UnprovenLocations"
      threshold   = var.alarms.unproven_locations_threshold
    }
  }

  # Keys are static (for_each); values may be known only after apply.
  alarm_definitions = merge({
    for key, alarm in local.emf_alarms : key => merge(alarm, {
      namespace  = var.metrics_namespace
      dimensions = { FunctionName = aws_lambda_function.this.function_name }
      statistic  = "Sum"
    })
    }, {
    dead-letters = {
      description = "Messages are waiting in the dead-letter queue of ${var.name}: fix the cause, then replay them (see the module output replay_command)."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = local.dead_letter_queue_name }
      statistic   = "Maximum"
      threshold   = var.alarms.dead_letters_threshold
    }
    errors = {
      description = "The function ${var.name} failed as a whole (a raised error or a timeout; in direct mode also any failed scan result)."
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
    # Direct mode: Lambda could not put a failed event into the dead-letter queue (for example a
    # KMS key policy that does not let the role use the key): that event is lost.
    destination-delivery-failures = {
      description = "Lambda could not send failed events of ${var.name} to its dead-letter queue (AWS/Lambda DestinationDeliveryFailures): those scan results are lost. Check the queue policy and the dead-letter queue's KMS key."
      namespace   = "AWS/Lambda"
      metric_name = "DestinationDeliveryFailures"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    unscanned = {
      description = "Uploads to the buckets of ${var.name} are not being scanned (File Storage Security scanner_status -1/-3/-4: invalid licence, scanner error, timeout or throttling; GuardDuty ACCESS_DENIED or FAILED): check the scanner. Such files are not deleted, and not routed unless routes.unscanned is set."
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
    # How long malicious files stayed readable (EMF ExposureSeconds, unit Seconds): its p99 over
    # 5 minutes, whatever alarms.period_seconds says. One slow removal is enough to fire: with few
    # samples the p99 is the slowest one (evaluate_low_sample_count_percentiles = evaluate).
    exposure = {
      description        = "Malicious files stayed readable in the buckets of ${var.name} for longer than ${coalesce(var.alarms.exposure_p99_seconds, 0)} seconds (p99 of the EMF metric ExposureSeconds over 5 minutes: from the upload's LastModified to the moment the function's delete succeeded). The scanner or the function is slow, or results wait in the delivery queue: check ScanSeconds and ActionDelaySeconds on the dashboard and the log lines with exposure_seconds."
      namespace          = var.metrics_namespace
      metric_name        = "ExposureSeconds"
      dimensions         = { FunctionName = aws_lambda_function.this.function_name }
      statistic          = null
      extended_statistic = "p99"
      threshold          = coalesce(var.alarms.exposure_p99_seconds, 0)
      period             = 300
      evaluation_periods = 1
    }
    untagged-clean-objects = {
      description = "Clean scan results whose object the scanner had not tagged clean (fss-scan-result = no issues found, fss-scan-detail-code = 0) when ${var.name} checked: read_protection = until_clean denies every read of such objects. Check the scanner's tagging (ScanResultTagFormat = Separated tags, its tagging function's errors); see docs/read-protection.md."
      namespace   = var.metrics_namespace
      metric_name = "UntaggedCleanObjects"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      statistic   = "Sum"
      threshold   = var.alarms.untagged_clean_objects_threshold
    }
  })
  queue_mode_alarms = ["queue-age", "record-errors"]
  alarms = {
    for key, alarm in local.alarm_definitions : key => alarm
    if local.create_alarms && (local.delivery_queue_enabled || !contains(local.queue_mode_alarms, key)) && (key != "untagged-clean-objects" || local.until_clean) && (key != "exposure" || var.alarms.exposure_p99_seconds != null) && (key != "guardduty-post-scan-action-failed" || local.guardduty_enabled)
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
  extended_statistic  = try(each.value.extended_statistic, null)
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  period              = try(each.value.period, var.alarms.period_seconds)
  evaluation_periods  = try(each.value.evaluation_periods, var.alarms.evaluation_periods)
  # Percentile alarms only (null for the others): evaluate even a single sample.
  evaluate_low_sample_count_percentiles = try(each.value.extended_statistic, null) == null ? null : "evaluate"
  # No data (no invocations, an empty queue) is the healthy state.
  treat_missing_data = "notBreaching"
  alarm_actions      = var.alarm_topic_arns
  ok_actions         = var.alarm_topic_arns

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.alarm_topic_arns) > 0
      error_message = "create_alarms = true needs alarm_topic_arns: the SNS topics the alarms notify."
    }
  }
}
