# Keys given with an alias (for a key created in the same configuration): the role's statements
# name the account's keys that carry the alias (kms:ResourceAliases) instead of the key's ARN, so
# they do not depend on it. That they are known at plan when the ARN is not is checked on the
# examples' saved plans (tests/apply/test_plan_reviewable.py: examples/quarantine, complete).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "archive" {
  source = "./tests/mocks/archive"
}

variables {
  name                   = "fss-post-scan"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket"]
  create_alarms          = false
}

run "route_and_dead_letter_queue_keys_by_alias" {
  command = plan

  variables {
    routes = {
      malicious = { bucket = "quarantine-bucket", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", kms_key_alias = "alias/quarantine" }
      clean     = { bucket = "promoted-bucket", kms_key_arn = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab", kms_key_alias = "alias/promoted", bucket_owner = "444455556666" }
    }
    dead_letter_queue_kms_key_arn   = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    dead_letter_queue_kms_key_alias = "alias/dead-letters"
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.this["WriteMaliciousRoute"].policy).Statement[1] == {
      Sid      = "EncryptMaliciousRoute"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = ["arn:aws:kms:eu-west-1:111122223333:key/*"]
      Condition = {
        "ForAnyValue:StringEquals" = { "kms:ResourceAliases" = ["alias/quarantine"] }
        StringEquals               = { "kms:ViaService" = ["s3.eu-west-1.amazonaws.com"] }
      }
    }
    error_message = "The route key is named by its alias, in this region and account: ${aws_iam_role_policy.this["WriteMaliciousRoute"].policy}"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.this["WriteCleanRoute"].policy).Statement[1].Resource == ["arn:aws:kms:eu-west-1:444455556666:key/*"]
    error_message = "A route's key alias is looked up in the route's bucket_owner account."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.this["SendFailedEventsToDeadLetterQueue"].policy).Statement[1] == {
      Sid      = "UseDeadLetterQueueKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = ["arn:aws:kms:eu-west-1:111122223333:key/*"]
      Condition = {
        "ForAnyValue:StringEquals" = { "kms:ResourceAliases" = ["alias/dead-letters"] }
        StringEquals               = { "kms:ViaService" = ["sqs.eu-west-1.amazonaws.com"] }
      }
    }
    error_message = "The dead-letter queue's key is named by its alias: ${aws_iam_role_policy.this["SendFailedEventsToDeadLetterQueue"].policy}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ROUTE_MALICIOUS_KMS_KEY_ARN"] == "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "The function still encrypts with the key's ARN."
  }
}

run "rejects_an_alias_without_its_key" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", kms_key_alias = "alias/quarantine" } }
  }

  expect_failures = [var.routes]
}

run "rejects_aws_managed_and_malformed_aliases" {
  command = plan

  variables {
    routes                          = { malicious = { bucket = "quarantine-bucket", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/k", kms_key_alias = "alias/aws/s3" } }
    dead_letter_queue_kms_key_arn   = "arn:aws:kms:eu-west-1:111122223333:key/k"
    dead_letter_queue_kms_key_alias = "dead-letters"
  }

  expect_failures = [var.routes, var.dead_letter_queue_kms_key_alias]
}

run "rejects_an_alias_for_a_key_of_another_region" {
  command = plan

  variables {
    routes = { malicious = { bucket = "quarantine-bucket", kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/k", kms_key_alias = "alias/quarantine" } }
  }

  expect_failures = [aws_lambda_function.this]
}
