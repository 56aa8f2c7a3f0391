################################################################################
# GuardDuty Malware Protection for S3 (guardduty_plans): the plans the module creates and their
# service roles, and the rules on the default event bus that bring the plans' results to the
# function (or to the delivery queue). Without guardduty_plans nothing here exists.
################################################################################

locals {
  guardduty_enabled = length(var.guardduty_plans) > 0

  # Plans the module creates (plan_arn = null), by label.
  created_guardduty_plans = { for label, p in var.guardduty_plans : label => p if p.plan_arn == null }

  # The service role of each created plan: "<name>-gd-<label>", shortened with a hash of the
  # label where IAM's 64 characters would not hold it (deterministic, known at plan).
  guardduty_role_names = {
    for label in keys(local.created_guardduty_plans) : label => (
      length("${var.name}-gd-${label}") <= 64 ? "${var.name}-gd-${label}" :
      "${substr("${var.name}-gd-${label}", 0, 55)}-${substr(sha1(label), 0, 8)}"
    )
  }
  guardduty_role_arns = merge(
    { for label, name in local.guardduty_role_names : label => "arn:${local.partition}:iam::${local.account_id}:role/${name}" },
    { for label, p in var.guardduty_plans : label => p.role_arn if p.plan_arn == null ? false : p.role_arn != null },
  )

  # Every plan's ARN: given, or the created plan's (known after apply only).
  guardduty_plan_arns = {
    for label, p in var.guardduty_plans : label => (
      p.plan_arn != null ? p.plan_arn : aws_guardduty_malware_protection_plan.this[label].arn
    )
  }
  # The same with a stand-in of the longest plan ARN for plans not created yet: the size of the
  # function's environment must be known at plan (scale.tf decides with it where the lists go).
  guardduty_plan_arns_for_size = [
    for p in values(var.guardduty_plans) :
    p.plan_arn != null ? p.plan_arn : "arn:${local.partition}:guardduty:${local.region}:${local.account_id}:malware-protection-plan/${join("", [for i in range(128) : "x"])}"
  ]
  given_guardduty_plans_elsewhere = [
    for label, p in var.guardduty_plans :
    "guardduty_plans.${label}.plan_arn = ${p.plan_arn}" if p.plan_arn == null ? false : (split(":", p.plan_arn)[1] != local.partition || split(":", p.plan_arn)[3] != local.region || split(":", p.plan_arn)[4] != local.account_id)
  ]
  guardduty_plans_needing_role_arn = [
    for label, p in var.guardduty_plans : "guardduty_plans.${label}" if var.read_protection != "off" && p.plan_arn != null && p.role_arn == null
  ]

  # The role AWS's IAM prerequisite page describes ("Create or update IAM role policy"), for one
  # bucket: the managed EventBridge rule GuardDuty keeps for the bucket, the bucket's notification
  # setting, the validation object, ownership check, reading and tagging the objects under the
  # plan's prefixes (the object statements name them in their resources), and the bucket's KMS
  # keys through S3 only.
  guardduty_managed_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"
  guardduty_role_policies = {
    for label, p in local.created_guardduty_plans : label => jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [
          {
            Sid       = "AllowManagedRuleToSendS3EventsToGuardDuty"
            Effect    = "Allow"
            Action    = ["events:DeleteRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets"]
            Resource  = [local.guardduty_managed_rule_arn]
            Condition = { StringLike = { "events:ManagedBy" = "malware-protection-plan.guardduty.amazonaws.com" } }
          },
          {
            Sid      = "AllowGuardDutyToMonitorEventBridgeManagedRule"
            Effect   = "Allow"
            Action   = ["events:DescribeRule", "events:ListTargetsByRule"]
            Resource = [local.guardduty_managed_rule_arn]
          },
          {
            Sid      = "AllowPostScanTag"
            Effect   = "Allow"
            Action   = ["s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"]
            Resource = local.guardduty_object_resources[label]
          },
          {
            Sid      = "AllowEnableS3EventBridgeEvents"
            Effect   = "Allow"
            Action   = ["s3:GetBucketNotification", "s3:PutBucketNotification"]
            Resource = ["arn:${local.partition}:s3:::${p.bucket_name}"]
          },
          {
            Sid      = "AllowPutValidationObject"
            Effect   = "Allow"
            Action   = ["s3:PutObject"]
            Resource = ["arn:${local.partition}:s3:::${p.bucket_name}/malware-protection-resource-validation-object"]
          },
          {
            Sid      = "AllowCheckBucketOwnership"
            Effect   = "Allow"
            Action   = ["s3:ListBucket"]
            Resource = ["arn:${local.partition}:s3:::${p.bucket_name}"]
          },
          {
            Sid      = "AllowMalwareScan"
            Effect   = "Allow"
            Action   = ["s3:GetObject", "s3:GetObjectVersion"]
            Resource = local.guardduty_object_resources[label]
          },
        ],
        length(p.kms_key_arns) == 0 ? [] : [
          {
            Sid       = "AllowDecryptForMalwareScan"
            Effect    = "Allow"
            Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
            Resource  = sort(distinct(p.kms_key_arns))
            Condition = { StringLike = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
          },
        ],
      )
    })
  }
  guardduty_object_resources = {
    for label, p in local.created_guardduty_plans : label => (
      length(p.prefixes) == 0 ? ["arn:${local.partition}:s3:::${p.bucket_name}/*"] :
      sort(distinct([for prefix in p.prefixes : "arn:${local.partition}:s3:::${p.bucket_name}/${prefix}*"]))
    )
  }

  # The rules on the default bus: the scan results of exactly these plans, and their Post Scan
  # Action Failed events (GuardDuty could not tag an object; the function logs and counts them:
  # PostScanActionsFailed, alarm guardduty-post-scan-action-failed). Names are deterministic, so
  # the permissions and queue policy that name the rules are known at plan.
  guardduty_rule_detail_types = {
    results                 = "GuardDuty Malware Protection Object Scan Result"
    post-scan-action-failed = "GuardDuty Malware Protection Post Scan Action Failed"
  }
  guardduty_rule_names = {
    results                 = "${var.name}-gd-results"
    post-scan-action-failed = "${var.name}-gd-tag-failed"
  }
  guardduty_rules = {
    for key, detail_type in local.guardduty_rule_detail_types : key => {
      name        = local.guardduty_rule_names[key]
      arn         = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.guardduty_rule_names[key]}"
      detail_type = detail_type
    } if local.guardduty_enabled
  }
  guardduty_rule_arns = sort([for r in values(local.guardduty_rules) : r.arn])
  # What the rules may send to the queues (SQS policies, checked against the quotas in scale.tf):
  # the delivery queue (queue mode) and, for events EventBridge cannot deliver, the dead-letter
  # queue; from exactly these rules.
  guardduty_queue_statements = {
    for queue, arn in { dead-letter = local.dead_letter_queue_arn, delivery = local.delivery_queue_arn } : queue => !local.guardduty_enabled ? [] : [
      {
        Sid       = queue == "delivery" ? "AllowGuardDutyRulesDelivery" : "AllowGuardDutyRulesDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = arn
        Condition = { ArnEquals = { "aws:SourceArn" = local.guardduty_rule_arns } }
      },
    ]
  }
  # The function's permissions for the rules (direct mode), added to the topics' in scale.tf.
  guardduty_function_permissions = local.direct_mode ? {
    for key, r in local.guardduty_rules : "guardduty/${key}" => {
      statement_id = "AllowEventBridge-${r.name}"
      principal    = "events.amazonaws.com"
      source_arn   = r.arn
    }
  } : {}
}

