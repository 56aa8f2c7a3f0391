output "lambda_function_name" {
  description = "Name of the Lambda function that handles the scan results."
  value       = try(aws_lambda_function.this.function_name, null)
}

output "lambda_function_arn" {
  description = "ARN of the Lambda function (the endpoint of every subscription)."
  value       = try(aws_lambda_function.this.arn, null)
}

output "lambda_role_name" {
  description = "Name of the function's IAM role (for example to attach extra policies)."
  value       = try(aws_iam_role.this.name, null)
}

output "lambda_role_arn" {
  description = "ARN of the function's IAM role (for KMS key policies and cross-account table policies)."
  value       = try(aws_iam_role.this.arn, null)
}

output "cloudwatch_log_group_name" {
  description = "Name of the function's CloudWatch log group (/aws/lambda/ followed by the name)."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "cloudwatch_log_group_arn" {
  description = "ARN of the function's CloudWatch log group."
  value       = try(aws_cloudwatch_log_group.this.arn, null)
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue: events the function failed on (direct mode: Lambda's on-failure records; queue mode: delivery queue messages received queue.max_receive_count times) and messages SNS could not deliver."
  value       = try(aws_sqs_queue.this.arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue (for alarms and redrive tooling)."
  value       = try(aws_sqs_queue.this.url, null)
}

output "delivery_queue_arn" {
  description = "ARN of the SQS delivery queue the topics feed and the function reads (null in direct mode)."
  value       = try(aws_sqs_queue.delivery[0].arn, null)
}

output "delivery_queue_url" {
  description = "URL of the SQS delivery queue (null in direct mode)."
  value       = try(aws_sqs_queue.delivery[0].url, null)
}

output "replay_command" {
  description = "Command line that replays what reached the dead-letter queue, once the cause is fixed: into the function (direct mode) or back into the delivery queue (queue mode). It runs as printed from the directory where terraform runs (the consumer's root: the module's tools/ are found through its path under .terraform/modules), with python3 (3.11+, boto3) and AWS credentials for the account. Add --dry-run to only list the messages."
  value = try(
    join(" ", [
      "PYTHONPATH='${path.module}/tools' python3 -m replay",
      "--dead-letter-queue-url ${aws_sqs_queue.this.url}",
      local.queue_mode ? "--to-queue-url ${aws_sqs_queue.delivery[0].url}" : "--function ${aws_lambda_function.this.arn}",
      "--region ${local.region}",
    ]),
    null,
  )
}

output "cloudwatch_alarm_arns" {
  description = "ARNs of the CloudWatch alarms, keyed dead-letters, errors, throttles, rejected, fallbacks, verdict-conflicts, row-conflicts, unproven-locations, unscanned, destination-delivery-failures, (alarms.exposure_p99_seconds) exposure, (while the delivery queue exists) record-errors and queue-age, and (read_protection = until_clean) untagged-clean-objects; empty without alarms."
  # No try(): a for over a for_each resource cannot fail, and without it the keys are known at plan.
  value = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn }
}

output "dashboard_name" {
  description = "The dashboard's name. NAME-REGION; null without create_dashboard."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "dashboard_url" {
  description = "The dashboard's console URL. In the partition's console: aws, aws-cn or aws-us-gov; null in other partitions and without a dashboard."
  value       = try("${local.console_url}/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.this[0].dashboard_name}", null)
}

output "sns_subscription_arns" {
  description = "ARNs of the SNS subscriptions, keyed like scan_result_topic_arns."
  value       = try({ for k, s in aws_sns_topic_subscription.this : k => s.arn }, {})
}

output "file_id_table_name" {
  description = "Name of the DynamoDB table the module created (null when create_file_id_table is false)."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "file_id_table_arn" {
  description = "ARN of the DynamoDB table the module created (null when create_file_id_table is false)."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}

output "event_bus_arn" {
  description = "ARN of the EventBridge bus the function puts its \"Scan Result Processed\" events on (null without event_bus_name): match them with an event pattern on source = event_source."
  value       = try(local.event_bus_arn, null)
}

output "notify_topic_arn" {
  description = "ARN of the SNS topic the function publishes its notifications to: the created one (create_notify_topic) or notify_topic_arn; null without notifications. Subscribe Amazon Q Developer in chat applications, queues or functions to it."
  value       = try(local.notify_topic_arn, null)
}

output "notify_email_subscription_arns" {
  description = "ARNs of the e-mail subscriptions of the created topic, keyed by address (\"pending confirmation\" until each address confirms)."
  value       = try({ for address, s in aws_sns_topic_subscription.notify_email : address => s.arn }, {})
}

output "read_protection_policies" {
  description = "Scanned bucket name -> a complete bucket policy (JSON) holding only the read protection deny statements (Sids FssPostScan*; for a bucket of guardduty_plans those keyed on GuardDuty's GuardDutyMalwareScanStatus tag, for a bucket both scanners scan both), ready to attach or to merge into the bucket's own policy with aws_iam_policy_document's source_policy_documents; empty when read_protection is off. The module attaches none of them."
  value       = try(local.read_protection_policies, {})

  precondition {
    # S3's bucket policy limit; the bucket's own statements need room as well.
    condition     = alltrue([for policy in values(local.read_protection_policies) : length(policy) <= 20480])
    error_message = "A read protection policy exceeds S3's 20 KB bucket policy limit (${join(", ", [for bucket, policy in local.read_protection_policies : "${bucket}: ${length(policy)} bytes" if length(policy) > 20480])}): list fewer read_protection_scanner_principal_arns and read_protection_exempt_principal_arns (a wildcard in the role path can stand for several roles)."
  }
}

output "guardduty_plan_arns" {
  description = "guardduty_plans label -> the plan's ARN (given, or of the plan the module created)."
  value       = try(local.guardduty_plan_arns, {})
}

output "guardduty_role_arns" {
  description = "guardduty_plans label -> the plan's service role ARN (created, or role_arn). SSE-KMS buckets: allow it in the key policy."
  value       = try(local.guardduty_role_arns, {})
}

output "guardduty_rule_arns" {
  description = "ARNs of the default-bus rules that deliver the plans' events, keyed results and post-scan-action-failed."
  value       = try({ for key, rule in local.guardduty_rules : key => rule.arn }, {})
}
