# Hide objects from readers until the scanner tagged them clean, with the module's deny statements
# merged into the bucket's own policy. Clean uploads are promoted (moved) under promoted/ in the
# same bucket, where the same policy lets readers read them; malicious ones are deleted.
module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = { storage_stack = var.scan_result_topic_arn }
  bucket_names           = [var.bucket_name]

  delete_malicious = true
  routes = {
    clean = { bucket = var.bucket_name, prefix = "promoted/" }
  }

  read_protection                        = var.read_protection
  read_protection_scanner_principal_arns = var.scanner_role_arns
  read_protection_exempt_principal_arns  = var.break_glass_role_arns
}

locals {
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
}

data "aws_partition" "current" {}

# The bucket's own statements (here: TLS only). Keep writing them as before...
data "aws_iam_policy_document" "bucket_own" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      local.bucket_arn,
      "${local.bucket_arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# ...and merge the module's statements into them. Their Sids (FssPostScan*) never collide with
# yours; with read_protection = "off" there is nothing to merge.
data "aws_iam_policy_document" "bucket" {
  source_policy_documents = compact([
    data.aws_iam_policy_document.bucket_own.json,
    lookup(module.post_scan.read_protection_policies, var.bucket_name, null),
  ])
}

resource "aws_s3_bucket_policy" "this" {
  bucket = var.bucket_name
  policy = data.aws_iam_policy_document.bucket.json
}
