# Plan-level tests of the module's other inputs: subscriptions and their fan-out, the dead-letter
# queue and retries, logs, KMS, tracing, VPC, IAM role settings, naming, partitions, tags, outputs.

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

run "one_permission_and_subscription_per_topic" {
  command = plan

  variables {
    scan_result_topic_arns = {
      a_main    = "arn:aws:sns:eu-west-1:999988887777:fss-b"
      b_partner = "arn:aws:sns:eu-west-1:222233334444:fss-a"
    }
    subscription_filter_policy = jsonencode({ scanner_status = [0] })
  }

  assert {
    condition = {
      for k, p in aws_lambda_permission.this : k => [p.statement_id, p.action, p.principal, p.source_arn, p.function_name]
      } == {
      a_main    = ["AllowSNS-a_main-c561f9c6", "lambda:InvokeFunction", "sns.amazonaws.com", "arn:aws:sns:eu-west-1:999988887777:fss-b", "fss-post-scan"]
      b_partner = ["AllowSNS-b_partner-12812a97", "lambda:InvokeFunction", "sns.amazonaws.com", "arn:aws:sns:eu-west-1:222233334444:fss-a", "fss-post-scan"]
    }
    error_message = "Each topic needs its own invoke permission limited to that topic (statement id: key and the ARN's hash)."
  }
  assert {
    condition = {
      for k, s in aws_sns_topic_subscription.this : k => [s.topic_arn, s.protocol, s.endpoint, s.filter_policy, s.filter_policy_scope]
      } == {
      a_main    = ["arn:aws:sns:eu-west-1:999988887777:fss-b", "lambda", "arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan", "{\"scanner_status\":[0]}", "MessageBody"]
      b_partner = ["arn:aws:sns:eu-west-1:222233334444:fss-a", "lambda", "arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan", "{\"scanner_status\":[0]}", "MessageBody"]
    }
    error_message = "Each topic needs a lambda subscription to the function with the filter policy."
  }
  assert {
    condition = alltrue([
      for s in aws_sns_topic_subscription.this :
      jsondecode(s.redrive_policy) == { deadLetterTargetArn = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq" }
    ])
    error_message = "Every subscription must redrive undeliverable messages to the dead-letter queue."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == "arn:aws:sns:eu-west-1:222233334444:fss-a,arn:aws:sns:eu-west-1:999988887777:fss-b"
    error_message = "ALLOWED_TOPIC_ARNS must list every topic, sorted."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.this.policy).Statement == [{
      Sid       = "AllowScanResultTopicsRedrive"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
      Condition = { ArnEquals = { "aws:SourceArn" = ["arn:aws:sns:eu-west-1:222233334444:fss-a", "arn:aws:sns:eu-west-1:999988887777:fss-b"] } }
      }, {
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "The queue policy must let exactly the subscribed topics redrive into the queue: ${aws_sqs_queue_policy.this.policy}"
  }
  assert {
    condition     = aws_sqs_queue_policy.this.queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq"
    error_message = "The queue policy must be attached to the dead-letter queue."
  }
  assert {
    condition     = keys(output.sns_subscription_arns) == ["a_main", "b_partner"]
    error_message = "sns_subscription_arns must be keyed like scan_result_topic_arns."
  }
}

run "no_filter_policy_by_default" {
  command = plan

  assert {
    condition     = aws_sns_topic_subscription.this["stack"].filter_policy == null
    error_message = "No filter policy by default: every scan result reaches the function."
  }
}

run "filter_policy_on_message_attributes" {
  command = plan

  variables {
    subscription_filter_policy       = "{\"verdict\": [\"malicious\"]}"
    subscription_filter_policy_scope = "MessageAttributes"
  }

  assert {
    condition     = aws_sns_topic_subscription.this["stack"].filter_policy_scope == "MessageAttributes"
    error_message = "The filter policy scope must be passed through."
  }
}

run "dead_letter_queue_and_retries_defaults" {
  command = plan

  assert {
    condition = (
      aws_sqs_queue.this.name == "fss-post-scan-dlq" &&
      aws_sqs_queue.this.message_retention_seconds == 1209600 &&
      aws_sqs_queue.this.sqs_managed_sse_enabled == true &&
      aws_sqs_queue.this.kms_master_key_id == null
    )
    error_message = "The DLQ must keep messages 14 days, encrypted with SQS-managed keys by default."
  }
  assert {
    condition = (
      aws_lambda_function_event_invoke_config.this.function_name == "fss-post-scan" &&
      aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2 &&
      aws_lambda_function_event_invoke_config.this.maximum_event_age_in_seconds == 21600 &&
      aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq" &&
      length(aws_lambda_function_event_invoke_config.this.destination_config[0].on_success) == 0
    )
    error_message = "Failed async events must go to the DLQ after the default retries."
  }
  assert {
    condition     = !contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "UseDeadLetterQueueKey")
    error_message = "No KMS permission without a DLQ key."
  }
}

run "dead_letter_queue_with_cmk_and_custom_retries" {
  command = plan

  variables {
    dead_letter_queue_kms_key_arn               = "arn:aws:kms:eu-west-1:111122223333:key/dlq-key"
    dead_letter_queue_message_retention_seconds = 86400
    maximum_retry_attempts                      = 0
    maximum_event_age_in_seconds                = 60
  }

  assert {
    condition = (
      aws_sqs_queue.this.kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/dlq-key" &&
      aws_sqs_queue.this.message_retention_seconds == 86400
    )
    error_message = "The DLQ key and retention must reach the queue."
  }
  assert {
    condition = (
      aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 0 &&
      aws_lambda_function_event_invoke_config.this.maximum_event_age_in_seconds == 60
    )
    error_message = "Retry count and event age must reach the invoke config."
  }
  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : [s.Action, s.Resource] if s.Sid == "UseDeadLetterQueueKey"
    ] == [[["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/dlq-key"]]]
    error_message = "Sending to a CMK-encrypted DLQ needs GenerateDataKey and Decrypt on that key only: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 3
    error_message = "Only the DLQ key statement may be added."
  }
}

