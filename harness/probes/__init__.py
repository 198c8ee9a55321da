"""Timing probes: one operation each, with a per-operation timeout. Timing is the runner's job."""
