# Plan-level tests of routes: the environment the engine reads, exactly the IAM statements each
# configured route needs (and none for routes that are not configured), every validation rule of
# routes and route_mode, and the same-bucket precondition. The aws provider is mocked.

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

run "quarantine_malicious_files_move" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", prefix = "q/" } }
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.this.environment[0].variables : k => v if startswith(k, "ROUTE_")
      } == {
      ROUTE_MALICIOUS               = "quarantine-bucket/q/"
      ROUTE_MALICIOUS_KMS_KEY_ARN   = ""
      ROUTE_MALICIOUS_BUCKET_OWNER  = "111122223333"
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
      ROUTE_SCAN_TYPES              = "object created"
    }
    error_message = "Route environment is wrong: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
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
      WriteMaliciousRoute = ["Allow", ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
      ["arn:aws:s3:::quarantine-bucket/q/*"]]
    }
    error_message = "Quarantine (move) policy is wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    # Scanned buckets and the route's bucket must belong to the function's account (issue 10).
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => try(s.Condition, null)
      } == {
      WriteOwnLogs                      = null
      SendFailedEventsToDeadLetterQueue = null
      ReadScannedObjects                = { StringEquals = { "s3:ResourceAccount" = "111122223333" } }
      ListScannedBuckets                = { StringEquals = { "s3:ResourceAccount" = "111122223333" } }
      DeleteScannedObjects              = { StringEquals = { "s3:ResourceAccount" = "111122223333" } }
      WriteMaliciousRoute               = { StringEquals = { "s3:ResourceAccount" = "111122223333" } }
    }
    error_message = "Bucket owner conditions are wrong: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["EXPECTED_BUCKET_OWNER"] == "111122223333"
    error_message = "EXPECTED_BUCKET_OWNER must be the function's account."
  }
}

run "route_into_another_account" {
  command = plan

  variables {
    delete_malicious = true
    routes = {
      malicious = { bucket = "central-quarantine", prefix = "acct/", bucket_owner = "444455556666" }
      clean     = { bucket = "promote-bucket" }
    }
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ROUTE_MALICIOUS_BUCKET_OWNER"] == "444455556666" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_CLEAN_BUCKET_OWNER"] == "111122223333" &&
      aws_lambda_function.this.environment[0].variables["EXPECTED_BUCKET_OWNER"] == "111122223333"
    )
    error_message = "Route owners are wrong: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Condition.StringEquals["s3:ResourceAccount"]
      if can(s.Condition)
      } == {
      ReadScannedObjects   = "111122223333"
      ListScannedBuckets   = "111122223333"
      DeleteScannedObjects = "111122223333"
      WriteMaliciousRoute  = "444455556666"
      WriteCleanRoute      = "111122223333"
    }
    error_message = "Each route's statement must require its own owner: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "rejects_bucket_owner_that_is_not_an_account_id" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", bucket_owner = "arn:aws:iam::444455556666:root" } }
  }

  expect_failures = [var.routes]
}

