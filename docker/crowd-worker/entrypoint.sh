#!/bin/sh
# Start one crowd worker: the SMB password from the secret file (never the container's
# environment, which `docker inspect` shows), the master from NBTH_CROWD_MASTER, at nice 10.
set -eu
secret=/run/secrets/smb_password
if [ -r "$secret" ]; then
    NBT_HARNESS_PASSWORD=$(head -n 1 "$secret")
    export NBT_HARNESS_PASSWORD
fi
: "${NBTH_CROWD_MASTER:?set NBTH_CROWD_MASTER to the master's HOST[:PORT] (the scenario's master_bind)}"
exec nice -n 10 /opt/nbth/bin/nbt-harness crowd-worker --master "$NBTH_CROWD_MASTER" "$@"
