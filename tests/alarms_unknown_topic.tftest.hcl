# An alarm topic created in the same configuration: its ARN is unknown at plan, and with the module's
# defaults the alarms are planned all the same (no "Invalid for_each argument"): whether they exist
# follows the length of alarm_topic_arns, which is known. Computed values stay unknown at plan here
# (no override_during = plan), as with the real provider.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "archive" {
  source = "./tests/mocks/archive"
}

run "direct_mode_alarms_for_a_topic_created_alongside" {
  command = plan

  module {
    source = "./tests/fixtures/alarm-topic-same-config"
  }

  assert {
    condition     = toset(output.alarm_keys) == toset(["dead-letters", "errors", "throttles"])
    error_message = "The default create_alarms must plan the alarms for a topic whose ARN is not known yet."
  }
}

run "queue_mode_alarms_for_a_topic_created_alongside" {
  command = plan

  module {
    source = "./tests/fixtures/alarm-topic-same-config"
  }

  variables {
    delivery_mode = "queue"
  }

  assert {
    condition     = toset(output.alarm_keys) == toset(["dead-letters", "errors", "throttles", "queue-age"])
    error_message = "Queue mode adds queue-age, also for a topic whose ARN is not known yet."
  }
}
