# Plan-level tests of guardduty_plans: the plan the module creates and its service role (AWS's IAM
# prerequisite page, scoped to the bucket and prefixes, KMS through S3 only), the rules on the
# default bus and their targets in both delivery modes, the function's environment and IAM scope,
# the queue policies and the alarm, read protection for GuardDuty's tag, and every refusal.
# moto has no Malware Protection plans: creating one is covered here only, with the mocked provider.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

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
  # No alarm topics in most runs: say so, or each fails on the warning check alarms_notify_someone;
  # the runs with alarm topics set create_alarms = null (the default) again.
  create_alarms          = false
  name                   = "fss-post-scan"
  scan_result_topic_arns = {}
  bucket_names           = []
  guardduty_plans = {
    uploads = {
      bucket_name  = "uploads-bucket"
      prefixes     = ["incoming/", "forms/"]
      kms_key_arns = ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
    }
    archive = {
      bucket_name = "archive.bucket"
      plan_arn    = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
      role_arn    = "arn:aws:iam::111122223333:role/service-role/archive-malware-scan"
    }
  }
  delete_malicious = true
}

run "guardduty_only_creates_the_plan_its_role_and_the_rules" {
  command = plan

  assert {
    condition     = keys(aws_guardduty_malware_protection_plan.this) == ["uploads"] && keys(aws_iam_role.guardduty) == ["uploads"]
    error_message = "Only the plan without plan_arn is created, with its role: ${jsonencode(keys(aws_guardduty_malware_protection_plan.this))}"
  }
  assert {
    condition = (
      aws_guardduty_malware_protection_plan.this["uploads"].protected_resource[0].s3_bucket[0].bucket_name == "uploads-bucket" &&
      toset(aws_guardduty_malware_protection_plan.this["uploads"].protected_resource[0].s3_bucket[0].object_prefixes) == toset(["incoming/", "forms/"]) &&
      aws_guardduty_malware_protection_plan.this["uploads"].actions[0].tagging[0].status == "ENABLED" &&
      aws_guardduty_malware_protection_plan.this["uploads"].role == aws_iam_role.guardduty["uploads"].arn
    )
    error_message = "The plan protects the bucket's prefixes, tags the objects, and uses its role."
  }
  assert {
    condition     = aws_iam_role.guardduty["uploads"].name == "fss-post-scan-gd-uploads"
    error_message = "The role's name derives from name and the label: ${aws_iam_role.guardduty["uploads"].name}"
  }
  assert {
    condition = jsondecode(aws_iam_role.guardduty["uploads"].assume_role_policy) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = { Service = "malware-protection-plan.guardduty.amazonaws.com" }
        Action    = "sts:AssumeRole"
      }]
    }
    error_message = "Only GuardDuty Malware Protection plans may assume the role."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.guardduty["uploads"].policy) == {
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "AllowManagedRuleToSendS3EventsToGuardDuty"
          Effect    = "Allow"
          Action    = ["events:DeleteRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets"]
          Resource  = ["arn:aws:events:eu-west-1:111122223333:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"]
          Condition = { StringLike = { "events:ManagedBy" = "malware-protection-plan.guardduty.amazonaws.com" } }
        },
        {
          Sid      = "AllowGuardDutyToMonitorEventBridgeManagedRule"
          Effect   = "Allow"
          Action   = ["events:DescribeRule", "events:ListTargetsByRule"]
          Resource = ["arn:aws:events:eu-west-1:111122223333:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"]
        },
        {
          Sid      = "AllowPostScanTag"
          Effect   = "Allow"
          Action   = ["s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"]
          Resource = ["arn:aws:s3:::uploads-bucket/forms/*", "arn:aws:s3:::uploads-bucket/incoming/*"]
        },
        {
          Sid      = "AllowEnableS3EventBridgeEvents"
          Effect   = "Allow"
          Action   = ["s3:GetBucketNotification", "s3:PutBucketNotification"]
          Resource = ["arn:aws:s3:::uploads-bucket"]
        },
        {
          Sid      = "AllowPutValidationObject"
          Effect   = "Allow"
          Action   = ["s3:PutObject"]
          Resource = ["arn:aws:s3:::uploads-bucket/malware-protection-resource-validation-object"]
        },
        {
          Sid      = "AllowCheckBucketOwnership"
          Effect   = "Allow"
          Action   = ["s3:ListBucket"]
          Resource = ["arn:aws:s3:::uploads-bucket"]
        },
        {
          Sid      = "AllowMalwareScan"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:GetObjectVersion"]
          Resource = ["arn:aws:s3:::uploads-bucket/forms/*", "arn:aws:s3:::uploads-bucket/incoming/*"]
        },
        {
          Sid       = "AllowDecryptForMalwareScan"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
          Condition = { StringLike = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" } }
        },
      ]
    }
    error_message = "The service role's policy differs from AWS's prerequisite page for this bucket: ${aws_iam_role_policy.guardduty["uploads"].policy}"
  }
  assert {
    condition = {
      for key, rule in aws_cloudwatch_event_rule.guardduty : key => [rule.name, jsondecode(rule.event_pattern)]
      } == {
      results = ["fss-post-scan-gd-results", {
        source        = ["aws.guardduty"]
        "detail-type" = ["GuardDuty Malware Protection Object Scan Result"]
        resources = [
          "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE",
          "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/c0ffee00created01",
        ]
      }]
      post-scan-action-failed = ["fss-post-scan-gd-tag-failed", {
        source        = ["aws.guardduty"]
        "detail-type" = ["GuardDuty Malware Protection Post Scan Action Failed"]
        resources = [
          "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE",
          "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/c0ffee00created01",
        ]
      }]
    }
    error_message = "One rule per detail-type, matching exactly the plans' events: ${jsonencode([for r in values(aws_cloudwatch_event_rule.guardduty) : r.event_pattern])}"
  }
  assert {
    condition = alltrue([
      for t in values(aws_cloudwatch_event_target.guardduty) :
      t.arn == aws_lambda_function.this.arn && t.dead_letter_config[0].arn == aws_sqs_queue.this.arn &&
      t.retry_policy[0].maximum_event_age_in_seconds == 21600
    ]) && length(aws_cloudwatch_event_target.guardduty) == 2
    error_message = "Direct mode: both rules invoke the function; what EventBridge cannot deliver goes to the dead-letter queue."
  }
  assert {
    condition = {
      for key, p in aws_lambda_permission.this : key => [p.statement_id, p.principal, p.source_arn]
      } == {
      "guardduty/results"                 = ["AllowEventBridge-fss-post-scan-gd-results", "events.amazonaws.com", "arn:aws:events:eu-west-1:111122223333:rule/fss-post-scan-gd-results"]
      "guardduty/post-scan-action-failed" = ["AllowEventBridge-fss-post-scan-gd-tag-failed", "events.amazonaws.com", "arn:aws:events:eu-west-1:111122223333:rule/fss-post-scan-gd-tag-failed"]
    }
    error_message = "Each rule may invoke the function, and nothing else (no topic here): ${jsonencode([for p in values(aws_lambda_permission.this) : p.source_arn])}"
  }
  assert {
    condition     = length(aws_sns_topic_subscription.this) == 0
    error_message = "No topic, no subscription."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["GUARDDUTY_PLAN_ARNS"] == "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE,arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/c0ffee00created01" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "archive.bucket,uploads-bucket" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == ""
    )
    error_message = "GUARDDUTY_PLAN_ARNS lists the plans (labels sorted), their buckets are the scanned ones: ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = {
      for s in flatten([for p in values(aws_iam_role_policy.this) : jsondecode(p.policy).Statement]) : s.Sid => s.Resource if startswith(s.Sid, "ReadScanned") || startswith(s.Sid, "DeleteScanned")
      } == {
      ReadScannedObjects   = ["arn:aws:s3:::archive.bucket/*", "arn:aws:s3:::uploads-bucket/*"]
      DeleteScannedObjects = ["arn:aws:s3:::archive.bucket/*", "arn:aws:s3:::uploads-bucket/*"]
    }
    error_message = "The GuardDuty buckets join the function's S3 scope."
  }
  assert {
    condition = [for s in jsondecode(aws_sqs_queue_policy.this.policy).Statement : s if s.Sid == "AllowGuardDutyRulesDeadLetters"] == [{
      Sid       = "AllowGuardDutyRulesDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
      Condition = { ArnEquals = { "aws:SourceArn" = ["arn:aws:events:eu-west-1:111122223333:rule/fss-post-scan-gd-results", "arn:aws:events:eu-west-1:111122223333:rule/fss-post-scan-gd-tag-failed"] } }
    }]
    error_message = "Only the rules may dead-letter into the DLQ: ${aws_sqs_queue_policy.this.policy}"
  }
  assert {
    condition     = [for s in jsondecode(aws_sqs_queue_policy.this.policy).Statement : s.Sid] == ["DenyInsecureTransport", "AllowGuardDutyRulesDeadLetters"]
    error_message = "Without a topic the topics' statement is left out (a condition may not list nothing)."
  }
  assert {
    condition = output.guardduty_plan_arns == {
      archive = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
      uploads = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/c0ffee00created01"
      } && output.guardduty_role_arns == {
      archive = "arn:aws:iam::111122223333:role/service-role/archive-malware-scan"
      uploads = "arn:aws:iam::111122223333:role/fss-post-scan-gd-uploads"
    } && keys(output.guardduty_rule_arns) == ["post-scan-action-failed", "results"]
    error_message = "Outputs: plans, roles, rules."
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "guardduty-post-scan-action-failed")
    error_message = "No alarm without alarm_topic_arns."
  }
}

