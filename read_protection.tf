################################################################################
# Read protection: bucket policy statements keyed on the scanner's result tag
#
# The module attaches no bucket policy: the output read_protection_policies gives one complete
# policy per scanned bucket, to attach or to merge (aws_iam_policy_document source_policy_documents,
# see examples/read-protection). Semantics, exemptions and failure modes: docs/read-protection.md.
################################################################################

locals {
  read_protection_on = var.read_protection != "off"
  until_clean        = var.read_protection == "until_clean"

  # File Storage Security's tags in its "Separated tags" format (ScanResultTagFormat), exactly as
  # the scanner writes them.
  fss_result_tag      = "fss-scan-result"
  fss_detail_code_tag = "fss-scan-detail-code"
  fss_clean           = "no issues found"
  fss_complete        = "0" # detail codes 100-199: the scan was incomplete
  fss_malicious       = "malicious"

  # Everything that returns an object's content or attributes and supports s3:ExistingObjectTag
  # (GetObject also covers HEAD, SelectObjectContent and being the source of CopyObject /
  # UploadPartCopy). The torrent actions return the object too but support no tag condition key:
  # they are denied outright (S3 no longer serves BitTorrent; the .torrent file still names the
  # object's pieces).
  protected_read_actions = [
    "s3:GetObject",
    "s3:GetObjectAttributes",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAttributes",
  ]
  torrent_actions = ["s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"]
  put_tag_actions = ["s3:PutObjectTagging", "s3:PutObjectVersionTagging"]

  # aws:PrincipalArn is the role's ARN for every session of the role (never the session ARN) and
  # is absent from anonymous requests: ArnNotLike is then true, so the deny applies to them too.
  # The function's role, built from its deterministic name so the policies are known at plan.
  function_role_arn = "arn:${local.partition}:iam::${local.account_id}:role${var.role_path}${local.role_name}"
  # The GuardDuty plans' service roles too: GuardDuty reads objects before it tags them, and
  # only it may write its tag (each role can reach its own bucket only: its IAM policy).
  read_protection_exempt_arns = sort(distinct(concat([local.function_role_arn], var.read_protection_exempt_principal_arns, values(local.guardduty_role_arns))))
  not_exempt                  = { ArnNotLike = { "aws:PrincipalArn" = local.read_protection_exempt_arns } }

  # Statements without Resource (added per bucket below). Sids are stable and prefixed, so they
  # never collide with a bucket's own statements when merged.
  read_protection_statements = {
    off = []

    malicious = [
      {
        # StringEquals on a key the request lacks (an untagged object) is false: untagged objects
        # stay readable. StringEqualsIfExists would be TRUE there and deny every untagged object.
        Sid       = "FssPostScanDenyReadingMalicious"
        Action    = local.protected_read_actions
        Condition = merge(local.not_exempt, { StringEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_malicious } })
      },
      {
        Sid       = "FssPostScanDenyTorrents"
        Action    = local.torrent_actions
        Condition = local.not_exempt
      },
      {
        # Dropping or rewriting the malicious tag would make the object readable again.
        Sid       = "FssPostScanDenyRetaggingMalicious"
        Action    = concat(["s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"], local.put_tag_actions)
        Condition = merge(local.not_exempt, { StringEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_malicious } })
      },
    ]

    until_clean = [
      {
        # A key the request lacks (no result tag yet) makes StringNotEquals TRUE: AWS evaluates a
        # negated operator on a missing key as true (so does the ...IfExists form), so untagged
        # objects are denied, which is the point of until_clean. Compare the malicious statement,
        # where StringEquals and StringEqualsIfExists differ on exactly that case.
        Sid       = "FssPostScanDenyReadingUntilClean"
        Action    = local.protected_read_actions
        Condition = merge(local.not_exempt, { StringNotEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_clean } })
      },
      {
        # "no issues found" with detail code 100-199 is an incomplete scan (encrypted or oversized
        # archive...): not clean. A separate statement, because a statement's conditions are ANDed.
        Sid       = "FssPostScanDenyReadingIncompleteScans"
        Action    = local.protected_read_actions
        Condition = merge(local.not_exempt, { StringNotEquals = { "s3:ExistingObjectTag/${local.fss_detail_code_tag}" = local.fss_complete } })
      },
      {
        Sid       = "FssPostScanDenyTorrents"
        Action    = local.torrent_actions
        Condition = local.not_exempt
      },
      {
        # An uploader must not bring its own result tags (x-amz-tagging): only the scanner and the
        # function (exempt) write them. ForAnyValue on a request without tags is false.
        Sid       = "FssPostScanDenyUploadingResultTags"
        Action    = ["s3:PutObject"]
        Condition = merge(local.not_exempt, { "ForAnyValue:StringEquals" = { "s3:RequestObjectTagKeys" = [local.fss_result_tag, local.fss_detail_code_tag] } })
      },
      {
        # Tagging an object clean that the scanner did not tag clean; re-stating the tag of an
        # object that already is clean (a tag-set rewrite by the application) stays allowed.
        Sid    = "FssPostScanDenyForgingCleanResult"
        Action = local.put_tag_actions
        Condition = merge(local.not_exempt, {
          StringEquals    = { "s3:RequestObjectTag/${local.fss_result_tag}" = local.fss_clean }
          StringNotEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_clean }
        })
      },
      {
        Sid    = "FssPostScanDenyForgingCompleteScan"
        Action = local.put_tag_actions
        Condition = merge(local.not_exempt, {
          StringEquals    = { "s3:RequestObjectTag/${local.fss_detail_code_tag}" = local.fss_complete }
          StringNotEquals = { "s3:ExistingObjectTag/${local.fss_detail_code_tag}" = local.fss_complete }
        })
      },
    ]
  }

  # GuardDuty's tag, as AWS's tag-based access control for Malware Protection for S3 uses it: reads
  # only of objects tagged NO_THREATS_FOUND (until_clean) or none of those tagged THREATS_FOUND
  # (malicious), and nobody but GuardDuty (and the exempt roles) writes the tag.
  guardduty_result_tag = "GuardDutyMalwareScanStatus"
  guardduty_clean      = "NO_THREATS_FOUND"
  guardduty_threats    = "THREATS_FOUND"
  guardduty_only_guardduty_tags = {
    # Whoever uploads or tags an object with GuardDuty's tag key (any value): S3 puts every key of
    # the new tag set in s3:RequestObjectTagKeys; ForAnyValue on a request without tags is false.
    Sid       = "FssPostScanGuardDutyDenyWritingResultTag"
    Action    = concat(["s3:PutObject"], local.put_tag_actions)
    Condition = merge(local.not_exempt, { "ForAnyValue:StringEquals" = { "s3:RequestObjectTagKeys" = [local.guardduty_result_tag] } })
  }
  guardduty_deny_torrents = {
    Sid       = "FssPostScanDenyTorrents"
    Action    = local.torrent_actions
    Condition = local.not_exempt
  }
  guardduty_read_protection_statements = {
    off = []

    malicious = [
      {
        Sid       = "FssPostScanGuardDutyDenyReadingThreats"
        Action    = local.protected_read_actions
        Condition = merge(local.not_exempt, { StringEquals = { "s3:ExistingObjectTag/${local.guardduty_result_tag}" = local.guardduty_threats } })
      },
      local.guardduty_deny_torrents,
      {
        # Rewriting the tag set without the tag (or deleting it) would make the object readable.
        Sid       = "FssPostScanGuardDutyDenyRetaggingThreats"
        Action    = concat(["s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"], local.put_tag_actions)
        Condition = merge(local.not_exempt, { StringEquals = { "s3:ExistingObjectTag/${local.guardduty_result_tag}" = local.guardduty_threats } })
      },
      local.guardduty_only_guardduty_tags,
    ]

    until_clean = [
      {
        # No tag yet (or another result): StringNotEquals on a missing key is true, so denied.
        Sid       = "FssPostScanGuardDutyDenyReadingUntilClean"
        Action    = local.protected_read_actions
        Condition = merge(local.not_exempt, { StringNotEquals = { "s3:ExistingObjectTag/${local.guardduty_result_tag}" = local.guardduty_clean } })
      },
      local.guardduty_deny_torrents,
      local.guardduty_only_guardduty_tags,
    ]
  }

  # Per bucket: the statements of each scanner that scans it (a bucket of bucket_names or a
  # storage stack: File Storage Security's; of guardduty_plans: GuardDuty's; both: both, so the
  # policy holds for each scanner's tag). The torrent statement once.
  read_protection_bucket_statements = {
    for bucket in local.bucket_names : bucket => concat(
      [for s in local.read_protection_statements[var.read_protection] : s if contains(local.fss_bucket_names, bucket)],
      [
        for s in local.guardduty_read_protection_statements[var.read_protection] : s
        if contains(local.guardduty_bucket_names, bucket) && !(contains(local.fss_bucket_names, bucket) && s.Sid == "FssPostScanDenyTorrents")
      ],
    )
  }

  read_protection_policies = {
    for bucket in local.bucket_names : bucket => jsonencode({
      Version = "2012-10-17"
      Statement = [
        for s in local.read_protection_bucket_statements[bucket] : {
          Sid       = s.Sid
          Effect    = "Deny"
          Principal = "*"
          Action    = s.Action
          Resource  = "arn:${local.partition}:s3:::${bucket}/*"
          Condition = s.Condition
        }
      ]
    }) if local.read_protection_on
  }
}
