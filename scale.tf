################################################################################
# Scale: where the topics and buckets come from, how the policies name them, and the AWS quotas
# every document the module writes must fit (docs/scale.md)
################################################################################

# File Storage Security storage stacks: each one's outputs name its scan-result topic and the bucket
# it protects (output names from Trend Micro's FSS-Storage-Stack template).
data "aws_cloudformation_stack" "storage" {
  for_each = toset(var.storage_stack_names)

  name = each.value

  lifecycle {
    postcondition {
      condition     = can(self.outputs["ScanResultTopicARN"]) && can(self.outputs["ScanningBucket"])
      error_message = "CloudFormation stack ${each.value} has no ScanResultTopicARN and ScanningBucket outputs: storage_stack_names takes File Storage Security storage stacks (in the provider's account and region)."
    }
  }
}

# A File Storage Security account scanner stack: it has no topic output; its scan-result topic is in
# the JSON it writes to SSM Parameter Store as <stack name>-OutputsParameter-<first part of the stack
# id's UUID> (Trend Micro's FSS-Account-Scanner-Stack template, OutputsParameterStore).
data "aws_cloudformation_stack" "account_scanner" {
  count = var.account_scanner_stack_name == null ? 0 : 1

  name = var.account_scanner_stack_name
}

data "aws_ssm_parameter" "account_scanner_outputs" {
  count = var.account_scanner_stack_name == null ? 0 : 1

  name = "${var.account_scanner_stack_name}-OutputsParameter-${split("-", split("/", data.aws_cloudformation_stack.account_scanner[0].id)[2])[0]}"

  lifecycle {
    postcondition {
      condition     = can(regex("^arn:aws[a-zA-Z-]*:sns:", jsondecode(self.insecure_value).ScanResultTopicARN))
      error_message = "SSM parameter ${self.name} holds no ScanResultTopicARN: account_scanner_stack_name takes a File Storage Security account scanner stack (in the provider's account and region)."
    }
  }
}

