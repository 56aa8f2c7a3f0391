################################################################################
# Mistakes caught at plan: inputs that are valid on their own but name the wrong thing
################################################################################

# A misspelled bucket name is still a valid name: the function would reject every scan result of
# the real bucket (malicious ones included) and only the rejected alarm would say so. So each
# bucket of bucket_names is read (HeadBucket; needs s3:ListBucket for whoever plans), and a bucket
# that does not exist, or that the planning identity may not see (another account's), fails the
# plan with the provider's "reading S3 Bucket (NAME)" error. Buckets of storage_stack_names are not
# read: their stacks name them. Keyed by position, which is known at plan even when a name is not
# (aws_s3_bucket.x.id of a bucket created in the same configuration): such a bucket is read at
# apply, once it exists.
#
# check_bucket_names = "apply": each name passes through terraform_data.bucket_names, whose output
# is unknown at plan whenever bucket_names changes. The read then waits until apply, after the
# resources the names come from (a bucket created in the same configuration, given as
# aws_s3_bucket.x.bucket so the role's policies stay known at plan), and before the function's
# allow-list changes (aws_lambda_function.this depends on it). An unchanged list is read at plan.
locals {
  checked_bucket_names = var.check_bucket_names == "off" ? {} : {
    for i, b in var.bucket_names : tostring(i) => replace(b, "/^arn:[^:]+:s3:::/", "")
  }
}

resource "terraform_data" "bucket_names" {
  count = var.check_bucket_names == "apply" ? 1 : 0

  input = local.checked_bucket_names
}

data "aws_s3_bucket" "bucket_names" {
  for_each = local.checked_bucket_names

  # (Only the chosen branch of a conditional is checked: in "plan" mode there is no terraform_data.)
  bucket = var.check_bucket_names == "apply" ? one(terraform_data.bucket_names[*].output)[each.key] : each.value
}

# An existing table whose partition key is not file_id_table_key (or that has a sort key, or a
# non-string key) fails every verdict update at run time: the malware still goes, the row never
# learns. The table is read when it is in the function's account and region (by name, or by an
# ARN of that account and region; a table in another account is not described: its policy would
# have to allow it). Whether a table is given must be known at plan even when its ARN is not (a
# table created in the same configuration, read at apply then): coalesce() never returns null, so
# Terraform (1.6+) knows `coalesce(x) != null` is true for an unknown x, and for a null x coalesce
# fails and try() gives false. ARNs of another account or region become null first.
locals {
  file_id_table_own = (
    !local.use_existing_table ? null :
    !startswith(var.file_id_table_name, "arn:") ? var.file_id_table_name :
    split(":", var.file_id_table_name)[3] == local.region && split(":", var.file_id_table_name)[4] == local.account_id ? var.file_id_table_name :
    null
  )
  check_file_id_table = var.extract_file_id && !var.create_file_id_table && try(coalesce(local.file_id_table_own) != null, false)
}

data "aws_dynamodb_table" "file_id_table" {
  count = local.check_file_id_table ? 1 : 0

  name = local.file_id_table_own

  lifecycle {
    postcondition {
      condition     = self.hash_key == var.file_id_table_key && coalesce(self.range_key, "-") == "-" && one([for a in self.attribute : a.type if a.name == self.hash_key]) == "S"
      error_message = "The file id table ${self.name} has the partition key ${jsonencode(self.hash_key)} (type ${coalesce(one([for a in self.attribute : a.type if a.name == self.hash_key]), "?")})${coalesce(self.range_key, "-") == "-" ? "" : " and the sort key ${jsonencode(self.range_key)}"}, but file_id_table_key = ${jsonencode(var.file_id_table_key)}: the function updates the row whose string (S) partition key ${jsonencode(var.file_id_table_key)} holds the file id, so every verdict update would fail. Set file_id_table_key = ${jsonencode(self.hash_key)} if that attribute holds the file id, or give a table keyed by the file id alone (partition key of type S, no sort key)."
    }
  }
}

# Without alarm_topic_arns the module creates no alarm, so nothing tells anyone about rejected
# scan results (a misspelled bucket name rejects every result of the real bucket), failed ones,
# dead letters or throttles. A warning, not an error: create_alarms = false says that the function
# is watched another way, and silences it.
check "alarms_notify_someone" {
  assert {
    condition     = length(var.alarm_topic_arns) > 0 || var.create_alarms == false
    error_message = "alarm_topic_arns is empty, so no CloudWatch alarm is created and nothing will tell you when scan results are rejected (a misspelled bucket name rejects every result of the real bucket, malicious ones included), fail, wait in the dead-letter queue or are throttled. Give alarm_topic_arns (an SNS topic your on-call reads), or set create_alarms = false if you watch the function's metrics another way (docs/operations.md#alarms)."
  }
}
