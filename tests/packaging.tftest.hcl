# Packaging: the module zips its own lambda/ folder with the archive provider's resource, at apply
# time, into ./builds/<name>-post-scan.zip (git-ignored; one file per deployment, overwritten), and
# the function deploys exactly that archive. A hash of the package's sources, known at plan, is
# kept in terraform_data.this; a change to it replaces the archive (replace_triggered_by), so a
# saved plan applied in a fresh checkout rebuilds the zip there (tests/apply/test_apply_pipelines.py).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

mock_provider "archive" {
  override_during = plan
  source          = "./tests/mocks/archive"
}

variables {
  # No alarm topics here: say so, or every run fails on the warning check alarms_notify_someone.
  create_alarms          = false
  name                   = "fss-post-scan-pkg"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket"]
}

run "zips_the_lambda_folder_at_apply" {
  command = plan

  assert {
    condition = (
      archive_file.this.type == "zip" &&
      archive_file.this.output_path == "./builds/fss-post-scan-pkg-post-scan.zip" &&
      archive_file.this.output_file_mode == "0644"
    )
    error_message = "The archive must be zipped into ./builds/<name>-post-scan.zip with fixed file modes."
  }
  assert {
    # Every file of lambda/ but byte code, tests and tool caches, by its path under lambda/.
    condition = toset([for s in archive_file.this.source : s.filename]) == toset([
      for f in fileset("./lambda", "**") : f
      if !endswith(f, ".pyc") && length(setintersection(split("/", f), ["__pycache__", "tests", ".pytest_cache", ".ruff_cache", ".DS_Store"])) == 0
    ])
    error_message = "The archive must hold exactly the engine's files (no byte code, tests or caches)."
  }
  assert {
    condition = (
      aws_lambda_function.this.filename == archive_file.this.output_path &&
      aws_lambda_function.this.source_code_hash == archive_file.this.output_base64sha256
    )
    error_message = "The function must deploy the archive and redeploy when its hash changes."
  }
  assert {
    # What the hash covers: every file that goes into the zip, by path and content.
    condition = terraform_data.this.input == sha256(jsonencode({
      for f in fileset("./lambda", "**") : f => file("./lambda/${f}")
      if !endswith(f, ".pyc") && length(setintersection(split("/", f), ["__pycache__", "tests", ".pytest_cache", ".ruff_cache", ".DS_Store"])) == 0
    }))
    error_message = "terraform_data.this must carry the hash of the package's sources (known at plan): ${terraform_data.this.input}"
  }
}
