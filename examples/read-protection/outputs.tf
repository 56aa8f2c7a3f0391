output "lambda_function_name" {
  description = "Name of the Lambda function."
  value       = module.post_scan.lambda_function_name
}

output "lambda_function_arn" {
  description = "ARN of the Lambda function."
  value       = module.post_scan.lambda_function_arn
}

output "lambda_role_arn" {
  description = "ARN of the function's IAM role (always exempt from the read protection)."
  value       = module.post_scan.lambda_role_arn
}

output "read_protection_policies" {
  description = "The module's read protection policy per scanned bucket."
  value       = module.post_scan.read_protection_policies
}

output "bucket_policy" {
  description = "The bucket policy attached: the bucket's own statements plus the module's."
  value       = aws_s3_bucket_policy.this.policy
}
