################################################################################
# Naming and subscriptions
################################################################################

variable "name" {
  description = "Name of the Lambda function; also the prefix of every other resource name (log group, role, queue, table)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,48}$", var.name))
    error_message = "The name must be 1-48 characters of letters, digits, hyphens and underscores."
  }
}

variable "scan_result_topic_arns" {
  description = "File Storage Security scan-result SNS topics to subscribe to, keyed by a static label (for example one per storage stack). The topics must be in the provider's region; they may belong to another account. Together with storage_stack_names at least one topic is needed."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.scan_result_topic_arns) : can(regex("^[A-Za-z0-9_-]{1,64}$", k))])
    error_message = "Each scan_result_topic_arns key must be 1-64 characters of letters, digits, hyphens and underscores (it becomes part of a Lambda permission statement id); not ${join(", ", [for k in keys(var.scan_result_topic_arns) : jsonencode(k) if !can(regex("^[A-Za-z0-9_-]{1,64}$", k))])}."
  }

  validation {
    condition = alltrue([
      for arn in values(var.scan_result_topic_arns) :
      can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", arn))
    ])
    error_message = "Each scan_result_topic_arns value must be an SNS topic ARN like arn:aws:sns:<region>:<12-digit account>:<topic name>; not ${join(", ", [for k, arn in var.scan_result_topic_arns : "${k} = ${jsonencode(arn)}" if !can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", arn))])}."
  }

  validation {
    condition     = alltrue([for arn in values(var.scan_result_topic_arns) : !endswith(arn, ".fifo")])
    error_message = "FIFO topics (*.fifo) cannot deliver to a Lambda function; File Storage Security publishes to a standard topic. FIFO: ${join(", ", [for k, arn in var.scan_result_topic_arns : "${k} = ${arn}" if endswith(arn, ".fifo")])}."
  }

  validation {
    condition     = length(distinct(values(var.scan_result_topic_arns))) == length(var.scan_result_topic_arns)
    error_message = "Each topic ARN may appear only once in scan_result_topic_arns; given more than once: ${join(", ", distinct([for k, arn in var.scan_result_topic_arns : arn if length([for other in values(var.scan_result_topic_arns) : other if other == arn]) > 1]))}."
  }
}

variable "bucket_names" {
  description = "The scanned S3 buckets, by name or bucket ARN (arn:aws:s3:::name, as routes accept), besides those of storage_stack_names. The function acts only on objects in these buckets, and its IAM policy names each of them unless bucket_name_patterns is set. Together with storage_stack_names at least one bucket is needed."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for b in var.bucket_names : can(regex("^(arn:aws[a-zA-Z-]*:s3:::)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b)) && !strcontains(b, "..")
    ])
    error_message = "Each bucket_names item must be an S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-'; no wildcards or '..') or its ARN (arn:aws:s3:::name); not ${join(", ", [for b in var.bucket_names : jsonencode(b) if !(can(regex("^(arn:aws[a-zA-Z-]*:s3:::)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b)) && !strcontains(b, ".."))])}."
  }

  validation {
    condition     = length(distinct([for b in var.bucket_names : replace(b, "/^arn:[^:]+:s3:::/", "")])) == length(var.bucket_names)
    error_message = "Each bucket may appear only once in bucket_names (a name and its ARN are the same bucket); given more than once: ${join(", ", distinct([for b in var.bucket_names : replace(b, "/^arn:[^:]+:s3:::/", "") if length([for other in var.bucket_names : other if replace(other, "/^arn:[^:]+:s3:::/", "") == replace(b, "/^arn:[^:]+:s3:::/", "")]) > 1]))}."
  }
}

variable "check_bucket_names" {
  description = "When to check that bucket_names exist: plan, apply or off. The check reads each bucket (data source aws_s3_bucket: HeadBucket, so whoever plans needs s3:ListBucket on it) and fails on one that does not exist or is not this account's to read, naming it, instead of the function rejecting every scan result of the real bucket. plan (default): at every plan. apply: for buckets created in the same configuration; while bucket_names changes, each bucket is read at apply once it exists and before the function's allow-list changes (an unchanged list is read at plan). off: never (at 900 buckets the check adds 10-30 s to a plan, docs/pipelines.md; rely on the rejected alarm instead). Buckets of storage_stack_names are not read."
  type        = string
  default     = "plan"
  nullable    = false

  validation {
    condition     = contains(["plan", "apply", "off"], var.check_bucket_names)
    error_message = "check_bucket_names must be plan, apply or off; not ${jsonencode(var.check_bucket_names)}."
  }
}

variable "storage_stack_names" {
  description = "Names of File Storage Security storage stacks (CloudFormation, in the provider's account and region) to act for: each stack's ScanResultTopicARN output is subscribed (keyed by the stack name) and its ScanningBucket output is added to the scanned buckets. Read at plan time."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.storage_stack_names : can(regex("^[A-Za-z][A-Za-z0-9-]{0,127}$", s))])
    error_message = "Each storage_stack_names item must be a CloudFormation stack name (1-128 letters, digits and hyphens, starting with a letter), not an ARN; not ${join(", ", [for s in var.storage_stack_names : jsonencode(s) if !can(regex("^[A-Za-z][A-Za-z0-9-]{0,127}$", s))])}."
  }

  validation {
    condition     = length(distinct(var.storage_stack_names)) == length(var.storage_stack_names)
    error_message = "Each stack may appear only once in storage_stack_names; given more than once: ${join(", ", distinct([for v in var.storage_stack_names : v if length([for other in var.storage_stack_names : other if other == v]) > 1]))}."
  }
}

variable "account_scanner_stack_name" {
  description = "Name of a File Storage Security account scanner stack (CloudFormation, in the provider's account and region) whose scan-result topic to subscribe (keyed account-scanner). The stack has no topic output: the module reads it from the stack's outputs parameter in SSM Parameter Store (<stack name>-OutputsParameter-<id>) at plan time. The stack scans every bucket of the account: give the buckets to act on in bucket_names, and for many of them bucket_name_patterns (for example [\"*\"])."
  type        = string
  default     = null

  validation {
    condition     = var.account_scanner_stack_name == null || can(regex("^[A-Za-z][A-Za-z0-9-]{0,127}$", coalesce(var.account_scanner_stack_name, "-")))
    error_message = "account_scanner_stack_name must be a CloudFormation stack name (1-128 letters, digits and hyphens, starting with a letter), not an ARN."
  }
}

