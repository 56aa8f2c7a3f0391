# Every input validation rule and every precondition must reject a bad input; boundary values must pass.
# To keep the suite fast, a validation run breaks several variables at once, but at most one rule per
# variable, and expect_failures lists each of them: Terraform fails the run if any listed variable does
# not report its error, or if anything else fails. Preconditions get one run each.

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

run "boundary_values_are_accepted" {
  command = plan

  variables {
    name = "Fss_post-scan_456789012345678901234567890123456"
    scan_result_topic_arns = {
      "Stack_1-a" = "arn:aws:sns:eu-west-1:999988887777:${join("", [for i in range(256) : "t"])}"
      other       = "arn:aws:sns:eu-west-1:222233334444:fss-ScanResultTopic-BBBB"
    }
    bucket_names                                = ["abc", "my.dotted-bucket.example", "a23456789012345678901234567890123456789012345678901234567890123"]
    subscription_filter_policy                  = "{\"scanner_status\": [{\"anything-but\": 0}]}"
    file_id_tag_key                             = join("", [for i in range(128) : "k"])
    extract_file_id                             = true
    file_id_table_name                          = "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/app.files_v2"
    record_verdicts                             = ["malicious", "clean", "incomplete", "failed", "unscanned"]
    log_level                                   = "CRITICAL"
    metrics_namespace                           = "Company/Storage.Post-Scan"
    kms_key_arns                                = ["arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"]
    runtime                                     = "python3.11"
    memory_size                                 = 10240
    timeout                                     = 900
    reserved_concurrent_executions              = 0
    tracing_mode                                = "PassThrough"
    vpc_subnet_ids                              = ["subnet-12345678"]
    vpc_security_group_ids                      = ["sg-0123456789abcdef0"]
    cloudwatch_logs_retention_in_days           = 3653
    dead_letter_queue_message_retention_seconds = 60
    maximum_retry_attempts                      = 0
    maximum_event_age_in_seconds                = 21600
    role_path                                   = "/a/b/"
    role_permissions_boundary_arn               = "arn:aws:iam::aws:policy/PowerUserAccess"
  }

  assert {
    condition     = aws_lambda_function.this.function_name == "Fss_post-scan_456789012345678901234567890123456"
    error_message = "Boundary values must plan."
  }
}


run "rejects_invalid_inputs_1" {
  command = plan

  variables {
    name                                        = "fss post scan"                                      # name with invalid characters
    subscription_filter_policy                  = "{scanner_status: 0"                                 # filter policy not json
    subscription_filter_policy_scope            = "Body"                                               # filter policy scope unknown
    file_id_tag_key                             = ""                                                   # empty tag key
    file_id_table_name                          = "ab"                                                 # table name too short
    file_id_table_key                           = ""                                                   # empty table key
    file_id_table_kms_key_arn                   = "arn:aws:kms:eu-west-1:111122223333:alias/app"       # table kms key alias
    record_verdicts                             = ["malicious", "infected"]                            # unknown verdict
    log_level                                   = "TRACE"                                              # unknown log level
    metrics_namespace                           = "fss:post-scan"                                      # metrics namespace with colon
    kms_key_arns                                = ["arn:aws:kms:eu-west-1:111122223333:alias/uploads"] # kms key alias arn
    runtime                                     = "python3.10"                                         # unsupported runtime
    architecture                                = "arm"                                                # unknown architecture
    memory_size                                 = 64                                                   # memory below 128
    timeout                                     = 0                                                    # timeout zero
    reserved_concurrent_executions              = -1                                                   # negative reserved concurrency
    tracing_mode                                = "Enabled"                                            # unknown tracing mode
    vpc_subnet_ids                              = ["private-a"]                                        # subnet name instead of id
    vpc_security_group_ids                      = ["default"]                                          # security group name instead of id
    cloudwatch_logs_retention_in_days           = 45                                                   # retention not accepted by cloudwatch
    cloudwatch_logs_kms_key_arn                 = "alias/logs"                                         # logs kms key not an arn
    dead_letter_queue_kms_key_arn               = "alias/aws/sqs"                                      # dlq kms key not an arn
    dead_letter_queue_message_retention_seconds = 59                                                   # dlq retention below 60
    maximum_retry_attempts                      = 3                                                    # three retries
    maximum_event_age_in_seconds                = 59                                                   # event age below 60
    role_path                                   = "service/"                                           # role path without leading slash
    role_permissions_boundary_arn               = "arn:aws:iam::111122223333:role/boundary"            # boundary is a role arn
  }

  expect_failures = [
    var.name,
    var.subscription_filter_policy,
    var.subscription_filter_policy_scope,
    var.file_id_tag_key,
    var.file_id_table_name,
    var.file_id_table_key,
    var.file_id_table_kms_key_arn,
    var.record_verdicts,
    var.log_level,
    var.metrics_namespace,
    var.kms_key_arns,
    var.runtime,
    var.architecture,
    var.memory_size,
    var.timeout,
    var.reserved_concurrent_executions,
    var.tracing_mode,
    var.vpc_subnet_ids,
    var.vpc_security_group_ids,
    var.cloudwatch_logs_retention_in_days,
    var.cloudwatch_logs_kms_key_arn,
    var.dead_letter_queue_kms_key_arn,
    var.dead_letter_queue_message_retention_seconds,
    var.maximum_retry_attempts,
    var.maximum_event_age_in_seconds,
    var.role_path,
    var.role_permissions_boundary_arn,
  ]
}

