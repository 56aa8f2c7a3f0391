# Plan-level tests of organisation scale (docs/scale.md): 1,000 buckets and 300 topics, every document
# the module writes against its AWS quota, the plan failing with what to do where it would not fit,
# and the topics and buckets of File Storage Security storage stacks.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

# As in a real first plan: computed attributes are unknown (the checks must not depend on them).
mock_provider "aws" {
  alias  = "unknown_arns"
  source = "./tests/mocks/aws"
}

variables {
  # No alarm topics here: say so, or every run fails on the warning check alarms_notify_someone.
  create_alarms = false
  # 1,000 mocked bucket reads per run made this file take an hour; the check is not its subject
  # (checks.tftest.hcl; its cost at this size: docs/pipelines.md).
  check_bucket_names = "off"
  name               = "fss-post-scan"
  # 300 topics in three accounts, 1,000 buckets with realistic name lengths (30 characters).
  scan_result_topic_arns = {
    for i in range(300) : format("stack-%03d", i) => format("arn:aws:sns:eu-west-1:%s:fss-storage-%03d-ScanResultTopic-1A2B3C4D5E6F", ["111122223333", "999988887777", "444455556666"][i % 3], i)
  }
  bucket_names       = [for i in range(1000) : format("acme-prod-uploads-eu-west-%04d", i)]
  delete_malicious   = true
  extract_file_id    = true
  file_id_table_name = "app-files"
  routes = {
    malicious = { bucket = "acme-quarantine", prefix = "malicious/" }
  }
}

run "each_bucket_and_topic_by_arn_exceeds_the_quotas_and_says_what_to_do" {
  command = plan

  # The function waits for its role, so its own check shows once the role fits (next run).
  expect_failures = [
    aws_iam_role.this,
    aws_sqs_queue_policy.this,
  ]
}

run "quota_checks_fail_the_first_plan" {
  command = plan

  providers = {
    aws     = aws.unknown_arns
    archive = archive
  }

  expect_failures = [
    aws_iam_role.this,
    aws_sqs_queue_policy.this,
  ]
}

run "one_permission_per_topic_exceeds_the_function_policy" {
  command = plan

  variables {
    bucket_name_patterns = ["acme-prod-uploads-*"]
  }

  expect_failures = [
    aws_lambda_function.this,
    aws_sqs_queue_policy.this,
  ]
}

run "topic_arns_exceed_the_queue_policy_in_queue_mode" {
  command = plan

  variables {
    delivery_mode        = "queue"
    bucket_name_patterns = ["acme-prod-uploads-*"]
  }

  expect_failures = [
    aws_sqs_queue_policy.this,
    aws_sqs_queue_policy.delivery,
  ]
}

