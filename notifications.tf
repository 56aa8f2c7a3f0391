################################################################################
# Announcements: an EventBridge event and an SNS notification per announced scan result, a
# Security Hub finding per malicious file (see docs/notifications.md)
################################################################################

locals {
  # Announced by default: every verdict the engine knows (local.verdicts) but clean.
  notify_default_verdicts = [for v in local.verdicts : v if v != "clean"]
  notify_verdicts         = var.notify_verdicts == null ? local.notify_default_verdicts : var.notify_verdicts
  notify_email_verdicts   = var.notify_email_verdicts == null ? local.notify_default_verdicts : var.notify_email_verdicts

  # The bus by ARN, for the IAM statement (a name is a bus of this account and region).
  event_bus_arn = (
    var.event_bus_name == null ? null :
    startswith(var.event_bus_name, "arn:") ? var.event_bus_name :
    "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${var.event_bus_name}"
  )

  notify_topic_arn = (
    var.create_notify_topic ? aws_sns_topic.notifications[0].arn :
    var.notify_topic_arn
  )
  # Known at plan time even for the created topic (deterministic name), so the policy is too.
  notify_topic_policy_arn = (
    var.create_notify_topic ? "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name}-notifications" :
    var.notify_topic_arn
  )
  notifies = var.create_notify_topic || var.notify_topic_arn != null

  security_hub_product_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account_id}:product/${local.account_id}/default"
}

resource "aws_sns_topic" "notifications" {
  count = var.create_notify_topic ? 1 : 0

  name              = "${var.name}-notifications"
  kms_master_key_id = coalesce(var.notify_topic_kms_key_arn, "alias/aws/sns")

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.notify_topic_arn == null
      error_message = "Set either create_notify_topic = true or notify_topic_arn, not both."
    }
  }
}

resource "aws_sns_topic_subscription" "notify_email" {
  for_each = var.create_notify_topic ? toset(var.notify_email_addresses) : toset([])

  topic_arn = aws_sns_topic.notifications[0].arn
  protocol  = "email"
  endpoint  = each.value
  # People read about the verdicts they asked for; the attribute is set on every notification.
  filter_policy       = jsonencode({ verdict = local.notify_email_verdicts })
  filter_policy_scope = "MessageAttributes"
}

check "notify_verdicts_need_a_target" {
  assert {
    condition     = var.notify_verdicts == null || var.event_bus_name != null || local.notifies
    error_message = "notify_verdicts has no effect without event_bus_name, notify_topic_arn or create_notify_topic."
  }
}
