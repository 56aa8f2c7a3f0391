variable "region" {
  description = "AWS region of the scan-result topic, the bucket and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources."
  type        = string
  default     = "fss-read-protection"
}

variable "scan_result_topic_arn" {
  description = "ARN of the File Storage Security scan-result topic (stack output ScanResultTopicARN)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the scanned bucket. Its bucket policy is replaced by the merged one: put the statements it already has into data.aws_iam_policy_document.bucket_own first."
  type        = string
}

variable "read_protection" {
  description = "off, malicious or until_clean (see the module's docs/read-protection.md)."
  type        = string
  default     = "until_clean"
}

variable "scanner_role_arns" {
  description = "The scanner's roles that read and tag objects: storage stack outputs BucketListenerRoleARN and PostScanActionTagRoleARN (Cloud One), or the account scanner's ScannerExecutionRoleARN and PostScanActionExecutionRoleARN. Only they and the function may write fss- tags."
  type        = list(string)
}

variable "break_glass_role_arns" {
  description = "Roles that may still read hidden objects (incident response); they may not write the scanner's tags."
  type        = list(string)
  default     = []
}