run "rejects_another_owner_for_a_scanned_bucket" {
  command = plan

  variables {
    routes = { malicious = { bucket = "uploads-bucket", prefix = "q/", bucket_owner = "444455556666" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_two_owners_for_one_destination" {
  command = plan

  variables {
    routes = {
      malicious = { bucket = "review-bucket", prefix = "m/", bucket_owner = "444455556666" }
      failed    = { bucket = "review-bucket", prefix = "f/" }
    }
  }

  expect_failures = [aws_lambda_function.this]
}

run "promote_clean_files_copy_with_key_and_bucket_arn" {
  command = plan

  variables {
    route_mode = "copy"
    routes = {
      clean = {
        bucket      = "arn:aws:s3:::promote-bucket"
        kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      }
    }
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ROUTE_CLEAN"] == "promote-bucket" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_CLEAN_KMS_KEY_ARN"] == "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_MALICIOUS"] == "" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_MODE"] == "copy"
    )
    error_message = "A bucket ARN must reach the engine as a name, with its key: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => [s.Action, s.Resource]
      } == {
      WriteOwnLogs                      = [["logs:CreateLogStream", "logs:PutLogEvents"], ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan:*"]]
      SendFailedEventsToDeadLetterQueue = [["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"]]
      ReadScannedObjects = [["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"],
      ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]]
      ListScannedBuckets = [["s3:ListBucket", "s3:ListBucketVersions"], ["arn:aws:s3:::uploads-bucket", "arn:aws:s3:::my.dotted.bucket"]]
      WriteCleanRoute    = [["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"], ["arn:aws:s3:::promote-bucket/*"]]
      EncryptCleanRoute  = [["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]]
    }
    error_message = "Copy mode deletes nothing; the route key is granted for that route only: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
}

run "every_route_with_delete_malicious" {
  command = plan

  variables {
    delete_malicious = true
    routes = {
      malicious  = { bucket = "quarantine-bucket", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/aaaa" }
      clean      = { bucket = "promote-bucket", prefix = "clean/" }
      incomplete = { bucket = "review-bucket", prefix = "incomplete/" }
      failed     = { bucket = "review-bucket", prefix = "failed/", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/bbbb" }
      unscanned  = { bucket = "review-bucket", prefix = "unscanned/", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/cccc" }
    }
  }

  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Resource if can(regex("Route$|^Delete", s.Sid))
      } == {
      DeleteScannedObjects  = ["arn:aws:s3:::uploads-bucket/*", "arn:aws:s3:::my.dotted.bucket/*"]
      WriteMaliciousRoute   = ["arn:aws:s3:::quarantine-bucket/*"]
      EncryptMaliciousRoute = ["arn:aws:kms:eu-west-1:111122223333:key/aaaa"]
      WriteCleanRoute       = ["arn:aws:s3:::promote-bucket/clean/*"]
      WriteIncompleteRoute  = ["arn:aws:s3:::review-bucket/incomplete/*"]
      WriteFailedRoute      = ["arn:aws:s3:::review-bucket/failed/*"]
      EncryptFailedRoute    = ["arn:aws:kms:eu-west-1:111122223333:key/bbbb"]
      WriteUnscannedRoute   = ["arn:aws:s3:::review-bucket/unscanned/*"]
      EncryptUnscannedRoute = ["arn:aws:kms:eu-west-1:111122223333:key/cccc"]
    }
    error_message = "Each route gets its own statements, scoped to its prefix and key: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = length(flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])) == 13
    error_message = "Exactly 13 statements expected (one delete statement serves delete_malicious and move routes): ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ROUTE_MALICIOUS"] == "quarantine-bucket" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_MALICIOUS_KMS_KEY_ARN"] == "arn:aws:kms:eu-west-1:111122223333:key/aaaa" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_CLEAN"] == "promote-bucket/clean/" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_CLEAN_KMS_KEY_ARN"] == "" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_INCOMPLETE"] == "review-bucket/incomplete/" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_FAILED"] == "review-bucket/failed/" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_FAILED_KMS_KEY_ARN"] == "arn:aws:kms:eu-west-1:111122223333:key/bbbb" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_UNSCANNED"] == "review-bucket/unscanned/" &&
      aws_lambda_function.this.environment[0].variables["ROUTE_UNSCANNED_KMS_KEY_ARN"] == "arn:aws:kms:eu-west-1:111122223333:key/cccc"
    )
    error_message = "Every route must reach the engine: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
}

run "route_into_a_scanned_bucket_under_a_prefix_in_aws_cn" {
  command = plan

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn" }
  }

  variables {
    route_mode = "copy"
    routes     = { malicious = { bucket = "arn:aws-cn:s3:::uploads-bucket", prefix = "quarantine/" } }
  }

  assert {
    condition = [
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Resource if s.Sid == "WriteMaliciousRoute"
    ] == [["arn:aws-cn:s3:::uploads-bucket/quarantine/*"]]
    error_message = "The write statement must use the partition and stay under the prefix: ${jsonencode([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement])}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ROUTE_MALICIOUS"] == "uploads-bucket/quarantine/"
    error_message = "ROUTE_MALICIOUS must be BUCKET/PREFIX."
  }
}

