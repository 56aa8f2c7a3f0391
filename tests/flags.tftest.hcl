# Plan-level tests of the feature flags: for each combination, which resources exist, what the
# function's environment holds (the engine's contract) and exactly which IAM statements the role gets.
# No AWS access: the aws provider is mocked, with computed values fixed during plan.

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
  bucket_names           = ["uploads-bucket", "my.dotted.bucket"]
}

run "defaults_only_log_verdicts" {
  command = plan

  assert {
    condition     = length(aws_dynamodb_table.this) == 0
    error_message = "No table may be created by default."
  }
  assert {
    condition = (
      length(aws_guardduty_malware_protection_plan.this) == 0 && length(aws_iam_role.guardduty) == 0 &&
      length(aws_iam_role_policy.guardduty) == 0 && length(aws_cloudwatch_event_rule.guardduty) == 0 &&
      length(aws_cloudwatch_event_target.guardduty) == 0 && keys(aws_lambda_permission.this) == ["stack"] &&
      output.guardduty_plan_arns == {} && output.guardduty_rule_arns == {}
    )
    error_message = "Without guardduty_plans nothing of GuardDuty's exists."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Effect, s.Action, s.Resource]
      } == {
      WriteOwnLogs = ["Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      SendFailedEventsToDeadLetterQueue = ["Allow", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
    }
    error_message = "Default policy must only write logs and send to the DLQ, got: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 2
    error_message = "Duplicate statement ids in the default policy."
  }
  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      ALLOWED_BUCKETS      = "uploads-bucket,my.dotted.bucket"
      ALLOWED_TOPIC_ARNS   = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA"
      GUARDDUTY_PLAN_ARNS  = ""
      DELETE_MALICIOUS     = "false"
      EXTRACT_FILE_ID      = "false"
      DRY_RUN              = "false"
      FILE_ID_TAG_KEY      = "file_id"
      FILE_ID_TABLE        = ""
      FILE_ID_TABLE_KEY    = "file_id"
      FILE_ID_TABLE_UPSERT = "true"
      RECORD_VERDICTS      = "malicious,incomplete,failed,unscanned"
      LOG_LEVEL            = "INFO"
      METRICS_NAMESPACE    = "FSSPostScan"
      READ_PROTECTION      = "off"

      QUEUE_MAX_RECEIVE_COUNT = ""
      DEAD_LETTER_QUEUE_ARN   = ""

      EXPECTED_BUCKET_OWNER         = "111122223333"
      ROUTE_MALICIOUS               = ""
      ROUTE_MALICIOUS_KMS_KEY_ARN   = ""
      ROUTE_MALICIOUS_BUCKET_OWNER  = ""
      ROUTE_CLEAN                   = ""
      ROUTE_CLEAN_KMS_KEY_ARN       = ""
      ROUTE_CLEAN_BUCKET_OWNER      = ""
      ROUTE_INCOMPLETE              = ""
      ROUTE_INCOMPLETE_KMS_KEY_ARN  = ""
      ROUTE_INCOMPLETE_BUCKET_OWNER = ""
      ROUTE_FAILED                  = ""
      ROUTE_FAILED_KMS_KEY_ARN      = ""
      ROUTE_FAILED_BUCKET_OWNER     = ""
      ROUTE_UNSCANNED               = ""
      ROUTE_UNSCANNED_KMS_KEY_ARN   = ""
      ROUTE_UNSCANNED_BUCKET_OWNER  = ""
      ROUTE_MODE                    = "move"

      EVENT_BUS                = ""
      EVENT_SOURCE             = "fss-post-scan"
      NOTIFY_TOPIC_ARN         = ""
      NOTIFY_VERDICTS          = "malicious,incomplete,failed,unscanned"
      NOTIFY_CHAT              = "true"
      SECURITY_HUB_PRODUCT_ARN = ""
      ROUTE_SCAN_TYPES         = "object created"
      SCANNER_ROUTED_VERDICTS  = ""
    })
    error_message = "Default environment does not match the contract: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = (
      aws_lambda_function.this.function_name == "fss-post-scan" &&
      aws_lambda_function.this.handler == "post_scan.handler.lambda_handler" &&
      aws_lambda_function.this.runtime == "python3.13" &&
      aws_lambda_function.this.architectures == tolist(["arm64"]) &&
      aws_lambda_function.this.memory_size == 256 &&
      aws_lambda_function.this.timeout == 60 &&
      aws_lambda_function.this.role == "arn:aws:iam::111122223333:role/fss-post-scan-post-scan"
    )
    error_message = "Function defaults (name, handler, runtime, architecture, memory, timeout, role) are wrong."
  }
  assert {
    condition     = aws_lambda_function.this.source_code_hash == archive_file.this.output_base64sha256 && aws_lambda_function.this.filename == archive_file.this.output_path
    error_message = "The function must deploy the archive built by archive_file.this."
  }
  assert {
    condition     = length(aws_lambda_function.this.tracing_config) == 0 && length(aws_lambda_function.this.vpc_config) == 0
    error_message = "No tracing or VPC configuration by default."
  }
}

