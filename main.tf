data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  # Every name derives from var.name (unique per account and region: the log group already requires
  # it), and every ARN a policy embeds is built from these names, so each policy is known at plan.
  log_group_name         = "/aws/lambda/${var.name}"
  log_group_arn          = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
  role_name              = "${var.name}-post-scan"
  dead_letter_queue_name = "${var.name}-dlq"
  dead_letter_queue_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dead_letter_queue_name}"
  delivery_queue_name    = "${var.name}-delivery"
  delivery_queue_arn     = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.delivery_queue_name}"
  created_table_name     = "${var.name}-file-ids"

  use_existing_table = var.file_id_table_name != null
  use_table          = var.create_file_id_table || local.use_existing_table
  table_name = (
    var.create_file_id_table ? aws_dynamodb_table.this[0].name :
    local.use_existing_table ? var.file_id_table_name : ""
  )
  # An existing table may be given by ARN (e.g. in another account) or by name (this account and region).
  table_arn = (
    var.create_file_id_table ? "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.created_table_name}" :
    !local.use_existing_table ? null :
    startswith(var.file_id_table_name, "arn:") ? var.file_id_table_name :
    "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${var.file_id_table_name}"
  )

  vpc_enabled = length(var.vpc_subnet_ids) > 0

  queue_mode  = var.delivery_mode == "queue"
  direct_mode = !local.queue_mode
  # The delivery queue and its event source mapping: in queue mode, and after a switch to direct
  # mode while drain_delivery_queue keeps them until the function has worked off the backlog.
  delivery_queue_enabled = local.queue_mode || var.drain_delivery_queue

  # In both queue policies (dead-letter and delivery queue): no request without TLS, whoever sends it.
  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "sqs:*"
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }

  # The engine's verdicts (post_scan.config.VERDICTS), in the documented order. Variable validations
  # repeat the list literally (Terraform >= 1.5 cannot reference locals there).
  verdicts = ["malicious", "clean", "incomplete", "failed", "unscanned"]

  # Routes with bucket ARNs reduced to names, and the engine's BUCKET or BUCKET/PREFIX per verdict.
  routes = {
    for verdict, r in var.routes : verdict => {
      bucket        = replace(r.bucket, "/^arn:[^:]+:s3:::/", "")
      prefix        = r.prefix
      kms_key_arn   = r.kms_key_arn
      kms_key_alias = r.kms_key_alias
      owner         = coalesce(r.bucket_owner, local.account_id)
    }
  }
  # bucket_names and routes accept bucket ARNs; those must be in the provider's partition.
  bucket_arns_of_other_partitions = [
    for entry in concat(
      [for b in var.bucket_names : { label = "bucket_names ${jsonencode(b)}", arn = b }],
      [for verdict, r in var.routes : { label = "routes.${verdict}.bucket ${jsonencode(r.bucket)}", arn = r.bucket }],
    ) : entry.label if startswith(entry.arn, "arn:") && !startswith(entry.arn, "arn:${local.partition}:s3:::")
  ]
  route_targets = { for verdict, r in local.routes : verdict => r.prefix == "" ? r.bucket : "${r.bucket}/${r.prefix}" }
  route_keys    = { for verdict, r in local.routes : verdict => r.kms_key_arn if r.kms_key_arn != null }
  route_owners  = { for verdict, r in local.routes : verdict => r.owner }

  # The runtime contract of post_scan.handler (see the engine's config.py): every variable is set explicitly.
  environment = {
    ALLOWED_BUCKETS    = join(",", local.bucket_names)
    ALLOWED_TOPIC_ARNS = join(",", local.topic_arns)
    # GuardDuty Malware Protection plans whose results are accepted (guardduty.tf).
    GUARDDUTY_PLAN_ARNS  = join(",", [for label in sort(keys(var.guardduty_plans)) : local.guardduty_plan_arns[label]])
    DELETE_MALICIOUS     = tostring(var.delete_malicious)
    EXTRACT_FILE_ID      = tostring(var.extract_file_id)
    DRY_RUN              = tostring(var.dry_run)
    FILE_ID_TAG_KEY      = var.file_id_tag_key
    FILE_ID_TABLE        = local.table_name
    FILE_ID_TABLE_KEY    = var.file_id_table_key
    FILE_ID_TABLE_UPSERT = tostring(var.file_id_table_upsert)
    RECORD_VERDICTS      = join(",", var.record_verdicts)
    LOG_LEVEL            = var.log_level
    METRICS_NAMESPACE    = var.metrics_namespace
    # Every S3 request names the account that must own its bucket (ExpectedBucketOwner).
    EXPECTED_BUCKET_OWNER = local.account_id
    READ_PROTECTION       = var.read_protection
    # While the delivery queue exists: its maxReceiveCount, so the engine knows a queued message's
    # final receive, and the dead-letter queue it then keeps a row's data in (docs/failures.md).
    QUEUE_MAX_RECEIVE_COUNT = local.delivery_queue_enabled ? tostring(var.queue.max_receive_count) : ""
    DEAD_LETTER_QUEUE_ARN   = local.delivery_queue_enabled ? local.dead_letter_queue_arn : ""

    ROUTE_MALICIOUS               = try(local.route_targets.malicious, "")
    ROUTE_MALICIOUS_KMS_KEY_ARN   = try(local.route_keys.malicious, "")
    ROUTE_MALICIOUS_BUCKET_OWNER  = try(local.route_owners.malicious, "")
    ROUTE_CLEAN                   = try(local.route_targets.clean, "")
    ROUTE_CLEAN_KMS_KEY_ARN       = try(local.route_keys.clean, "")
    ROUTE_CLEAN_BUCKET_OWNER      = try(local.route_owners.clean, "")
    ROUTE_INCOMPLETE              = try(local.route_targets.incomplete, "")
    ROUTE_INCOMPLETE_KMS_KEY_ARN  = try(local.route_keys.incomplete, "")
    ROUTE_INCOMPLETE_BUCKET_OWNER = try(local.route_owners.incomplete, "")
    ROUTE_FAILED                  = try(local.route_targets.failed, "")
    ROUTE_FAILED_KMS_KEY_ARN      = try(local.route_keys.failed, "")
    ROUTE_FAILED_BUCKET_OWNER     = try(local.route_owners.failed, "")
    ROUTE_UNSCANNED               = try(local.route_targets.unscanned, "")
    ROUTE_UNSCANNED_KMS_KEY_ARN   = try(local.route_keys.unscanned, "")
    ROUTE_UNSCANNED_BUCKET_OWNER  = try(local.route_owners.unscanned, "")
    ROUTE_MODE                    = var.route_mode

    # Announcements (notifications.tf).
    EVENT_BUS                = var.event_bus_name == null ? "" : var.event_bus_name
    EVENT_SOURCE             = var.event_source
    NOTIFY_TOPIC_ARN         = local.notifies ? local.notify_topic_policy_arn : ""
    NOTIFY_VERDICTS          = join(",", local.notify_verdicts)
    NOTIFY_CHAT              = tostring(var.notify_chat)
    SECURITY_HUB_PRODUCT_ARN = var.security_hub_findings ? local.security_hub_product_arn : ""
    ROUTE_SCAN_TYPES         = join(",", var.route_scan_types)
    SCANNER_ROUTED_VERDICTS  = join(",", var.scanner_routed_verdicts)
  }
}

