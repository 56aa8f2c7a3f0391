# Inputs created in the same configuration (an alarm topic, a KMS key for the queues, routes and
# objects, the application's table given by ARN, a scanned bucket given by its id): their values are unknown at plan, and the module
# must plan all the same, with its defaults (no "Invalid for_each argument"): whether the alarms
# exist follows the length of alarm_topic_arns, and the role's inline policies are keyed by what is
# known (flags, lengths, map keys). Computed values stay unknown at plan here (no
# override_during = plan), as with the real provider.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

mock_provider "archive" {
  source = "./tests/mocks/archive"
}

run "direct_mode_plans_with_inputs_created_alongside" {
  command = plan

  module {
    source = "./tests/fixtures/created-alongside"
  }

  assert {
    condition     = toset(output.alarm_keys) == toset(["dead-letters", "errors", "throttles", "unscanned", "rejected", "fallbacks", "verdict-conflicts", "row-conflicts", "unproven-locations", "destination-delivery-failures"])
    error_message = "The default create_alarms must plan the alarms for a topic whose ARN is not known yet."
  }
}

run "queue_mode_plans_with_inputs_created_alongside" {
  command = plan

  module {
    source = "./tests/fixtures/created-alongside"
  }

  variables {
    delivery_mode = "queue"
  }

  assert {
    condition     = toset(output.alarm_keys) == toset(["dead-letters", "errors", "throttles", "unscanned", "rejected", "fallbacks", "verdict-conflicts", "row-conflicts", "unproven-locations", "destination-delivery-failures", "queue-age", "record-errors"])
    error_message = "Queue mode adds queue-age and record-errors, also for a topic whose ARN is not known yet."
  }
}
