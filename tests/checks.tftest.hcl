# Plan-level tests of the mistakes checks.tf catches at plan: which listed buckets are read (and
# when), which file id tables are described and what their keys must be, and the warning when no
# alarm notifies anyone. What a missing bucket or a real table does against AWS's API is in
# tests/apply/test_plan_checks.py (the mocked provider reads anything).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

variables {
  name                   = "fss-post-scan"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket", "arn:aws:s3:::archive-bucket"]
  alarm_topic_arns       = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
}

################################################################################
# Listed buckets
################################################################################

run "reads_each_listed_bucket_at_plan" {
  command = plan

  override_data {
    target = data.aws_cloudformation_stack.storage["fss-storage-1"]
    values = { outputs = { ScanResultTopicARN = "arn:aws:sns:eu-west-1:111122223333:fss-storage-1-ScanResultTopic-1", ScanningBucket = "stack-bucket" } }
  }

  variables {
    storage_stack_names = ["fss-storage-1"]
  }

  assert {
    condition     = { for k, b in data.aws_s3_bucket.bucket_names : k => b.bucket } == { "0" = "uploads-bucket", "1" = "archive-bucket" }
    error_message = "Each bucket of bucket_names (an ARN by its name), keyed by its position, is read; a storage stack's bucket is not: ${jsonencode({ for k, b in data.aws_s3_bucket.bucket_names : k => b.bucket })}"
  }
  assert {
    condition     = length(terraform_data.bucket_names) == 0
    error_message = "In plan mode each bucket is read by its own name, with no terraform_data in between."
  }
}

run "reads_no_bucket_when_turned_off" {
  command = plan

  variables {
    check_bucket_names = "off"
  }

  assert {
    condition     = length(data.aws_s3_bucket.bucket_names) == 0 && length(terraform_data.bucket_names) == 0
    error_message = "check_bucket_names = off reads no bucket."
  }
}

run "apply_mode_reads_the_buckets_after_the_list_changed" {
  command = plan

  variables {
    check_bucket_names = "apply"
  }

  assert {
    condition     = terraform_data.bucket_names[0].input == tomap({ "0" = "uploads-bucket", "1" = "archive-bucket" })
    error_message = "The names pass through terraform_data (ARNs as names)."
  }
  assert {
    condition     = toset(keys(data.aws_s3_bucket.bucket_names)) == toset(["0", "1"])
    error_message = "apply mode still reads each listed bucket."
  }
}

run "rejects_an_unknown_check_mode" {
  command = plan

  variables {
    check_bucket_names = "never"
  }

  expect_failures = [var.check_bucket_names]
}

################################################################################
# The existing file id table
################################################################################

run "describes_an_existing_table_by_name" {
  command = plan

  variables {
    extract_file_id    = true
    file_id_table_name = "app-files"
  }

  assert {
    condition     = data.aws_dynamodb_table.file_id_table[0].name == "app-files"
    error_message = "An existing table given by name is described at plan."
  }
}

run "describes_a_table_of_this_account_and_region_by_arn" {
  command = plan

  variables {
    extract_file_id    = true
    file_id_table_name = "arn:aws:dynamodb:eu-west-1:111122223333:table/app-files"
  }

  assert {
    condition     = data.aws_dynamodb_table.file_id_table[0].name == "arn:aws:dynamodb:eu-west-1:111122223333:table/app-files"
    error_message = "A table of the function's account and region is described by its ARN."
  }
}

run "leaves_tables_of_other_accounts_and_regions_alone" {
  command = plan

  variables {
    extract_file_id    = true
    file_id_table_name = "arn:aws:dynamodb:eu-west-1:444455556666:table/app-files"
  }

  assert {
    condition     = length(data.aws_dynamodb_table.file_id_table) == 0
    error_message = "A table in another account is not described (its policy would have to allow it)."
  }
}

run "leaves_tables_of_other_regions_alone" {
  command = plan

  variables {
    extract_file_id    = true
    file_id_table_name = "arn:aws:dynamodb:us-east-1:111122223333:table/app-files"
  }

  assert {
    condition     = length(data.aws_dynamodb_table.file_id_table) == 0
    error_message = "A table in another region is not described."
  }
}

run "describes_no_table_when_none_is_used" {
  command = plan

  variables {
    create_file_id_table = true
    extract_file_id      = true
  }

  assert {
    condition     = length(data.aws_dynamodb_table.file_id_table) == 0
    error_message = "The created table is not described (the module sets its key)."
  }
}

run "describes_no_table_without_extract_file_id" {
  command = plan

  variables {
    file_id_table_name = "app-files"
  }

  expect_failures = [check.file_id_table_is_used]

  assert {
    condition     = length(data.aws_dynamodb_table.file_id_table) == 0
    error_message = "An unused table is not described."
  }
}

run "rejects_a_table_keyed_by_another_attribute" {
  command = plan

  override_data {
    target = data.aws_dynamodb_table.file_id_table[0]
    values = { name = "app-files", hash_key = "id", range_key = "", attribute = [{ name = "id", type = "S" }] }
  }

  variables {
    extract_file_id    = true
    file_id_table_name = "app-files"
  }

  expect_failures = [data.aws_dynamodb_table.file_id_table]
}

run "rejects_a_table_with_a_sort_key" {
  command = plan

  override_data {
    target = data.aws_dynamodb_table.file_id_table[0]
    values = { name = "app-files", hash_key = "file_id", range_key = "version", attribute = [{ name = "file_id", type = "S" }, { name = "version", type = "N" }] }
  }

  variables {
    extract_file_id    = true
    file_id_table_name = "app-files"
  }

  expect_failures = [data.aws_dynamodb_table.file_id_table]
}

run "rejects_a_table_with_a_number_key" {
  command = plan

  override_data {
    target = data.aws_dynamodb_table.file_id_table[0]
    values = { name = "app-files", hash_key = "file_id", range_key = "", attribute = [{ name = "file_id", type = "N" }] }
  }

  variables {
    extract_file_id    = true
    file_id_table_name = "app-files"
  }

  expect_failures = [data.aws_dynamodb_table.file_id_table]
}

run "accepts_a_table_keyed_by_file_id_table_key" {
  command = plan

  override_data {
    target = data.aws_dynamodb_table.file_id_table[0]
    values = { name = "app-files", hash_key = "upload_id", range_key = "", attribute = [{ name = "upload_id", type = "S" }] }
  }

  variables {
    extract_file_id    = true
    file_id_table_name = "app-files"
    file_id_table_key  = "upload_id"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FILE_ID_TABLE_KEY"] == "upload_id"
    error_message = "A table keyed by file_id_table_key plans."
  }
}

################################################################################
# Alarms that notify no one
################################################################################

run "warns_when_no_alarm_notifies_anyone" {
  command = plan

  variables {
    alarm_topic_arns = []
  }

  expect_failures = [check.alarms_notify_someone]

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "Without alarm topics there are no alarms (and the plan says so)."
  }
}

run "create_alarms_false_silences_the_warning" {
  command = plan

  variables {
    alarm_topic_arns = []
    create_alarms    = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "create_alarms = false: no alarms, and no warning (this run fails on any)."
  }
}
