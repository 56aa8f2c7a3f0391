# Plan-level tests of the saved Logs Insights queries, the dashboard and the exposure alarm.
# moto (the apply tests' emulator) has no Logs Insights query definitions of its own (the emulator
# adds a minimal store, tools/emulator/server.py); what AWS itself does with them (folders in the
# console, the queries' results) is checked here and by tests/unit/test_saved_queries.py, not by an
# apply against AWS. The dashboard's metric names are checked against the engine's log line by
# tests/apply/test_apply_observability.py (after an apply: the body the provider sent).

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

variables {
  # No alarm topics in most runs: say so, or each fails on the warning check alarms_notify_someone;
  # the runs with alarm topics set create_alarms = null (the default) again.
  create_alarms          = false
  name                   = "fss-post-scan"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket"]
}

run "saved_queries_in_a_folder_named_after_name_without_a_dashboard" {
  command = plan

  assert {
    condition = { for k, q in aws_cloudwatch_query_definition.this : k => q.name } == {
      "malicious-files"      = "fss-post-scan/malicious-files"
      "failures"             = "fss-post-scan/failures"
      "slowest-exposures"    = "fss-post-scan/slowest-exposures"
      "exposure-percentiles" = "fss-post-scan/exposure-percentiles"
      "verdicts-by-bucket"   = "fss-post-scan/verdicts-by-bucket"
      "top-malware"          = "fss-post-scan/top-malware"
      "file-history"         = "fss-post-scan/file-history"
    }
    error_message = "Seven saved queries, named NAME/QUERY (a folder named after name in the Logs Insights console)."
  }
  assert {
    condition = alltrue([
      for k, q in aws_cloudwatch_query_definition.this :
      q.log_group_names == tolist(["/aws/lambda/fss-post-scan"]) && q.query_string == file("${path.module}/queries/${k}.query") &&
      length(q.query_string) <= 10000 && length(q.name) <= 255
    ])
    error_message = "Each query runs on the function's log group, is the text of queries/KEY.query and fits PutQueryDefinition's limits (query 10,000 characters, name 255)."
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && output.dashboard_name == null && output.dashboard_url == null
    error_message = "No dashboard unless create_dashboard = true."
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "exposure")
    error_message = "No exposure alarm without alarms.exposure_p99_seconds."
  }
}

run "direct_mode_dashboard" {
  command = plan

  variables {
    create_dashboard  = true
    metrics_namespace = "Team/Uploads"
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "fss-post-scan-eu-west-1" && output.dashboard_name == "fss-post-scan-eu-west-1"
    error_message = "The dashboard is named NAME-REGION (dashboards are global per account)."
  }
  assert {
    condition     = output.dashboard_url == "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=fss-post-scan-eu-west-1"
    error_message = "dashboard_url must open the dashboard in the aws partition's regional console."
  }
  assert {
    condition = [for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : try(w.properties.title, w.type)] == [
      "text", "Scan results by verdict", "Actions", "Exposure: how long malware stayed readable (s)", "Scanner and function delay, p99 (s)",
      "Needs a human", "Dead-letter queue", "Function duration, p99 (ms)", "Concurrent executions", "Throttles and failed invocations",
    ]
    error_message = "Direct mode without alarms: no delivery-queue graph, no alarm widget."
  }
  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : alltrue([
        for m in try(w.properties.metrics, []) : contains(["Team/Uploads", "AWS/Lambda", "AWS/SQS"], m[0])
      ]) && try(w.properties.region, "eu-west-1") == "eu-west-1"
    ])
    error_message = "Every metric is the function's own (metrics_namespace), AWS/Lambda's or AWS/SQS's, in the deployment's region."
  }
  assert {
    condition = [
      for m in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[5].properties.metrics : m[1]
    ] == ["Errors", "Rejected", "FallbackActions", "VerdictConflicts", "ScanResults"]
    error_message = "Needs a human: errors, rejected, fallbacks, verdict conflicts, unscanned (no UntaggedCleanObjects without until_clean)."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[3].properties.annotations.horizontal == []
    error_message = "No threshold line on the exposure graph without an exposure alarm."
  }
}

