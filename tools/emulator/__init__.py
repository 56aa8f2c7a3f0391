"""A local AWS emulator for this module: what the demo (``tools/demo``) and the apply tests share.

- ``server.py``: the moto server process, with the patches the module needs (deployed zip
  downloadable, SNS -> Lambda deliveries recorded instead of run, cross-account subscriptions).
- ``launcher``: starts and stops that server (loopback only) and hands out emulated accounts.
- ``staging``: copies the module and one root into a work dir with a provider override for the
  emulator, and runs Terraform there with a log file.
- ``lambda_runner``: downloads the deployed zip from the emulator and runs its handler in-process.
- ``fss``: what File Storage Security publishes (scan results, tags) and the EICAR test file.
- ``guardduty``: a stand-in for GuardDuty Malware Protection for S3 (tags the scanned version and
  puts the scan-result event on the default bus).
"""

from emulator.launcher import Account, MotoServer

__all__ = ["Account", "MotoServer"]