run "queue_mode_delivers_the_rules_into_the_delivery_queue" {
  command = plan

  variables {
    delivery_mode    = "queue"
    alarm_topic_arns = ["arn:aws:sns:eu-west-1:111122223333:ops"]
    create_alarms    = null
  }

  assert {
    condition     = alltrue([for t in values(aws_cloudwatch_event_target.guardduty) : t.arn == "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"])
    error_message = "Queue mode: the rules target the delivery queue."
  }
  assert {
    condition     = length(aws_lambda_permission.this) == 0
    error_message = "Queue mode: nothing invokes the function but the event source mapping."
  }
  assert {
    condition = [for s in jsondecode(aws_sqs_queue_policy.delivery[0].policy).Statement : s if s.Sid == "AllowGuardDutyRulesDelivery"] == [{
      Sid       = "AllowGuardDutyRulesDelivery"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-delivery"
      Condition = { ArnEquals = { "aws:SourceArn" = ["arn:aws:events:eu-west-1:111122223333:rule/fss-post-scan-gd-results", "arn:aws:events:eu-west-1:111122223333:rule/fss-post-scan-gd-tag-failed"] } }
    }]
    error_message = "Only the rules may send to the delivery queue: ${aws_sqs_queue_policy.delivery[0].policy}"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["guardduty-post-scan-action-failed"].metric_name == "PostScanActionsFailed" &&
      aws_cloudwatch_metric_alarm.this["guardduty-post-scan-action-failed"].namespace == "FSSPostScan" &&
      aws_cloudwatch_metric_alarm.this["guardduty-post-scan-action-failed"].threshold == 0
    )
    error_message = "An alarm on the function's PostScanActionsFailed metric."
  }
}

