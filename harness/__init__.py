"""nbt-harness: prove that one bad NetBIOS/SMB client cannot stall everyone else.

Architecture: scenarios schedule clients, probes and one drop; everything that happens goes
into one history; verdicts and reports are pure functions of that history.
"""

__version__ = "0.1.0"
