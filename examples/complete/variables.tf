variable "region" {
  description = "AWS region of the scan-result topics, the buckets and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources."
  type        = string
  default     = "fss-post-scan-complete"
}

variable "scan_result_topic_arns" {
  description = "Scan-result topics of every storage stack, keyed by a static label (topics of other accounts need the topic policy in docs/cross-account.md)."
  type        = map(string)
}

variable "bucket_names" {
  description = "Names of the scanned buckets."
  type        = list(string)
}

variable "file_id_table_name" {
  description = "Name of the application's existing DynamoDB table that holds one row per file id."
  type        = string
}

variable "file_id_table_key" {
  description = "Partition key (type S) of the existing table."
  type        = string
  default     = "file_id"
}

variable "bucket_kms_key_arns" {
  description = "KMS keys of SSE-KMS encrypted buckets (and of the table, when it uses a customer managed key)."
  type        = list(string)
  default     = []
}

variable "vpc_subnet_ids" {
  description = "Private subnets for the function (need a route to S3, DynamoDB, SQS and CloudWatch Logs); empty: no VPC."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups for the function when vpc_subnet_ids is set."
  type        = list(string)
  default     = []
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency (null: unreserved; a new account's quota may not allow reserving any)."
  type        = number
  default     = null
}

variable "role_permissions_boundary_arn" {
  description = "Permissions boundary your organisation requires on new roles (null: none)."
  type        = string
  default     = null
}

variable "dry_run" {
  description = "Start in dry-run mode: log what would be deleted and recorded without doing it."
  type        = bool
  default     = false
}

variable "event_bus_name" {
  description = "Name of the application's existing EventBridge bus for the scan-result events (null: no events)."
  type        = string
  default     = null
}

variable "notify_email_addresses" {
  description = "E-mail addresses that get the notifications of every verdict but clean (each confirms first)."
  type        = list(string)
  default     = []
}

variable "alarm_topic_arns" {
  description = "SNS topics (your on-call's) that the module's CloudWatch alarms notify; empty: no alarms, and the plan warns that nothing will tell anyone about rejected or failed scan results."
  type        = list(string)
  default     = []
}

variable "guardduty_plans" {
  description = "GuardDuty Malware Protection for S3 plans to act for as well (label -> bucket_name, plan_arn of an existing plan; null plan_arn: the module creates it)."
  type = map(object({
    bucket_name = string
    plan_arn    = optional(string)
    role_arn    = optional(string)
  }))
  default = {}
}
