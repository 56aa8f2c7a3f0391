"""Start GuardDuty on-demand scans of objects uploaded before a Malware Protection plan existed:
`python -m rescan --help`.

run: the loop over small ports (pure apart from the clock); aws: the boto3 side (S3 listing and
tags, GuardDuty SendObjectMalwareScan); cli: arguments, clients, exit code.
"""
