################################################################################
# Saved CloudWatch Logs Insights queries (always, with the log group) and the dashboard
# (create_dashboard). What each shows: docs/operations.md#dashboard-and-saved-queries.
################################################################################

locals {
  # queries/*.query, read at plan: the same text tools/report runs. The names make a folder named
  # after var.name in the Logs Insights console ("folder/query"); static keys for for_each.
  saved_queries = {
    for key in [
      "malicious-files",
      "failures",
      "slowest-exposures",
      "exposure-percentiles",
      "verdicts-by-bucket",
      "top-malware",
      "file-history",
    ] : key => file("${path.module}/queries/${key}.query")
  }
}

resource "aws_cloudwatch_query_definition" "this" {
  for_each = local.saved_queries

  name            = "${var.name}/${each.key}"
  log_group_names = [aws_cloudwatch_log_group.this.name]
  query_string    = each.value
}

locals {
  dashboard_name = "${var.name}-${local.region}"
  # The runbook the text widget links to (the module's docs/operations.md).
  operations_docs_url = "https://github.com/YOUR-ORG/terraform-aws-fss-post-scan/blob/main/docs/operations.md"

  # The console of each partition (other partitions: no URL).
  console_urls = {
    aws          = "https://${local.region}.console.aws.amazon.com"
    "aws-cn"     = "https://${local.region}.console.amazonaws.cn"
    "aws-us-gov" = "https://console.amazonaws-us-gov.com"
  }
  console_url = lookup(local.console_urls, local.partition, null)

  # Metric widgets: [namespace, metric, dimension, value, ..., {rendering}] rows, all on this
  # function (FunctionName) or its queues (QueueName); one period for every graph.
  dashboard_period = 300
  function_name    = aws_lambda_function.this.function_name
  emf              = var.metrics_namespace
  verdict_metrics = [
    for verdict in concat(local.verdicts, ["unparsed", "not_a_scan_result"]) :
    [local.emf, "ScanResults", "FunctionName", local.function_name, "Verdict", verdict, { label = verdict }]
  ]
  human_metrics = concat(
    [
      [local.emf, "Errors", "FunctionName", local.function_name, { label = "failed records (Errors)" }],
      [local.emf, "Rejected", "FunctionName", local.function_name, { label = "rejected scan results" }],
      [local.emf, "FallbackActions", "FunctionName", local.function_name, { label = "fallback actions" }],
      [local.emf, "VerdictConflicts", "FunctionName", local.function_name, { label = "verdict conflicts" }],
      [local.emf, "ScanResults", "FunctionName", local.function_name, "Verdict", "unscanned", { label = "unscanned uploads" }],
    ],
    local.until_clean ? [
      [local.emf, "UntaggedCleanObjects", "FunctionName", local.function_name, { label = "clean objects not tagged clean" }],
    ] : [],
  )
  queue_metrics = concat(
    [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dead_letter_queue_name, { label = "dead letters", stat = "Maximum" }]],
    local.delivery_queue_enabled ? [
      ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.delivery_queue_name, { label = "oldest in the delivery queue (s)", stat = "Maximum", yAxis = "right" }],
    ] : [],
  )

  dashboard_alarm_arns = [
    for key in sort(keys(local.alarms)) :
    "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-${key}"
  ]
  exposure_threshold = var.alarms.exposure_p99_seconds != null && contains(keys(local.alarms), "exposure") ? [
    { label = "alarm: p99 above ${var.alarms.exposure_p99_seconds} s", value = var.alarms.exposure_p99_seconds },
  ] : []

  dashboard_widgets = concat(
    [
      {
        type = "text", x = 0, y = 0, width = 24, height = 3
        properties = {
          markdown = join("\n", [
            "# ${var.name}: File Storage Security post-scan",
            "Built by Terraform (module terraform-aws-fss-post-scan): edits made here are lost at the next apply. What each graph shows, the saved Logs Insights queries (folder **${var.name}** in Logs Insights) and what to do when an alarm fires: [operations runbook](${local.operations_docs_url}#dashboard-and-saved-queries). Exposure: from an upload's LastModified until the function's delete of it succeeded.",
          ])
        }
      },
      {
        type = "metric", x = 0, y = 3, width = 12, height = 6
        properties = {
          title   = "Scan results by verdict"
          view    = "timeSeries", stacked = true, stat = "Sum", period = local.dashboard_period, region = local.region
          metrics = local.verdict_metrics
          yAxis   = { left = { min = 0, showUnits = false } }
        }
      },
      {
        type = "metric", x = 12, y = 3, width = 12, height = 6
        properties = {
          title = "Actions"
          view  = "timeSeries", stacked = false, stat = "Sum", period = local.dashboard_period, region = local.region
          yAxis = { left = { min = 0, showUnits = false } }
          metrics = [
            [local.emf, "ObjectsDeleted", "FunctionName", local.function_name, { label = "deleted" }],
            [local.emf, "ObjectsRouted", "FunctionName", local.function_name, { label = "routed (verified copies)" }],
            [local.emf, "VerdictsRecorded", "FunctionName", local.function_name, { label = "recorded (table rows)" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 9, width = 12, height = 6
        properties = {
          title       = "Exposure: how long malware stayed readable (s)"
          view        = "timeSeries", stacked = false, period = local.dashboard_period, region = local.region
          yAxis       = { left = { min = 0, showUnits = false } }
          annotations = { horizontal = local.exposure_threshold }
          metrics = [
            [local.emf, "ExposureSeconds", "FunctionName", local.function_name, { stat = "p50", label = "p50" }],
            [local.emf, "ExposureSeconds", "FunctionName", local.function_name, { stat = "p90", label = "p90" }],
            [local.emf, "ExposureSeconds", "FunctionName", local.function_name, { stat = "p99", label = "p99" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 9, width = 12, height = 6
        properties = {
          title = "Scanner and function delay, p99 (s)"
          view  = "timeSeries", stacked = false, period = local.dashboard_period, region = local.region
          yAxis = { left = { min = 0, showUnits = false }, right = { min = 0, showUnits = false } }
          metrics = [
            [local.emf, "ScanSeconds", "FunctionName", local.function_name, { stat = "p99", label = "scanner: upload to scan start" }],
            [local.emf, "ActionDelaySeconds", "FunctionName", local.function_name, { stat = "p99", label = "function: scan result to done" }],
            [local.emf, "ClampedTimings", "FunctionName", local.function_name, { stat = "Sum", label = "negative timings clamped (clock skew)", yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 15, width = 12, height = 6
        properties = {
          title   = "Needs a human"
          view    = "timeSeries", stacked = false, stat = "Sum", period = local.dashboard_period, region = local.region
          yAxis   = { left = { min = 0, showUnits = false } }
          metrics = local.human_metrics
        }
      },
      {
        type = "metric", x = 12, y = 15, width = 12, height = 6
        properties = {
          title   = local.delivery_queue_enabled ? "Dead-letter queue and delivery queue" : "Dead-letter queue"
          view    = "timeSeries", stacked = false, period = local.dashboard_period, region = local.region
          yAxis   = { left = { min = 0, showUnits = false }, right = { min = 0, showUnits = false } }
          metrics = local.queue_metrics
        }
      },
      {
        type = "metric", x = 0, y = 21, width = 8, height = 6
        properties = {
          title   = "Function duration, p99 (ms)"
          view    = "timeSeries", stacked = false, stat = "p99", period = local.dashboard_period, region = local.region
          yAxis   = { left = { min = 0, showUnits = false } }
          metrics = [["AWS/Lambda", "Duration", "FunctionName", local.function_name, { label = "p99" }]]
        }
      },
      {
        type = "metric", x = 8, y = 21, width = 8, height = 6
        properties = {
          title   = "Concurrent executions"
          view    = "timeSeries", stacked = false, stat = "Maximum", period = local.dashboard_period, region = local.region
          yAxis   = { left = { min = 0, showUnits = false } }
          metrics = [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.function_name, { label = "maximum" }]]
        }
      },
      {
        type = "metric", x = 16, y = 21, width = 8, height = 6
        properties = {
          title = "Throttles and failed invocations"
          view  = "timeSeries", stacked = false, stat = "Sum", period = local.dashboard_period, region = local.region
          yAxis = { left = { min = 0, showUnits = false } }
          metrics = [
            ["AWS/Lambda", "Throttles", "FunctionName", local.function_name, { label = "throttles" }],
            ["AWS/Lambda", "Errors", "FunctionName", local.function_name, { label = "failed invocations" }],
          ]
        }
      },
    ],
    length(local.dashboard_alarm_arns) == 0 ? [] : [
      {
        type = "alarm", x = 0, y = 27, width = 24, height = 4
        properties = {
          title  = "Alarms"
          alarms = local.dashboard_alarm_arns
        }
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })

  # The alarm widget lists the alarms by ARN: they exist before the dashboard shows them.
  depends_on = [aws_cloudwatch_metric_alarm.this]
}
