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

  # Metric rows: [namespace, metric, dimension, value, ..., {rendering}], all on this function
  # (FunctionName) or its queues (QueueName); one period for every graph.
  dashboard_period = 300
  function_name    = aws_lambda_function.this.function_name
  emf              = var.metrics_namespace
  # [metric, rendering] pairs of the function's own metrics (dimension FunctionName).
  emf_graphs = {
    actions = [
      ["ObjectsDeleted", { label = "deleted" }],
      ["ObjectsRouted", { label = "routed (verified copies)" }],
      ["VerdictsRecorded", { label = "recorded (table rows)" }],
    ]
    exposure = [for p in ["p50", "p90", "p99"] : ["ExposureSeconds", { stat = p, label = p }]]
    delay = [
      ["ScanSeconds", { stat = "p99", label = "scanner: upload to scan start" }],
      ["ActionDelaySeconds", { stat = "p99", label = "function: scan result to done" }],
      ["ClampedTimings", { stat = "Sum", label = "negative timings clamped (clock skew)", yAxis = "right" }],
    ]
    human = concat(
      [
        ["Errors", { label = "failed records (Errors)" }],
        ["Rejected", { label = "rejected scan results" }],
        ["FallbackActions", { label = "fallback actions" }],
        ["VerdictConflicts", { label = "verdict conflicts" }],
      ],
      local.until_clean ? [["UntaggedCleanObjects", { label = "clean objects not tagged clean" }]] : [],
    )
  }
  emf_rows = {
    for graph, pairs in local.emf_graphs : graph => [
      for pair in pairs : [local.emf, pair[0], "FunctionName", local.function_name, pair[1]]
    ]
  }
  verdict_rows = [
    for verdict in concat(local.verdicts, ["unparsed", "not_a_scan_result"]) :
    [local.emf, "ScanResults", "FunctionName", local.function_name, "Verdict", verdict, { label = verdict }]
  ]
  unscanned_row = [local.emf, "ScanResults", "FunctionName", local.function_name, "Verdict", "unscanned", { label = "unscanned uploads" }]
  queue_rows = concat(
    [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dead_letter_queue_name, { label = "dead letters", stat = "Maximum" }]],
    local.delivery_queue_enabled ? [
      ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.delivery_queue_name, { label = "oldest in the delivery queue (s)", stat = "Maximum", yAxis = "right" }],
    ] : [],
  )
  lambda_rows = {
    for metric, rendering in {
      Duration             = { label = "p99", stat = "p99" }
      ConcurrentExecutions = { label = "maximum", stat = "Maximum" }
      Throttles            = { label = "throttles", stat = "Sum" }
      Errors               = { label = "failed invocations", stat = "Sum" }
    } : metric => ["AWS/Lambda", metric, "FunctionName", local.function_name, rendering]
  }

  dashboard_alarm_arns = [
    for key in sort(keys(local.alarms)) :
    "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-${key}"
  ]
  exposure_threshold = var.alarms.exposure_p99_seconds != null && contains(keys(local.alarms), "exposure") ? [
    { label = "alarm: p99 above ${var.alarms.exposure_p99_seconds} s", value = var.alarms.exposure_p99_seconds },
  ] : []

  # Time-series graphs, 6 high, in rows of two (the function's own health: three).
  dashboard_graphs = [
    { x = 0, y = 3, width = 12, title = "Scan results by verdict", stacked = true, stat = "Sum", lines = [], metrics = local.verdict_rows },
    { x = 12, y = 3, width = 12, title = "Actions", stacked = false, stat = "Sum", lines = [], metrics = local.emf_rows.actions },
    { x = 0, y = 9, width = 12, title = "Exposure: how long malware stayed readable (s)", stacked = false, stat = "Average", lines = local.exposure_threshold, metrics = local.emf_rows.exposure },
    { x = 12, y = 9, width = 12, title = "Scanner and function delay, p99 (s)", stacked = false, stat = "Average", lines = [], metrics = local.emf_rows.delay },
    { x = 0, y = 15, width = 12, title = "Needs a human", stacked = false, stat = "Sum", lines = [], metrics = concat(local.emf_rows.human, [local.unscanned_row]) },
    { x = 12, y = 15, width = 12, title = local.delivery_queue_enabled ? "Dead-letter queue and delivery queue" : "Dead-letter queue", stacked = false, stat = "Maximum", lines = [], metrics = local.queue_rows },
    { x = 0, y = 21, width = 8, title = "Function duration, p99 (ms)", stacked = false, stat = "p99", lines = [], metrics = [local.lambda_rows.Duration] },
    { x = 8, y = 21, width = 8, title = "Concurrent executions", stacked = false, stat = "Maximum", lines = [], metrics = [local.lambda_rows.ConcurrentExecutions] },
    { x = 16, y = 21, width = 8, title = "Throttles and failed invocations", stacked = false, stat = "Sum", lines = [], metrics = [local.lambda_rows.Throttles, local.lambda_rows.Errors] },
  ]

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
    ],
    [
      for graph in local.dashboard_graphs : {
        type = "metric", x = graph.x, y = graph.y, width = graph.width, height = 6
        properties = {
          title       = graph.title
          view        = "timeSeries", stacked = graph.stacked, stat = graph.stat
          period      = local.dashboard_period, region = local.region
          yAxis       = { left = { min = 0, showUnits = false }, right = { min = 0, showUnits = false } }
          annotations = { horizontal = graph.lines }
          metrics     = graph.metrics
        }
      }
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
