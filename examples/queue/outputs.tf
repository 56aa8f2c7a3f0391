output "lambda_function_name" {
  description = "Name of the Lambda function."
  value       = module.post_scan.lambda_function_name
}

output "lambda_function_arn" {
  description = "ARN of the Lambda function."
  value       = module.post_scan.lambda_function_arn
}

output "lambda_role_arn" {
  description = "ARN of the function's IAM role."
  value       = module.post_scan.lambda_role_arn
}

output "cloudwatch_log_group_name" {
  description = "Name of the function's log group."
  value       = module.post_scan.cloudwatch_log_group_name
}

output "delivery_queue_url" {
  description = "URL of the delivery queue the topic feeds."
  value       = module.post_scan.delivery_queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.post_scan.dead_letter_queue_url
}

output "replay_command" {
  description = "Command that sends what reached the dead-letter queue back into the delivery queue."
  value       = module.post_scan.replay_command
}

output "file_id_table_name" {
  description = "Name of the DynamoDB table holding the verdicts."
  value       = module.post_scan.file_id_table_name
}

output "alarm_topic_arn" {
  description = "ARN of the topic the alarms notify (subscribe your on-call address or chat integration to it)."
  value       = aws_sns_topic.alarms.arn
}

output "cloudwatch_alarm_arns" {
  description = "ARNs of the CloudWatch alarms by key (dead-letters, errors, throttles, queue-age, exposure, ...)."
  value       = module.post_scan.cloudwatch_alarm_arns
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = module.post_scan.dashboard_url
}