run "patterns_and_account_scope_fit_every_quota_direct" {
  command = plan

  variables {
    bucket_name_patterns = ["acme-prod-uploads-eu-west-*"]
    topic_policy_scope   = "account"
  }

  # The role: the pattern, bounded to this account, instead of 1,000 ARNs.
  assert {
    condition     = sum([for p in values(aws_iam_role_policy.this) : length(p.policy)]) <= 10240
    error_message = "Role policy over 10,240 characters: ${sum([for p in values(aws_iam_role_policy.this) : length(p.policy)])}"
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Resource, s.Condition] if can(regex("Scanned", s.Sid))
      } == {
      ReadScannedObjects = [
        ["arn:aws:s3:::acme-prod-uploads-eu-west-*/*"],
        { StringEquals = { "s3:ResourceAccount" = "111122223333" } },
      ]
      DeleteScannedObjects = [
        ["arn:aws:s3:::acme-prod-uploads-eu-west-*/*"],
        { StringEquals = { "s3:ResourceAccount" = "111122223333" } },
      ]
      ListScannedBuckets = [
        ["arn:aws:s3:::acme-prod-uploads-eu-west-*"],
        { StringEquals = { "s3:ResourceAccount" = "111122223333" } },
      ]
    }
    error_message = "Pattern statements are wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  # One permission per topic-owner account.
  assert {
    condition = {
      for k, p in aws_lambda_permission.this : k => [p.statement_id, p.principal, p.source_arn]
      } == {
      account-111122223333 = ["AllowSNS-account-111122223333", "sns.amazonaws.com", "arn:aws:sns:eu-west-1:111122223333:*"]
      account-444455556666 = ["AllowSNS-account-444455556666", "sns.amazonaws.com", "arn:aws:sns:eu-west-1:444455556666:*"]
      account-999988887777 = ["AllowSNS-account-999988887777", "sns.amazonaws.com", "arn:aws:sns:eu-west-1:999988887777:*"]
    }
    error_message = "Account scope needs one permission per topic-owner account."
  }
  assert {
    condition     = length(local.function_policy) <= 20480 && length(local.function_policy) < 1000
    error_message = "Function policy too large: ${length(local.function_policy)}"
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.this.policy).Statement[0].Condition == {
      ArnLike = { "aws:SourceArn" = ["arn:aws:sns:eu-west-1:111122223333:*", "arn:aws:sns:eu-west-1:444455556666:*", "arn:aws:sns:eu-west-1:999988887777:*"] }
    }
    error_message = "Dead-letter queue policy must allow the topic-owner accounts' topics: ${aws_sqs_queue_policy.this.policy}"
  }
  assert {
    condition     = length(aws_sqs_queue_policy.this.policy) <= 8192
    error_message = "Dead-letter queue policy over 8,192 bytes."
  }
  # Every topic is still subscribed; the engine still accepts exactly the listed topics and buckets,
  # from files in the package since they do not fit Lambda's 4 KB environment.
  assert {
    condition     = length(aws_sns_topic_subscription.this) == 300
    error_message = "Every topic needs its subscription."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "file:allowed_buckets.txt" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == "file:allowed_topic_arns.txt" &&
      length(jsonencode(aws_lambda_function.this.environment[0].variables)) <= 4096
    )
    error_message = "The allow-lists must move into the package: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = (
      { for s in archive_file.this.source : s.filename => s.content if endswith(s.filename, ".txt") } == {
        "allowed_buckets.txt"    = join("", [for b in var.bucket_names : "${b}\n"])
        "allowed_topic_arns.txt" = join("", [for t in sort(values(var.scan_result_topic_arns)) : "${t}\n"])
      }
    )
    error_message = "The package must hold the exact allow-lists, one item a line."
  }
  assert {
    condition     = contains([for s in archive_file.this.source : s.filename], "post_scan/handler.py")
    error_message = "The package must still hold the engine."
  }
}

run "patterns_and_account_scope_fit_every_quota_queue" {
  command = plan

  variables {
    delivery_mode        = "queue"
    bucket_name_patterns = ["*"]
    topic_policy_scope   = "account"
  }

  assert {
    condition     = length(aws_lambda_permission.this) == 0
    error_message = "Queue mode needs no function permission."
  }
  assert {
    condition = alltrue([
      for p in [aws_sqs_queue_policy.this.policy, aws_sqs_queue_policy.delivery[0].policy] :
      length(p) <= 8192 && length(jsondecode(p).Statement) <= 20
    ])
    error_message = "Queue policies over their quota."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.delivery[0].policy).Statement[0].Condition == {
      ArnLike = { "aws:SourceArn" = ["arn:aws:sns:eu-west-1:111122223333:*", "arn:aws:sns:eu-west-1:444455556666:*", "arn:aws:sns:eu-west-1:999988887777:*"] }
    }
    error_message = "Delivery queue policy must allow the topic-owner accounts' topics."
  }
  assert {
    condition = (
      sum([for p in values(aws_iam_role_policy.this) : length(p.policy)]) <= 10240 &&
      contains(flatten([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Resource]), "arn:aws:s3:::*/*")
    )
    error_message = "Account-wide bucket scope must be arn:aws:s3:::*/* bounded by s3:ResourceAccount: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "a_bucket_outside_the_patterns_fails_the_plan" {
  command = plan

  variables {
    bucket_names         = ["acme-prod-uploads-eu-west-0001", "acme-staging-uploads"]
    bucket_name_patterns = ["acme-prod-*", "acme-?rod-x"]
    topic_policy_scope   = "account"
  }

  expect_failures = [aws_lambda_function.this]
}