run "rejects_invalid_inputs_2" {
  command = plan

  variables {
    name                                        = "a234567890123456789012345678901234567890123456789"             # name longer than 48
    scan_result_topic_arns                      = { "my stack" = "arn:aws:sns:eu-west-1:999988887777:fss-topic" } # topic key with invalid characters
    bucket_names                                = ["Uploads"]                                                     # bucket with uppercase
    file_id_tag_key                             = join("", [for i in range(129) : "k"])                           # tag key longer than 128
    file_id_table_name                          = "app files"                                                     # table name with space
    record_verdicts                             = ["clean", "clean"]                                              # verdict twice
    log_level                                   = "info"                                                          # lowercase log level
    metrics_namespace                           = "AWS/Lambda"                                                    # metrics namespace reserved for aws
    kms_key_arns                                = ["1234abcd-12ab-34cd-56ef-1234567890ab"]                        # kms key id instead of arn
    memory_size                                 = 10241                                                           # memory above 10240
    timeout                                     = 901                                                             # timeout above 900
    dead_letter_queue_message_retention_seconds = 1209601                                                         # dlq retention above 14 days
    maximum_event_age_in_seconds                = 21601                                                           # event age above 6 hours
    role_path                                   = "/service"                                                      # role path without trailing slash
  }

  expect_failures = [
    var.name,
    var.scan_result_topic_arns,
    var.bucket_names,
    var.file_id_tag_key,
    var.file_id_table_name,
    var.record_verdicts,
    var.log_level,
    var.metrics_namespace,
    var.kms_key_arns,
    var.memory_size,
    var.timeout,
    var.dead_letter_queue_message_retention_seconds,
    var.maximum_event_age_in_seconds,
    var.role_path,
  ]
}

run "rejects_invalid_inputs_3" {
  command = plan

  variables {
    scan_result_topic_arns = { stack = "arn:aws:sqs:eu-west-1:999988887777:fss-topic" }        # topic arn of another service
    bucket_names           = ["uploads-*"]                                                     # bucket wildcard
    file_id_table_name     = "arn:aws:dynamodb:eu-west-1:111122223333:table/app/index/by-user" # table arn of an index
    metrics_namespace      = ""                                                                # empty metrics namespace
    memory_size            = 200.5                                                             # fractional memory
  }

  expect_failures = [
    var.scan_result_topic_arns,
    var.bucket_names,
    var.file_id_table_name,
    var.metrics_namespace,
    var.memory_size,
  ]
}

