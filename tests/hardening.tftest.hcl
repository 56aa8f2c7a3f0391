# Plan-level tests of the module's own locks (issue 10 items 4 and 10): who may redrive into the
# dead-letter queue (redrive allow policy), TLS-only queue policies that still let SNS deliver, the
# queue policies' size within the SQS quotas, kms:ViaService on every KMS statement of the role, and
# the complete example's CloudWatch Logs key principal in the China partition.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  source = "./tests/mocks/archive"
}

# The shared mock gives every queue the DLQ's ARN; the delivery queue gets its own.
override_resource {
  target          = aws_sqs_queue.delivery
  override_during = plan
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery"
    name = "fss-post-scan-delivery"
  }
}

variables {
  # No alarm topics here: say so, or every run fails on the warning check alarms_notify_someone.
  create_alarms = false
  name          = "fss-post-scan"
  scan_result_topic_arns = {
    stack   = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA"
    archive = "arn:aws:sns:eu-west-1:222233334444:fss-ScanResultTopic-BBBB"
  }
  bucket_names = ["uploads-bucket"]
}

run "direct_mode_lets_no_queue_redrive_into_the_dead_letter_queue" {
  command = plan

  assert {
    condition = (
      aws_sqs_queue_redrive_allow_policy.this.queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq" &&
      jsondecode(aws_sqs_queue_redrive_allow_policy.this.redrive_allow_policy) == { redrivePermission = "denyAll" }
    )
    error_message = "Direct mode: no SQS queue may use the dead-letter queue as its dead-letter queue: ${aws_sqs_queue_redrive_allow_policy.this.redrive_allow_policy}"
  }
  assert {
    condition     = length(aws_sqs_queue_redrive_policy.delivery) == 0
    error_message = "Direct mode has no delivery queue to redrive from."
  }
}

run "queue_mode_lets_only_the_delivery_queue_redrive_into_the_dead_letter_queue" {
  command = plan

  variables {
    delivery_mode = "queue"
  }

  assert {
    condition = jsondecode(aws_sqs_queue_redrive_allow_policy.this.redrive_allow_policy) == {
      redrivePermission = "byQueue"
      sourceQueueArns   = ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"]
    }
    error_message = "Queue mode: only the module's delivery queue may redrive into the dead-letter queue: ${aws_sqs_queue_redrive_allow_policy.this.redrive_allow_policy}"
  }
  assert {
    condition = (
      aws_sqs_queue_redrive_policy.delivery[0].queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-delivery" &&
      jsondecode(aws_sqs_queue_redrive_policy.delivery[0].redrive_policy).deadLetterTargetArn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
    )
    error_message = "The delivery queue's redrive policy names the dead-letter queue."
  }
}

run "both_queue_policies_refuse_requests_without_tls" {
  command = plan

  variables {
    delivery_mode = "queue"
  }

  assert {
    condition = alltrue([
      for policy in [aws_sqs_queue_policy.this.policy, aws_sqs_queue_policy.delivery[0].policy] : anytrue([
        for s in jsondecode(policy).Statement :
        s.Effect == "Deny" && s.Principal == "*" && s.Action == "sqs:*" &&
        s.Condition == { Bool = { "aws:SecureTransport" = "false" } }
      ])
    ])
    error_message = "Each queue policy must deny sqs:* to everyone when aws:SecureTransport is false."
  }
  assert {
    condition = (
      jsondecode(aws_sqs_queue_policy.this.policy).Statement[1].Resource == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq" &&
      jsondecode(aws_sqs_queue_policy.delivery[0].policy).Statement[1].Resource == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
    )
    error_message = "Each deny names its own queue."
  }
  # The deny must not lock out SNS, Lambda (destination, event source mapping) or the replay CLI: it
  # is the only Deny, and it applies only when the request context says aws:SecureTransport = false.
  assert {
    condition = alltrue([
      for policy in [aws_sqs_queue_policy.this.policy, aws_sqs_queue_policy.delivery[0].policy] :
      length([for s in jsondecode(policy).Statement : s if s.Effect == "Deny"]) == 1 &&
      length([for s in jsondecode(policy).Statement : s if s.Effect == "Allow" && s.Principal == { Service = "sns.amazonaws.com" }]) == 1
    ])
    error_message = "Each queue policy keeps its SNS allow statement and has exactly one deny."
  }
}

run "queue_policies_stay_within_the_sqs_quotas" {
  command = plan

  variables {
    delivery_mode = "queue"
    # 20 topics with 256-character names: the longest ARNs there are.
    scan_result_topic_arns = { for i in range(20) : "stack${i}" => "arn:aws:sns:eu-west-1:${format("%012d", i)}:${format("%0256d", i)}" }
  }

  assert {
    condition = alltrue([
      for policy in [aws_sqs_queue_policy.this.policy, aws_sqs_queue_policy.delivery[0].policy] :
      length(policy) <= 8192 && length(jsondecode(policy).Statement) <= 20
    ])
    error_message = "An SQS queue policy is limited to 8,192 bytes and 20 statements: ${length(aws_sqs_queue_policy.delivery[0].policy)} bytes."
  }
}