run "log_group_defaults" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_log_group.this.name == "/aws/lambda/fss-post-scan" &&
      aws_cloudwatch_log_group.this.retention_in_days == 365 &&
      aws_cloudwatch_log_group.this.kms_key_id == null
    )
    error_message = "The module owns /aws/lambda/<name> with one year of retention."
  }
  assert {
    condition     = output.cloudwatch_log_group_name == "/aws/lambda/fss-post-scan"
    error_message = "cloudwatch_log_group_name output is wrong."
  }
}

run "log_group_retention_and_key" {
  command = plan

  variables {
    cloudwatch_logs_retention_in_days = 0
    cloudwatch_logs_kms_key_arn       = "arn:aws:kms:eu-west-1:111122223333:key/logs-key"
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.this.retention_in_days == 0 &&
      aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:111122223333:key/logs-key"
    )
    error_message = "Retention and log KMS key must reach the log group."
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 2
    error_message = "The log group key is used by CloudWatch Logs, not by the function: no statement may be added."
  }
}

run "kms_key_arns_allow_decrypt_only" {
  command = plan

  variables {
    delete_malicious = true
    kms_key_arns = [
      "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ]
  }

  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : [s.Action, s.Resource] if s.Sid == "DecryptWithListedKeys"
      ] == [[["kms:Decrypt"], [
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ]]]
    error_message = "kms:Decrypt must be granted on exactly the listed keys: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "tracing_active_grants_xray" {
  command = plan

  variables {
    tracing_mode = "Active"
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "Tracing mode must reach the function."
  }
  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : [s.Action, s.Resource] if s.Sid == "WriteTraces"
    ] == [[["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]]]
    error_message = "Active tracing needs the two X-Ray write actions (they take no resource ARN): ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 3
    error_message = "Only the X-Ray statement may be added."
  }
}

run "tracing_passthrough_needs_no_permission" {
  command = plan

  variables {
    tracing_mode = "PassThrough"
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "PassThrough"
    error_message = "Tracing mode must reach the function."
  }
  assert {
    condition     = !contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "WriteTraces")
    error_message = "PassThrough does not send segments: no X-Ray permission."
  }
}

run "vpc_config_and_network_interfaces" {
  command = plan

  variables {
    vpc_subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
    vpc_security_group_ids = ["sg-0123456789abcdef0"]
  }

  assert {
    condition = (
      aws_lambda_function.this.vpc_config[0].subnet_ids == toset(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]) &&
      aws_lambda_function.this.vpc_config[0].security_group_ids == toset(["sg-0123456789abcdef0"])
    )
    error_message = "Subnets and security groups must reach the function."
  }
  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : [s.Action, s.Resource] if s.Sid == "ManageVpcNetworkInterfaces"
      ] == [[[
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:UnassignPrivateIpAddresses",
    ], ["*"]]]
    error_message = "A VPC function needs the ENI actions: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 3
    error_message = "Only the ENI statement may be added (no account-wide log permissions)."
  }
}

