# Quarantine malicious uploads: move exactly the scanned version (content, headers, metadata,
# storage class, checksum and tags, plus the scan result in its metadata) into a dedicated bucket
# that this example creates locked down: versioned, encrypted with its own KMS key, no public
# access, objects expiring after the retention period. Optionally promote clean files
# to an existing bucket of the application.
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  tags = {
    application = "uploads"
    component   = "fss-post-scan-quarantine"
  }
  promote = var.promote_bucket_name == null ? {} : {
    clean = { bucket = var.promote_bucket_name, prefix = var.promote_prefix }
  }
}

resource "aws_kms_key" "quarantine" {
  description             = "${var.name}: quarantined uploads"
  enable_key_rotation     = true
  deletion_window_in_days = 7

  # Key use is granted through IAM (the module gives the function's role exactly this key).
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersKeyAndEnablesIamPolicies"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })

  tags = local.tags
}

# The module's role names the key by this alias (kms:ResourceAliases), so its policy is known at
# plan although the key's ARN is not until the key exists.
resource "aws_kms_alias" "quarantine" {
  name          = "alias/${var.name}-quarantine"
  target_key_id = aws_kms_key.quarantine.key_id
}

resource "aws_s3_bucket" "quarantine" {
  #checkov:skip=CKV_AWS_18:Access logging needs a log bucket of the caller's; CloudTrail data events are the alternative.
  #checkov:skip=CKV_AWS_144:Cross-region replication of quarantined malware is a choice this example leaves to the caller.
  #checkov:skip=CKV2_AWS_62:Nothing needs to react to new quarantined objects; the function logs each move.
  bucket        = var.quarantine_bucket_name
  force_destroy = var.quarantine_force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_versioning" "quarantine" {
  bucket = aws_s3_bucket.quarantine.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "quarantine" {
  bucket = aws_s3_bucket.quarantine.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.quarantine.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "quarantine" {
  bucket = aws_s3_bucket.quarantine.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "quarantine" {
  bucket = aws_s3_bucket.quarantine.id

  rule {
    id     = "expire-quarantined-objects"
    status = "Enabled"

    filter {}

    expiration {
      days = var.quarantine_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.quarantine_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.quarantine]
}

module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = { storage_stack = var.scan_result_topic_arn }
  bucket_names           = var.bucket_names

  # Malicious files go to the quarantine bucket (encrypted with its key, whatever the bucket's
  # default), clean ones optionally to the promote bucket; the scanned version is deleted from the scanned bucket once its copy is
  # verified. Incomplete and failed scans stay where they are. Values known at plan where the
  # module writes them into the role's policy: the bucket's name (.bucket, not .id) and the key's
  # alias (its ARN is known only after apply).
  routes = merge(
    {
      malicious = {
        bucket        = aws_s3_bucket.quarantine.bucket
        kms_key_arn   = aws_kms_key.quarantine.arn
        kms_key_alias = aws_kms_alias.quarantine.name
      }
    },
    local.promote,
  )
  route_mode = "move"

  # Reading SSE-KMS encrypted uploads needs their keys.
  kms_key_arns = var.bucket_kms_key_arns

  tags = local.tags
}