variable "bucket_name_patterns" {
  description = "For many buckets: bucket-name patterns (IAM wildcards * and ?, for example uploads-*) that the role's S3 statements name instead of each bucket, bounded to this account with s3:ResourceAccount; [\"*\"] = any bucket of this account. Every scanned bucket must match one (checked at plan). The function itself still acts only on the listed buckets. Empty (default): each bucket by ARN, which fits the role's 10,240-character policy quota up to about 60 buckets with every flag (docs/scale.md)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.bucket_name_patterns : can(regex("^[a-z0-9.*?-]{1,63}$", p)) && !strcontains(p, "..")])
    error_message = "Each bucket_name_patterns item must be 1-63 characters of a-z, 0-9, '.', '-' and the wildcards * and ? (no '..', ARNs, '/' or policy variables); not ${join(", ", [for p in var.bucket_name_patterns : jsonencode(p) if !(can(regex("^[a-z0-9.*?-]{1,63}$", p)) && !strcontains(p, ".."))])}."
  }

  validation {
    condition     = length(distinct(var.bucket_name_patterns)) == length(var.bucket_name_patterns)
    error_message = "Each pattern may appear only once in bucket_name_patterns; given more than once: ${join(", ", distinct([for v in var.bucket_name_patterns : v if length([for other in var.bucket_name_patterns : other if other == v]) > 1]))}."
  }
}

variable "topic_policy_scope" {
  description = "How the function's resource policy (direct mode) and the queue policies name the topics allowed to deliver: topic (each topic ARN; the function policy fits about 60 topics, the queue policies about 95) or account (one ArnLike pattern arn:PARTITION:sns:REGION:ACCOUNT:* per topic-owner account; for hundreds of topics). Either way the function accepts only the listed topics (ALLOWED_TOPIC_ARNS)."
  type        = string
  default     = "topic"

  validation {
    condition     = contains(["topic", "account"], var.topic_policy_scope)
    error_message = "topic_policy_scope must be topic or account."
  }
}

variable "subscription_filter_policy" {
  description = "Optional SNS subscription filter policy (a JSON string) applied to every subscription, for example to receive only malicious verdicts."
  type        = string
  default     = null

  validation {
    condition     = var.subscription_filter_policy == null || can(jsondecode(var.subscription_filter_policy))
    error_message = "subscription_filter_policy must be valid JSON."
  }
}

variable "subscription_filter_policy_scope" {
  description = "What the filter policy applies to: MessageBody or MessageAttributes. Used only when subscription_filter_policy is set."
  type        = string
  default     = "MessageBody"

  validation {
    condition     = contains(["MessageBody", "MessageAttributes"], var.subscription_filter_policy_scope)
    error_message = "subscription_filter_policy_scope must be MessageBody or MessageAttributes."
  }
}

################################################################################
# GuardDuty Malware Protection for S3 (a second scanner, alongside or instead of FSS)
################################################################################

variable "guardduty_plans" {
  description = "GuardDuty Malware Protection for S3 plans to act for, by static label. Each protects bucket_name, which joins the scanned buckets (ALLOWED_BUCKETS, the role's S3 scope, read protection); labels are 1-32 characters of letters, digits, - and _. plan_arn: an existing plan (in the provider's account and region); null: the module creates the plan (tagging on, only the object prefixes when given, at most 5) and its service role as AWS's IAM prerequisite page describes, scoped to that bucket and prefixes, with kms_key_arns usable through S3 only. role_arn: an existing plan's service role, which read protection must let write GuardDuty's tag (needed with read_protection on). A rule on the default event bus delivers the plans' scan results (and Post Scan Action Failed events) to the function, or to the delivery queue in queue mode. See docs/scanner.md."
  type = map(object({
    bucket_name  = string
    plan_arn     = optional(string)
    prefixes     = optional(list(string), [])
    role_arn     = optional(string)
    kms_key_arns = optional(list(string), [])
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for label in keys(var.guardduty_plans) : can(regex("^[A-Za-z0-9_-]{1,32}$", label))])
    error_message = "Each guardduty_plans key (label) must be 1-32 characters of letters, digits, - and _ (it becomes part of resource names); not ${join(", ", [for label in keys(var.guardduty_plans) : jsonencode(label) if !can(regex("^[A-Za-z0-9_-]{1,32}$", label))])}."
  }

  validation {
    condition     = alltrue([for p in values(var.guardduty_plans) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", p.bucket_name)) && !strcontains(p.bucket_name, "..")])
    error_message = "Each guardduty_plans bucket_name must be an S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-'); not ${join(", ", [for label, p in var.guardduty_plans : "guardduty_plans.${label}.bucket_name = ${jsonencode(p.bucket_name)}" if !(can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", p.bucket_name)) && !strcontains(p.bucket_name, ".."))])}."
  }

  validation {
    condition     = length(distinct([for p in values(var.guardduty_plans) : p.bucket_name])) == length(var.guardduty_plans)
    error_message = "A bucket has at most one Malware Protection plan: each bucket_name may appear once in guardduty_plans; given more than once: ${join(", ", distinct([for label, p in var.guardduty_plans : "${p.bucket_name} (${join(", ", sort([for other, q in var.guardduty_plans : other if q.bucket_name == p.bucket_name]))})" if length([for q in values(var.guardduty_plans) : q if q.bucket_name == p.bucket_name]) > 1]))}."
  }

  validation {
    condition     = alltrue([for p in values(var.guardduty_plans) : p.plan_arn == null || can(regex("^arn:aws[a-zA-Z-]*:guardduty:[a-z0-9-]+:[0-9]{12}:malware-protection-plan/[A-Za-z0-9_-]{1,128}$", p.plan_arn))])
    error_message = "Each guardduty_plans plan_arn must be null (the module creates the plan) or a Malware Protection plan ARN (arn:aws:guardduty:<region>:<account>:malware-protection-plan/<id>); not ${join(", ", [for label, p in var.guardduty_plans : "guardduty_plans.${label}.plan_arn = ${jsonencode(p.plan_arn)}" if !(p.plan_arn == null || can(regex("^arn:aws[a-zA-Z-]*:guardduty:[a-z0-9-]+:[0-9]{12}:malware-protection-plan/[A-Za-z0-9_-]{1,128}$", p.plan_arn)))])}."
  }

  validation {
    condition     = length(distinct(compact([for p in values(var.guardduty_plans) : p.plan_arn]))) == length(compact([for p in values(var.guardduty_plans) : p.plan_arn]))
    error_message = "Each plan_arn may appear once in guardduty_plans; given more than once: ${join(", ", distinct([for label, p in var.guardduty_plans : p.plan_arn if p.plan_arn != null && length([for q in values(var.guardduty_plans) : q if q.plan_arn == p.plan_arn]) > 1]))}."
  }

  validation {
    condition     = alltrue([for p in values(var.guardduty_plans) : length(p.prefixes) <= 5])
    error_message = "A Malware Protection plan takes at most 5 object prefixes; more in ${join(", ", [for label, p in var.guardduty_plans : "guardduty_plans.${label}.prefixes (${length(p.prefixes)})" if length(p.prefixes) > 5])}."
  }

  validation {
    condition     = alltrue(flatten([for p in values(var.guardduty_plans) : [for prefix in p.prefixes : (length(prefix) <= 1024 && can(regex("^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]*$", prefix)))]]))
    error_message = "Each guardduty_plans prefix must be 1-1024 characters of A-Z, a-z, 0-9 and ! _ . ' ( ) / - (no wildcards, spaces or policy variables: it scopes the plan role's policy), not starting with '/'; not ${join(", ", flatten([for label, p in var.guardduty_plans : [for prefix in p.prefixes : "guardduty_plans.${label}.prefixes ${jsonencode(prefix)}" if !(length(prefix) <= 1024 && can(regex("^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]*$", prefix)))]]))}."
  }

  validation {
    condition     = alltrue([for p in values(var.guardduty_plans) : p.plan_arn == null || (length(p.prefixes) == 0 && length(p.kms_key_arns) == 0)])
    error_message = "prefixes and kms_key_arns configure a plan the module creates (plan_arn = null); set them on the existing plan and its role instead, in ${join(", ", [for label, p in var.guardduty_plans : "guardduty_plans.${label}" if p.plan_arn != null && (length(p.prefixes) > 0 || length(p.kms_key_arns) > 0)])}."
  }

  validation {
    condition     = alltrue([for p in values(var.guardduty_plans) : p.role_arn == null || (p.plan_arn != null && can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[\\x21-\\x7E]{1,512}$", coalesce(p.role_arn, "-"))))])
    error_message = "role_arn names an existing plan's service role (arn:aws:iam::<account>:role/<name>) and goes with its plan_arn (the module creates the role of a plan it creates); not ${join(", ", [for label, p in var.guardduty_plans : "guardduty_plans.${label}.role_arn = ${jsonencode(p.role_arn)}" if !(p.role_arn == null || (p.plan_arn != null && can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[\\x21-\\x7E]{1,512}$", coalesce(p.role_arn, "-")))))])}."
  }

  validation {
    condition     = alltrue(flatten([for p in values(var.guardduty_plans) : [for k in p.kms_key_arns : can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", k))]]))
    error_message = "Each guardduty_plans kms_key_arns item must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); not ${join(", ", flatten([for label, p in var.guardduty_plans : [for k in p.kms_key_arns : "guardduty_plans.${label}.kms_key_arns ${jsonencode(k)}" if !can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", k))]]))}."
  }
}

