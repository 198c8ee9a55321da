#!/bin/bash
# Healthy = nmbd answers a node status (NBSTAT) query on the container's own eth0 address,
# and an authenticated SMB session over NetBIOS (TCP 139) lists the share.
# Credentials come from /run/nbth/healthcheck.auth (written by entrypoint.sh): no password in
# any argv. Prints one line; exit 0 healthy, 1 unhealthy (docker's convention).
set -uo pipefail

{ read -r share && read -r netbios_name; } < /run/nbth/healthcheck.target \
    || { echo "unhealthy: entrypoint has not finished"; exit 1; }

addr=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
[[ -n "$addr" ]] || { echo "unhealthy: no global IPv4 address (nmbd ignores loopback)"; exit 1; }

if ! out=$(nmblookup -A "$addr" 2>&1) || ! grep -q "<20>" <<<"$out"; then
    echo "unhealthy: no NBSTAT answer from nmbd on $addr: $(tail -n 1 <<<"$out")"
    exit 1
fi

if ! out=$(smbclient "//$netbios_name/$share" -I 127.0.0.1 -p 139 -A /run/nbth/healthcheck.auth \
        -t 5 -c ls 2>&1); then
    echo "unhealthy: smbclient over NBT (139) to //$netbios_name/$share: $(tail -n 1 <<<"$out")"
    exit 1
fi
echo "healthy: NBSTAT on $addr answered; SMB over NBT listed //$netbios_name/$share"