run "queue_mode_dashboard_with_alarms" {
  command = plan

  variables {
    create_dashboard = true
    delivery_mode    = "queue"
    read_protection  = "until_clean"
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
    create_alarms    = null
    alarms           = { exposure_p99_seconds = 30 }
  }

  assert {
    condition = [
      for m in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[6].properties.metrics : [m[1], m[3]]
    ] == [["ApproximateNumberOfMessagesVisible", "fss-post-scan-dlq"], ["ApproximateAgeOfOldestMessage", "fss-post-scan-delivery"]]
    error_message = "Queue mode: the dead-letter queue's depth and the delivery queue's oldest message."
  }
  assert {
    condition     = [for m in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[5].properties.metrics : m[1]] == ["Errors", "Rejected", "FallbackActions", "VerdictConflicts", "UntaggedCleanObjects", "ScanResults"]
    error_message = "until_clean: clean objects not tagged clean need a human too."
  }
  assert {
    condition = (
      jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[10].type == "alarm" &&
      toset(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[10].properties.alarms) == toset([
        for k in keys(aws_cloudwatch_metric_alarm.this) : "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:fss-post-scan-${k}"
      ])
    )
    error_message = "The alarm widget lists exactly the module's alarms, by the ARN CloudWatch gives them."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[3].properties.annotations.horizontal == [{ label = "alarm: p99 above 30 s", value = 30 }]
    error_message = "The exposure graph shows the alarm's threshold."
  }
  assert {
    condition = [
      aws_cloudwatch_metric_alarm.this["exposure"].namespace, aws_cloudwatch_metric_alarm.this["exposure"].metric_name,
      aws_cloudwatch_metric_alarm.this["exposure"].dimensions, aws_cloudwatch_metric_alarm.this["exposure"].statistic == null,
      aws_cloudwatch_metric_alarm.this["exposure"].extended_statistic, aws_cloudwatch_metric_alarm.this["exposure"].threshold,
      aws_cloudwatch_metric_alarm.this["exposure"].period, aws_cloudwatch_metric_alarm.this["exposure"].evaluation_periods,
      aws_cloudwatch_metric_alarm.this["exposure"].evaluate_low_sample_count_percentiles, aws_cloudwatch_metric_alarm.this["exposure"].comparison_operator,
      aws_cloudwatch_metric_alarm.this["exposure"].treat_missing_data,
      ] == [
      "FSSPostScan", "ExposureSeconds", tomap({ FunctionName = "fss-post-scan" }), true, "p99", 30, 300, 1, "evaluate", "GreaterThanThreshold", "notBreaching",
    ]
    error_message = "The exposure alarm: p99 of ExposureSeconds over 5 minutes above alarms.exposure_p99_seconds, one sample enough."
  }
  assert {
    condition = alltrue([
      for k, a in aws_cloudwatch_metric_alarm.this : a.extended_statistic == null && a.statistic != null && a.period == 300
      if k != "exposure"
    ])
    error_message = "The other alarms keep their statistic and alarms.period_seconds."
  }
}

run "no_exposure_alarm_without_alarms" {
  command = plan

  variables {
    alarms = { exposure_p99_seconds = 30 }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "exposure_p99_seconds alone creates no alarm: alarms need alarm_topic_arns."
  }
}

run "rejects_an_exposure_threshold_that_is_not_positive" {
  command = plan

  variables {
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
    create_alarms    = null
    alarms           = { exposure_p99_seconds = 0 }
  }

  expect_failures = [var.alarms]
}

run "dashboard_url_in_aws_cn" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "cn-northwest-1", name = "cn-northwest-1" }
  }

  variables {
    create_dashboard       = true
    scan_result_topic_arns = { stack = "arn:aws-cn:sns:cn-northwest-1:999988887777:fss-ScanResultTopic-AAAA" }
  }

  assert {
    condition     = output.dashboard_url == "https://cn-northwest-1.console.amazonaws.cn/cloudwatch/home?region=cn-northwest-1#dashboards:name=fss-post-scan-cn-northwest-1"
    error_message = "aws-cn: the console is console.amazonaws.cn."
  }
}

