# Values the mocked aws provider returns in every plan-level test: one account and region, and
# realistic ARNs for the computed attributes the module's policies and outputs are built from.
mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
}
mock_data "aws_region" {
  defaults = { id = "eu-west-1", name = "eu-west-1" }
}
mock_data "aws_caller_identity" {
  defaults = { account_id = "111122223333" }
}
mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:eu-west-1:111122223333:fss-post-scan-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/fss-post-scan-dlq"
  }
}
mock_resource "aws_dynamodb_table" {
  defaults = { arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/fss-post-scan-file-ids" }
}
mock_resource "aws_lambda_function" {
  defaults = { arn = "arn:aws:lambda:eu-west-1:111122223333:function:fss-post-scan" }
}
mock_resource "aws_iam_role" {
  defaults = {
    arn  = "arn:aws:iam::111122223333:role/fss-post-scan-post-scan"
    name = "fss-post-scan-post-scan"
  }
}
mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fss-post-scan" }
}
mock_resource "aws_sns_topic_subscription" {
  defaults = { arn = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA:sub-1" }
}
# An existing file id table keyed as the module's default file_id_table_key expects (checks.tf
# reads it at plan); runs with another key override it.
mock_data "aws_dynamodb_table" {
  defaults = {
    hash_key  = "file_id"
    range_key = ""
    attribute = [{ name = "file_id", type = "S" }]
  }
}

mock_resource "aws_guardduty_malware_protection_plan" {
  defaults = { arn = "arn:aws:guardduty:eu-west-1:111122223333:malware-protection-plan/c0ffee00created01" }
}
