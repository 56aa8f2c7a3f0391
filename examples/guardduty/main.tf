# GuardDuty Malware Protection for S3, acted on: an uploads bucket that GuardDuty scans (the module
# creates the Malware Protection plan and its service role, or uses an existing plan), and the
# function deleting malicious uploads after copying them into a quarantine bucket, recording every
# verdict on the application's row (file id tag -> DynamoDB table the module creates).
locals {
  tags = {
    application = "uploads"
    component   = "guardduty-post-scan"
  }
}

resource "aws_s3_bucket" "uploads" {
  #checkov:skip=CKV_AWS_18:Access logging needs a log bucket of the caller's; CloudTrail data events are the alternative.
  #checkov:skip=CKV_AWS_144:Cross-region replication is the caller's choice.
  #checkov:skip=CKV_AWS_145:SSE-S3 keeps the example self-contained; for SSE-KMS give the key to the plan (guardduty_plans.kms_key_arns) and the function (kms_key_arns).
  #checkov:skip=CKV2_AWS_61:Lifecycle rules depend on the application's retention.
  #checkov:skip=CKV2_AWS_62:GuardDuty turns on the bucket's EventBridge notifications itself.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy

  tags = local.tags
}

# Versioned: every result names the exact version it scanned, and the function acts on that one.
resource "aws_s3_bucket_versioning" "uploads" {
  bucket = aws_s3_bucket.uploads.bucket

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket" "quarantine" {
  #checkov:skip=CKV_AWS_18:Access logging needs a log bucket of the caller's; CloudTrail data events are the alternative.
  #checkov:skip=CKV_AWS_144:Cross-region replication of quarantined malware is the caller's choice.
  #checkov:skip=CKV_AWS_145:SSE-S3 keeps the example self-contained (see examples/quarantine for a KMS key of its own).
  #checkov:skip=CKV2_AWS_61:Quarantined files are kept until someone looks at them.
  #checkov:skip=CKV2_AWS_62:Nothing needs to react to new quarantined objects; the function logs each move.
  bucket        = var.quarantine_bucket_name
  force_destroy = var.force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_versioning" "quarantine" {
  bucket = aws_s3_bucket.quarantine.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "quarantine" {
  bucket = aws_s3_bucket.quarantine.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

module "post_scan" {
  source = "../.."

  name = var.name

  # No File Storage Security here: GuardDuty is the only scanner (no topic, no bucket_names).
  guardduty_plans = {
    uploads = {
      # The versioning resource's bucket: known at plan, and the plan comes after versioning.
      bucket_name = aws_s3_bucket_versioning.uploads.bucket
      plan_arn    = var.plan_arn
      role_arn    = var.plan_role_arn
    }
  }

  # Malicious uploads: copied into the quarantine bucket, then deleted from the uploads bucket
  # (exactly the scanned version); if the copy cannot be made, deleted without a copy.
  delete_malicious = true
  routes = {
    malicious = { bucket = aws_s3_bucket.quarantine.bucket }
  }

  # Every verdict on the application's row: the file id is the object's file_id tag.
  extract_file_id      = true
  create_file_id_table = true
  record_verdicts      = ["malicious", "clean", "incomplete", "failed", "unscanned"]

  tags = local.tags
}
