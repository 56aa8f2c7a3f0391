locals {
  # Each scanned bucket, or each of bucket_name_patterns (then bounded to this account: scale.tf).
  bucket_arns        = [for b in local.scanned_bucket_names : "arn:${local.partition}:s3:::${b}"]
  bucket_object_arns = [for b in local.scanned_bucket_names : "arn:${local.partition}:s3:::${b}/*"]

  # until_clean: the function reads clean objects' tags to check the scanner tagged them.
  reads_objects = var.extract_file_id || var.delete_malicious || length(local.routes) > 0 || var.read_protection == "until_clean"
  moves_objects = length(local.routes) > 0 && var.route_mode == "move"
  route_verdicts = [
    for verdict in local.verdicts : verdict if contains(keys(local.routes), verdict)
  ]

  # Scanned buckets must belong to the function's account, each route's bucket to its owner:
  # a bucket name deleted and registered again by another account is outside the grant.
  owned_by_this_account = { StringEquals = { "s3:ResourceAccount" = local.account_id } }

  # kms:ViaService: the role's KMS rights work only in requests the named AWS service makes on its
  # behalf (SQS queue messages, S3 objects, DynamoDB items, SNS notifications), never in a direct
  # KMS call. The value is SERVICE.REGION.amazonaws.com in every partition (AWS KMS developer guide,
  # "kms:ViaService"), in the key's own region (an SSE-KMS key is in its bucket's / table's region).
  # The function itself never calls KMS.
  via_sqs = { StringEquals = { "kms:ViaService" = ["sqs.${local.region}.amazonaws.com"] } }

  # A key created in the same configuration has an ARN unknown at plan. Given with an alias, its
  # statement names the account's keys in this region (the route owner's for a route) that carry
  # the alias (kms:ResourceAliases, a property of the key that KMS evaluates for GenerateDataKey and
  # Decrypt, also when S3 or SQS call it on the role's behalf), so the policy is known at plan.
  # Alias name (or "-": none) -> the extra condition.
  own_keys_arn = "arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"
  key_alias_condition = merge(
    { "-" = {} },
    {
      for alias in compact(concat([var.dead_letter_queue_kms_key_alias], [for r in values(var.routes) : r.kms_key_alias])) :
      alias => { "ForAnyValue:StringEquals" = { "kms:ResourceAliases" = [alias] } }
    },
  )
  listed_key_regions = sort(distinct([for k in var.kms_key_arns : split(":", k)[3]]))
  listed_key_services = concat(
    ["s3"],
    var.extract_file_id && local.use_table ? ["dynamodb"] : [],
  )
  via_listed_key_services = {
    StringEquals = {
      "kms:ViaService" = sort([
        for pair in setproduct(local.listed_key_services, local.listed_key_regions) : "${pair[0]}.${pair[1]}.amazonaws.com"
      ])
    }
  }

  # Every statement the function may need; only the enabled ones reach the role. Sids are stable
  # (tests and users' reviews rely on them); actions are sorted. Each statement is an inline policy
  # of its own (named by its Sid), except those with `policy`, which go into the named statement's
  # policy: whether they are enabled can be unknown at plan (it depends on whether an input that may
  # come from a resource of the same configuration, such as a key ARN, is null), and the set of
  # policies must be known at plan.
  candidate_statements = [
    {
      enabled  = true
      Sid      = "WriteOwnLogs"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${local.log_group_arn}:*"]
    },
    {
      # Lambda's on-failure destination of asynchronous invocations sends as the function's role
      # (both modes; in queue mode SQS itself moves failed queued messages, by its redrive policy).
      enabled  = true
      Sid      = "SendFailedEventsToDeadLetterQueue"
      Action   = ["sqs:SendMessage"]
      Resource = [local.dead_letter_queue_arn]
    },
    {
      # Lambda sends the on-failure record to SQS as the role; SQS uses the key on its behalf.
      # With an alias: known at plan (an alias given means a key given: validated).
      enabled   = var.dead_letter_queue_kms_key_alias != null ? true : var.dead_letter_queue_kms_key_arn != null
      policy    = "SendFailedEventsToDeadLetterQueue"
      Sid       = "UseDeadLetterQueueKey"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = var.dead_letter_queue_kms_key_alias == null ? [var.dead_letter_queue_kms_key_arn] : [local.own_keys_arn]
      Condition = merge(local.via_sqs, local.key_alias_condition[coalesce(var.dead_letter_queue_kms_key_alias, "-")])
    },
    {
      # What the event source mapping polls with (the actions of AWSLambdaSQSQueueExecutionRole).
      enabled  = local.delivery_queue_enabled
      Sid      = "ReceiveFromDeliveryQueue"
      Action   = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
      Resource = [local.delivery_queue_arn]
    },
    {
      # The event source mapping receives as the role; SQS decrypts on its behalf. Moving a message
      # to the dead-letter queue needs no KMS right of the role: SQS does it, and the message keeps
      # its encryption under this key (see docs/threat-model.md).
      enabled   = local.delivery_queue_enabled && var.queue.kms_key_arn != null
      policy    = "ReceiveFromDeliveryQueue"
      Sid       = "DecryptDeliveryQueueMessages"
      Action    = ["kms:Decrypt"]
      Resource  = [var.queue.kms_key_arn]
      Condition = local.via_sqs
    },
    {
      # GetObject also covers HEAD (ETag, version id) and is required by conditional deletes;
      # GetObjectVersion reads one version (HEAD of a listed version, copies of a version).
      enabled   = local.reads_objects
      Sid       = "ReadScannedObjects"
      Action    = ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"]
      Resource  = local.bucket_object_arns
      Condition = local.owned_by_this_account
    },
    {
      # Without s3:ListBucket a missing object reads as 403 instead of 404.
      enabled   = local.reads_objects
      Sid       = "ListScannedBuckets"
      Action    = ["s3:ListBucket", "s3:ListBucketVersions"]
      Resource  = local.bucket_arns
      Condition = local.owned_by_this_account
    },
    {
      # delete_malicious, and move-mode routes (the source goes once its copy is verified).
      enabled   = var.delete_malicious || local.moves_objects
      Sid       = "DeleteScannedObjects"
      Action    = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      Resource  = local.bucket_object_arns
      Condition = local.owned_by_this_account
    },
    {
      # Its own policy for the created table. An existing table's name or ARN may be unknown until
      # apply: then it joins ReadScannedObjects (extract_file_id always reads objects).
      enabled  = var.extract_file_id && (var.create_file_id_table ? true : local.use_existing_table)
      policy   = var.create_file_id_table ? null : "ReadScannedObjects"
      Sid      = "RecordVerdicts"
      Action   = ["dynamodb:UpdateItem"]
      Resource = [local.table_arn]
    },
    {
      # One event per announced scan result (PutEvents, up to 10 a call), on that bus only.
      # The bus may be given by an ARN unknown until apply: in the always-present policy.
      enabled  = var.event_bus_name != null
      policy   = "WriteOwnLogs"
      Sid      = "PutScanResultEvents"
      Action   = ["events:PutEvents"]
      Resource = [coalesce(local.event_bus_arn, "-")]
    },
    {
      # PublishBatch is authorized as sns:Publish; on that topic only.
      # Its own policy for the created topic; a given topic ARN may be unknown until apply.
      enabled  = var.create_notify_topic ? true : local.notifies
      policy   = var.create_notify_topic ? null : "WriteOwnLogs"
      Sid      = "PublishNotifications"
      Action   = ["sns:Publish"]
      Resource = [coalesce(local.notify_topic_policy_arn, "-")]
    },
    {
      # SNS encrypts each message with the topic's customer managed key as the publisher, on the
      # role's behalf, in the topic's (= the key's) region.
      enabled  = local.notifies && var.notify_topic_kms_key_arn != null
      policy   = var.create_notify_topic ? "PublishNotifications" : "WriteOwnLogs"
      Sid      = "UseNotificationTopicKey"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = [coalesce(var.notify_topic_kms_key_arn, "-")]
      Condition = {
        StringEquals = { "kms:ViaService" = ["sns.${try(split(":", var.notify_topic_kms_key_arn)[3], local.region)}.amazonaws.com"] }
      }
    },
    {
      # Findings of this account, into its default product only.
      enabled  = var.security_hub_findings
      Sid      = "ImportSecurityHubFindings"
      Action   = ["securityhub:BatchImportFindings"]
      Resource = [local.security_hub_product_arn]
    },
    {
      # S3 decrypts SSE-KMS objects (and DynamoDB a CMK-encrypted table) on the role's behalf.
      enabled   = length(var.kms_key_arns) > 0
      Sid       = "DecryptWithListedKeys"
      Action    = ["kms:Decrypt"]
      Resource  = var.kms_key_arns
      Condition = local.via_listed_key_services
    },
    {
      enabled  = var.tracing_mode == "Active"
      Sid      = "WriteTraces"
      Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      Resource = ["*"]
    },
    {
      # The actions of AWSLambdaVPCAccessExecutionRole without its account-wide logs permissions.
      enabled = local.vpc_enabled
      Sid     = "ManageVpcNetworkInterfaces"
      Action = [
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:UnassignPrivateIpAddresses",
      ]
      Resource = ["*"]
    },
  ]

  # Per route: write (and HEAD to verify, abort a failed multipart copy) under its prefix only,
  # and use its KMS key when it has one.
  route_statements = flatten([
    for verdict in local.route_verdicts : [
      {
        enabled   = true
        Sid       = "Write${title(verdict)}Route"
        Action    = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"]
        Resource  = ["arn:${local.partition}:s3:::${local.routes[verdict].bucket}/${local.routes[verdict].prefix}*"]
        Condition = { StringEquals = { "s3:ResourceAccount" = local.routes[verdict].owner } }
      },
      {
        # S3 encrypts the copy on the role's behalf, in the destination bucket's (= the key's) region.
        # With an alias: the owner's keys in this region that carry it, known at plan.
        enabled = local.routes[verdict].kms_key_alias != null ? true : local.routes[verdict].kms_key_arn != null
        policy  = "Write${title(verdict)}Route"
        Sid     = "Encrypt${title(verdict)}Route"
        Action  = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = (
          local.routes[verdict].kms_key_alias == null
          ? [local.routes[verdict].kms_key_arn]
          : ["arn:${local.partition}:kms:${local.region}:${local.routes[verdict].owner}:key/*"]
        )
        Condition = merge(
          {
            StringEquals = { "kms:ViaService" = ["s3.${local.routes[verdict].kms_key_alias == null ? try(split(":", local.routes[verdict].kms_key_arn)[3], local.region) : local.region}.amazonaws.com"] }
          },
          local.key_alias_condition[coalesce(local.routes[verdict].kms_key_alias, "-")],
        )
      },
    ]
  ])

  all_statements = concat(local.candidate_statements, local.route_statements)
  # Inline policy name -> its statements. The names depend only on known flags, lengths and keys.
  role_policies = {
    # A conditional, not &&: an unknown `enabled` of a statement with `policy` must not be read.
    for name in [for s in local.all_statements : s.Sid if try(s.policy, null) == null ? s.enabled : false] :
    name => [
      for s in local.all_statements : merge(
        {
          Sid      = s.Sid
          Effect   = "Allow"
          Action   = s.Action
          Resource = s.Resource
        },
        try(s.Condition, null) == null ? {} : { Condition = s.Condition },
      ) if coalesce(try(s.policy, null), s.Sid) == name ? s.enabled : false
    ]
  }
  policy_statements = flatten(values(local.role_policies))
  # IAM counts every inline policy of a role together, without whitespace (jsonencode writes none).
  role_policy_documents  = { for name, statements in local.role_policies : name => jsonencode({ Version = "2012-10-17", Statement = statements }) }
  role_policy_characters = sum(concat([0], [for d in values(local.role_policy_documents) : length(d)]))
}

