variable "region" {
  description = "AWS region of the scan-result topic, the buckets and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources."
  type        = string
  default     = "fss-post-scan-quarantine"
}

variable "scan_result_topic_arn" {
  description = "ARN of the File Storage Security scan-result topic (stack output ScanResultTopicARN)."
  type        = string
}

variable "bucket_names" {
  description = "Names of the scanned buckets."
  type        = list(string)
}

variable "quarantine_bucket_name" {
  description = "Name of the quarantine bucket this example creates (globally unique)."
  type        = string
}

variable "quarantine_retention_days" {
  description = "Days a quarantined object (and each older version of its key) is kept."
  type        = number
  default     = 90
}

variable "quarantine_force_destroy" {
  description = "Let terraform destroy delete the quarantine bucket with everything in it."
  type        = bool
  default     = false
}

variable "promote_bucket_name" {
  description = "Existing bucket to move clean files to (null: clean files stay where they are)."
  type        = string
  default     = null
}

variable "promote_prefix" {
  description = "Key prefix in the promote bucket (the source bucket name and key follow it)."
  type        = string
  default     = ""
}

variable "bucket_kms_key_arns" {
  description = "KMS keys of SSE-KMS encrypted scanned buckets (the function reads the objects to copy them)."
  type        = list(string)
  default     = []
}