run "rejects_invalid_inputs_4" {
  command = plan

  variables {
    scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:9999:fss-topic" } # topic arn with short account
    bucket_names           = ["arn:aws:s3:::uploads-*"]                         # bucket arn with a wildcard
    file_id_tag_key        = " file_id"                                         # leading space (the engine strips it)
    file_id_table_key      = "file_id "                                         # trailing space (the created key would differ)
    metrics_namespace      = " FSSPostScan"                                     # leading space (alarms on another namespace)
  }

  expect_failures = [
    var.scan_result_topic_arns,
    var.bucket_names,
    var.file_id_tag_key,
    var.file_id_table_key,
    var.metrics_namespace,
  ]
}

run "rejects_invalid_inputs_5" {
  command = plan

  variables {
    scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-topic.fifo" } # fifo topic
    bucket_names           = ["my..bucket"]                                                  # bucket with double dot
  }

  expect_failures = [
    var.scan_result_topic_arns,
    var.bucket_names,
  ]
}

run "rejects_invalid_inputs_6" {
  command = plan

  variables {
    # same topic twice
    scan_result_topic_arns = {
      a = "arn:aws:sns:eu-west-1:999988887777:fss-topic"
      b = "arn:aws:sns:eu-west-1:999988887777:fss-topic"
    }
    bucket_names = ["uploads", "uploads"] # same bucket twice
  }

  expect_failures = [
    var.scan_result_topic_arns,
    var.bucket_names,
  ]
}

run "rejects_created_and_existing_table_together" {
  command = plan

  variables {
    extract_file_id      = true
    create_file_id_table = true
    file_id_table_name   = "app-files"
  }

  expect_failures = [aws_lambda_function.this]
}

# Turning extract_file_id off alone is a warning (check block), not an error; the created table
# stays, and the function gets neither the table permission nor a reason to fail.
run "warns_created_table_without_extract_file_id" {
  command = plan

  variables {
    create_file_id_table = true
  }

  expect_failures = [check.file_id_table_is_used]

  assert {
    condition     = length(aws_dynamodb_table.this) == 1
    error_message = "The created table (and the verdicts in it) must stay when extract_file_id is turned off."
  }
  assert {
    condition     = !contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "RecordVerdicts")
    error_message = "Without extract_file_id nothing is recorded, so no UpdateItem permission."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["EXTRACT_FILE_ID"] == "false"
    error_message = "The function does not extract file ids."
  }
}

run "warns_existing_table_without_extract_file_id" {
  command = plan

  variables {
    file_id_table_name = "app-files"
  }

  expect_failures = [check.file_id_table_is_used]
}