################################################################################
# Package
################################################################################

locals {
  # The files of lambda/ (scale.tf: without byte code, tests and tool caches) and, when the engine's
  # allow-lists do not fit the environment, the lists: file name -> content, known at plan.
  package_sources = merge(
    { for f in local.package_files : f => file("${path.module}/lambda/${f}") },
    local.lists_in_package ? local.package_list_contents : {},
  )
  package_source_hash = sha256(jsonencode(local.package_sources))
}

# The package's hash, one line in the plan. When it changes, archive_file.this is replaced, so the
# zip is built at apply time in the working directory that applies: a saved plan applied in a fresh
# checkout (a separate pipeline job: terraform init, then terraform apply PLANFILE) has the file it
# deploys, and an unchanged package plans no change at all.
resource "terraform_data" "this" {
  input = local.package_source_hash
}

# The resource form writes the zip at apply (and rebuilds it on refresh); the data source wrote it at
# plan, into a directory a separate apply job does not have. One file per deployment, overwritten.
# The contents are marked sensitive only to keep the whole code out of the plan's text: the hash
# above shows that it changes.
resource "archive_file" "this" {
  type             = "zip"
  output_path      = "${path.module}/builds/${var.name}-post-scan.zip"
  output_file_mode = "0644"

  dynamic "source" {
    for_each = local.package_sources
    content {
      filename = source.key
      content  = sensitive(source.value)
    }
  }

  lifecycle {
    replace_triggered_by = [terraform_data.this]
  }
}