################################################################################
# Feature flags (all off by default: a bare module only logs verdicts)
################################################################################

variable "delete_malicious" {
  description = "Delete objects whose scan found malware (only the scanned version in a versioned bucket; a newer upload is left alone)."
  type        = bool
  default     = false
}

variable "extract_file_id" {
  description = "Read the file id from the scanned object's tag file_id_tag_key and, when a table is configured, record the verdict in DynamoDB."
  type        = bool
  default     = false
}

variable "file_id_tag_key" {
  description = "S3 object tag key that holds the application's file id."
  type        = string
  default     = "file_id"

  validation {
    # The engine strips surrounding spaces (docs/contract.md): it would read another tag.
    condition     = length(var.file_id_tag_key) >= 1 && length(var.file_id_tag_key) <= 128 && trimspace(var.file_id_tag_key) == var.file_id_tag_key
    error_message = "file_id_tag_key must be 1-128 characters (an S3 tag key) without leading or trailing spaces; not ${jsonencode(var.file_id_tag_key)}."
  }
}

variable "create_file_id_table" {
  description = "Create a DynamoDB table (on-demand, encrypted, point-in-time recovery) for the verdicts. Needs extract_file_id; cannot be combined with file_id_table_name."
  type        = bool
  default     = false
}

variable "file_id_table_name" {
  description = "Name (or ARN) of an existing DynamoDB table to record verdicts in. Needs extract_file_id; cannot be combined with create_file_id_table."
  type        = string
  default     = null

  validation {
    condition = var.file_id_table_name == null || can(regex(
      "^([a-zA-Z0-9_.-]{3,255}|arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255})$",
      var.file_id_table_name
    ))
    error_message = "file_id_table_name must be a DynamoDB table name (3-255 characters of a-z, A-Z, 0-9, '_', '-', '.') or a table ARN."
  }
}

variable "file_id_table_key" {
  description = "Partition key (type S) of the file id table: the attribute that holds the file id."
  type        = string
  default     = "file_id"

  validation {
    # The engine strips surrounding spaces: it would update another attribute than the created key.
    condition     = length(var.file_id_table_key) >= 1 && length(var.file_id_table_key) <= 255 && trimspace(var.file_id_table_key) == var.file_id_table_key
    error_message = "file_id_table_key must be 1-255 characters without leading or trailing spaces; not ${jsonencode(var.file_id_table_key)}."
  }
}

variable "file_id_table_upsert" {
  description = "true: create the row when the file id is not in the table yet; false: only update existing rows."
  type        = bool
  default     = true
}

variable "file_id_table_kms_key_arn" {
  description = "Customer managed KMS key ARN for the created table (null: the AWS managed key aws/dynamodb). List the key in kms_key_arns as well so the function may use it."
  type        = string
  default     = null

  validation {
    condition     = var.file_id_table_kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.file_id_table_kms_key_arn))
    error_message = "file_id_table_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "file_id_table_deletion_protection" {
  description = "Turn on deletion protection for the created table (recommended in production; it must be turned off before the module can be destroyed)."
  type        = bool
  default     = false
}

variable "record_verdicts" {
  description = "Verdicts recorded in the table: any of malicious, clean, incomplete, failed, unscanned (the scanner did not scan the file: licence, scanner error, timeout or throttling)."
  type        = list(string)
  default     = ["malicious", "incomplete", "failed", "unscanned"]
  nullable    = false

  validation {
    condition     = alltrue([for v in var.record_verdicts : contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])
    error_message = "record_verdicts may only contain malicious, clean, incomplete, failed and unscanned; not ${join(", ", [for v in var.record_verdicts : jsonencode(v) if !contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])}."
  }

  validation {
    condition     = length(distinct(var.record_verdicts)) == length(var.record_verdicts)
    error_message = "Each verdict may appear only once in record_verdicts; given more than once: ${join(", ", distinct([for v in var.record_verdicts : v if length([for other in var.record_verdicts : other if other == v]) > 1]))}."
  }
}

