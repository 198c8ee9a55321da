#!/bin/bash
# Configure Samba from the environment, then run nmbd and smbd in the foreground.
# Exits (and so stops the container) as soon as either daemon exits, with its status.
#
#   SAMBA_USER          unix and SMB user (default nbtuser)
#   SAMBA_PASSWORD_FILE a file holding its SMB password, one line (default
#                       /run/secrets/samba_password: the harness copies it in, compose
#                       bind-mounts it). Without the file: SAMBA_PASSWORD (deprecated: the
#                       environment shows in `docker inspect` and every `docker exec`), else
#                       the documented lab default below. Never printed.
#   SAMBA_SHARE         share name, path /srv/samba/<share> (default share)
#   SAMBA_NETBIOS_NAME  NetBIOS name, at most 15 characters (default NBTHDOCKER)
#   SAMBA_WORKGROUP     workgroup (default NBTLAB)
#   SAMBA_LOG_LEVEL     smbd/nmbd debug level (default 1)
set -euo pipefail

DEFAULT_PASSWORD='nbt-harness-lab'  # a lab default, as in docker-compose.yml; override it

user=${SAMBA_USER:-nbtuser}
password_file=${SAMBA_PASSWORD_FILE:-/run/secrets/samba_password}
if [[ -e "$password_file" ]]; then
    [[ -r "$password_file" ]] || { echo "entrypoint: cannot read $password_file" >&2; exit 2; }
    password=$(<"$password_file")  # $(<) drops the trailing newline
else
    password=${SAMBA_PASSWORD:-$DEFAULT_PASSWORD}
fi
share=${SAMBA_SHARE:-share}
netbios_name=${SAMBA_NETBIOS_NAME:-NBTHDOCKER}
workgroup=${SAMBA_WORKGROUP:-NBTLAB}
log_level=${SAMBA_LOG_LEVEL:-1}
unset SAMBA_PASSWORD  # the daemons need not carry it in their environment

say() { echo "entrypoint: $*"; }
die() { echo "entrypoint: $*" >&2; exit 2; }

[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "SAMBA_USER is not a valid user name: $user"
[[ "$share" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "SAMBA_SHARE must match [A-Za-z0-9_.-]{1,64}: $share"
[[ "$netbios_name" =~ ^[A-Za-z0-9_-]{1,15}$ ]] \
    || die "SAMBA_NETBIOS_NAME must be 1-15 characters of [A-Za-z0-9_-]: $netbios_name"
[[ "$workgroup" =~ ^[A-Za-z0-9_-]{1,15}$ ]] || die "SAMBA_WORKGROUP is not a valid workgroup: $workgroup"
[[ "$log_level" =~ ^[0-9]{1,2}$ ]] || die "SAMBA_LOG_LEVEL must be a number: $log_level"
[[ -n "$password" ]] || die "the password (from $password_file) is empty"
[[ "$password" != *$'\n'* ]] || die "the password (from $password_file) must be one line"

sed -e "s/@NETBIOS_NAME@/$netbios_name/g" -e "s/@WORKGROUP@/$workgroup/g" \
    -e "s/@SHARE@/$share/g" -e "s/@USER@/$user/g" -e "s/@LOG_LEVEL@/$log_level/g" \
    /etc/samba/smb.conf.template > /etc/samba/smb.conf
testparm -s /etc/samba/smb.conf >/dev/null 2>&1 || die "generated smb.conf is invalid"

# The harness (and compose) mount these as tmpfs: empty, so make what Samba expects in them.
mkdir -p /var/lib/samba/private /var/cache/samba /var/log/samba /run/samba
id -u "$user" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$user"
mkdir -p "/srv/samba/$share"
chown "$user:" "/srv/samba/$share"
chmod 0775 "/srv/samba/$share"
# printf is a builtin: the password never shows up in a process's argv.
printf '%s\n%s\n' "$password" "$password" | smbpasswd -s -a "$user" >/dev/null \
    || die "smbpasswd -a $user failed"

# Credentials for healthcheck.sh (smbclient -A), readable by root only.
install -d -m 0700 /run/nbth
( umask 077
  printf 'username = %s\npassword = %s\ndomain = %s\n' "$user" "$password" "$workgroup" \
      > /run/nbth/healthcheck.auth )
printf '%s\n%s\n' "$share" "$netbios_name" > /run/nbth/healthcheck.target
unset password

say "user=$user share=$share netbios name=$netbios_name workgroup=$workgroup"

nmbd_pid=""
smbd_pid=""
signalled=0
stop_daemons() {
    local pid
    for pid in "$smbd_pid" "$nmbd_pid"; do
        if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
}
# shellcheck disable=SC2317  # invoked by the trap
on_signal() { signalled=1; stop_daemons; }
trap on_signal TERM INT

# Each daemon in its own session: smbd signals its whole process group when it goes down
# (kill(0, SIGTERM)), which would otherwise look like a `docker stop` to this script.
# (A background child of a non-interactive shell is no group leader, so setsid execs in place
# and $! is the daemon's own pid.)
setsid nmbd -F --no-process-group --debug-stdout -d "$log_level" </dev/null &
nmbd_pid=$!
setsid smbd -F --no-process-group --debug-stdout -d "$log_level" </dev/null &
smbd_pid=$!
say "started nmbd (pid $nmbd_pid) and smbd (pid $smbd_pid)"

# wait -n returns when either daemon exits, or early (status > 128) when a signal arrives.
status=0
while :; do
    if wait -n "$nmbd_pid" "$smbd_pid"; then status=0; else status=$?; fi
    ((signalled)) && break
    if ! kill -0 "$nmbd_pid" 2>/dev/null; then
        say "nmbd exited (status $status); stopping smbd"
        break
    fi
    if ! kill -0 "$smbd_pid" 2>/dev/null; then
        say "smbd exited (status $status); stopping nmbd"
        break
    fi
    ((status == 127)) && break  # no child left to wait for
done
stop_daemons
wait "$nmbd_pid" "$smbd_pid" 2>/dev/null || true
if ((signalled)); then
    say "stopped"
    exit 0
fi
exit $((status == 0 ? 1 : status))  # a daemon that exits on its own is a failure