resource "aws_iam_role" "this" {
  name                 = local.role_name
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary_arn
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags

  # A new name (upgrade from the random-suffix name, a new var.name): the function moves to the new
  # role before the old one is deleted. (A new role_path cannot be applied in place: IAM has no
  # move, and the replacement would clash with the old role's name; see docs/pipelines.md.)
  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = local.role_policy_characters <= local.quota.iam_inline_policy_characters
      error_message = "The role's inline policies would be ${local.role_policy_characters} characters; IAM allows ${local.quota.iam_inline_policy_characters} for all inline policies of a role. With many buckets name them by pattern: bucket_name_patterns = [\"uploads-*\"], or [\"*\"] for any bucket of this account (the function still acts only on the listed buckets); or list fewer kms_key_arns / routes."
    }
  }
}

# One inline policy per permission (a statement, with the key statement that extends it), named by
# its Sid, so that a permission follows the setting that needs it in the right order. A statement a
# change adds is put before the function's new settings (the function depends on these policies); a statement a change removes is deleted only after the
# function has its new settings (create_before_destroy, which the subscriptions impose on everything
# they depend on, orders a removed dependency after the update of its dependents). So turning a flag
# on or off never leaves the function using a permission the role no longer has.
resource "aws_iam_role_policy" "this" {
  for_each = local.role_policies

  name   = each.key
  role   = aws_iam_role.this.name # known at plan (the id is not)
  policy = local.role_policy_documents[each.key]

  lifecycle {
    create_before_destroy = true
  }
}

moved {
  from = aws_iam_role_policy.this
  to   = aws_iam_role_policy.this["WriteOwnLogs"]
}
