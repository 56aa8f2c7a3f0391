variable "region" {
  description = "AWS region of the scan-result topic, the bucket and the function."
  type        = string
}

variable "name" {
  description = "Name of the function and prefix of the other resources (topic, bus, rule, queue)."
  type        = string
  default     = "fss-post-scan-notify"
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

variable "notify_email_addresses" {
  description = "E-mail addresses that get the notifications (each confirms its subscription first)."
  type        = list(string)
  default     = []
}

variable "delivery_mode" {
  description = "direct: SNS invokes the function per scan result; queue: batches of up to 10, whose events and notifications go out in one PutEvents and one PublishBatch."
  type        = string
  default     = "direct"
}

variable "security_hub_findings" {
  description = "Import a Security Hub finding per malicious file (Security Hub must be enabled in the region)."
  type        = bool
  default     = false
}

variable "slack_channel" {
  description = "Slack workspace (team) id and channel id to post the notifications to through Amazon Q Developer in chat applications; the workspace must be authorized in its console first. null: no channel."
  type = object({
    team_id    = string
    channel_id = string
  })
  default = null
}