run "small_configurations_keep_each_arn_and_the_inline_lists" {
  command = plan

  variables {
    scan_result_topic_arns = { a = "arn:aws:sns:eu-west-1:999988887777:fss-a", b = "arn:aws:sns:eu-west-1:999988887777:fss-b" }
    bucket_names           = ["uploads-a", "uploads-b"]
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "uploads-a,uploads-b" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == "arn:aws:sns:eu-west-1:999988887777:fss-a,arn:aws:sns:eu-west-1:999988887777:fss-b" &&
      length([for s in archive_file.this.source : s if endswith(s.filename, ".txt")]) == 0
    )
    error_message = "Lists that fit stay in the environment."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.this.policy).Statement[0].Condition == {
      ArnEquals = { "aws:SourceArn" = ["arn:aws:sns:eu-west-1:999988887777:fss-a", "arn:aws:sns:eu-west-1:999988887777:fss-b"] }
    }
    error_message = "topic scope names each topic."
  }
  assert {
    condition     = toset(keys(aws_lambda_permission.this)) == toset(["a", "b"])
    error_message = "topic scope: one permission per topic, keyed like scan_result_topic_arns."
  }
}

run "the_largest_exact_configuration_that_fits" {
  command = plan

  # What docs/scale.md states: every flag above, each bucket and topic by ARN.
  variables {
    scan_result_topic_arns = {
      for i in range(55) : format("stack-%03d", i) => format("arn:aws:sns:eu-west-1:999988887777:fss-storage-%03d-ScanResultTopic-1A2B3C4D5E6F", i)
    }
    bucket_names = [for i in range(60) : format("acme-prod-uploads-eu-west-%04d", i)]
  }

  assert {
    condition     = sum([for p in values(aws_iam_role_policy.this) : length(p.policy)]) <= 10240 && length(local.function_policy) <= 20480
    error_message = "docs/scale.md says 60 buckets and 55 topics fit by ARN: ${sum([for p in values(aws_iam_role_policy.this) : length(p.policy)])}, ${length(local.function_policy)}"
  }
}

################################################################################
# Storage stacks
################################################################################

