"""The lab: network namespaces, links and firewall rules the harness creates (and removes)."""
