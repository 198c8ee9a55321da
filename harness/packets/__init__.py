"""Wire formats, pure: bytes in, values out. No sockets here."""