variable "routes" {
  description = "Copy scanned objects by verdict (keys malicious, clean, incomplete, failed, unscanned) to bucket (a name or an S3 bucket ARN), under the key prefix + source bucket + / + source key; SSE-KMS with kms_key_arn, else the destination bucket's default encryption. bucket_owner is the 12-digit account that owns the bucket (default: the function's account): every request to it, and its IAM statement, require that owner, so a deleted bucket whose name another account registers receives nothing. kms_key_alias is an alias (alias/NAME) of kms_key_arn, in the function's region and the bucket_owner's account, for a key created in the same configuration: the statement EncryptVRoute then names that account's keys carrying the alias (kms:ResourceAliases) instead of the key ARN, so it is known at plan (AWS may take up to five minutes to honour a new alias). route_mode decides whether the source is then deleted. Not for verdicts the scanner moves itself (scanner_routed_verdicts: Cloud One account scanner QuarantineBucket, Vision One custom destination buckets)."
  type = map(object({
    bucket        = string
    prefix        = optional(string, "")
    kms_key_arn   = optional(string)
    kms_key_alias = optional(string)
    bucket_owner  = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for verdict in keys(var.routes) : contains(["malicious", "clean", "incomplete", "failed", "unscanned"], verdict)])
    error_message = "routes keys must be verdicts: malicious, clean, incomplete, failed or unscanned; not ${join(", ", [for verdict in keys(var.routes) : jsonencode(verdict) if !contains(["malicious", "clean", "incomplete", "failed", "unscanned"], verdict)])}."
  }

  validation {
    condition = alltrue([
      for r in values(var.routes) :
      can(regex("^(arn:aws[a-zA-Z-]*:s3:::)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", r.bucket)) && !strcontains(r.bucket, "..")
    ])
    error_message = "Each routes bucket must be a plain S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-') or its ARN (arn:aws:s3:::name); not ${join(", ", [for verdict, r in var.routes : "routes.${verdict}.bucket = ${jsonencode(r.bucket)}" if !(can(regex("^(arn:aws[a-zA-Z-]*:s3:::)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", r.bucket)) && !strcontains(r.bucket, ".."))])}."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : can(regex("^([A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]{0,511})?$", r.prefix))])
    error_message = "Each routes prefix must be empty or 1-512 characters of A-Z, a-z, 0-9 and ! _ . ' ( ) / - (no wildcards, spaces or policy variables), not starting with '/'; not ${join(", ", [for verdict, r in var.routes : "routes.${verdict}.prefix = ${jsonencode(r.prefix)}" if !can(regex("^([A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]{0,511})?$", r.prefix))])}."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : r.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", r.kms_key_arn))])
    error_message = "Each routes kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); aliases do not grant access. Not ${join(", ", [for verdict, r in var.routes : "routes.${verdict}.kms_key_arn = ${jsonencode(r.kms_key_arn)}" if !(r.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", r.kms_key_arn)))])}."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : r.kms_key_alias == null || r.kms_key_arn != null])
    error_message = "A routes kms_key_alias names the alias of the route's kms_key_arn, which the function encrypts with: give both; only an alias: ${join(", ", [for verdict, r in var.routes : "routes.${verdict}" if r.kms_key_alias != null && r.kms_key_arn == null])}."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : r.kms_key_alias == null || (can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", coalesce(r.kms_key_alias, "-"))) && !startswith(coalesce(r.kms_key_alias, "-"), "alias/aws/"))])
    error_message = "Each routes kms_key_alias must be null or a customer alias name like alias/NAME (letters, digits, / _ -; not alias/aws/...); not ${join(", ", [for verdict, r in var.routes : "routes.${verdict}.kms_key_alias = ${jsonencode(r.kms_key_alias)}" if !(r.kms_key_alias == null || (can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", coalesce(r.kms_key_alias, "-"))) && !startswith(coalesce(r.kms_key_alias, "-"), "alias/aws/")))])}."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : r.bucket_owner == null || can(regex("^[0-9]{12}$", r.bucket_owner))])
    error_message = "Each routes bucket_owner must be null (the function's account) or a 12-digit AWS account id; not ${join(", ", [for verdict, r in var.routes : "routes.${verdict}.bucket_owner = ${jsonencode(r.bucket_owner)}" if !(r.bucket_owner == null || can(regex("^[0-9]{12}$", r.bucket_owner)))])}."
  }
}

variable "route_scan_types" {
  description = "Vision One scan types (the fss-scan-type tag: object created, manual, schedule) whose clean and unscanned results are routed. Objects without the tag (Cloud One, tagging off), and malicious, incomplete and failed results, are routed whatever this says. The default keeps full bucket scans (manual, schedule) from promoting every clean file in use, and an outage during one from moving every file."
  type        = list(string)
  default     = ["object created"]
  nullable    = false

  validation {
    condition     = alltrue([for t in var.route_scan_types : contains(["object created", "manual", "schedule"], t)])
    error_message = "route_scan_types may only contain \"object created\", \"manual\" and \"schedule\" (the values of Vision One's fss-scan-type tag); not ${join(", ", [for t in var.route_scan_types : jsonencode(t) if !contains(["object created", "manual", "schedule"], t)])}."
  }

  validation {
    condition     = length(distinct(var.route_scan_types)) == length(var.route_scan_types)
    error_message = "Each scan type may appear only once in route_scan_types; given more than once: ${join(", ", distinct([for v in var.route_scan_types : v if length([for other in var.route_scan_types : other if other == v]) > 1]))}."
  }
}

variable "scanner_routed_verdicts" {
  description = "Verdicts whose files the scanner itself moves out of the scanned buckets: Cloud One account scanner QuarantineBucket (malicious), Vision One custom destination buckets (malicious for QuarantineBucket, clean for CleanBucket, failed and others for FailureBucket). The log line then says when a file is gone because the scanner moved it; a route for such a verdict is refused."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for v in var.scanner_routed_verdicts : contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])
    error_message = "scanner_routed_verdicts may only contain malicious, clean, incomplete, failed and unscanned; not ${join(", ", [for v in var.scanner_routed_verdicts : jsonencode(v) if !contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])}."
  }

  validation {
    condition     = length(distinct(var.scanner_routed_verdicts)) == length(var.scanner_routed_verdicts)
    error_message = "Each verdict may appear only once in scanner_routed_verdicts; given more than once: ${join(", ", distinct([for v in var.scanner_routed_verdicts : v if length([for other in var.scanner_routed_verdicts : other if other == v]) > 1]))}."
  }
}

variable "route_mode" {
  description = "What happens to the source after a verified copy along routes: move (delete the scanned version) or copy (keep it; delete_malicious still deletes malicious ones)."
  type        = string
  default     = "move"

  validation {
    condition     = contains(["move", "copy"], var.route_mode)
    error_message = "route_mode must be move or copy."
  }
}

variable "dry_run" {
  description = "Read and decide, but neither delete objects nor write to the table; the log line says what would have been done."
  type        = bool
  default     = false
}

################################################################################
# Announcements: EventBridge events, SNS notifications, Security Hub findings
################################################################################

