"""Simulate the scanner for a deployed post-scan function in the local emulator (`make scan`)."""