################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:KMS encryption is optional (cloudwatch_logs_kms_key_arn); CloudWatch Logs always encrypts at rest.
  name              = local.log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = var.cloudwatch_logs_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is optional (tracing_mode).
  #checkov:skip=CKV_AWS_115:Reserved concurrency is optional (reserved_concurrent_executions); reserving it takes from the account pool.
  #checkov:skip=CKV_AWS_116:Failed async events reach the module's SQS queue through the on-failure destination (aws_lambda_function_event_invoke_config); a dead_letter_config on the same queue would deliver every failure twice.
  #checkov:skip=CKV_AWS_117:Running in a VPC is optional (vpc_subnet_ids); the function only calls AWS APIs.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (bucket names, flags, table name); Lambda encrypts it at rest with an AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the package is built from this module's own source at plan time.
  function_name = var.name
  description = (local.guardduty_enabled ?
    "Acts on File Storage Security and GuardDuty Malware Protection for S3 scan results (module fss-post-scan)." :
  "Acts on Trend Micro File Storage Security scan results (module fss-post-scan).")
  role          = aws_iam_role.this.arn
  handler       = "post_scan.handler.lambda_handler"
  runtime       = var.runtime
  architectures = [var.architecture]

  filename         = archive_file.this.output_path
  source_code_hash = archive_file.this.output_base64sha256

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = local.function_environment
  }

  dynamic "tracing_config" {
    for_each = var.tracing_mode == null ? [] : [var.tracing_mode]
    content {
      mode = tracing_config.value
    }
  }

  dynamic "vpc_config" {
    for_each = local.vpc_enabled ? [1] : []
    content {
      subnet_ids         = var.vpc_subnet_ids
      security_group_ids = var.vpc_security_group_ids
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      # An ARN is reduced to the bucket's name: one of another partition would name another bucket.
      condition     = length(local.bucket_arns_of_other_partitions) == 0
      error_message = "These bucket ARNs are not in the provider's partition ${local.partition} (arn:${local.partition}:s3:::NAME): ${join(", ", local.bucket_arns_of_other_partitions)}."
    }
    precondition {
      condition     = !(var.create_file_id_table && var.file_id_table_name != null)
      error_message = "Set either create_file_id_table = true or file_id_table_name, not both."
    }
    precondition {
      # Copies into a scanned bucket need their own prefix (the engine refuses this at cold start too).
      condition     = alltrue([for r in values(local.routes) : r.prefix != "" || !contains(local.bucket_names, r.bucket)])
      error_message = "A route into a scanned bucket (one of bucket_names) needs a prefix, so that copies never land on the keys they were copied from; no prefix: ${join(", ", [for verdict, r in local.routes : "routes.${verdict}.bucket = ${jsonencode(r.bucket)}" if r.prefix == "" && contains(local.bucket_names, r.bucket)])}."
    }
    precondition {
      # Objects in a scanned bucket are read as the function's account's (EXPECTED_BUCKET_OWNER).
      condition     = alltrue([for r in values(local.routes) : r.owner == local.account_id || !contains(local.bucket_names, r.bucket)])
      error_message = "A route into a scanned bucket (one of bucket_names) cannot have another bucket_owner: scanned buckets belong to the function's account ${local.account_id}; not ${join(", ", [for verdict, r in local.routes : "routes.${verdict}.bucket_owner = ${jsonencode(r.owner)} (bucket ${r.bucket})" if r.owner != local.account_id && contains(local.bucket_names, r.bucket)])}."
    }
    precondition {
      # The engine's ExpectedBucketOwner is per bucket: routes sharing a bucket share its owner.
      condition     = alltrue([for r in values(local.routes) : length(distinct([for o in values(local.routes) : o.owner if o.bucket == r.bucket])) == 1])
      error_message = "Routes into the same bucket must have the same bucket_owner; they differ for ${join(", ", [for bucket in distinct([for r in values(local.routes) : r.bucket]) : "${bucket} (${join(", ", [for verdict, r in local.routes : "routes.${verdict}.bucket_owner = ${jsonencode(r.owner)}" if r.bucket == bucket])})" if length(distinct([for r in values(local.routes) : r.owner if r.bucket == bucket])) > 1])}."
    }
    precondition {
      # The engine refuses this at cold start too: each file would be moved twice.
      condition     = length(setintersection(keys(var.routes), var.scanner_routed_verdicts)) == 0
      error_message = "routes has a route for ${join(", ", sort(setintersection(keys(var.routes), var.scanner_routed_verdicts)))}, which scanner_routed_verdicts says the scanner moves itself: use the scanner's routing or this module's routes for a verdict, not both."
    }
    precondition {
      # An alias stands for its key in the role's policy only within the account and region the
      # statement names (checked at apply when the key is created in the same configuration).
      condition = alltrue(concat(
        [for r in values(local.routes) : r.kms_key_alias == null || try(split(":", r.kms_key_arn)[3] == local.region && split(":", r.kms_key_arn)[4] == r.owner, false)],
        [var.dead_letter_queue_kms_key_alias == null || try(split(":", var.dead_letter_queue_kms_key_arn)[3] == local.region && split(":", var.dead_letter_queue_kms_key_arn)[4] == local.account_id, false)],
      ))
      error_message = "A KMS key given with an alias must be in the function's region ${local.region} and the account the statement names (a route's bucket_owner, else ${local.account_id}); not ${join(", ", concat([for verdict, r in local.routes : "routes.${verdict}.kms_key_arn = ${r.kms_key_arn}" if r.kms_key_alias != null && !try(split(":", r.kms_key_arn)[3] == local.region && split(":", r.kms_key_arn)[4] == r.owner, false)], var.dead_letter_queue_kms_key_alias != null && !try(split(":", var.dead_letter_queue_kms_key_arn)[3] == local.region && split(":", var.dead_letter_queue_kms_key_arn)[4] == local.account_id, false) ? ["dead_letter_queue_kms_key_arn = ${coalesce(var.dead_letter_queue_kms_key_arn, "null")}"] : []))}."
    }
    precondition {
      condition     = (length(var.vpc_subnet_ids) > 0) == (length(var.vpc_security_group_ids) > 0)
      error_message = "Set vpc_subnet_ids and vpc_security_group_ids together (both empty: no VPC)."
    }
    precondition {
      condition     = length(local.topic_arns) > 0 || local.guardduty_enabled
      error_message = "Give at least one scanner: a File Storage Security scan-result topic (scan_result_topic_arns, storage_stack_names or account_scanner_stack_name) or a GuardDuty Malware Protection plan (guardduty_plans)."
    }
    precondition {
      # bucket_names are the buckets File Storage Security scans (GuardDuty's come with their plans).
      condition     = length(local.topic_arns) > 0 || length(var.bucket_names) == 0
      error_message = "bucket_names lists buckets File Storage Security scans, but no scan-result topic is given: add their topic (scan_result_topic_arns, storage_stack_names or account_scanner_stack_name), or leave out ${join(", ", var.bucket_names)} (the buckets of guardduty_plans need not be listed)."
    }
    precondition {
      condition     = length(local.bucket_names) > 0
      error_message = "Give at least one scanned bucket: bucket_names, storage_stack_names or guardduty_plans."
    }
    precondition {
      # Read protection denies writing GuardDuty's tag to all but the plan's role: it must be known.
      condition     = length(local.guardduty_plans_needing_role_arn) == 0
      error_message = "read_protection = \"${var.read_protection}\" lets only the plan's service role write GuardDuty's result tag: give role_arn (the existing plan's role) in ${join(", ", local.guardduty_plans_needing_role_arn)}."
    }
    precondition {
      condition     = length(setintersection(keys(var.scan_result_topic_arns), local.derived_topic_keys)) == 0
      error_message = "These scan_result_topic_arns keys are also keys of topics found through stacks (a storage stack's topic is keyed by the stack name, the account scanner's by account-scanner): ${join(", ", setintersection(keys(var.scan_result_topic_arns), local.derived_topic_keys))}."
    }
    precondition {
      condition     = length(local.topic_arns) == length(local.scan_result_topic_arns)
      error_message = "A topic is given twice (in scan_result_topic_arns and as a stack's ScanResultTopicARN): list each topic once; given more than once: ${join(", ", [for arn in local.topic_arns : "${arn} (${join(", ", sort([for k, other in local.scan_result_topic_arns : k if other == arn]))})" if length([for other in values(local.scan_result_topic_arns) : other if other == arn]) > 1])}."
    }
    precondition {
      condition     = length(local.buckets_outside_patterns) == 0
      error_message = "These buckets match none of bucket_name_patterns, so the role could not act on them: ${join(", ", local.buckets_outside_patterns)}. Add a pattern that covers them."
    }
    precondition {
      condition     = length(jsonencode(local.function_environment)) <= local.quota.lambda_environment_bytes
      error_message = "The function's environment would be ${length(jsonencode(local.function_environment))} bytes; Lambda allows ${local.quota.lambda_environment_bytes} for all variables. The allow-lists are already in the package: shorten the other settings (file_id_tag_key, metrics_namespace, route prefixes)."
    }
    precondition {
      condition     = length(local.function_policy) <= local.quota.lambda_resource_policy_bytes
      error_message = "The function's resource policy would be ${length(local.function_policy)} bytes (one permission per topic); Lambda allows ${local.quota.lambda_resource_policy_bytes}. Set topic_policy_scope = \"account\" (one permission per topic-owner account; the function still accepts only the listed topics) or delivery_mode = \"queue\"."
    }
    precondition {
      # E-mail subscriptions are made on the created topic only: an existing topic's owner manages its subscribers.
      condition     = var.create_notify_topic || length(var.notify_email_addresses) == 0
      error_message = "notify_email_addresses are subscribed to the topic the module creates: set create_notify_topic = true, or subscribe them to your notify_topic_arn yourself."
    }
  }

  # The log group must exist before the first invocation (else Lambda creates an unmanaged one), and the
  # role must hold its permissions (VPC ENIs are checked at creation).
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
    aws_sns_topic.notifications, # NOTIFY_TOPIC_ARN is built from the topic's name (known at plan)
    # The allow-list changes only once its buckets were found (check_bucket_names = "apply": at apply).
    data.aws_s3_bucket.bucket_names,
  ]
}

