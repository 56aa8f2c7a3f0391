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

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.post_scan.dead_letter_queue_url
}

output "quarantine_bucket_name" {
  description = "Name of the quarantine bucket."
  value       = aws_s3_bucket.quarantine.id
}

output "quarantine_bucket_arn" {
  description = "ARN of the quarantine bucket."
  value       = aws_s3_bucket.quarantine.arn
}

output "quarantine_kms_key_arn" {
  description = "ARN of the key that encrypts the quarantine bucket."
  value       = aws_kms_key.quarantine.arn
}
