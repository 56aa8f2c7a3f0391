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
  # Every request that can set an object's tags and supports s3:RequestObjectTagKeys (the service
  # authorization reference): PutObject (also CopyObject with x-amz-tagging-directive REPLACE,
  # CreateMultipartUpload and POST uploads, all authorized as s3:PutObject), PutObjectTagging and
  # PutObjectVersionTagging.
  tag_write_actions = concat(["s3:PutObject"], local.put_tag_actions)

  # The scanner's tag keys the policies protect, as s3:RequestObjectTagKeys patterns. IAM's string
  # operators compare case-sensitively and StringLike has no IgnoreCase form, so "fss-" in any case
  # is written as its 8 spellings (fss-*, fsS-*, ..., FSS-*). A list per scanner: each bucket's
  # statement lists those of the scanners that scan it.
  fss_tag_key_patterns = [for letters in setproduct(["f", "F"], ["s", "S"], ["s", "S"]) : "${join("", letters)}-*"]
  # GuardDuty's one key, as the policies read it (s3:ExistingObjectTag takes the key exactly; other
  # spellings only make the function more careful: it reads the tag in any case).
  guardduty_result_tag       = "GuardDutyMalwareScanStatus"
  guardduty_tag_key_patterns = [local.guardduty_result_tag]
  protected_tag_key_patterns = local.fss_tag_key_patterns

  # aws:PrincipalArn is the role's ARN for every session of the role (never the session ARN) and
  # is absent from anonymous requests: ArnNotLike is then true, so the deny applies to them too.
  # The function's role, built from its deterministic name so the policies are known at plan.
  function_role_arn = "arn:${local.partition}:iam::${local.account_id}:role${var.role_path}${local.role_name}"
  # The scanner's roles the storage stacks (and the account scanner stack) name in their outputs,
  # when they have those outputs; read at plan like the stacks' topics and buckets.
  stack_scanner_role_arns = [
    for arn in flatten([
      for stack in concat(values(data.aws_cloudformation_stack.storage), data.aws_cloudformation_stack.account_scanner) : [
        for output in ["BucketListenerRoleARN", "PostScanActionTagRoleARN", "ScannerExecutionRoleARN", "PostScanActionExecutionRoleARN"] :
        try(stack.outputs[output], "")
      ]
    ]) : arn if can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/", arn))
  ]
  # Who may write the scanner's tags (and read everything): the function and the scanner, which
  # includes each GuardDuty plan's service role (GuardDuty reads an object before it tags it; each
  # role reaches only its own bucket: its IAM policy).
  read_protection_scanner_arns = sort(distinct(concat([local.function_role_arn], var.read_protection_scanner_principal_arns, local.stack_scanner_role_arns, values(local.guardduty_role_arns))))
  # Who may read hidden objects: those, and the exempt principals (break glass).
  read_protection_reader_arns = sort(distinct(concat(local.read_protection_scanner_arns, var.read_protection_exempt_principal_arns)))
  not_reader                  = { ArnNotLike = { "aws:PrincipalArn" = local.read_protection_reader_arns } }
  not_scanner                 = { ArnNotLike = { "aws:PrincipalArn" = local.read_protection_scanner_arns } }

  # Only the scanner and the function set or change the scanner's tags, in both modes: without
  # this, tags are the uploader's to write (docs/read-protection.md). ForAnyValue on a request
  # without tags is false: uploads without tags, or with only other keys, stay allowed.
  # Per bucket: the keys of the scanners that scan it (below).
  scanner_tag_statement = {
    for bucket in local.bucket_names : bucket => {
      Sid    = "FssPostScanDenyWritingScannerTags"
      Action = local.tag_write_actions
      Condition = merge(local.not_scanner, { "ForAnyValue:StringLike" = { "s3:RequestObjectTagKeys" = concat(
        contains(local.fss_bucket_names, bucket) ? local.fss_tag_key_patterns : [],
        contains(local.guardduty_bucket_names, bucket) ? local.guardduty_tag_key_patterns : [],
      ) } })
    }
  }

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
        Condition = merge(local.not_reader, { StringEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_malicious } })
      },
      local.deny_torrents,
      {
        # Dropping or rewriting the malicious tag would make the object readable again.
        Sid       = "FssPostScanDenyRetaggingMalicious"
        Action    = concat(["s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"], local.put_tag_actions)
        Condition = merge(local.not_scanner, { StringEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_malicious } })
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
        Condition = merge(local.not_reader, { StringNotEquals = { "s3:ExistingObjectTag/${local.fss_result_tag}" = local.fss_clean } })
      },
      {
        # "no issues found" with detail code 100-199 is an incomplete scan (encrypted or oversized
        # archive...): not clean. A separate statement, because a statement's conditions are ANDed.
        Sid       = "FssPostScanDenyReadingIncompleteScans"
        Action    = local.protected_read_actions
        Condition = merge(local.not_reader, { StringNotEquals = { "s3:ExistingObjectTag/${local.fss_detail_code_tag}" = local.fss_complete } })
      },
      local.deny_torrents,
    ]
  }
  deny_torrents = {
    Sid       = "FssPostScanDenyTorrents"
    Action    = local.torrent_actions
    Condition = local.not_reader
  }

  # GuardDuty's tag, as AWS's tag-based access control for Malware Protection for S3 uses it: reads
  # only of objects tagged NO_THREATS_FOUND (until_clean) or none of those tagged THREATS_FOUND
  # (malicious); nobody but GuardDuty (and the function) writes the tag (the statement above).
  guardduty_clean   = "NO_THREATS_FOUND"
  guardduty_threats = "THREATS_FOUND"
  guardduty_read_protection_statements = {
    off = []

    malicious = [
      {
        Sid       = "FssPostScanGuardDutyDenyReadingThreats"
        Action    = local.protected_read_actions
        Condition = merge(local.not_reader, { StringEquals = { "s3:ExistingObjectTag/${local.guardduty_result_tag}" = local.guardduty_threats } })
      },
      local.deny_torrents,
      {
        # Rewriting the tag set without the tag (or deleting it) would make the object readable.
        Sid       = "FssPostScanGuardDutyDenyRetaggingThreats"
        Action    = concat(["s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"], local.put_tag_actions)
        Condition = merge(local.not_scanner, { StringEquals = { "s3:ExistingObjectTag/${local.guardduty_result_tag}" = local.guardduty_threats } })
      },
    ]

    until_clean = [
      {
        # No tag yet (or another result): StringNotEquals on a missing key is true, so denied.
        Sid       = "FssPostScanGuardDutyDenyReadingUntilClean"
        Action    = local.protected_read_actions
        Condition = merge(local.not_reader, { StringNotEquals = { "s3:ExistingObjectTag/${local.guardduty_result_tag}" = local.guardduty_clean } })
      },
      local.deny_torrents,
    ]
  }

  # Per bucket: the statements of each scanner that scans it (a bucket of bucket_names or a
  # storage stack: File Storage Security's; of guardduty_plans: GuardDuty's; both: both, so the
  # policy holds for each scanner's tag), the torrent statement once, then the tag-write statement.
  read_protection_bucket_statements = {
    for bucket in local.bucket_names : bucket => concat(
      [for s in local.read_protection_statements[var.read_protection] : s if contains(local.fss_bucket_names, bucket)],
      [
        for s in local.guardduty_read_protection_statements[var.read_protection] : s
        if contains(local.guardduty_bucket_names, bucket) && !(contains(local.fss_bucket_names, bucket) && s.Sid == "FssPostScanDenyTorrents")
      ],
      [local.scanner_tag_statement[bucket]],
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