################################################################################
# Failure handling: async retries, then the dead-letter queue
################################################################################

resource "aws_sqs_queue" "this" {
  name                      = local.dead_letter_queue_name
  message_retention_seconds = var.dead_letter_queue_message_retention_seconds
  kms_master_key_id         = var.dead_letter_queue_kms_key_arn
  sqs_managed_sse_enabled   = var.dead_letter_queue_kms_key_arn == null ? true : null

  tags = var.tags

  # A new name (upgrade from the random-suffix names, a new var.name): the new queue exists before
  # the redrive policies and the on-failure destination move to it.
  lifecycle {
    create_before_destroy = true
  }
}

locals {
  # Statements of the dead-letter queue's policy (size checked against the SQS quotas in scale.tf).
  # (Without topics, GuardDuty alone, the topics' statement is left out: a condition may not list nothing.)
  dead_letter_queue_policy_statements = [for s in concat([
    {
      # Lets SNS move messages it could not deliver (subscription redrive policy).
      Sid       = "AllowScanResultTopicsRedrive"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = local.dead_letter_queue_arn
      Condition = local.topic_source_condition
    },
    # No request without TLS, whoever sends it (SNS, Lambda and the SDKs use HTTPS).
    merge(local.deny_insecure_transport, { Resource = local.dead_letter_queue_arn }),
  ], local.guardduty_queue_statements["dead-letter"]) : s if s.Sid != "AllowScanResultTopicsRedrive" || length(local.topic_arns) > 0]
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.url
  policy    = local.sqs_policy_documents["dead-letter"]

  lifecycle {
    precondition {
      condition     = local.sqs_policy_fits["dead-letter"]
      error_message = local.sqs_policy_errors["dead-letter"]
    }
  }
}

