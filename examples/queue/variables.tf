variable "region" {
  description = "AWS region of the scan-result topic, the bucket and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources (queues, table, alarms, alarm topic)."
  type        = string
  default     = "fss-post-scan-queue"
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

variable "batch_size" {
  description = "Scan results per invocation (above 10 needs a batching window of at least 1 second)."
  type        = number
  default     = 10
}

variable "maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers scan results before it invokes the function with a partial batch."
  type        = number
  default     = 0
}

variable "maximum_concurrency" {
  description = "At most this many invocations at a time read the queue (2-1000)."
  type        = number
  default     = 10
}

variable "max_receive_count" {
  description = "Receives of a failing scan result before it moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "queue_age_alarm_seconds" {
  description = "Alarm when the oldest queued scan result is older than this many seconds."
  type        = number
  default     = 900
}

variable "exposure_alarm_seconds" {
  description = "Alarm when malicious files stayed readable longer than this many seconds (p99 over 5 minutes)."
  type        = number
  default     = 300
}
