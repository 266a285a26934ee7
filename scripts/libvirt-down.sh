#!/usr/bin/env bash
# Stops what scripts/libvirt-up.sh started: the test domains (named reconftest-* or managed
# replicas of the live test scenario, rubis-*), then the daemons, by their pid files only.
set -uo pipefail
STATE=${RECONF_LIBVIRT_STATE:-/tmp/reconf-libvirt}
[[ -d $STATE ]] || exit 0
if [[ -f $STATE/env ]]; then
    . "$STATE/env"
    for uri in $RECONF_LIBVIRT_URIS; do
        for d in $(virsh -c "$uri" list --all --name 2>/dev/null | grep -E '^(reconftest|rubis)-' || true); do
            virsh -c "$uri" destroy "$d" >/dev/null 2>&1
            virsh -c "$uri" undefine "$d" >/dev/null 2>&1
        done
    done
fi
for p in session-libvirtd libvirtd virtlogd; do
    f=$STATE/$p.pid
    if [[ -f $f ]]; then
        pid=$(cat "$f" 2>/dev/null || true)
        [[ -n $pid ]] && kill "$pid" 2>/dev/null
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$f"
    fi
done
rm -f "$STATE/env"
echo "libvirt-down: stopped"