run "longest_prefix_and_every_allowed_character" {
  command = plan

  variables {
    routes = {
      clean  = { bucket = "promote-bucket", prefix = join("", [for i in range(512) : "p"]) }
      failed = { bucket = "review-bucket", prefix = "(x)!_'.-/a/" }
    }
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ROUTE_FAILED"] == "review-bucket/(x)!_'.-/a/"
    error_message = "Allowed prefix characters must pass unchanged."
  }
}

run "rejects_unknown_verdict_and_route_mode" {
  command = plan

  variables {
    routes     = { infected = { bucket = "quarantine-bucket" } } # not a verdict
    route_mode = "moved"                                         # unknown mode
  }

  expect_failures = [var.routes, var.route_mode]
}

run "rejects_bucket_with_uppercase" {
  command = plan

  variables {
    routes = { malicious = { bucket = "Quarantine" } }
  }

  expect_failures = [var.routes]
}

run "rejects_object_arn_as_bucket" {
  command = plan

  variables {
    routes = { malicious = { bucket = "arn:aws:s3:::quarantine-bucket/q/" } }
  }

  expect_failures = [var.routes]
}

run "rejects_prefix_with_leading_slash" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", prefix = "/q/" } }
  }

  expect_failures = [var.routes]
}

run "rejects_prefix_with_wildcard" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", prefix = "q*/" } }
  }

  expect_failures = [var.routes]
}

run "rejects_prefix_with_policy_variable" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", prefix = "$${aws:username}/" } }
  }

  expect_failures = [var.routes]
}

run "rejects_prefix_longer_than_512" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", prefix = join("", [for i in range(513) : "p"]) } }
  }

  expect_failures = [var.routes]
}

run "rejects_kms_alias" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/quarantine" } }
  }

  expect_failures = [var.routes]
}

run "rejects_route_into_a_scanned_bucket_without_prefix" {
  command = plan

  variables {
    routes = { clean = { bucket = "uploads-bucket" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_route_into_a_scanned_bucket_given_by_arn_without_prefix" {
  command = plan

  variables {
    routes = { malicious = { bucket = "arn:aws:s3:::my.dotted.bucket", prefix = "" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "scan_types_and_scanner_routing_reach_the_engine" {
  command = plan

  variables {
    routes                  = { clean = { bucket = "promote-bucket" } }
    route_scan_types        = ["object created", "schedule"]
    scanner_routed_verdicts = ["malicious", "failed"]
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ROUTE_SCAN_TYPES"] == "object created,schedule" &&
      aws_lambda_function.this.environment[0].variables["SCANNER_ROUTED_VERDICTS"] == "malicious,failed"
    )
    error_message = "route_scan_types and scanner_routed_verdicts must reach the engine: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
}

run "no_scan_type_routes_only_untagged_and_malicious_results" {
  command = plan

  variables {
    route_scan_types = []
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ROUTE_SCAN_TYPES"] == ""
    error_message = "An empty route_scan_types must reach the engine as an empty string."
  }
}

run "rejects_a_route_for_a_verdict_the_scanner_moves" {
  command = plan

  variables {
    routes                  = { malicious = { bucket = "quarantine-bucket" } }
    scanner_routed_verdicts = ["malicious"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_unknown_scan_types_and_scanner_routed_verdicts" {
  command = plan

  variables {
    route_scan_types        = ["object created", "upload"]
    scanner_routed_verdicts = ["quarantined"]
  }

  expect_failures = [var.route_scan_types, var.scanner_routed_verdicts]
}

run "rejects_repeated_scan_types_and_scanner_routed_verdicts" {
  command = plan

  variables {
    route_scan_types        = ["manual", "manual"]
    scanner_routed_verdicts = ["clean", "clean"]
  }

  expect_failures = [var.route_scan_types, var.scanner_routed_verdicts]
}