run "delete_malicious_only" {
  command = plan

  variables {
    delete_malicious = true
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 0
    error_message = "Deleting needs no table."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Effect, s.Action, s.Resource]
      } == {
      WriteOwnLogs = ["Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      SendFailedEventsToDeadLetterQueue = ["Allow", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      ReadScannedObjects = ["Allow", ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      ListScannedBuckets = ["Allow", ["s3:ListBucket", "s3:ListBucketVersions"],
      ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::my.dotted.bucket"]]
      DeleteScannedObjects = ["Allow", ["s3:DeleteObject", "s3:DeleteObjectVersion"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
    }
    error_message = "Delete-only policy is wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["DELETE_MALICIOUS"] == "true" &&
      aws_lambda_function.this.environment[0].variables["EXTRACT_FILE_ID"] == "false" &&
      aws_lambda_function.this.environment[0].variables["DRY_RUN"] == "false" &&
      aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE"] == ""
    )
    error_message = "Delete-only environment is wrong: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
}

run "extract_file_id_without_table_only_logs" {
  command = plan

  variables {
    extract_file_id = true
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 0
    error_message = "No table was asked for."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Effect, s.Action, s.Resource]
      } == {
      WriteOwnLogs = ["Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      SendFailedEventsToDeadLetterQueue = ["Allow", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      ReadScannedObjects = ["Allow", ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      ListScannedBuckets = ["Allow", ["s3:ListBucket", "s3:ListBucketVersions"],
      ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::my.dotted.bucket"]]
    }
    error_message = "Extract-only policy must read but never delete or write a table: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["DELETE_MALICIOUS"] == "false" &&
      aws_lambda_function.this.environment[0].variables["EXTRACT_FILE_ID"] == "true" &&
      aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE"] == ""
    )
    error_message = "Extract-only environment is wrong: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition     = output.file_id_table_name == null && output.file_id_table_arn == null
    error_message = "Table outputs must be null when no table is created."
  }
}

run "extract_file_id_into_created_table" {
  command = plan

  variables {
    extract_file_id      = true
    create_file_id_table = true
    tags                 = { team = "storage" }
  }

  assert {
    condition = (
      length(aws_dynamodb_table.this) == 1 &&
      aws_dynamodb_table.this[0].name == "fss-post-scan-file-ids" &&
      aws_dynamodb_table.this[0].billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.this[0].hash_key == "file_id" &&
      aws_dynamodb_table.this[0].deletion_protection_enabled == false &&
      aws_dynamodb_table.this[0].tags == tomap({ team = "storage" })
    )
    error_message = "The created table must be on-demand, keyed by file_id, tagged, without deletion protection by default."
  }
  assert {
    condition     = [for a in aws_dynamodb_table.this[0].attribute : [a.name, a.type]] == [["file_id", "S"]]
    error_message = "The table's only attribute must be the string key file_id."
  }
  assert {
    condition = (
      aws_dynamodb_table.this[0].server_side_encryption[0].enabled == true &&
      aws_dynamodb_table.this[0].point_in_time_recovery[0].enabled == true
    )
    error_message = "The table must be encrypted with point-in-time recovery."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Effect, s.Action, s.Resource]
      } == {
      WriteOwnLogs = ["Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      SendFailedEventsToDeadLetterQueue = ["Allow", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      ReadScannedObjects = ["Allow", ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      ListScannedBuckets = ["Allow", ["s3:ListBucket", "s3:ListBucketVersions"],
      ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::my.dotted.bucket"]]
      RecordVerdicts = ["Allow", ["dynamodb:UpdateItem"], ["arn:aws:dynamodb:eu-west-1:111122223333:table/fss-post-scan-file-ids"]]
    }
    error_message = "Extract + created table policy is wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["EXTRACT_FILE_ID"] == "true" &&
      aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE"] == "fss-post-scan-file-ids" &&
      aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE_KEY"] == "file_id"
    )
    error_message = "The function must be told the created table's name: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = (
      output.file_id_table_name == "fss-post-scan-file-ids" &&
      output.file_id_table_arn == "arn:aws:dynamodb:eu-west-1:111122223333:table/fss-post-scan-file-ids"
    )
    error_message = "Table outputs must describe the created table."
  }
}