run "both_scanners_on_one_bucket_and_read_protection" {
  command = plan

  variables {
    scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
    bucket_names           = ["uploads-bucket", "fss-only-bucket"]
    read_protection        = "until_clean"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "uploads-bucket,fss-only-bucket,archive.bucket"
    error_message = "A bucket both scanners scan is listed once: ${aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"]}"
  }
  assert {
    condition = {
      for bucket, policy in output.read_protection_policies : bucket => [for s in jsondecode(policy).Statement : s.Sid]
      } == {
      "fss-only-bucket" = ["FssPostScanDenyReadingUntilClean", "FssPostScanDenyReadingIncompleteScans", "FssPostScanDenyTorrents", "FssPostScanDenyWritingScannerTags"]
      "archive.bucket"  = ["FssPostScanGuardDutyDenyReadingUntilClean", "FssPostScanDenyTorrents", "FssPostScanDenyWritingScannerTags"]
      "uploads-bucket"  = ["FssPostScanDenyReadingUntilClean", "FssPostScanDenyReadingIncompleteScans", "FssPostScanDenyTorrents", "FssPostScanGuardDutyDenyReadingUntilClean", "FssPostScanDenyWritingScannerTags"]
    }
    error_message = "Each bucket gets the statements of the scanners that scan it: ${jsonencode({ for b, p in output.read_protection_policies : b => [for s in jsondecode(p).Statement : s.Sid] })}"
  }
  assert {
    condition = {
      for s in jsondecode(output.read_protection_policies["archive.bucket"]).Statement : s.Sid => s.Condition.ArnNotLike["aws:PrincipalArn"]
      } == {
      FssPostScanGuardDutyDenyReadingUntilClean = [
        "arn:aws:iam::111122223333:role/fss-post-scan-gd-uploads",
        "arn:aws:iam::111122223333:role/fss-post-scan-post-scan",
        "arn:aws:iam::111122223333:role/service-role/archive-malware-scan",
      ]
      FssPostScanDenyTorrents = [
        "arn:aws:iam::111122223333:role/fss-post-scan-gd-uploads",
        "arn:aws:iam::111122223333:role/fss-post-scan-post-scan",
        "arn:aws:iam::111122223333:role/service-role/archive-malware-scan",
      ]
      FssPostScanDenyWritingScannerTags = [
        "arn:aws:iam::111122223333:role/fss-post-scan-gd-uploads",
        "arn:aws:iam::111122223333:role/fss-post-scan-post-scan",
        "arn:aws:iam::111122223333:role/service-role/archive-malware-scan",
      ]
    }
    error_message = "The plans' roles (GuardDuty reads before it tags, and writes its tag) and the function's role are the scanners: ${output.read_protection_policies["archive.bucket"]}"
  }
  assert {
    condition     = [for s in jsondecode(output.read_protection_policies["archive.bucket"]).Statement : s.Condition["ForAnyValue:StringLike"]["s3:RequestObjectTagKeys"] if s.Sid == "FssPostScanDenyWritingScannerTags"] == [["GuardDutyMalwareScanStatus"]] && length([for s in jsondecode(output.read_protection_policies["uploads-bucket"]).Statement : s.Condition["ForAnyValue:StringLike"]["s3:RequestObjectTagKeys"] if s.Sid == "FssPostScanDenyWritingScannerTags"][0]) == 9
    error_message = "A GuardDuty bucket protects GuardDuty's key; a bucket of both scanners both scanners' keys."
  }
}

