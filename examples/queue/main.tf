# Buffer scan results in an SQS queue: every topic feeds one encrypted delivery queue that the
# function reads in batches through an event source mapping, with at most `maximum_concurrency`
# invocations at a time, so an upload burst queues up instead of throttling Lambda, S3 and DynamoDB.
# A message the function fails on is received again, alone (partial batch responses), and after
# `max_receive_count` receives moves to the dead-letter queue; the module's replay_command output
# sends it back once the cause is fixed. CloudWatch alarms notify an alarm topic this example creates.
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  tags = {
    application = "uploads"
    component   = "fss-post-scan-queue"
  }
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

}

# CloudWatch cannot publish to a topic encrypted with the AWS managed key aws/sns: the alarm topic
# gets its own key, usable by CloudWatch.
resource "aws_kms_key" "alarms" {
  description             = "${var.name}: alarm notifications"
  enable_key_rotation     = true
  deletion_window_in_days = 7

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKeyAndEnablesIamPolicies"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchPublishesEncryptedAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })

  tags = local.tags
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn

  tags = local.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudWatchAlarmsOfThisAccount"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.alarms.arn
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = { storage_stack = var.scan_result_topic_arn }
  bucket_names           = [var.bucket_name]

  delivery_mode = "queue"
  queue = {
    batch_size                         = var.batch_size
    maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
    maximum_concurrency                = var.maximum_concurrency
    max_receive_count                  = var.max_receive_count
  }

  # Delete malware and record every verdict per file id in a table the module creates.
  delete_malicious     = true
  extract_file_id      = true
  file_id_tag_key      = var.file_id_tag_key
  create_file_id_table = true
  record_verdicts      = ["malicious", "clean", "incomplete", "failed"]

  # The topic is created in the same apply: its ARN is unknown at plan time, but the list's length
  # is known, which is all the module needs to plan the alarms.
  alarm_topic_arns = [aws_sns_topic.alarms.arn]
  alarms = {
    queue_age_threshold_seconds = var.queue_age_alarm_seconds
    # Malware readable for longer than this (p99 over 5 minutes, upload to delete) alarms too.
    exposure_p99_seconds = var.exposure_alarm_seconds
  }

  # A CloudWatch dashboard (output dashboard_url); the saved Logs Insights queries come anyway.
  create_dashboard = true

  tags = local.tags
}
