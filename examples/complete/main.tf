# Every option: two storage stacks, several buckets, delete + record into the application's existing
# table, events and notifications, a customer managed key for the logs and the dead-letter queue,
# tracing, tuned retries.
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  tags = {
    application = "uploads"
    component   = "fss-post-scan"
  }
  log_group = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name}"
}

# One key for the function's logs and its dead-letter queue. CloudWatch Logs and SNS (redrive of
# undeliverable messages) use it as services; the function's role gets its rights from the module.
resource "aws_kms_key" "this" {
  description             = "${var.name}: logs and dead-letter queue"
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
        Sid    = "CloudWatchLogsEncryptsTheFunctionLogGroup"
        Effect = "Allow"
        # logs.REGION.amazonaws.com, in China logs.REGION.amazonaws.com.cn: the partition's suffix.
        Principal = { Service = "logs.${data.aws_region.current.id}.${data.aws_partition.current.dns_suffix}" }
        Action    = ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
        Resource  = "*"
        Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group } }
      },
      {
        Sid       = "ScanResultTopicsRedriveToTheDeadLetterQueue"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { ArnEquals = { "aws:SourceArn" = sort(values(var.scan_result_topic_arns)) } }
      },
    ]
  })

  tags = local.tags
}

# The module's role names the dead-letter queue's key by this alias (kms:ResourceAliases), so its
# policy is known at plan although the key's ARN is not until the key exists.
resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = var.scan_result_topic_arns
  bucket_names           = var.bucket_names
  # A second scanner, on other buckets (or the same): GuardDuty Malware Protection for S3.
  guardduty_plans = var.guardduty_plans

  # Only messages that carry a scanner status are scan results; anything else never reaches the function.
  subscription_filter_policy       = jsonencode({ scanner_status = [{ exists = true }] })
  subscription_filter_policy_scope = "MessageBody"

  delete_malicious     = true
  extract_file_id      = true
  file_id_tag_key      = "file_id"
  file_id_table_name   = var.file_id_table_name
  file_id_table_key    = var.file_id_table_key
  file_id_table_upsert = false
  record_verdicts      = ["malicious", "clean", "incomplete", "failed"]
  dry_run              = var.dry_run

  # Tell people and systems: every verdict as an event on the application's bus (null: none) and as
  # a notification on an encrypted topic the module creates (e-mail, chat and JSON bodies).
  event_bus_name         = var.event_bus_name
  create_notify_topic    = true
  notify_email_addresses = var.notify_email_addresses
  notify_verdicts        = ["malicious", "clean", "incomplete", "failed"]

  # Rejected or failed scan results, dead letters, throttles: tell the on-call.
  alarm_topic_arns = var.alarm_topic_arns

  log_level         = "DEBUG"
  metrics_namespace = "Uploads/FSSPostScan"
  kms_key_arns      = var.bucket_kms_key_arns

  runtime                        = "python3.13"
  architecture                   = "arm64"
  memory_size                    = 512
  timeout                        = 120
  reserved_concurrent_executions = var.reserved_concurrent_executions
  tracing_mode                   = "Active"
  vpc_subnet_ids                 = var.vpc_subnet_ids
  vpc_security_group_ids         = var.vpc_security_group_ids

  cloudwatch_logs_retention_in_days           = 731
  cloudwatch_logs_kms_key_arn                 = aws_kms_key.this.arn
  dead_letter_queue_kms_key_arn               = aws_kms_key.this.arn
  dead_letter_queue_kms_key_alias             = aws_kms_alias.this.name
  dead_letter_queue_message_retention_seconds = 604800
  maximum_retry_attempts                      = 1
  maximum_event_age_in_seconds                = 3600

  role_path                     = "/fss/"
  role_permissions_boundary_arn = var.role_permissions_boundary_arn

  tags = local.tags
}