run "accepts_bucket_arns_like_routes" {
  command = plan

  variables {
    bucket_names = ["arn:aws:s3:::uploads-bucket", "archive-bucket"]
    routes       = { malicious = { bucket = "arn:aws:s3:::quarantine-bucket" } }
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "uploads-bucket,archive-bucket"
    error_message = "Bucket ARNs reach the function as names: ${aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"]}"
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Resource if contains(["ReadScannedObjects", "ListScannedBuckets"], s.Sid)
      } == {
      ReadScannedObjects = ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::archive-bucket/*"]
      ListScannedBuckets = ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::archive-bucket"]
    }
    error_message = "Bucket ARNs are scoped like names in the policy."
  }
}

run "rejects_bucket_arns_of_another_partition" {
  command = plan

  variables {
    # The mock provider's partition is aws: these ARNs name buckets elsewhere.
    bucket_names = ["uploads-bucket", "arn:aws-cn:s3:::uploads-cn"]
    routes       = { malicious = { bucket = "arn:aws-us-gov:s3:::quarantine-bucket" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_bucket_given_by_name_and_by_arn" {
  command = plan

  variables {
    bucket_names = ["uploads-bucket", "arn:aws:s3:::uploads-bucket"]
  }

  expect_failures = [var.bucket_names]
}

run "rejects_a_route_into_a_scanned_bucket_given_by_arn" {
  command = plan

  variables {
    bucket_names = ["arn:aws:s3:::uploads-bucket"]
    routes       = { malicious = { bucket = "uploads-bucket" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_subnets_without_security_groups" {
  command = plan

  variables {
    vpc_subnet_ids = ["subnet-0123456789abcdef0"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_security_groups_without_subnets" {
  command = plan

  variables {
    vpc_security_group_ids = ["sg-0123456789abcdef0"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_topic_in_another_region" {
  command = plan

  variables {
    scan_result_topic_arns = {
      here  = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA"
      there = "arn:aws:sns:us-east-1:999988887777:fss-ScanResultTopic-BBBB"
    }
  }

  expect_failures = [aws_sns_topic_subscription.this]
}

# Lists and maps: one bad entry among good ones per input (the message names it; the wording is
# checked by tests/apply/test_plan_validation_messages.py).
run "rejects_bad_list_and_map_entries" {
  command = plan

  variables {
    storage_stack_names                   = ["uploads-stack", "arn:aws:cloudformation:eu-west-1:999988887777:stack/x/1"]   # stack ARN
    bucket_name_patterns                  = ["uploads-*", "Uploads/*"]                                                     # uppercase and '/'
    routes                                = { malicious = { bucket = "q-bucket", prefix = "q/", bucket_owner = "12345" } } # short account id
    route_scan_types                      = ["manual", "full"]                                                             # unknown scan type
    scanner_routed_verdicts               = ["malicious", "infected"]                                                      # unknown verdict
    notify_email_addresses                = ["ops@example.com", "ops"]                                                     # not an address
    notify_email_verdicts                 = ["malicious", "virus"]                                                         # unknown verdict
    notify_verdicts                       = ["failed", "virus"]                                                            # unknown verdict
    read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/Scanner", "arn:aws:iam::111122223333:role/"]  # empty role name
    alarms                                = { errors_threshold = -1 }                                                      # negative threshold
  }

  expect_failures = [
    var.storage_stack_names,
    var.bucket_name_patterns,
    var.routes,
    var.route_scan_types,
    var.scanner_routed_verdicts,
    var.notify_email_addresses,
    var.notify_email_verdicts,
    var.notify_verdicts,
    var.read_protection_exempt_principal_arns,
    var.alarms,
  ]
}

run "rejects_list_entries_given_twice" {
  command = plan

  variables {
    storage_stack_names                   = ["uploads-stack", "archive-stack", "uploads-stack"]
    bucket_name_patterns                  = ["uploads-*", "archive-*", "uploads-*"]
    route_scan_types                      = ["manual", "schedule", "manual"]
    scanner_routed_verdicts               = ["clean", "malicious", "clean"]
    notify_email_addresses                = ["ops@example.com", "sec@example.com", "ops@example.com"]
    notify_verdicts                       = ["failed", "malicious", "failed"]
    read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/A", "arn:aws:iam::111122223333:role/B", "arn:aws:iam::111122223333:role/A"]
  }

  expect_failures = [
    var.storage_stack_names,
    var.bucket_name_patterns,
    var.route_scan_types,
    var.scanner_routed_verdicts,
    var.notify_email_addresses,
    var.notify_verdicts,
    var.read_protection_exempt_principal_arns,
  ]
}

run "rejects_exemptions_of_every_role" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/Scanner", "arn:aws:iam::111122223333:role/*"]
  }

  expect_failures = [var.read_protection_exempt_principal_arns]
}

run "null_lists_and_maps_mean_their_defaults" {
  command = plan

  variables {
    extract_file_id        = true
    create_file_id_table   = true
    record_verdicts        = null
    routes                 = null
    notify_email_addresses = null
    kms_key_arns           = null
    vpc_subnet_ids         = null
    vpc_security_group_ids = null
    tags                   = null
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["RECORD_VERDICTS"] == "malicious,incomplete,failed,unscanned" &&
      length(aws_lambda_function.this.vpc_config) == 0 &&
      length(aws_iam_role_policy.this) > 0
    )
    error_message = "null for a list or map input must mean its default, not an error."
  }
}

run "rejects_a_namespace_cloudwatch_refuses" {
  command = plan

  variables {
    metrics_namespace = "Équipe/Uploads"
  }

  expect_failures = [var.metrics_namespace]
}