variable "event_bus_name" {
  description = "Name or ARN of an existing EventBridge event bus (\"default\" for the account's default bus) that gets one \"Scan Result Processed\" event per announced scan result, after its actions. An ARN may name a bus in another account whose policy allows this function's role. null: no events."
  type        = string
  default     = null

  validation {
    condition = var.event_bus_name == null || can(regex(
      "^([A-Za-z0-9._/-]{1,256}|arn:aws[a-zA-Z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256})$",
      var.event_bus_name
    ))
    error_message = "event_bus_name must be an event bus name (1-256 characters of A-Z a-z 0-9 . _ / -) or an event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)."
  }
}

variable "event_source" {
  description = "The events' source (what EventBridge rules match on)."
  type        = string
  default     = "fss-post-scan"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-][A-Za-z0-9._/-]{0,255}$", var.event_source)) && !startswith(lower(var.event_source), "aws.")
    error_message = "event_source must be 1-256 characters of A-Z a-z 0-9 . _ / - and must not start with aws. (reserved for AWS services)."
  }
}

variable "notify_topic_arn" {
  description = "ARN of an existing standard SNS topic that gets one notification per announced scan result (bodies for e-mail, chat and machines). Not together with create_notify_topic. If the topic is encrypted with a customer managed key, give it in notify_topic_kms_key_arn."
  type        = string
  default     = null

  validation {
    condition     = var.notify_topic_arn == null || can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.notify_topic_arn))
    error_message = "notify_topic_arn must be a standard (not FIFO) SNS topic ARN like arn:aws:sns:<region>:<12-digit account>:<topic name>."
  }
}

variable "create_notify_topic" {
  description = "Create the notification topic NAME-notifications (encrypted with notify_topic_kms_key_arn, else the AWS managed key alias/aws/sns), with an e-mail subscription per notify_email_addresses. Subscribe Amazon Q Developer in chat applications (Slack, Microsoft Teams) to it in its channel configuration."
  type        = bool
  default     = false
}

variable "notify_topic_kms_key_arn" {
  description = "Customer managed KMS key of the notification topic: the created topic is encrypted with it, and the function may use it to publish (kms:GenerateDataKey, kms:Decrypt) to the created or the given topic. null: the created topic uses alias/aws/sns."
  type        = string
  default     = null

  validation {
    condition     = var.notify_topic_kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.notify_topic_kms_key_arn))
    error_message = "notify_topic_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); aliases do not grant access."
  }
}

variable "notify_email_addresses" {
  description = "E-mail addresses subscribed to the created notification topic (create_notify_topic). Each address gets a confirmation e-mail from AWS first; until it is confirmed nothing is delivered to it."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.notify_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "Each notify_email_addresses item must be an e-mail address (name@domain.tld); not ${join(", ", [for a in var.notify_email_addresses : jsonencode(a) if !can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])}."
  }

  validation {
    condition     = length(distinct(var.notify_email_addresses)) == length(var.notify_email_addresses)
    error_message = "Each address may appear only once in notify_email_addresses; given more than once: ${join(", ", distinct([for v in var.notify_email_addresses : v if length([for other in var.notify_email_addresses : other if other == v]) > 1]))}."
  }
}

variable "notify_email_verdicts" {
  description = "Verdicts the e-mail subscriptions (notify_email_addresses) receive: a filter policy on the notifications' verdict attribute. null: every verdict except clean."
  type        = list(string)
  default     = null

  validation {
    condition     = var.notify_email_verdicts == null || alltrue([for v in coalesce(var.notify_email_verdicts, []) : contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])
    error_message = "notify_email_verdicts may only contain malicious, clean, incomplete, failed and unscanned; not ${join(", ", [for v in coalesce(var.notify_email_verdicts, []) : jsonencode(v) if !contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])}."
  }

  validation {
    condition     = try(length(var.notify_email_verdicts) > 0, true)
    error_message = "notify_email_verdicts must list at least one verdict (to subscribe no one, leave notify_email_addresses empty)."
  }
}

variable "notify_verdicts" {
  description = "Verdicts announced by event and notification (any of malicious, clean, incomplete, failed, unscanned). null: every verdict except clean. Security Hub findings are about malicious files only, whatever this says."
  type        = list(string)
  default     = null

  validation {
    condition     = var.notify_verdicts == null || alltrue([for v in coalesce(var.notify_verdicts, []) : contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])
    error_message = "notify_verdicts may only contain malicious, clean, incomplete, failed and unscanned; not ${join(", ", [for v in coalesce(var.notify_verdicts, []) : jsonencode(v) if !contains(["malicious", "clean", "incomplete", "failed", "unscanned"], v)])}."
  }

  validation {
    condition     = var.notify_verdicts == null || length(distinct(coalesce(var.notify_verdicts, []))) == length(coalesce(var.notify_verdicts, []))
    error_message = "Each verdict may appear only once in notify_verdicts; given more than once: ${join(", ", distinct([for v in coalesce(var.notify_verdicts, []) : v if length([for other in coalesce(var.notify_verdicts, []) : other if other == v]) > 1]))}."
  }
}

variable "notify_chat" {
  description = "true: HTTPS subscriptions of the notification topic get the Amazon Q Developer in chat applications (formerly AWS Chatbot) custom notification body, which Slack and Microsoft Teams channels render (Amazon Q Developer subscribes over HTTPS). false: they get the event detail (JSON) like SQS and Lambda subscriptions."
  type        = bool
  default     = true
}

variable "security_hub_findings" {
  description = "Import one AWS Security Hub finding per malicious file (AwsS3Object, the scanner's findings as details) into the account's default product, updated, not duplicated, when the scan result comes again. Security Hub must be enabled in the region."
  type        = bool
  default     = false
}

################################################################################
# Function
################################################################################

variable "log_level" {
  description = "Log level of the function: DEBUG, INFO, WARNING, ERROR or CRITICAL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's embedded-metric-format metrics."
  type        = string
  default     = "FSSPostScan"

  validation {
    # The engine strips surrounding spaces (the alarms would watch a namespace that gets no metrics)
    # and, like CloudWatch, takes printable ASCII only.
    condition     = length(var.metrics_namespace) >= 1 && length(var.metrics_namespace) <= 255 && !strcontains(var.metrics_namespace, ":") && !startswith(var.metrics_namespace, "AWS/") && trimspace(var.metrics_namespace) == var.metrics_namespace && can(regex("^[ -~]+$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 printable ASCII characters, without ':' or leading or trailing spaces, and not starting with AWS/; not ${jsonencode(var.metrics_namespace)}."
  }
}

variable "kms_key_arns" {
  description = "KMS key ARNs the function may decrypt with (kms:Decrypt): keys of SSE-KMS scanned objects and of a customer-managed file id table."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for k in var.kms_key_arns : can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", k))])
    error_message = "Each kms_key_arns item must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); aliases do not grant access. Not ${join(", ", [for k in var.kms_key_arns : jsonencode(k) if !can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", k))])}."
  }
}

