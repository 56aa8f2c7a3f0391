terraform {
  required_version = ">= 1.5"

  # hashicorp/aws 5.76 is the first release that accepts the python3.13 runtime (the default);
  # hashicorp/archive 2.7 the first whose archive_file resource is not deprecated (2.5: glob excludes).
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.76"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.7"
    }
  }
}