locals {
  # AWS quotas (Service Quotas names in docs/scale.md). Every check below reads the final documents,
  # so a statement added anywhere in the module is counted.
  quota = {
    iam_inline_policy_characters = 10240 # all inline policies of one role, whitespace not counted
    lambda_environment_bytes     = 4096  # all variables of a function, measured as their JSON
    lambda_resource_policy_bytes = 20480 # the function policy (one statement per permission)
    sqs_policy_bytes             = 8192
    sqs_policy_statements        = 20
    sqs_policy_conditions        = 10
  }

  # Topics: those given by ARN, those of the storage stacks (keyed by the stack name) and that of the
  # account scanner stack (keyed account-scanner).
  stack_topic_arns = { for name, stack in data.aws_cloudformation_stack.storage : name => try(stack.outputs["ScanResultTopicARN"], "") }
  account_scanner_topic_arns = {
    for outputs in data.aws_ssm_parameter.account_scanner_outputs : "account-scanner" => try(jsondecode(outputs.insecure_value).ScanResultTopicARN, "")
  }
  scan_result_topic_arns = merge(var.scan_result_topic_arns, local.stack_topic_arns, local.account_scanner_topic_arns)
  # Keys of the topics that are not given by ARN (they must not collide with scan_result_topic_arns).
  derived_topic_keys = concat(var.storage_stack_names, keys(local.account_scanner_topic_arns))
  topic_arns         = sort(distinct(values(local.scan_result_topic_arns)))

  # Buckets: those given by name and those the storage stacks protect. The engine's allow-list.
  stack_bucket_names = [for name in sort(var.storage_stack_names) : try(data.aws_cloudformation_stack.storage[name].outputs["ScanningBucket"], "")]
  # bucket_names takes names or bucket ARNs (as routes do); everything below uses the names.
  fss_bucket_names = distinct(concat([for b in var.bucket_names : replace(b, "/^arn:[^:]+:s3:::/", "")], local.stack_bucket_names))
  # The buckets of guardduty_plans join them: every scanned bucket, whichever scanner scans it.
  guardduty_bucket_names = sort(distinct([for p in values(var.guardduty_plans) : p.bucket_name]))
  bucket_names           = distinct(concat(local.fss_bucket_names, local.guardduty_bucket_names))

  # How the role's S3 statements name the scanned buckets: each bucket, or the patterns (bounded to
  # this account by the statements' s3:ResourceAccount condition, iam.tf: bucket names are global).
  bucket_patterns_used = length(var.bucket_name_patterns) > 0
  scanned_bucket_names = local.bucket_patterns_used ? var.bucket_name_patterns : local.bucket_names
  # IAM wildcards as regular expressions: * any run of characters, ? one character.
  bucket_pattern_regexes = [
    for p in var.bucket_name_patterns : "^${replace(replace(replace(p, ".", "\\."), "*", ".*"), "?", ".")}$"
  ]
  buckets_outside_patterns = [
    for b in local.bucket_names : b if local.bucket_patterns_used && !anytrue([for r in local.bucket_pattern_regexes : can(regex(r, b))])
  ]

  # Who may deliver scan results (function policy, queue policies): each topic, or every topic of
  # the topic-owner accounts (ArnLike arn:PARTITION:sns:REGION:ACCOUNT:*). The engine's
  # ALLOWED_TOPIC_ARNS stays the exact list either way.
  topic_account_patterns = sort(distinct([
    for arn in local.topic_arns : join(":", concat(slice(split(":", arn), 0, 5), ["*"]))
  ]))
  topic_source_condition = var.topic_policy_scope == "account" ? {
    ArnLike = { "aws:SourceArn" = local.topic_account_patterns }
    } : {
    ArnEquals = { "aws:SourceArn" = local.topic_arns }
  }

  # The function's resource policy: one permission per entry (resource key => statement id,
  # principal, source). Keys stay the topic keys, so existing permissions keep their addresses.
  # Add any new aws_lambda_permission here so that the size check below counts it: the GuardDuty
  # rules' (guardduty.tf) are keyed guardduty/<rule>, a key no topic can have.
  function_permissions = merge(local.topic_function_permissions, local.guardduty_function_permissions)
  topic_function_permissions = local.direct_mode ? (
    var.topic_policy_scope == "account" ? {
      for pattern in local.topic_account_patterns : "account-${split(":", pattern)[4]}" => {
        statement_id = "AllowSNS-account-${split(":", pattern)[4]}"
        principal    = "sns.amazonaws.com"
        source_arn   = pattern
      }
    } :
    {
      for key, arn in local.scan_result_topic_arns : key => {
        # Statement ids are at most 100 characters; a stack name may be 128. The topic ARN's hash
        # makes the id unique per ARN, so a new ARN under the same key is added before the old
        # statement is removed (create_before_destroy, from the subscriptions).
        statement_id = (length(key) <= 82 ?
          "AllowSNS-${key}-${substr(sha256(arn), 0, 8)}" :
        "AllowSNS-${substr(key, 0, 73)}-${substr(sha1(key), 0, 8)}-${substr(sha256(arn), 0, 8)}")
        principal  = "sns.amazonaws.com"
        source_arn = arn
      }
    }
  ) : {}
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}"
  # The document Lambda stores (GetPolicy), statement by statement as AddPermission writes them.
  function_policy = jsonencode({
    Version = "2012-10-17"
    Id      = "default"
    Statement = [
      for p in values(local.function_permissions) : {
        Sid       = p.statement_id
        Effect    = "Allow"
        Principal = { Service = p.principal }
        Action    = "lambda:InvokeFunction"
        Resource  = local.function_arn
        Condition = { ArnLike = { "AWS:SourceArn" = p.source_arn } }
      }
    ]
  })

  # The engine's allow-lists move into the package (ALLOWED_*=file:NAME) when the environment with
  # them inline would exceed Lambda's 4 KB. Measured with the longest ARN a plan the module creates
  # may get (its ARN is known after apply only), so the decision is known at plan. A list that is
  # empty stays empty (an empty file would be refused at cold start).
  environment_for_size = merge(local.environment, { GUARDDUTY_PLAN_ARNS = join(",", local.guardduty_plan_arns_for_size) })
  lists_in_package     = length(jsonencode(local.environment_for_size)) > local.quota.lambda_environment_bytes
  package_list_files = {
    for variable, file in {
      ALLOWED_BUCKETS     = "allowed_buckets.txt"
      ALLOWED_TOPIC_ARNS  = "allowed_topic_arns.txt"
      GUARDDUTY_PLAN_ARNS = "guardduty_plan_arns.txt"
    } : variable => file if local.environment_for_size[variable] != ""
  }
  function_environment = local.lists_in_package ? merge(
    local.environment,
    { for variable, file in local.package_list_files : variable => "file:${file}" },
  ) : local.environment
  package_list_contents = {
    for variable, file in local.package_list_files : file => join("", [for item in split(",", local.environment[variable]) : "${item}\n"])
  }
  # Every file of lambda/ but byte code, tests and tool caches (benchmarks/package.py reads this).
  package_exclude_regex = "(^|/)(__pycache__|tests|\\.pytest_cache|\\.ruff_cache)/|\\.pyc$|(^|/)\\.DS_Store$"
  package_files         = [for f in fileset("${path.module}/lambda", "**") : f if !can(regex(local.package_exclude_regex, f))]
}

# The queue policies, written once: the document each aws_sqs_queue_policy sets, and what SQS
# counts in it (bytes, statements, conditions: one per key of each condition operator), checked by
# the same precondition on both.
locals {
  sqs_policy_statements = {
    dead-letter = local.dead_letter_queue_policy_statements
    delivery    = local.delivery_queue_policy_statements
  }
  sqs_policy_documents = {
    for queue, statements in local.sqs_policy_statements :
    queue => jsonencode({ Version = "2012-10-17", Statement = statements })
  }
  sqs_policy_sizes = {
    for queue, statements in local.sqs_policy_statements : queue => {
      bytes      = length(local.sqs_policy_documents[queue])
      statements = length(statements)
      conditions = sum(concat([0], [for s in statements : length(flatten([for op, kv in try(s.Condition, {}) : keys(kv)]))]))
    }
  }
  sqs_policy_fits = {
    for queue, size in local.sqs_policy_sizes :
    queue => size.bytes <= local.quota.sqs_policy_bytes && size.statements <= local.quota.sqs_policy_statements && size.conditions <= local.quota.sqs_policy_conditions
  }
  sqs_policy_errors = {
    for queue, size in local.sqs_policy_sizes :
    queue => "The ${queue} queue's policy would be ${size.bytes} bytes, ${size.statements} statements, ${size.conditions} conditions; SQS allows ${local.quota.sqs_policy_bytes} bytes, ${local.quota.sqs_policy_statements} statements, ${local.quota.sqs_policy_conditions} conditions. With many topics set topic_policy_scope = \"account\" (one ArnLike pattern per topic-owner account; the function still accepts only the listed topics)."
  }
}
