"""Helpers the tests share: labs run in groups, fork watching, the stand-alone replica,
victim data checks, and the result cases behind the golden report."""
