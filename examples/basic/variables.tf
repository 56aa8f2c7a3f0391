variable "region" {
  description = "AWS region of the scan-result topic, the bucket and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources."
  type        = string
  default     = "fss-post-scan-basic"
}

variable "scan_result_topic_arn" {
  description = "ARN of the File Storage Security scan-result topic (stack output ScanResultTopicARN)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the scanned bucket."
  type        = string
}
