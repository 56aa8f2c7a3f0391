# Tell people and systems what happened to every scan result:
# - an SNS topic (created by the module, encrypted) with e-mail subscriptions; each notification
#   carries a plain-text e-mail body, a body Amazon Q Developer in chat applications renders in
#   Slack or Microsoft Teams, and the JSON detail for machines;
# - an EventBridge bus with a rule that sends every "Scan Result Processed" event to an SQS queue:
#   the consumer that updates the application's database (any database: RDS, an HTTP API, ...)
#   by the file id the event carries; no DynamoDB table is needed for that;
# - optionally a Security Hub finding per malicious file, and a Slack channel for the topic.
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # What the application's rules match on.
  event_source = "uploads.fss-post-scan"
  tags = {
    application = "uploads"
    component   = "fss-post-scan-notifications"
  }
}

################################################################################
# The bus and its consumer: a rule -> an SQS queue the application reads
################################################################################

resource "aws_cloudwatch_event_bus" "scan_results" {
  name = "${var.name}-scan-results"

  tags = local.tags
}

resource "aws_cloudwatch_event_rule" "file_verdicts" {
  name           = "${var.name}-file-verdicts"
  description    = "Every scan result the function handled, for the application's file database."
  event_bus_name = aws_cloudwatch_event_bus.scan_results.name
  event_pattern = jsonencode({
    source        = [local.event_source]
    "detail-type" = ["Scan Result Processed"]
  })

  tags = local.tags
}

resource "aws_sqs_queue" "file_verdicts" {
  name                      = "${var.name}-file-verdicts"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600

  tags = local.tags
}

# Only this rule may send to the queue.
resource "aws_sqs_queue_policy" "file_verdicts" {
  queue_url = aws_sqs_queue.file_verdicts.url
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FileVerdictsRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.file_verdicts.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.file_verdicts.arn } }
    }]
  })
}

resource "aws_cloudwatch_event_target" "file_verdicts" {
  rule           = aws_cloudwatch_event_rule.file_verdicts.name
  event_bus_name = aws_cloudwatch_event_bus.scan_results.name
  target_id      = "file-verdicts-queue"
  arn            = aws_sqs_queue.file_verdicts.arn
}

################################################################################
# The function
################################################################################

module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = { storage_stack = var.scan_result_topic_arn }
  bucket_names           = [var.bucket_name]

  delivery_mode = var.delivery_mode

  # Delete malware; read the application's file id from the object's tag and carry it in every
  # event and notification (no table: the consumer updates the database).
  delete_malicious = true
  extract_file_id  = true
  file_id_tag_key  = var.file_id_tag_key

  event_bus_name         = aws_cloudwatch_event_bus.scan_results.name
  event_source           = local.event_source
  create_notify_topic    = true
  notify_email_addresses = var.notify_email_addresses
  # Clean files too, so that the application can release them; the e-mail subscriptions' filter
  # policy (on the verdict attribute) keeps them out of people's inboxes.
  notify_verdicts       = ["malicious", "clean", "incomplete", "failed"]
  notify_email_verdicts = ["malicious", "incomplete", "failed"]
  security_hub_findings = var.security_hub_findings

  tags = local.tags
}

################################################################################
# Optional: a Slack channel for the notification topic (Amazon Q Developer in chat applications)
################################################################################

# The channel only posts notifications: its role has no permissions and the guardrail is read-only.
resource "aws_iam_role" "chat" {
  count = var.slack_channel == null ? 0 : 1

  name = "${var.name}-chat"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "chatbot.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = local.tags
}

resource "aws_chatbot_slack_channel_configuration" "this" {
  count = var.slack_channel == null ? 0 : 1

  configuration_name    = "${var.name}-scan-results"
  iam_role_arn          = aws_iam_role.chat[0].arn
  slack_team_id         = var.slack_channel.team_id
  slack_channel_id      = var.slack_channel.channel_id
  sns_topic_arns        = [module.post_scan.notify_topic_arn]
  guardrail_policy_arns = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"]
  logging_level         = "ERROR"

  tags = local.tags
}
