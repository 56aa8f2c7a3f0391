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

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.post_scan.dead_letter_queue_url
}

output "file_id_table_name" {
  description = "Name of the verdict table."
  value       = module.post_scan.file_id_table_name
}

output "guardduty_plan_arns" {
  description = "The Malware Protection plan (label uploads)."
  value       = module.post_scan.guardduty_plan_arns
}

output "guardduty_rule_arns" {
  description = "The rules on the default bus that deliver the plan's events to the function."
  value       = module.post_scan.guardduty_rule_arns
}

output "uploads_bucket_name" {
  description = "Name of the uploads bucket GuardDuty scans."
  value       = aws_s3_bucket.uploads.id
}

output "quarantine_bucket_name" {
  description = "Name of the quarantine bucket."
  value       = aws_s3_bucket.quarantine.id
}