variable "runtime" {
  description = "Python runtime of the function. python3.14 needs hashicorp/aws >= 6.20."
  type        = string
  default     = "python3.13"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13", "python3.14"], var.runtime)
    error_message = "runtime must be one of python3.11, python3.12, python3.13, python3.14."
  }
}

variable "architecture" {
  description = "Instruction set architecture of the function: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (128-10240)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of the function in seconds (1-900)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function (null: unreserved; 0 stops all invocations)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null or a whole number >= 0."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: null (no tracing config), Active or PassThrough."
  type        = string
  default     = null

  validation {
    condition     = var.tracing_mode == null || contains(["Active", "PassThrough"], coalesce(var.tracing_mode, "-"))
    error_message = "tracing_mode must be null, Active or PassThrough."
  }
}

variable "vpc_subnet_ids" {
  description = "Subnets to run the function in (with vpc_security_group_ids). They need a route to S3, DynamoDB, SQS and CloudWatch Logs (NAT or VPC endpoints)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.vpc_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Each vpc_subnet_ids item must be a subnet id (subnet-0123456789abcdef0); not ${join(", ", [for v in var.vpc_subnet_ids : jsonencode(v) if !can(regex("^subnet-[0-9a-f]{8,17}$", v))])}."
  }
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function when it runs in vpc_subnet_ids."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.vpc_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "Each vpc_security_group_ids item must be a security group id (sg-0123456789abcdef0); not ${join(", ", [for v in var.vpc_security_group_ids : jsonencode(v) if !can(regex("^sg-[0-9a-f]{8,17}$", v))])}."
  }
}

################################################################################
# Logs, dead-letter queue, retries
################################################################################

variable "cloudwatch_logs_retention_in_days" {
  description = "Retention of the function's log group in days (a value CloudWatch Logs accepts; 0 keeps logs forever)."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_logs_retention_in_days)
    error_message = "cloudwatch_logs_retention_in_days must be one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "cloudwatch_logs_kms_key_arn" {
  description = "KMS key ARN to encrypt the log group with (null: CloudWatch Logs' default encryption). The key policy must allow the logs.REGION.amazonaws.com service principal."
  type        = string
  default     = null

  validation {
    condition     = var.cloudwatch_logs_kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.cloudwatch_logs_kms_key_arn))
    error_message = "cloudwatch_logs_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "dead_letter_queue_kms_key_arn" {
  description = "KMS key ARN for the dead-letter queue (null: SQS-managed encryption). The key policy must allow sns.amazonaws.com to use it for SNS redrive."
  type        = string
  default     = null

  validation {
    condition     = var.dead_letter_queue_kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.dead_letter_queue_kms_key_arn))
    error_message = "dead_letter_queue_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "dead_letter_queue_kms_key_alias" {
  description = "Alias of dead_letter_queue_kms_key_arn. For a key created alongside: the role's statement UseDeadLetterQueueKey then names this account's keys in this region that carry the alias (alias/NAME; kms:ResourceAliases) instead of the key's ARN, so it is known at plan (the ARN is not). Give the aws_kms_alias resource's name; AWS may take up to five minutes to honour a new alias. null: the statement names the key ARN."
  type        = string
  default     = null

  validation {
    condition     = var.dead_letter_queue_kms_key_alias == null || (can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", coalesce(var.dead_letter_queue_kms_key_alias, "-"))) && !startswith(coalesce(var.dead_letter_queue_kms_key_alias, "-"), "alias/aws/"))
    error_message = "dead_letter_queue_kms_key_alias must be a customer alias name like alias/NAME (letters, digits, / _ -; not alias/aws/...); not ${jsonencode(var.dead_letter_queue_kms_key_alias)}."
  }
}

variable "dead_letter_queue_message_retention_seconds" {
  description = "How long the dead-letter queue keeps messages, in seconds (60-1209600)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dead_letter_queue_message_retention_seconds >= 60 && var.dead_letter_queue_message_retention_seconds <= 1209600 && floor(var.dead_letter_queue_message_retention_seconds) == var.dead_letter_queue_message_retention_seconds
    error_message = "dead_letter_queue_message_retention_seconds must be a whole number between 60 and 1209600 (14 days)."
  }
}

variable "maximum_retry_attempts" {
  description = "How many times Lambda retries a failed asynchronous invocation (0-2) before sending the event to the dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.maximum_retry_attempts)
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Maximum age of an asynchronous event in seconds (60-21600) before it goes to the dead-letter queue unprocessed."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds
    error_message = "maximum_event_age_in_seconds must be a whole number between 60 and 21600."
  }
}

################################################################################
# Delivery: direct (SNS invokes the function) or through an SQS queue
################################################################################

variable "delivery_mode" {
  description = "How scan results reach the function: direct (SNS invokes it asynchronously; retries, then the dead-letter queue) or queue (SNS fills an encrypted SQS delivery queue that the function reads in batches through an event source mapping; a message that fails queue.max_receive_count times moves to the dead-letter queue)."
  type        = string
  default     = "direct"

  validation {
    condition     = contains(["direct", "queue"], var.delivery_mode)
    error_message = "delivery_mode must be direct or queue."
  }
}

