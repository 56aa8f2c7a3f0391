# Plan-level tests of read_protection: the policy of each mode equals the document in
# tests/fixtures (which tests/unit/test_read_protection_policy.py lints with parliament and
# evaluates per principal and tag state), the function's environment, IAM and alarm follow the
# mode, and bad inputs fail with a message that names them.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

variables {
  # No alarm topics in most runs: say so, or each fails on the warning check alarms_notify_someone;
  # the runs with alarm topics set create_alarms = null (the default) again.
  create_alarms          = false
  name                   = "fss-post-scan"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket", "my.dotted.bucket"]
  read_protection_scanner_principal_arns = [
    "arn:aws:iam::111122223333:role/StorageStack-BucketListenerExecutionRole-ABC",
    "arn:aws:iam::111122223333:role/StorageStack-PostScanActionTagExecutionRole-DEF",
  ]
  read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/breakglass/*"]
}

run "off_by_default" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = []
  }

  assert {
    condition     = output.read_protection_policies == {}
    error_message = "read_protection defaults to off: no policies."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["READ_PROTECTION"] == "off"
    error_message = "READ_PROTECTION must be off by default."
  }
  assert {
    condition     = !contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "ReadScannedObjects")
    error_message = "Without read protection (and nothing else) the function reads no objects."
  }
}

run "malicious" {
  command = plan

  variables {
    read_protection = "malicious"
  }

  assert {
    condition     = keys(output.read_protection_policies) == ["my.dotted.bucket", "uploads-bucket"]
    error_message = "One policy per scanned bucket, keyed by bucket name: ${jsonencode(keys(output.read_protection_policies))}"
  }
  assert {
    condition     = jsondecode(output.read_protection_policies["uploads-bucket"]) == jsondecode(file("tests/fixtures/read-protection-malicious.json"))
    error_message = "The malicious-mode policy differs from tests/fixtures/read-protection-malicious.json: ${output.read_protection_policies["uploads-bucket"]}"
  }
  assert {
    condition = jsondecode(output.read_protection_policies["my.dotted.bucket"]) == jsondecode(replace(
      file("tests/fixtures/read-protection-malicious.json"), "arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"
    ))
    error_message = "Each bucket's policy covers that bucket's objects only."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["READ_PROTECTION"] == "malicious"
    error_message = "READ_PROTECTION must carry the mode."
  }
  assert {
    condition     = !contains([for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid], "ReadScannedObjects")
    error_message = "malicious mode needs no object reads by the function."
  }
}

run "until_clean" {
  command = plan

  variables {
    read_protection = "until_clean"
  }

  assert {
    condition     = jsondecode(output.read_protection_policies["uploads-bucket"]) == jsondecode(file("tests/fixtures/read-protection-until_clean.json"))
    error_message = "The until_clean policy differs from tests/fixtures/read-protection-until_clean.json: ${output.read_protection_policies["uploads-bucket"]}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["READ_PROTECTION"] == "until_clean"
    error_message = "READ_PROTECTION must carry the mode."
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource] if startswith(s.Sid, "Read") || startswith(s.Sid, "List")
      } == {
      ReadScannedObjects = [["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      ListScannedBuckets = [["s3:ListBucket", "s3:ListBucketVersions"], ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::my.dotted.bucket"]]
    }
    error_message = "until_clean: the function reads clean objects' tags (locating them needs HEAD and the listing)."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "No alarms without alarm_topic_arns."
  }
}

run "function_role_is_always_exempt" {
  command = plan

  variables {
    read_protection                        = "until_clean"
    read_protection_exempt_principal_arns  = []
    read_protection_scanner_principal_arns = []
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.read_protection_policies["uploads-bucket"]).Statement :
      s.Condition.ArnNotLike["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/fss-post-scan-post-scan"]
    ])
    error_message = "Every statement must exempt the function's role, also with no other exemption."
  }
}

run "untagged_alarm_with_until_clean" {
  command = plan

  variables {
    read_protection  = "until_clean"
    create_alarms    = null
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
    alarms           = { untagged_clean_objects_threshold = 3 }
  }

  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.this), "untagged-clean-objects")
    error_message = "until_clean with alarms needs the untagged-clean-objects alarm."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["untagged-clean-objects"].namespace == "FSSPostScan" &&
      aws_cloudwatch_metric_alarm.this["untagged-clean-objects"].metric_name == "UntaggedCleanObjects" &&
      aws_cloudwatch_metric_alarm.this["untagged-clean-objects"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.this["untagged-clean-objects"].threshold == 3 &&
      aws_cloudwatch_metric_alarm.this["untagged-clean-objects"].dimensions == tomap({ FunctionName = "fss-post-scan" })
    )
    error_message = "The untagged-clean-objects alarm watches the function's UntaggedCleanObjects metric."
  }
}

run "no_untagged_alarm_in_malicious_mode" {
  command = plan

  variables {
    read_protection  = "malicious"
    create_alarms    = null
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops-alarms"]
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "untagged-clean-objects")
    error_message = "Only until_clean depends on clean tags."
  }
}

run "unknown_mode_is_rejected" {
  command = plan

  variables {
    read_protection = "on"
  }

  expect_failures = [var.read_protection]
}

run "session_arn_is_rejected" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = ["arn:aws:sts::111122223333:assumed-role/Scanner/session-1"]
  }

  expect_failures = [var.read_protection_exempt_principal_arns]
}

run "whole_account_wildcard_is_rejected" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/*"]
  }

  expect_failures = [var.read_protection_exempt_principal_arns]
}

run "account_wildcard_is_rejected" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = ["arn:aws:iam::*:role/Scanner"]
  }

  expect_failures = [var.read_protection_exempt_principal_arns]
}

run "duplicate_exemptions_are_rejected" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/A", "arn:aws:iam::111122223333:role/A"]
  }

  expect_failures = [var.read_protection_exempt_principal_arns]
}

run "users_and_paths_are_accepted" {
  command = plan

  variables {
    read_protection = "malicious"
    read_protection_exempt_principal_arns = [
      "arn:aws:iam::111122223333:user/break-glass",
      "arn:aws:iam::111122223333:role/service-role/fss/Scanner-?",
      "arn:aws-cn:iam::111122223333:role/CnScanner",
    ]
  }

  assert {
    condition     = length(output.read_protection_policies) == 2
    error_message = "Users, role paths and wildcards in the name are valid exemptions."
  }
}

run "only_the_scanner_and_the_function_write_scanner_tags_in_both_modes" {
  command = plan

  variables {
    read_protection = "malicious"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.read_protection_policies["uploads-bucket"]).Statement :
      s.Condition.ArnNotLike["aws:PrincipalArn"] == [
        "arn:aws:iam::111122223333:role/StorageStack-BucketListenerExecutionRole-ABC",
        "arn:aws:iam::111122223333:role/StorageStack-PostScanActionTagExecutionRole-DEF",
        "arn:aws:iam::111122223333:role/fss-post-scan-post-scan",
      ] if s.Sid == "FssPostScanDenyWritingScannerTags" || s.Sid == "FssPostScanDenyRetaggingMalicious"
    ])
    error_message = "Tag-writing statements exempt the scanner and the function only, not the break-glass roles."
  }
}

run "scanner_roles_come_from_the_storage_stacks" {
  command = plan

  variables {
    read_protection                        = "until_clean"
    read_protection_scanner_principal_arns = []
    read_protection_exempt_principal_arns  = []
    storage_stack_names                    = ["fss-uploads", "fss-archive"]
  }

  override_data {
    target = data.aws_cloudformation_stack.storage["fss-uploads"]
    values = { outputs = {
      ScanResultTopicARN       = "arn:aws:sns:eu-west-1:111122223333:fss-uploads-ScanResultTopic-AAA"
      ScanningBucket           = "uploads-bucket"
      BucketListenerRoleARN    = "arn:aws:iam::111122223333:role/fss-uploads-BucketListenerExecutionRole-A"
      PostScanActionTagRoleARN = "arn:aws:iam::111122223333:role/fss-uploads-PostScanActionTagExecutionRole-A"
    } }
  }
  override_data {
    target = data.aws_cloudformation_stack.storage["fss-archive"]
    values = { outputs = { ScanResultTopicARN = "arn:aws:sns:eu-west-1:111122223333:fss-archive-ScanResultTopic-BBB", ScanningBucket = "archive-bucket" } }
  }

  assert {
    condition = [
      for s in jsondecode(output.read_protection_policies["archive-bucket"]).Statement :
      s.Condition.ArnNotLike["aws:PrincipalArn"] if s.Sid == "FssPostScanDenyWritingScannerTags"
      ] == [[
        "arn:aws:iam::111122223333:role/fss-post-scan-post-scan",
        "arn:aws:iam::111122223333:role/fss-uploads-BucketListenerExecutionRole-A",
        "arn:aws:iam::111122223333:role/fss-uploads-PostScanActionTagExecutionRole-A",
    ]]
    error_message = "A storage stack's tagging roles (outputs BucketListenerRoleARN, PostScanActionTagRoleARN) are the scanner's; a stack without them adds none."
  }
}

run "scanner_tagging_roles_are_refused_as_mere_exemptions" {
  command = plan

  variables {
    read_protection_exempt_principal_arns = ["arn:aws:iam::111122223333:role/StorageStack-PostScanActionTagExecutionRole-DEF"]
  }

  expect_failures = [var.read_protection_exempt_principal_arns]
}

run "scanner_session_arn_is_rejected" {
  command = plan

  variables {
    read_protection_scanner_principal_arns = ["arn:aws:sts::111122223333:assumed-role/Scanner/session-1"]
  }

  expect_failures = [var.read_protection_scanner_principal_arns]
}

run "scanner_root_and_whole_account_wildcards_are_rejected" {
  command = plan

  variables {
    read_protection_scanner_principal_arns = ["arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/*"]
  }

  expect_failures = [var.read_protection_scanner_principal_arns]
}

run "duplicate_scanner_roles_are_rejected" {
  command = plan

  variables {
    read_protection_scanner_principal_arns = ["arn:aws:iam::111122223333:role/A", "arn:aws:iam::111122223333:role/A"]
  }

  expect_failures = [var.read_protection_scanner_principal_arns]
}

run "largest_policy_within_the_limit_is_accepted" {
  command = plan

  # 49 scanner roles of 91 characters and a 63-character bucket name: 20,168 bytes, the most
  # that fit (docs/read-protection.md, "Policy size").
  variables {
    read_protection                        = "malicious"
    bucket_names                           = ["b${join("", [for j in range(62) : "b"])}"]
    read_protection_exempt_principal_arns  = []
    read_protection_scanner_principal_arns = [for i in range(49) : format("arn:aws:iam::111122223333:role/StorageStack-%03d-PostScanActionTagExecutionRole-ABCDEFGHIJKL", i)]
  }

  assert {
    condition     = length(values(output.read_protection_policies)[0]) == 20168
    error_message = "Size: ${length(values(output.read_protection_policies)[0])} bytes."
  }
}

run "policy_over_the_bucket_policy_limit_fails" {
  command = plan

  variables {
    read_protection                        = "until_clean"
    read_protection_scanner_principal_arns = [for i in range(60) : format("arn:aws:iam::111122223333:role/a-rather-long-role-path/for-scanner-number-%03d", i)]
  }

  expect_failures = [output.read_protection_policies]
}

run "policy_over_the_bucket_policy_limit_fails_the_plan" {
  command = plan

  variables {
    read_protection                       = "until_clean"
    read_protection_exempt_principal_arns = [for i in range(150) : "arn:aws:iam::111122223333:role/${join("", [for j in range(150) : "r"])}${i}"]
  }

  expect_failures = [output.read_protection_policies]
}

# --- GuardDuty's tag (guardduty_plans): AWS's tag-based access control, and both scanners ----

run "guardduty_bucket_policies_equal_the_fixtures" {
  command = plan

  variables {
    bucket_names    = ["my.dotted.bucket"]
    guardduty_plans = { uploads = { bucket_name = "uploads-bucket" } }
    read_protection = "until_clean"
  }

  assert {
    condition     = jsondecode(output.read_protection_policies["uploads-bucket"]) == jsondecode(file("tests/fixtures/read-protection-guardduty-until_clean.json"))
    error_message = "The GuardDuty until_clean policy differs from tests/fixtures/read-protection-guardduty-until_clean.json: ${output.read_protection_policies["uploads-bucket"]}"
  }
  assert {
    condition     = [for s in jsondecode(output.read_protection_policies["my.dotted.bucket"]).Statement : s.Sid] == [for s in jsondecode(file("tests/fixtures/read-protection-until_clean.json")).Statement : s.Sid]
    error_message = "A bucket only File Storage Security scans keeps its own statements."
  }
}

run "guardduty_bucket_malicious_policy_equals_the_fixture" {
  command = plan

  variables {
    bucket_names    = ["my.dotted.bucket"]
    guardduty_plans = { uploads = { bucket_name = "uploads-bucket" } }
    read_protection = "malicious"
  }

  assert {
    condition     = jsondecode(output.read_protection_policies["uploads-bucket"]) == jsondecode(file("tests/fixtures/read-protection-guardduty-malicious.json"))
    error_message = "The GuardDuty malicious policy differs from tests/fixtures/read-protection-guardduty-malicious.json: ${output.read_protection_policies["uploads-bucket"]}"
  }
}

run "a_bucket_both_scanners_scan_gets_both_statement_sets" {
  command = plan

  variables {
    guardduty_plans = { uploads = { bucket_name = "uploads-bucket" } }
    read_protection = "until_clean"
  }

  assert {
    condition     = jsondecode(output.read_protection_policies["uploads-bucket"]) == jsondecode(file("tests/fixtures/read-protection-both-until_clean.json"))
    error_message = "The policy of a bucket both scanners scan differs from tests/fixtures/read-protection-both-until_clean.json: ${output.read_protection_policies["uploads-bucket"]}"
  }
}

run "a_bucket_both_scanners_scan_malicious" {
  command = plan

  variables {
    guardduty_plans = { uploads = { bucket_name = "uploads-bucket" } }
    read_protection = "malicious"
  }

  assert {
    condition     = jsondecode(output.read_protection_policies["uploads-bucket"]) == jsondecode(file("tests/fixtures/read-protection-both-malicious.json"))
    error_message = "The policy of a bucket both scanners scan differs from tests/fixtures/read-protection-both-malicious.json: ${output.read_protection_policies["uploads-bucket"]}"
  }
}
