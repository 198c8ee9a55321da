"""Clients: impacket NetBIOS sessions, each in a process of its own (healthy, victim, probers)."""