run "dashboard_url_in_aws_us_gov" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-us-gov", dns_suffix = "amazonaws.com" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "us-gov-west-1", name = "us-gov-west-1" }
  }

  variables {
    create_dashboard       = true
    scan_result_topic_arns = { stack = "arn:aws-us-gov:sns:us-gov-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  }

  assert {
    condition     = output.dashboard_url == "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#dashboards:name=fss-post-scan-us-gov-west-1"
    error_message = "aws-us-gov: the console is console.amazonaws-us-gov.com."
  }
}

run "no_dashboard_url_in_other_partitions" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-iso", dns_suffix = "c2s.ic.gov" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "us-iso-east-1", name = "us-iso-east-1" }
  }

  variables {
    create_dashboard       = true
    scan_result_topic_arns = { stack = "arn:aws-iso:sns:us-iso-east-1:999988887777:fss-ScanResultTopic-AAAA" }
  }

  assert {
    condition     = output.dashboard_url == null && output.dashboard_name == "fss-post-scan-us-iso-east-1"
    error_message = "A partition whose console the module does not know gets no URL (the dashboard is still made)."
  }
}

# The largest body the inputs allow: the longest name (48), the longest namespace (255 characters,
# each one jsonencode writes as 6: \u003c), a region longer than any AWS has, every optional widget
# and metric (queue mode, until_clean, every alarm). CloudWatch documents 500 widgets and 2,500
# metrics per dashboard, 500 per widget; the body stays under 64 KiB (ASCII only: characters are
# bytes), far below any request size limit.
run "largest_dashboard_body_fits" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-us-gov", dns_suffix = "amazonaws.com" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "xx-longest-regionname-99", name = "xx-longest-regionname-99" }
  }

  variables {
    name                   = "n23456789012345678901234567890123456789012345678"
    scan_result_topic_arns = { stack = "arn:aws-us-gov:sns:xx-longest-regionname-99:999988887777:fss-ScanResultTopic-AAAA" }
    metrics_namespace      = "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<"
    create_dashboard       = true
    delivery_mode          = "queue"
    read_protection        = "until_clean"
    alarm_topic_arns       = ["arn:aws-us-gov:sns:xx-longest-regionname-99:111122223333:ops-alarms"]
    create_alarms          = null
    alarms                 = { exposure_p99_seconds = 123456789.125 }
  }

  assert {
    condition     = length(var.name) == 48 && length(var.metrics_namespace) == 255
    error_message = "The worst case uses the longest name and namespace the validations allow."
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "\\u003c\\u003c")
    error_message = "jsonencode writes < as \\u003c (6 bytes): the namespace is at its largest."
  }
  assert {
    condition     = can(regex("^[\\x00-\\x7f]*$", aws_cloudwatch_dashboard.this[0].dashboard_body)) && length(aws_cloudwatch_dashboard.this[0].dashboard_body) <= 65536
    error_message = "The largest dashboard body must stay ASCII and within 64 KiB; it is ${length(aws_cloudwatch_dashboard.this[0].dashboard_body)} characters."
  }
  assert {
    condition = (
      length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 11 &&
      sum([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : length(try(w.properties.metrics, []))]) <= 2500 &&
      alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : length(try(w.properties.metrics, [])) <= 500])
    )
    error_message = "CloudWatch: at most 500 widgets, 2,500 metrics per dashboard and 500 per widget."
  }
  assert {
    condition     = length(aws_cloudwatch_dashboard.this[0].dashboard_name) <= 255 && can(regex("^[A-Za-z0-9_-]+$", aws_cloudwatch_dashboard.this[0].dashboard_name))
    error_message = "Dashboard names are 1-255 of A-Z a-z 0-9 - _."
  }
}