run "created_table_options" {
  command = plan

  variables {
    extract_file_id                   = true
    create_file_id_table              = true
    file_id_table_key                 = "id"
    file_id_table_kms_key_arn         = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    file_id_table_deletion_protection = true
  }

  assert {
    condition = (
      aws_dynamodb_table.this[0].hash_key == "id" &&
      [for a in aws_dynamodb_table.this[0].attribute : [a.name, a.type]] == [["id", "S"]] &&
      aws_dynamodb_table.this[0].deletion_protection_enabled == true &&
      aws_dynamodb_table.this[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    error_message = "Table key, deletion protection and CMK inputs must reach the table."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE_KEY"] == "id"
    error_message = "FILE_ID_TABLE_KEY must follow file_id_table_key."
  }
  assert {
    condition     = !contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "DecryptWithListedKeys")
    error_message = "The table CMK is not granted implicitly: kms:Decrypt is only for keys listed in kms_key_arns."
  }
}

run "extract_file_id_into_existing_table_by_name" {
  command = plan

  variables {
    extract_file_id    = true
    file_id_table_name = "app-files"
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 0
    error_message = "An existing table must not be created."
  }
  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : [s.Action, s.Resource] if s.Sid == "RecordVerdicts"
    ] == [[["dynamodb:UpdateItem"], ["arn:aws:dynamodb:eu-west-1:111122223333:table/app-files"]]]
    error_message = "UpdateItem must be granted on exactly the named table in this account and region: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      toset([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid]) ==
      toset(["WriteOwnLogs", "SendFailedEventsToDeadLetterQueue", "ReadScannedObjects", "ListScannedBuckets", "RecordVerdicts"])
    )
    error_message = "Extract + existing table statements are wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE"] == "app-files"
    error_message = "FILE_ID_TABLE must be the existing table's name."
  }
  assert {
    condition     = output.file_id_table_name == null && output.file_id_table_arn == null
    error_message = "Table outputs describe only a created table."
  }
}

run "extract_file_id_into_existing_table_by_arn" {
  command = plan

  variables {
    extract_file_id    = true
    file_id_table_name = "arn:aws:dynamodb:eu-west-1:444455556666:table/shared-files"
  }

  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : [s.Action, s.Resource] if s.Sid == "RecordVerdicts"
    ] == [[["dynamodb:UpdateItem"], ["arn:aws:dynamodb:eu-west-1:444455556666:table/shared-files"]]]
    error_message = "UpdateItem must be granted on exactly the given table ARN: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE"] == "arn:aws:dynamodb:eu-west-1:444455556666:table/shared-files"
    error_message = "FILE_ID_TABLE must pass the table ARN through."
  }
}

run "delete_and_extract_into_created_table" {
  command = plan

  variables {
    delete_malicious     = true
    extract_file_id      = true
    create_file_id_table = true
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 1
    error_message = "The table must be created."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Effect, s.Action, s.Resource]
      } == {
      WriteOwnLogs = ["Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      SendFailedEventsToDeadLetterQueue = ["Allow", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      ReadScannedObjects = ["Allow", ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      ListScannedBuckets = ["Allow", ["s3:ListBucket", "s3:ListBucketVersions"],
      ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::my.dotted.bucket"]]
      DeleteScannedObjects = ["Allow", ["s3:DeleteObject", "s3:DeleteObjectVersion"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      RecordVerdicts = ["Allow", ["dynamodb:UpdateItem"], ["arn:aws:dynamodb:eu-west-1:111122223333:table/fss-post-scan-file-ids"]]
    }
    error_message = "Delete + extract + table policy is wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 6 &&
      alltrue([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Effect == "Allow"])
    )
    error_message = "Exactly five Allow statements expected."
  }
}