resource "aws_iam_role" "guardduty" {
  for_each = local.created_guardduty_plans

  name        = local.guardduty_role_names[each.key]
  description = "GuardDuty Malware Protection for S3 plan of bucket ${each.value.bucket_name} (module fss-post-scan ${var.name})."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "malware-protection-plan.guardduty.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.guardduty_role_policies[each.key]) <= local.quota.iam_inline_policy_characters
      error_message = "The service role policy of guardduty_plans.${each.key} would be ${length(local.guardduty_role_policies[each.key])} characters; IAM allows ${local.quota.iam_inline_policy_characters}: list fewer kms_key_arns or shorter prefixes."
    }
  }
}

resource "aws_iam_role_policy" "guardduty" {
  for_each = local.created_guardduty_plans

  name   = "GuardDutyMalwareProtection"
  role   = aws_iam_role.guardduty[each.key].name
  policy = local.guardduty_role_policies[each.key]
}

resource "aws_guardduty_malware_protection_plan" "this" {
  for_each = local.created_guardduty_plans

  role = aws_iam_role.guardduty[each.key].arn

  protected_resource {
    s3_bucket {
      bucket_name     = each.value.bucket_name
      object_prefixes = length(each.value.prefixes) == 0 ? null : each.value.prefixes
    }
  }

  # GuardDuty tags each scanned object GuardDutyMalwareScanStatus = its result: the tag the
  # read protection policies and the function's contradiction check read.
  actions {
    tagging {
      status = "ENABLED"
    }
  }

  tags = var.tags

  # GuardDuty checks the role when the plan is created: its permissions come first.
  depends_on = [aws_iam_role_policy.guardduty]
}

resource "aws_cloudwatch_event_rule" "guardduty" {
  for_each = local.guardduty_rules

  name        = each.value.name
  description = "${each.value.detail_type} events of the Malware Protection plans of ${var.name} (module fss-post-scan)."
  event_pattern = jsonencode({
    source        = ["aws.guardduty"]
    "detail-type" = [each.value.detail_type]
    resources     = [for label in sort(keys(var.guardduty_plans)) : local.guardduty_plan_arns[label]]
  })

  tags = var.tags

  lifecycle {
    precondition {
      # The plans publish on the default bus of their bucket owner's account and region only.
      condition     = length(local.given_guardduty_plans_elsewhere) == 0
      error_message = "These plans are not in the provider's partition, region and account (${local.partition}, ${local.region}, ${local.account_id}), whose default event bus this rule is on: ${join(", ", local.given_guardduty_plans_elsewhere)}."
    }
  }
}

# Direct mode: EventBridge invokes the function asynchronously, so the function's retry and
# on-failure settings (aws_lambda_function_event_invoke_config: maximum_retry_attempts,
# maximum_event_age_in_seconds, then the dead-letter queue) apply as for SNS. Queue mode: into the
# delivery queue. Events EventBridge itself cannot deliver go to the dead-letter queue, as the
# topics' subscriptions' do.
resource "aws_cloudwatch_event_target" "guardduty" {
  for_each = local.guardduty_rules

  rule      = aws_cloudwatch_event_rule.guardduty[each.key].name
  target_id = "post-scan"
  arn       = local.queue_mode ? aws_sqs_queue.delivery[0].arn : aws_lambda_function.this.arn

  retry_policy {
    maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.this.arn
  }

  depends_on = [
    aws_lambda_permission.this,
    aws_lambda_function_event_invoke_config.this,
    aws_lambda_event_source_mapping.this,
    aws_sqs_queue_policy.this,
    aws_sqs_queue_policy.delivery,
  ]
}
