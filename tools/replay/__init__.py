"""Replay what reached the dead-letter queue, once the cause is fixed: `python -m replay --help`.

decide: pure classification of dead-letter bodies; run: the replay loop over small ports;
queues: the boto3 side (SQS dead-letter queue, Lambda invoke, SQS send).
"""
