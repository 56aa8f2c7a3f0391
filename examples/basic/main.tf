# Delete malicious uploads from one scanned bucket. Nothing is recorded anywhere but the function's log.
module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = { storage_stack = var.scan_result_topic_arn }
  bucket_names           = [var.bucket_name]

  delete_malicious = true
}
