variable "region" {
  description = "AWS region of the scan-result topic, the bucket and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources (the table gets the same name plus -file-ids)."
  type        = string
  default     = "fss-post-scan-file-ids"
}

variable "scan_result_topic_arn" {
  description = "ARN of the File Storage Security scan-result topic (stack output ScanResultTopicARN)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the scanned bucket."
  type        = string
}

variable "file_id_tag_key" {
  description = "Object tag key under which your application stores its file id at upload time."
  type        = string
  default     = "file_id"
}