variable "queue" {
  description = "Settings of the delivery queue and its event source mapping (delivery_mode = queue only). batch_size 1-10000 messages (above 10 needs maximum_batching_window_in_seconds >= 1); maximum_batching_window_in_seconds 0-300; maximum_concurrency 2-1000 concurrent invocations (null: no cap); max_receive_count 1-1000 receives before a message moves to the dead-letter queue; visibility_timeout_seconds 0-43200 (null: 6 x timeout + the batching window, as AWS recommends); message_retention_seconds 60-1209600; kms_key_arn: customer managed key for the queue (null: SSE-SQS)."
  type = object({
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_concurrency                = optional(number)
    max_receive_count                  = optional(number, 5)
    visibility_timeout_seconds         = optional(number)
    message_retention_seconds          = optional(number, 345600)
    kms_key_arn                        = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.queue.batch_size >= 1 && var.queue.batch_size <= 10000 && floor(var.queue.batch_size) == var.queue.batch_size
    error_message = "queue.batch_size must be a whole number between 1 and 10000."
  }

  validation {
    condition     = var.queue.maximum_batching_window_in_seconds >= 0 && var.queue.maximum_batching_window_in_seconds <= 300 && floor(var.queue.maximum_batching_window_in_seconds) == var.queue.maximum_batching_window_in_seconds
    error_message = "queue.maximum_batching_window_in_seconds must be a whole number of seconds between 0 and 300."
  }

  validation {
    condition     = var.queue.batch_size <= 10 || var.queue.maximum_batching_window_in_seconds >= 1
    error_message = "A queue.batch_size above 10 needs queue.maximum_batching_window_in_seconds of at least 1 (Lambda rejects the event source mapping otherwise)."
  }

  validation {
    condition     = var.queue.maximum_concurrency == null || try(var.queue.maximum_concurrency >= 2 && var.queue.maximum_concurrency <= 1000 && floor(var.queue.maximum_concurrency) == var.queue.maximum_concurrency, false)
    error_message = "queue.maximum_concurrency must be null (no cap) or a whole number between 2 and 1000."
  }

  validation {
    condition     = var.queue.max_receive_count >= 1 && var.queue.max_receive_count <= 1000 && floor(var.queue.max_receive_count) == var.queue.max_receive_count
    error_message = "queue.max_receive_count must be a whole number between 1 and 1000 (AWS recommends at least 5 for a Lambda event source, so that throttled batches do not reach the dead-letter queue)."
  }

  validation {
    condition     = var.queue.visibility_timeout_seconds == null || try(var.queue.visibility_timeout_seconds >= 0 && var.queue.visibility_timeout_seconds <= 43200 && floor(var.queue.visibility_timeout_seconds) == var.queue.visibility_timeout_seconds, false)
    error_message = "queue.visibility_timeout_seconds must be null (derived from the function timeout) or a whole number of seconds between 0 and 43200 (12 hours)."
  }

  validation {
    condition     = var.queue.message_retention_seconds >= 60 && var.queue.message_retention_seconds <= 1209600 && floor(var.queue.message_retention_seconds) == var.queue.message_retention_seconds
    error_message = "queue.message_retention_seconds must be a whole number between 60 and 1209600 (14 days)."
  }

  validation {
    condition     = var.queue.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.queue.kms_key_arn))
    error_message = "queue.kms_key_arn must be null (SSE-SQS) or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); aliases do not grant access."
  }
}

variable "drain_delivery_queue" {
  description = "Keep the delivery queue, its event source mapping and the function's permission to read it in direct mode, so that after a switch from queue to direct mode the function works off the scan results still queued. Set it together with delivery_mode = \"direct\", wait until the queue is empty, then set it back to false to delete the queue. No effect in queue mode."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Alarms
################################################################################

variable "alarm_topic_arns" {
  description = "SNS topic ARNs (at most 5) that the CloudWatch alarms notify (alarm and OK). Empty: no alarms, unless create_alarms says otherwise. A topic created in the same configuration works as is ([aws_sns_topic.alarms.arn]): the list's length, which decides whether the alarms exist, is known at plan even when the ARNs are not."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.alarm_topic_arns) <= 5
    error_message = "alarm_topic_arns holds at most 5 topics (CloudWatch allows 5 actions per alarm state); given ${length(var.alarm_topic_arns)}."
  }

  validation {
    condition     = alltrue([for t in var.alarm_topic_arns : can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", t))])
    error_message = "Each alarm_topic_arns item must be an SNS topic ARN like arn:aws:sns:<region>:<12-digit account>:<topic name>; not ${join(", ", [for t in var.alarm_topic_arns : jsonencode(t) if !can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", t))])}."
  }
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms (dead-letter queue not empty, function errors, throttles, rejected scan results, fallback actions, verdict conflicts, row conflicts, unproven locations, unscanned uploads, failed deliveries to the dead-letter queue; while the delivery queue exists failed scan results and the age of its oldest message; with read_protection = until_clean clean objects the scanner had not tagged clean), notifying alarm_topic_arns. null (default): create them exactly when alarm_topic_arns is not empty. true without alarm_topic_arns is an error; false never creates them."
  type        = bool
  default     = null
}

variable "alarms" {
  description = "Alarm settings: period_seconds (a multiple of 60) and evaluation_periods of every alarm (their product at most one day, or 7 days for periods of an hour or more); thresholds: an alarm fires above dead_letters_threshold visible dead letters, errors_threshold errors (failed invocations; while the delivery queue exists also failed scan results), throttles_threshold throttles, rejected_threshold rejected scan results per period, (while the delivery queue exists) when its oldest message is older than queue_age_threshold_seconds, above unscanned_threshold scan results with the verdict unscanned (uploads not scanned: licence, scanner error, timeout), (read_protection = until_clean) above untagged_clean_objects_threshold clean objects per period that the scanner had not tagged clean, above row_conflicts_threshold verdicts per period whose file id named a row bound to another object, and above unproven_locations_threshold benign verdicts per period not acted on because the scanned upload could not be singled out (outcome unproven: an availability problem, nothing unscanned was promoted). Fallback actions, verdict conflicts and failed deliveries to the dead-letter queue alarm on the first one. exposure_p99_seconds (null: no such alarm): an alarm fires when the p99 of ExposureSeconds (how long malicious files stayed readable before the function removed them) over 5 minutes exceeds it."
  type = object({
    period_seconds                   = optional(number, 300)
    evaluation_periods               = optional(number, 1)
    dead_letters_threshold           = optional(number, 0)
    errors_threshold                 = optional(number, 0)
    throttles_threshold              = optional(number, 0)
    rejected_threshold               = optional(number, 0)
    queue_age_threshold_seconds      = optional(number, 900)
    unscanned_threshold              = optional(number, 0)
    untagged_clean_objects_threshold = optional(number, 0)
    row_conflicts_threshold          = optional(number, 0)
    unproven_locations_threshold     = optional(number, 0)
    exposure_p99_seconds             = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.alarms.period_seconds >= 60 && var.alarms.period_seconds % 60 == 0
    error_message = "alarms.period_seconds must be a multiple of 60 (AWS Lambda and SQS metrics have one-minute resolution)."
  }

  validation {
    condition = (
      var.alarms.evaluation_periods >= 1 && floor(var.alarms.evaluation_periods) == var.alarms.evaluation_periods &&
      var.alarms.period_seconds * var.alarms.evaluation_periods <= (var.alarms.period_seconds < 3600 ? 86400 : 604800)
    )
    error_message = "alarms.evaluation_periods must be a whole number >= 1, and period_seconds x evaluation_periods at most 86400 (one day; 604800 for periods of an hour or more)."
  }

  validation {
    condition = alltrue([
      for t in [var.alarms.dead_letters_threshold, var.alarms.errors_threshold, var.alarms.throttles_threshold, var.alarms.rejected_threshold, var.alarms.queue_age_threshold_seconds, var.alarms.unscanned_threshold, var.alarms.untagged_clean_objects_threshold, var.alarms.row_conflicts_threshold, var.alarms.unproven_locations_threshold] : t >= 0
    ])
    error_message = "alarms thresholds must not be negative; not ${join(", ", [for k, t in var.alarms : "alarms.${k} = ${t}" if strcontains(k, "threshold") && coalesce(t, 0) < 0])}."
  }

  validation {
    condition     = var.alarms.exposure_p99_seconds == null ? true : var.alarms.exposure_p99_seconds > 0
    error_message = "alarms.exposure_p99_seconds must be a number of seconds above 0, or null (no exposure alarm); not ${jsonencode(var.alarms.exposure_p99_seconds)}."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard. It is named NAME-REGION (dashboards are global per account) and shows the function's results, exposure, delays, failures and health (docs/operations.md#dashboard). The saved Logs Insights queries are created in any case."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# IAM and tags
################################################################################

variable "role_path" {
  description = "Path of the function's IAM role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7E]{1,510}/)?$", var.role_path))
    error_message = "role_path must start and end with '/' (for example / or /service/), at most 512 characters."
  }
}