run "function_settings" {
  command = plan

  variables {
    runtime                        = "python3.12"
    architecture                   = "x86_64"
    memory_size                    = 1024
    timeout                        = 300
    reserved_concurrent_executions = 5
  }

  assert {
    condition = (
      aws_lambda_function.this.runtime == "python3.12" &&
      aws_lambda_function.this.architectures == tolist(["x86_64"]) &&
      aws_lambda_function.this.memory_size == 1024 &&
      aws_lambda_function.this.timeout == 300 &&
      aws_lambda_function.this.reserved_concurrent_executions == 5
    )
    error_message = "Function settings must reach the function."
  }
}

run "role_settings" {
  command = plan

  variables {
    role_path                     = "/service/storage/"
    role_permissions_boundary_arn = "arn:aws:iam::111122223333:policy/boundary"
  }

  assert {
    condition = (
      aws_iam_role.this.name == "fss-post-scan-post-scan" &&
      aws_iam_role.this.path == "/service/storage/" &&
      aws_iam_role.this.permissions_boundary == "arn:aws:iam::111122223333:policy/boundary"
    )
    error_message = "Role name, path and boundary are wrong."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
    error_message = "Only Lambda may assume the role."
  }
  assert {
    condition = alltrue([
      for sid, p in aws_iam_role_policy.this :
      p.role == "fss-post-scan-post-scan" && p.name == sid && jsondecode(p.policy).Statement[0].Sid == sid
    ])
    error_message = "Each inline policy belongs to the module's role and starts with the statement it is named after."
  }
}

run "longest_name_stays_within_aws_limits" {
  command = plan

  variables {
    name = "a23456789012345678901234567890123456789012345678"
  }

  assert {
    condition = (
      aws_lambda_function.this.function_name == "a23456789012345678901234567890123456789012345678" &&
      aws_iam_role.this.name == "a23456789012345678901234567890123456789012345678-post-scan" &&
      length(aws_iam_role.this.name) <= 64 &&
      aws_sqs_queue.this.name == "a23456789012345678901234567890123456789012345678-dlq" &&
      length(aws_sqs_queue.this.name) <= 80 &&
      aws_cloudwatch_log_group.this.name == "/aws/lambda/a23456789012345678901234567890123456789012345678"
    )
    error_message = "A 48-character name must keep the role within 64 characters and name everything else."
  }
}

run "other_partition_and_region" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "cn-north-1", name = "cn-north-1" }
  }

  variables {
    scan_result_topic_arns = { stack = "arn:aws-cn:sns:cn-north-1:999988887777:fss-ScanResultTopic-AAAA" }
    delete_malicious       = true
    extract_file_id        = true
    file_id_table_name     = "app-files"
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Resource if s.Sid != "SendFailedEventsToDeadLetterQueue"
      } == {
      WriteOwnLogs         = ["arn:aws-cn:logs:cn-north-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]
      ReadScannedObjects   = ["arn:aws-cn:s3:::uploads-bucket/*"]
      ListScannedBuckets   = ["arn:aws-cn:s3:::uploads-bucket"]
      DeleteScannedObjects = ["arn:aws-cn:s3:::uploads-bucket/*"]
      RecordVerdicts       = ["arn:aws-cn:dynamodb:cn-north-1:111122223333:table/app-files"]
    }
    error_message = "ARNs must use the provider's partition and region: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "tags_on_every_taggable_resource" {
  command = plan

  variables {
    tags                 = { team = "storage", env = "test" }
    extract_file_id      = true
    create_file_id_table = true
  }

  assert {
    condition = alltrue([
      for t in [
        aws_lambda_function.this.tags,
        aws_cloudwatch_log_group.this.tags,
        aws_iam_role.this.tags,
        aws_sqs_queue.this.tags,
        aws_dynamodb_table.this[0].tags,
      ] : t == tomap({ team = "storage", env = "test" })
    ])
    error_message = "tags must be applied to the function, log group, role, queue and table."
  }
}

run "outputs" {
  command = plan

  assert {
    condition = (
      output.lambda_function_name == "fss-post-scan" &&
      output.lambda_function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan" &&
      output.lambda_role_name == "fss-post-scan-post-scan" &&
      output.lambda_role_arn == "arn:aws:iam::111122223333:role/fss-post-scan-post-scan" &&
      output.cloudwatch_log_group_arn == "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan" &&
      output.dead_letter_queue_arn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq" &&
      output.dead_letter_queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq" &&
      output.sns_subscription_arns == { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA:sub-1" }
    )
    error_message = "Outputs must expose the created resources."
  }
}