# Which SQS queues may name the dead-letter queue in their redrive policy: only the module's own
# delivery queue (while it exists: queue mode, drain_delivery_queue), nobody otherwise. A separate
# resource, so that the delivery queue (whose redrive policy names this queue) exists first, and the
# permission is in place before that redrive policy is set (aws_sqs_queue_redrive_policy.delivery),
# also on a mode switch.
resource "aws_sqs_queue_redrive_allow_policy" "this" {
  queue_url = aws_sqs_queue.this.url
  redrive_allow_policy = (
    local.delivery_queue_enabled
    ? jsonencode({ redrivePermission = "byQueue", sourceQueueArns = [local.delivery_queue_arn] })
    : jsonencode({ redrivePermission = "denyAll" })
  )

  depends_on = [aws_sqs_queue.delivery]
}

# Asynchronous invocations: retries, then the dead-letter queue. SNS invokes asynchronously in direct
# mode; in queue mode the event source mapping invokes synchronously (the delivery queue's redrive
# policy takes over), but the config stays: retries still pending from before a switch to queue
# mode, and any other asynchronous invocation, keep their failure destination instead of being
# discarded.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.this.arn
    }
  }
}

moved {
  from = aws_lambda_function_event_invoke_config.this[0]
  to   = aws_lambda_function_event_invoke_config.this
}

