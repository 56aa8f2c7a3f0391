# Packaging with the real archive provider: the module zips its own lambda/ folder at plan time into a
# git-ignored builds/ folder, and the function deploys exactly that archive.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks/aws"
}

variables {
  name                   = "fss-post-scan-pkg"
  scan_result_topic_arns = { stack = "arn:aws:sns:eu-west-1:999988887777:fss-ScanResultTopic-AAAA" }
  bucket_names           = ["uploads-bucket"]
}

run "zips_the_lambda_folder" {
  command = plan

  assert {
    condition = (
      data.archive_file.this.type == "zip" &&
      data.archive_file.this.output_path == "./builds/fss-post-scan-pkg-post-scan.zip" &&
      data.archive_file.this.output_file_mode == "0644"
    )
    error_message = "The archive must be zipped into ./builds/<name>-post-scan.zip with fixed file modes."
  }
  assert {
    condition = (
      toset([for s in data.archive_file.this.source : s.filename]) == toset([for f in fileset("./lambda", "**/*.py") : f if !strcontains(f, "/tests/")]) &&
      alltrue([for s in data.archive_file.this.source : s.content == file("./lambda/${s.filename}")])
    )
    error_message = "The archive must hold exactly the Python files of lambda/, as they are (no byte code, caches or allow-lists): ${jsonencode([for s in data.archive_file.this.source : s.filename])}"
  }
  assert {
    condition     = data.archive_file.this.output_size > 0 && length(data.archive_file.this.output_base64sha256) == 44
    error_message = "The archive must have been built."
  }
  assert {
    condition = (
      aws_lambda_function.this.filename == data.archive_file.this.output_path &&
      aws_lambda_function.this.source_code_hash == data.archive_file.this.output_base64sha256
    )
    error_message = "The function must deploy the archive and redeploy when its hash changes."
  }
}
