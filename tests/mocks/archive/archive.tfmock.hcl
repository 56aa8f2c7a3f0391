# A fixed package hash, so plans do not depend on the zip the real provider would build.
mock_resource "archive_file" {
  defaults = { output_base64sha256 = "bW9jaw==", output_size = 1 }
}