run "storage_stacks_give_topics_and_buckets" {
  command = plan

  variables {
    scan_result_topic_arns = { extra = "arn:aws:sns:eu-west-1:999988887777:fss-extra" }
    bucket_names           = ["extra-bucket"]
    storage_stack_names    = ["fss-uploads", "fss-archive"]
  }

  override_data {
    target = data.aws_cloudformation_stack.storage["fss-uploads"]
    values = { outputs = { ScanResultTopicARN = "arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA", ScanningBucket = "uploads-bucket", CloudOneRegion = "us-1" } }
  }
  override_data {
    target = data.aws_cloudformation_stack.storage["fss-archive"]
    values = { outputs = { ScanResultTopicARN = "arn:aws:sns:eu-west-1:111122223333:fss-archive-ScanResultTopic-BBB", ScanningBucket = "archive-bucket" } }
  }

  assert {
    condition = { for k, s in aws_sns_topic_subscription.this : k => s.topic_arn } == {
      extra       = "arn:aws:sns:eu-west-1:999988887777:fss-extra"
      fss-uploads = "arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA"
      fss-archive = "arn:aws:sns:eu-west-1:111122223333:fss-archive-ScanResultTopic-BBB"
    }
    error_message = "Each stack's topic is subscribed, keyed by the stack name."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "extra-bucket,archive-bucket,uploads-bucket" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == "arn:aws:sns:eu-west-1:111122223333:fss-archive-ScanResultTopic-BBB,arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA,arn:aws:sns:eu-west-1:999988887777:fss-extra"
    )
    error_message = "The stacks' buckets and topics join the allow-lists: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition     = alltrue([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : contains(s.Resource, "arn:aws:s3:::uploads-bucket/*") if s.Sid == "ReadScannedObjects" || s.Sid == "DeleteScannedObjects"]) && contains(jsondecode(aws_iam_role_policy.this["ListScannedBuckets"].policy).Statement[0].Resource, "arn:aws:s3:::uploads-bucket")
    error_message = "The stacks' buckets join the role's statements: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "storage_stacks_alone_are_enough" {
  command = plan

  variables {
    scan_result_topic_arns = {}
    bucket_names           = []
    routes                 = {}
    storage_stack_names    = ["fss-uploads"]
  }

  override_data {
    target = data.aws_cloudformation_stack.storage["fss-uploads"]
    values = { outputs = { ScanResultTopicARN = "arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA", ScanningBucket = "uploads-bucket" } }
  }

  assert {
    condition     = keys(aws_sns_topic_subscription.this) == ["fss-uploads"] && aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "uploads-bucket"
    error_message = "One stack gives one topic and one bucket."
  }
}

run "a_stack_that_is_not_a_storage_stack_fails_the_plan" {
  command = plan

  variables {
    storage_stack_names = ["fss-scanner"]
  }

  override_data {
    target = data.aws_cloudformation_stack.storage["fss-scanner"]
    values = { outputs = { ScannerQueueURL = "https://sqs.eu-west-1.amazonaws.com/111122223333/q" } }
  }

  expect_failures = [data.aws_cloudformation_stack.storage]
}

run "the_account_scanner_topic_comes_from_its_outputs_parameter" {
  command = plan

  variables {
    scan_result_topic_arns     = {}
    bucket_names               = ["uploads-bucket"]
    routes                     = {}
    account_scanner_stack_name = "fss-account-scanner"
  }

  override_data {
    target = data.aws_cloudformation_stack.account_scanner[0]
    values = { id = "arn:aws:cloudformation:eu-west-1:111122223333:stack/fss-account-scanner/1a2b3c4d-5e6f-7a8b-9c0d-112233445566" }
  }
  override_data {
    target = data.aws_ssm_parameter.account_scanner_outputs[0]
    values = { insecure_value = "{\"CloudOneRegion\": \"us-1\", \"ScanResultTopicARN\": \"arn:aws:sns:eu-west-1:111122223333:fss-account-scanner-ScanResultTopic-ZZZ\"}" }
  }

  assert {
    condition     = data.aws_ssm_parameter.account_scanner_outputs[0].name == "fss-account-scanner-OutputsParameter-1a2b3c4d"
    error_message = "The outputs parameter is <stack>-OutputsParameter-<first part of the stack id's UUID>: ${data.aws_ssm_parameter.account_scanner_outputs[0].name}"
  }
  assert {
    condition = (
      { for k, s in aws_sns_topic_subscription.this : k => s.topic_arn } == { account-scanner = "arn:aws:sns:eu-west-1:111122223333:fss-account-scanner-ScanResultTopic-ZZZ" } &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == "arn:aws:sns:eu-west-1:111122223333:fss-account-scanner-ScanResultTopic-ZZZ"
    )
    error_message = "The account scanner's topic is subscribed (key account-scanner) and allowed."
  }
}

run "an_account_scanner_parameter_without_a_topic_fails_the_plan" {
  command = plan

  variables {
    scan_result_topic_arns     = {}
    bucket_names               = ["uploads-bucket"]
    account_scanner_stack_name = "fss-storage-uploads"
  }

  override_data {
    target = data.aws_cloudformation_stack.account_scanner[0]
    values = { id = "arn:aws:cloudformation:eu-west-1:111122223333:stack/fss-storage-uploads/1a2b3c4d-5e6f-7a8b-9c0d-112233445566" }
  }
  override_data {
    target = data.aws_ssm_parameter.account_scanner_outputs[0]
    values = { insecure_value = "{\"ScannerQueueURL\": \"https://sqs.eu-west-1.amazonaws.com/111122223333/q\"}" }
  }

  expect_failures = [data.aws_ssm_parameter.account_scanner_outputs]
}

run "no_topic_and_no_bucket_fail_the_plan" {
  command = plan

  variables {
    scan_result_topic_arns = {}
    bucket_names           = []
    routes                 = {}
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_topic_given_twice_fails_the_plan" {
  command = plan

  variables {
    scan_result_topic_arns = { extra = "arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA" }
    bucket_names           = ["uploads-bucket"]
    storage_stack_names    = ["fss-uploads"]
  }

  override_data {
    target = data.aws_cloudformation_stack.storage["fss-uploads"]
    values = { outputs = { ScanResultTopicARN = "arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA", ScanningBucket = "uploads-bucket" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_invalid_scale_inputs" {
  command = plan

  variables {
    storage_stack_names  = ["arn:aws:cloudformation:eu-west-1:111122223333:stack/fss/1", "ok", "ok"]
    bucket_name_patterns = ["arn:aws:s3:::uploads-*", "uploads/*"]
    topic_policy_scope   = "organization"

    account_scanner_stack_name = "arn:aws:cloudformation:eu-west-1:111122223333:stack/fss/1"
  }

  expect_failures = [
    var.account_scanner_stack_name,
    var.storage_stack_names,
    var.bucket_name_patterns,
    var.topic_policy_scope,
  ]
}
