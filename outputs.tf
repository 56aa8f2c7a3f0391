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
  description = "ARN of the SQS dead-letter queue that receives events the function failed on and messages SNS could not deliver."
  value       = try(aws_sqs_queue.this.arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue (for alarms and redrive tooling)."
  value       = try(aws_sqs_queue.this.url, null)
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
