output "lambda_function_name" {
  description = "Name of the Lambda function."
  value       = module.post_scan.lambda_function_name
}

output "cloudwatch_log_group_name" {
  description = "Name of the function's log group."
  value       = module.post_scan.cloudwatch_log_group_name
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.post_scan.dead_letter_queue_url
}

output "replay_command" {
  description = "Command that sends what reached the dead-letter queue back to the function, once the cause is fixed."
  value       = module.post_scan.replay_command
}

output "notify_topic_arn" {
  description = "ARN of the notification topic (subscribe more people, queues or a chat channel to it)."
  value       = module.post_scan.notify_topic_arn
}

output "notify_email_subscription_arns" {
  description = "E-mail subscriptions by address (pending until confirmed)."
  value       = module.post_scan.notify_email_subscription_arns
}

output "event_bus_name" {
  description = "Name of the bus the function puts its events on."
  value       = aws_cloudwatch_event_bus.scan_results.name
}

output "event_bus_arn" {
  description = "ARN of the bus the function puts its events on."
  value       = module.post_scan.event_bus_arn
}

output "file_verdicts_queue_url" {
  description = "URL of the queue the rule fills with every scan result's event: the application's consumer reads it."
  value       = aws_sqs_queue.file_verdicts.url
}