################################################################################
# Subscriptions (one subscription per topic; in direct mode one permission per topic)
################################################################################

# One per topic, or one per topic-owner account (topic_policy_scope; see scale.tf).
resource "aws_lambda_permission" "this" {
  for_each = local.function_permissions

  statement_id  = each.value.statement_id
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = each.value.principal
  source_arn    = each.value.source_arn
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.scan_result_topic_arns

  topic_arn           = each.value
  protocol            = local.queue_mode ? "sqs" : "lambda"
  endpoint            = local.queue_mode ? aws_sqs_queue.delivery[0].arn : aws_lambda_function.this.arn
  filter_policy       = var.subscription_filter_policy
  filter_policy_scope = var.subscription_filter_policy == null ? null : var.subscription_filter_policy_scope
  redrive_policy      = jsonencode({ deadLetterTargetArn = local.dead_letter_queue_arn })
  # The SQS body stays the SNS notification (with TopicArn), so the function can check the topic.
  raw_message_delivery = false

  lifecycle {
    # A mode switch changes protocol and endpoint, which replaces the subscription: the new one
    # (and what it needs: permission or queue, policy, mapping) exists before the old one is
    # deleted, so no scan result finds the topic without a subscription. Both deliver meanwhile;
    # the function reaches the same end state for a result handled twice.
    create_before_destroy = true

    precondition {
      condition     = split(":", each.value)[3] == local.region
      error_message = "Topic ${each.key} (${each.value}) is not in the provider's region ${local.region}; subscribe with a provider of the topic's region."
    }
  }

  # Also the order of the switch: created after, deleted before everything listed (the invoke
  # config and the mapping too, so each mode's failure path is in place while its subscriptions are).
  depends_on = [
    aws_lambda_permission.this,
    aws_lambda_function_event_invoke_config.this,
    aws_lambda_event_source_mapping.this,
    aws_sqs_queue.this,
    aws_sqs_queue_policy.this,
    aws_sqs_queue_policy.delivery,
    aws_sqs_queue_redrive_policy.delivery,
  ]
}

################################################################################
# Optional verdict table
################################################################################

resource "aws_dynamodb_table" "this" {
  count = var.create_file_id_table ? 1 : 0

  name                        = local.created_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.file_id_table_key
  deletion_protection_enabled = var.file_id_table_deletion_protection

  attribute {
    name = var.file_id_table_key
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.file_id_table_kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

# A warning, not an error: turning extract_file_id off alone must not fail the plan, and must not
# delete a created table with the verdicts in it. The function ignores the table meanwhile.
check "file_id_table_is_used" {
  assert {
    condition     = var.extract_file_id ? true : !local.use_table
    error_message = "A file id table is set (${var.create_file_id_table ? "create_file_id_table = true" : "file_id_table_name"}) but extract_file_id = false: no verdict is recorded in it. The table is kept; set extract_file_id = true to record verdicts again, or remove the table setting."
  }
}
