"""Targets: the server under test, how to reach it, and what of it the harness can observe."""
