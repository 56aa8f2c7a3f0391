# Record scan verdicts per file id: the application tags each upload with its file id, the function
# reads that tag and writes the verdict into a DynamoDB table that the module creates.
# Nothing is deleted (delete_malicious stays false).
module "post_scan" {
  source = "../.."

  name                   = var.name
  scan_result_topic_arns = { storage_stack = var.scan_result_topic_arn }
  bucket_names           = [var.bucket_name]

  extract_file_id      = true
  file_id_tag_key      = var.file_id_tag_key
  create_file_id_table = true
  record_verdicts      = ["malicious", "clean", "incomplete", "failed"]
}