run "an_existing_plan_creates_nothing_of_guardduty_s" {
  command = plan

  variables {
    guardduty_plans = {
      archive = {
        bucket_name = "archive.bucket"
        plan_arn    = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
      }
    }
  }

  assert {
    condition     = length(aws_guardduty_malware_protection_plan.this) == 0 && length(aws_iam_role.guardduty) == 0 && length(aws_iam_role_policy.guardduty) == 0
    error_message = "A given plan is used as it is."
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.guardduty) == 2 && output.guardduty_role_arns == {}
    error_message = "Its results are still delivered; without role_arn no role is known."
  }
}

run "a_long_name_and_label_keep_the_role_name_within_64" {
  command = plan

  variables {
    name = "a23456789012345678901234567890123456789012345678"
    guardduty_plans = {
      "label-of-thirty-two-characters-x" = { bucket_name = "uploads-bucket" }
    }
  }

  assert {
    condition     = length(aws_iam_role.guardduty["label-of-thirty-two-characters-x"].name) == 64 && startswith(aws_iam_role.guardduty["label-of-thirty-two-characters-x"].name, "a23456789012345678901234567890123456789012345678-gd-lab")
    error_message = "Role names are at most 64 characters: ${aws_iam_role.guardduty["label-of-thirty-two-characters-x"].name}"
  }
  assert {
    condition     = alltrue([for r in values(aws_cloudwatch_event_rule.guardduty) : length(r.name) <= 64])
    error_message = "Rule names are at most 64 characters."
  }
}

