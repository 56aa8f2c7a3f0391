variable "region" {
  description = "AWS region of the bucket, the plan and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources."
  type        = string
  default     = "guardduty-post-scan"
}

variable "bucket_name" {
  description = "Name of the uploads bucket this example creates and GuardDuty scans (globally unique)."
  type        = string
}

variable "quarantine_bucket_name" {
  description = "Name of the quarantine bucket this example creates (globally unique)."
  type        = string
}

variable "plan_arn" {
  description = "ARN of an existing Malware Protection plan of the bucket (null: the module creates the plan and its service role)."
  type        = string
  default     = null
}

variable "plan_role_arn" {
  description = "Service role of the existing plan_arn (null with a created plan)."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete both buckets with everything in them."
  type        = bool
  default     = false
}