run "every_flag_with_existing_table_and_dry_run" {
  command = plan

  # The existing table is keyed by pk (checks.tf reads it at plan).
  override_data {
    target = data.aws_dynamodb_table.file_id_table[0]
    values = { name = "app-files", hash_key = "pk", range_key = "", attribute = [{ name = "pk", type = "S" }] }
  }

  variables {
    delete_malicious     = true
    extract_file_id      = true
    file_id_tag_key      = "app-file-id"
    file_id_table_name   = "app-files"
    file_id_table_key    = "pk"
    file_id_table_upsert = false
    record_verdicts      = ["malicious", "clean"]
    dry_run              = true
    log_level            = "DEBUG"
    metrics_namespace    = "Storage/PostScan"
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      ALLOWED_BUCKETS      = "uploads-bucket,my.dotted.bucket"
      ALLOWED_TOPIC_ARNS   = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA"
      GUARDDUTY_PLAN_ARNS  = ""
      DELETE_MALICIOUS     = "true"
      EXTRACT_FILE_ID      = "true"
      DRY_RUN              = "true"
      FILE_ID_TAG_KEY      = "app-file-id"
      FILE_ID_TABLE        = "app-files"
      FILE_ID_TABLE_KEY    = "pk"
      FILE_ID_TABLE_UPSERT = "false"
      RECORD_VERDICTS      = "malicious,clean"
      LOG_LEVEL            = "DEBUG"
      METRICS_NAMESPACE    = "Storage/PostScan"
      READ_PROTECTION      = "off"

      QUEUE_MAX_RECEIVE_COUNT = ""
      DEAD_LETTER_QUEUE_ARN   = ""

      EXPECTED_BUCKET_OWNER         = "111122223333"
      ROUTE_MALICIOUS               = ""
      ROUTE_MALICIOUS_KMS_KEY_ARN   = ""
      ROUTE_MALICIOUS_BUCKET_OWNER  = ""
      ROUTE_CLEAN                   = ""
      ROUTE_CLEAN_KMS_KEY_ARN       = ""
      ROUTE_CLEAN_BUCKET_OWNER      = ""
      ROUTE_INCOMPLETE              = ""
      ROUTE_INCOMPLETE_KMS_KEY_ARN  = ""
      ROUTE_INCOMPLETE_BUCKET_OWNER = ""
      ROUTE_FAILED                  = ""
      ROUTE_FAILED_KMS_KEY_ARN      = ""
      ROUTE_FAILED_BUCKET_OWNER     = ""
      ROUTE_UNSCANNED               = ""
      ROUTE_UNSCANNED_KMS_KEY_ARN   = ""
      ROUTE_UNSCANNED_BUCKET_OWNER  = ""
      ROUTE_MODE                    = "move"

      EVENT_BUS                = ""
      EVENT_SOURCE             = "fss-post-scan"
      NOTIFY_TOPIC_ARN         = ""
      NOTIFY_VERDICTS          = "malicious,incomplete,failed,unscanned"
      NOTIFY_CHAT              = "true"
      SECURITY_HUB_PRODUCT_ARN = ""
      ROUTE_SCAN_TYPES         = "object created"
      SCANNER_ROUTED_VERDICTS  = ""
    })
    error_message = "Every flag must reach the function through its contract variable: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = (
      toset([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid]) ==
      toset(["WriteOwnLogs", "SendFailedEventsToDeadLetterQueue", "ReadScannedObjects", "ListScannedBuckets", "DeleteScannedObjects", "RecordVerdicts"])
    )
    error_message = "Dry run keeps the statements of the enabled flags: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(aws_dynamodb_table.this) == 0
    error_message = "An existing table must not be created."
  }
}

run "no_verdicts_recorded" {
  command = plan

  variables {
    extract_file_id      = true
    create_file_id_table = true
    record_verdicts      = []
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["RECORD_VERDICTS"] == ""
    error_message = "An empty record_verdicts must reach the function as an empty string."
  }
}