# --- refusals ---------------------------------------------------------------------------------

run "bad_entries_are_named" {
  command = plan

  variables {
    guardduty_plans = {
      "bad label" = { bucket_name = "Not_A_Bucket" }
      six = {
        bucket_name = "uploads-bucket"
        prefixes    = ["a/", "b/", "c/", "d/", "e/", "f*"]
      }
      twice = {
        bucket_name = "uploads-bucket"
        plan_arn    = "arn:aws:guardduty:eu-west-1:111122223333:detector/abc"
      }
    }
  }

  expect_failures = [var.guardduty_plans]
}

run "prefixes_go_with_a_created_plan_only" {
  command = plan

  variables {
    guardduty_plans = {
      archive = {
        bucket_name = "archive.bucket"
        plan_arn    = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
        prefixes    = ["x/"]
      }
    }
  }

  expect_failures = [var.guardduty_plans]
}

run "role_arn_goes_with_a_given_plan_only" {
  command = plan

  variables {
    guardduty_plans = {
      uploads = { bucket_name = "uploads-bucket", role_arn = "arn:aws:iam::111122223333:role/x" }
    }
  }

  expect_failures = [var.guardduty_plans]
}

run "a_plan_of_another_region_is_refused" {
  command = plan

  variables {
    guardduty_plans = {
      archive = {
        bucket_name = "archive.bucket"
        plan_arn    = "arn:aws:guardduty:us-east-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
      }
    }
  }

  expect_failures = [aws_cloudwatch_event_rule.guardduty]
}

run "read_protection_needs_an_existing_plan_s_role" {
  command = plan

  variables {
    read_protection = "malicious"
    guardduty_plans = {
      archive = {
        bucket_name = "archive.bucket"
        plan_arn    = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/a1b2c3d4e5f6EXAMPLE"
      }
    }
  }

  expect_failures = [aws_lambda_function.this]
}

run "fss_buckets_need_a_topic" {
  command = plan

  variables {
    bucket_names = ["fss-only-bucket"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "no_scanner_at_all_is_refused" {
  command = plan

  variables {
    guardduty_plans = {}
  }

  expect_failures = [aws_lambda_function.this]
}

run "many_created_plans_move_the_lists_into_the_package_but_never_an_empty_one" {
  command = plan

  # 25 created plans (GuardDuty's per-account quota of protected buckets): their ARNs are known
  # after apply only, so the size is taken with the longest ARN a plan may get, at plan.
  variables {
    guardduty_plans = { for i in range(25) : "plan${i}" => { bucket_name = "guardduty-uploads-bucket-number-${i}" } }
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["GUARDDUTY_PLAN_ARNS"] == "file:guardduty_plan_arns.txt" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_BUCKETS"] == "file:allowed_buckets.txt" &&
      aws_lambda_function.this.environment[0].variables["ALLOWED_TOPIC_ARNS"] == ""
    )
    error_message = "The lists move into the package; the empty topic list stays empty (a file listing nothing fails the cold start): ${jsonencode(aws_lambda_function.this.environment[0].variables)}"
  }
  assert {
    condition = (
      length([for s in archive_file.this.source : s if s.filename == "allowed_buckets.txt"]) == 1 &&
      length([for s in archive_file.this.source : s if s.filename == "guardduty_plan_arns.txt"]) == 1 &&
      length([for s in archive_file.this.source : s if endswith(s.filename, ".txt")]) == 2
    )
    error_message = "Only the non-empty lists become package files (allowed_buckets.txt, guardduty_plan_arns.txt)."
  }
}