run "direct_mode_kms_rights_work_only_through_sqs_s3_and_dynamodb" {
  command = plan

  variables {
    dead_letter_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/dlq-key"
    extract_file_id               = true
    create_file_id_table          = true
    kms_key_arns = [
      "arn:aws:kms:eu-west-1:111122223333:key/uploads",
      "arn:aws:kms:us-east-2:444455556666:key/mrk-archive",
      "arn:aws:kms:eu-west-1:111122223333:key/table",
    ]
    routes = {
      malicious = { bucket = "quarantine-bucket", prefix = "q/", kms_key_arn = "arn:aws:kms:eu-central-1:111122223333:key/quarantine" }
      clean     = { bucket = "promoted-bucket", prefix = "clean/" }
    }
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Condition
      if anytrue([for a in s.Action : startswith(a, "kms:")])
      } == {
      UseDeadLetterQueueKey = { StringEquals = { "kms:ViaService" = ["sqs.eu-west-1.amazonaws.com"] } }
      DecryptWithListedKeys = { StringEquals = { "kms:ViaService" = [
        "dynamodb.eu-west-1.amazonaws.com", "dynamodb.us-east-2.amazonaws.com",
        "s3.eu-west-1.amazonaws.com", "s3.us-east-2.amazonaws.com",
      ] } }
      EncryptMaliciousRoute = { StringEquals = { "kms:ViaService" = ["s3.eu-central-1.amazonaws.com"] } }
    }
    error_message = "Every KMS statement must be limited to the service that uses the key on the role's behalf, in the key's region: ${jsonencode(local.policy_statements)}"
  }
  assert {
    condition = alltrue([
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : !can(s.Condition)
      if s.Sid == "SendFailedEventsToDeadLetterQueue" || s.Sid == "WriteOwnLogs" || s.Sid == "RecordVerdicts"
    ])
    error_message = "Only the KMS statements carry kms:ViaService."
  }
}

run "the_notification_topic_key_works_through_sns_only" {
  command = plan

  variables {
    create_notify_topic      = true
    notify_topic_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/notify"
  }

  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Condition if s.Sid == "UseNotificationTopicKey"
    ] == [{ StringEquals = { "kms:ViaService" = ["sns.eu-west-1.amazonaws.com"] } }]
    error_message = "SNS uses the notification topic's key on the publisher's behalf: ${jsonencode(local.policy_statements)}"
  }
}

run "listed_keys_without_a_table_are_for_s3_only" {
  command = plan

  variables {
    delete_malicious = true
    kms_key_arns     = ["arn:aws:kms:eu-west-1:111122223333:key/uploads"]
  }

  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Condition if s.Sid == "DecryptWithListedKeys"
    ] == [{ StringEquals = { "kms:ViaService" = ["s3.eu-west-1.amazonaws.com"] } }]
    error_message = "Without a verdict table, the listed keys are used through S3 only: ${jsonencode(local.policy_statements)}"
  }
}

run "queue_mode_uses_the_queue_keys_through_sqs_only" {
  command = plan

  variables {
    delivery_mode                 = "queue"
    dead_letter_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/dlq-key"
    queue                         = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/queue-key" }
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Resource, s.Condition]
      if anytrue([for a in s.Action : startswith(a, "kms:")])
      } == {
      DecryptDeliveryQueueMessages = [
        ["arn:aws:kms:eu-west-1:111122223333:key/queue-key"],
        { StringEquals = { "kms:ViaService" = ["sqs.eu-west-1.amazonaws.com"] } },
      ]
      # The on-failure destination of asynchronous invocations exists in both modes.
      UseDeadLetterQueueKey = [
        ["arn:aws:kms:eu-west-1:111122223333:key/dlq-key"],
        { StringEquals = { "kms:ViaService" = ["sqs.eu-west-1.amazonaws.com"] } },
      ]
    }
    error_message = "Queue mode: decrypt with the queue's key and use the dead-letter queue's key (on-failure destination), each through SQS only: ${jsonencode(local.policy_statements)}"
  }
}

run "via_service_names_end_in_amazonaws_com_in_every_partition" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "cn-north-1", name = "cn-north-1" }
  }

  variables {
    scan_result_topic_arns        = { stack = "arn:aws-cn:sns:cn-north-1:999988887777:fss-ScanResultTopic-AAAA" }
    dead_letter_queue_kms_key_arn = "arn:aws-cn:kms:cn-north-1:111122223333:key/dlq-key"
    delete_malicious              = true
    kms_key_arns                  = ["arn:aws-cn:kms:cn-northwest-1:111122223333:key/uploads"]
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Condition.StringEquals["kms:ViaService"]
      if can(s.Condition.StringEquals["kms:ViaService"])
      } == {
      UseDeadLetterQueueKey = ["sqs.cn-north-1.amazonaws.com"]
      DecryptWithListedKeys = ["s3.cn-northwest-1.amazonaws.com"]
    }
    error_message = "kms:ViaService uses SERVICE.REGION.amazonaws.com in every partition (AWS KMS developer guide): ${jsonencode(local.policy_statements)}"
  }
}

run "complete_example_key_uses_the_partitions_logs_principal" {
  command = plan

  module {
    source = "./examples/complete"
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "cn-north-1", name = "cn-north-1" }
  }
  override_data {
    target = module.post_scan.data.aws_partition.current
    values = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
  override_data {
    target = module.post_scan.data.aws_region.current
    values = { id = "cn-north-1", name = "cn-north-1" }
  }

  variables {
    region                 = "cn-north-1"
    scan_result_topic_arns = { stack = "arn:aws-cn:sns:cn-north-1:999988887777:fss-ScanResultTopic-AAAA" }
    bucket_names           = ["uploads-bucket"]
    file_id_table_name     = "app-files"
    alarm_topic_arns       = ["arn:aws-cn:sns:cn-north-1:111122223333:ops-alarms"]
  }

  assert {
    condition = [
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Principal.Service
      if s.Sid == "CloudWatchLogsEncryptsTheFunctionLogGroup"
    ] == ["logs.cn-north-1.amazonaws.com.cn"]
    error_message = "In aws-cn the CloudWatch Logs service principal is logs.REGION.amazonaws.com.cn: ${aws_kms_key.this.policy}"
  }
}
