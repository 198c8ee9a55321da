"""Checkers: pure functions of a finished history. No I/O."""
