terraform {
  required_version = ">= 1.5"

  # hashicorp/aws 5.76 is the first release that accepts the python3.13 runtime (the default).
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

provider "aws" {
  region = var.region
}
