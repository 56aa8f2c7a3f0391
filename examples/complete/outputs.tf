output "lambda_function_name" {
  description = "Name of the Lambda function."
  value       = module.post_scan.lambda_function_name
}

output "lambda_function_arn" {
  description = "ARN of the Lambda function."
  value       = module.post_scan.lambda_function_arn
}

output "lambda_role_name" {
  description = "Name of the function's IAM role."
  value       = module.post_scan.lambda_role_name
}

output "lambda_role_arn" {
  description = "ARN of the function's IAM role."
  value       = module.post_scan.lambda_role_arn
}

output "cloudwatch_log_group_name" {
  description = "Name of the function's log group."
  value       = module.post_scan.cloudwatch_log_group_name
}

output "cloudwatch_log_group_arn" {
  description = "ARN of the function's log group."
  value       = module.post_scan.cloudwatch_log_group_arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.post_scan.dead_letter_queue_arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.post_scan.dead_letter_queue_url
}

output "sns_subscription_arns" {
  description = "ARNs of the topic subscriptions, by topic key."
  value       = module.post_scan.sns_subscription_arns
}

output "file_id_table_name" {
  description = "Name of the table the module created (null: this example uses an existing table)."
  value       = module.post_scan.file_id_table_name
}

output "file_id_table_arn" {
  description = "ARN of the table the module created (null: this example uses an existing table)."
  value       = module.post_scan.file_id_table_arn
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the log group and the dead-letter queue."
  value       = aws_kms_key.this.arn
}

output "notify_topic_arn" {
  description = "ARN of the notification topic the module created (subscribe a chat channel, queues or functions to it)."
  value       = module.post_scan.notify_topic_arn
}

output "event_bus_arn" {
  description = "ARN of the bus the function puts its events on (null without event_bus_name)."
  value       = module.post_scan.event_bus_arn
}
