# Plan-level tests of the announcement inputs: event bus, notification topic (existing or created,
# encrypted, e-mail subscriptions), verdict filter, chat body, Security Hub; the environment they
# set and exactly the IAM statements each adds.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

variables {
  # No alarm topics here: say so, or every run fails on the warning check alarms_notify_someone.
  create_alarms          = false
  name                   = "fss-post-scan"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket"]
}

run "nothing_is_announced_by_default" {
  command = plan

  assert {
    condition = {
      for k, v in aws_lambda_function.this.environment[0].variables : k => v
      if contains(["EVENT_BUS", "EVENT_SOURCE", "NOTIFY_TOPIC_ARN", "NOTIFY_VERDICTS", "NOTIFY_CHAT", "SECURITY_HUB_PRODUCT_ARN"], k)
      } == {
      EVENT_BUS                = ""
      EVENT_SOURCE             = "fss-post-scan"
      NOTIFY_TOPIC_ARN         = ""
      NOTIFY_VERDICTS          = "malicious,incomplete,failed,unscanned"
      NOTIFY_CHAT              = "true"
      SECURITY_HUB_PRODUCT_ARN = ""
    }
    error_message = "Default announcement environment is wrong: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition     = length(aws_sns_topic.notifications) == 0 && length(aws_sns_topic_subscription.notify_email) == 0
    error_message = "No topic or subscription by default."
  }
  assert {
    condition = length([
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s
      if contains(["PutScanResultEvents", "PublishNotifications", "UseNotificationTopicKey", "ImportSecurityHubFindings"], s.Sid)
    ]) == 0
    error_message = "No announcement permission by default: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = output.event_bus_arn == null && output.notify_topic_arn == null && output.notify_email_subscription_arns == {}
    error_message = "Announcement outputs must be null / empty by default."
  }
}

run "event_bus_by_name" {
  command = plan

  variables {
    event_bus_name = "scan-results"
    event_source   = "acme.uploads"
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["EVENT_BUS"] == "scan-results" &&
      aws_lambda_function.this.environment[0].variables["EVENT_SOURCE"] == "acme.uploads"
    )
    error_message = "EVENT_BUS / EVENT_SOURCE are wrong."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource]
      if s.Sid == "PutScanResultEvents"
      } == {
      PutScanResultEvents = [["events:PutEvents"], ["arn:aws:events:eu-west-1:111122223333:event-bus/scan-results"]]
    }
    error_message = "events:PutEvents must be granted on that bus only: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = output.event_bus_arn == "arn:aws:events:eu-west-1:111122223333:event-bus/scan-results"
    error_message = "event_bus_arn output is wrong."
  }
}

run "event_bus_in_another_account_by_arn" {
  command = plan

  variables {
    event_bus_name = "arn:aws:events:eu-west-1:444455556666:event-bus/central-security"
  }

  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Resource if s.Sid == "PutScanResultEvents"
    ] == [["arn:aws:events:eu-west-1:444455556666:event-bus/central-security"]]
    error_message = "A bus given by ARN must be granted as given."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["EVENT_BUS"] == "arn:aws:events:eu-west-1:444455556666:event-bus/central-security"
    error_message = "EVENT_BUS must be the ARN."
  }
}

run "existing_topic_with_its_key" {
  command = plan

  variables {
    notify_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
    notify_topic_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/1111-2222"
    notify_verdicts          = ["malicious", "clean"]
    notify_chat              = false
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource]
      if contains(["PublishNotifications", "UseNotificationTopicKey"], s.Sid)
      } == {
      PublishNotifications    = [["sns:Publish"], ["arn:aws:sns:eu-west-1:111122223333:security-alerts"]]
      UseNotificationTopicKey = [["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/1111-2222"]]
    }
    error_message = "Publishing to an encrypted topic needs sns:Publish on it and its key: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["NOTIFY_TOPIC_ARN"] == "arn:aws:sns:eu-west-1:111122223333:security-alerts" &&
      aws_lambda_function.this.environment[0].variables["NOTIFY_VERDICTS"] == "malicious,clean" &&
      aws_lambda_function.this.environment[0].variables["NOTIFY_CHAT"] == "false"
    )
    error_message = "Notification environment is wrong: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition     = length(aws_sns_topic.notifications) == 0 && output.notify_topic_arn == "arn:aws:sns:eu-west-1:111122223333:security-alerts"
    error_message = "An existing topic is used, not created."
  }
}