variable "role_permissions_boundary_arn" {
  description = "ARN of the managed policy used as the role's permissions boundary (null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary_arn))
    error_message = "role_permissions_boundary_arn must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name>)."
  }
}

variable "tags" {
  description = "Tags applied to every resource the module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Read protection (bucket policies keyed on the scanner's result tag)
################################################################################

variable "read_protection" {
  description = "Bucket-policy read protection for the scanned buckets, returned as the output read_protection_policies (the module attaches no bucket policy itself): off; malicious (deny reads of objects the scanner tagged fss-scan-result = malicious); until_clean (deny reads of every object until the scanner tagged it clean: fss-scan-result = no issues found and fss-scan-detail-code = 0). Needs the scanner's tag format Separated tags. until_clean also makes the function check that clean objects get that tag (metric UntaggedCleanObjects) and tag the copies it promotes. See docs/read-protection.md."
  type        = string
  default     = "off"
  nullable    = false

  validation {
    condition     = contains(["off", "malicious", "until_clean"], var.read_protection)
    error_message = "read_protection must be off, malicious or until_clean."
  }
}

variable "read_protection_exempt_principal_arns" {
  description = "Role (or user) ARNs that may read hidden objects (break glass). They may read every object the read protection policies hide, but may not set or change the scanner's fss- tags: list the scanner's own roles in read_protection_scanner_principal_arns. Give the role's ARN (arn:PARTITION:iam::ACCOUNT:role/PATH/NAME), not an assumed-role session ARN: the policies compare aws:PrincipalArn, which is the role's ARN for every session of the role. Wildcards (* ?) may stand in the role path and name."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for arn in var.read_protection_exempt_principal_arns :
      can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:(root|(role|user)/[\\x21-\\x7E]{1,512})$", arn))
    ])
    error_message = "Each read_protection_exempt_principal_arns item must be an IAM role or user ARN like arn:aws:iam::<12-digit account>:role/<path/name> (an assumed-role session ARN arn:aws:sts::...:assumed-role/... never matches aws:PrincipalArn: give the role's ARN); not ${join(", ", [for arn in var.read_protection_exempt_principal_arns : jsonencode(arn) if !can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:(root|(role|user)/[\\x21-\\x7E]{1,512})$", arn))])}."
  }

  validation {
    condition = alltrue([
      for arn in var.read_protection_exempt_principal_arns :
      !can(regex(":(role|user)/[*?/]*$", arn))
    ])
    error_message = "A read_protection_exempt_principal_arns item may not be only wildcards after role/ or user/ (that would exempt every role or user of the account): name the roles; not ${join(", ", [for arn in var.read_protection_exempt_principal_arns : jsonencode(arn) if can(regex(":(role|user)/[*?/]*$", arn))])}."
  }

  validation {
    condition     = length(distinct(var.read_protection_exempt_principal_arns)) == length(var.read_protection_exempt_principal_arns)
    error_message = "Each ARN may appear only once in read_protection_exempt_principal_arns; given more than once: ${join(", ", distinct([for v in var.read_protection_exempt_principal_arns : v if length([for other in var.read_protection_exempt_principal_arns : other if other == v]) > 1]))}."
  }

  validation {
    condition = alltrue([
      for arn in var.read_protection_exempt_principal_arns :
      !can(regex("(?i)(PostScanAction|BucketListener)", arn))
    ])
    error_message = "read_protection_exempt_principal_arns only lets principals read hidden objects; File Storage Security's roles that tag objects go in read_protection_scanner_principal_arns (or come from storage_stack_names): move ${join(", ", [for arn in var.read_protection_exempt_principal_arns : jsonencode(arn) if can(regex("(?i)(PostScanAction|BucketListener)", arn))])}."
  }
}

variable "read_protection_scanner_principal_arns" {
  description = "The scanner's role ARNs (they write its fss- tags). List the roles (or users) that read objects to scan them and that write the result tags. With read_protection on, only these, the roles the storage_stack_names stacks and account_scanner_stack_name name in their outputs (BucketListenerRoleARN, PostScanActionTagRoleARN, ScannerExecutionRoleARN, PostScanActionExecutionRoleARN), and the function's own role may set or change fss- tags (any case) on the scanned buckets; they also read hidden objects. Same ARN rules as read_protection_exempt_principal_arns. See docs/read-protection.md."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for arn in var.read_protection_scanner_principal_arns :
      can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:(role|user)/[\\x21-\\x7E]{1,512}$", arn))
    ])
    error_message = "Each read_protection_scanner_principal_arns item must be an IAM role or user ARN (not the account root) like arn:aws:iam::<12-digit account>:role/<path/name> (an assumed-role session ARN arn:aws:sts::...:assumed-role/... never matches aws:PrincipalArn: give the role's ARN); not ${join(", ", [for arn in var.read_protection_scanner_principal_arns : jsonencode(arn) if !can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:(role|user)/[\\x21-\\x7E]{1,512}$", arn))])}."
  }

  validation {
    condition = alltrue([
      for arn in var.read_protection_scanner_principal_arns :
      !can(regex(":(role|user)/[*?/]*$", arn))
    ])
    error_message = "A read_protection_scanner_principal_arns item may not be only wildcards after role/ or user/ (that would exempt every role or user of the account): name the roles; not ${join(", ", [for arn in var.read_protection_scanner_principal_arns : jsonencode(arn) if can(regex(":(role|user)/[*?/]*$", arn))])}."
  }

  validation {
    condition     = length(distinct(var.read_protection_scanner_principal_arns)) == length(var.read_protection_scanner_principal_arns)
    error_message = "Each ARN may appear only once in read_protection_scanner_principal_arns; given more than once: ${join(", ", distinct([for v in var.read_protection_scanner_principal_arns : v if length([for other in var.read_protection_scanner_principal_arns : other if other == v]) > 1]))}."
  }
}
