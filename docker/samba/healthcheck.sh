#!/bin/bash
# Healthy = nmbd answers a node status (NBSTAT) query on the container's own eth0 address,
# and an authenticated SMB session over NetBIOS (TCP 139) lists the share.
# Credentials come from /run/nbth/healthcheck.auth (written by entrypoint.sh): no password in
# any argv. Prints one line; exit 0 healthy, 1 unhealthy (docker's convention).
#
# SAMBA_HEALTH_RECHECK_S (default 0): after a full check passed, report healthy without a new
# one for this many seconds. A full check costs about 0.1 s of CPU (smbclient, nmblookup, one
# smbd fork), so a 1 s interval without this would load the server under test by ~10 % of a
# core; the harness starts its containers with a 1 s interval (fast start) and 30 s here.
set -uo pipefail

stamp=/run/nbth/healthy.stamp
recheck_s=${SAMBA_HEALTH_RECHECK_S:-0}
[[ "$recheck_s" =~ ^[0-9]+$ ]] || recheck_s=0
printf -v now '%(%s)T' -1
if ((recheck_s > 0)) && [[ -f "$stamp" ]] && read -r last_ok < "$stamp" \
        && [[ "$last_ok" =~ ^[0-9]+$ ]] && ((now - last_ok < recheck_s)); then
    echo "healthy: full check passed $((now - last_ok)) s ago"
    exit 0
fi
rm -f "$stamp"

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
echo "$now" > "$stamp"
echo "healthy: NBSTAT on $addr answered; SMB over NBT listed //$netbios_name/$share"