run "created_topic_with_email_subscriptions" {
  command = plan

  variables {
    create_notify_topic    = true
    notify_email_addresses = ["secops@example.com", "oncall@example.com"]
    notify_verdicts        = []
  }

  assert {
    condition     = aws_sns_topic.notifications[0].name == "fss-post-scan-notifications" && aws_sns_topic.notifications[0].kms_master_key_id == "alias/aws/sns"
    error_message = "The created topic is NAME-notifications, encrypted with alias/aws/sns by default."
  }
  assert {
    condition = (
      toset(keys(aws_sns_topic_subscription.notify_email)) == toset(["secops@example.com", "oncall@example.com"]) &&
      alltrue([for s in aws_sns_topic_subscription.notify_email : s.protocol == "email"])
    )
    error_message = "One e-mail subscription per address."
  }
  assert {
    condition = alltrue([
      for s in aws_sns_topic_subscription.notify_email :
      jsondecode(s.filter_policy) == { verdict = ["malicious", "incomplete", "failed", "unscanned"] } && s.filter_policy_scope == "MessageAttributes"
    ])
    error_message = "E-mail subscriptions get every verdict but clean by default (filter on the verdict attribute)."
  }
  assert {
    # The topic's ARN is known at plan (deterministic name): the policy is too.
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Resource if s.Sid == "PublishNotifications"
    ] == [["arn:aws:sns:eu-west-1:111122223333:fss-post-scan-notifications"]]
    error_message = "sns:Publish must be granted on the created topic only: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = length([
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s if s.Sid == "UseNotificationTopicKey"
    ]) == 0
    error_message = "The AWS managed key needs no key statement."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["NOTIFY_VERDICTS"] == ""
    error_message = "An empty notify_verdicts announces nothing (NOTIFY_VERDICTS set but empty)."
  }
}

run "created_topic_with_a_customer_managed_key" {
  command = plan

  variables {
    create_notify_topic      = true
    notify_topic_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/3333-4444"
    notify_email_addresses   = ["secops@example.com"]
    notify_email_verdicts    = ["malicious"]
  }

  assert {
    condition     = jsondecode(aws_sns_topic_subscription.notify_email["secops@example.com"].filter_policy) == { verdict = ["malicious"] }
    error_message = "notify_email_verdicts must become the e-mail subscriptions' filter policy."
  }

  assert {
    condition     = aws_sns_topic.notifications[0].kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/3333-4444"
    error_message = "The created topic must use the given key."
  }
  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Resource if s.Sid == "UseNotificationTopicKey"
    ] == [["arn:aws:kms:eu-west-1:111122223333:key/3333-4444"]]
    error_message = "The function must be able to encrypt with the topic's key."
  }
}

run "security_hub_findings" {
  command = plan

  variables {
    security_hub_findings = true
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SECURITY_HUB_PRODUCT_ARN"] == "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
    error_message = "SECURITY_HUB_PRODUCT_ARN must be the account's default product."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource]
      if s.Sid == "ImportSecurityHubFindings"
      } == {
      ImportSecurityHubFindings = [["securityhub:BatchImportFindings"], ["arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"]]
    }
    error_message = "BatchImportFindings on the default product only: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "topic_given_and_created_is_refused" {
  command = plan

  variables {
    notify_topic_arn    = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
    create_notify_topic = true
  }

  expect_failures = [aws_sns_topic.notifications]
}

run "email_addresses_without_the_created_topic_are_refused" {
  command = plan

  variables {
    notify_topic_arn       = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
    notify_email_addresses = ["secops@example.com"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "bad_announcement_inputs_are_refused" {
  command = plan

  variables {
    event_bus_name           = "my bus"
    event_source             = "aws.s3"
    notify_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:alerts.fifo"
    notify_topic_kms_key_arn = "alias/aws/sns"
    notify_email_addresses   = ["not-an-address"]
    notify_verdicts          = ["malicious", "infected"]
    notify_email_verdicts    = []
  }

  expect_failures = [
    var.event_bus_name,
    var.event_source,
    var.notify_topic_arn,
    var.notify_topic_kms_key_arn,
    var.notify_email_addresses,
    var.notify_verdicts,
    var.notify_email_verdicts,
  ]
}
