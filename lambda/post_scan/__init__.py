"""Post-scan actions for File Storage Security scan results (SNS -> Lambda).

The handler is ``post_scan.handler.lambda_handler``. Pure parsing and decision code lives in
config, message, locate, record (request builder) and logline; aws holds the thin boto3 calls.
"""
