#!/usr/bin/env bash
# Stops what scripts/slurm-up.sh started: the jobs of its cluster, then slurmd, slurmctld and
# munged, by their pid files only.
set -uo pipefail
STATE=${RECONF_SLURM_STATE:-/tmp/reconf-slurm}
[[ -d $STATE ]] || exit 0
if [[ -f $STATE/slurm.conf ]]; then
    SLURM_CONF=$STATE/slurm.conf scancel --full --quiet --user=root 2>/dev/null || true
fi
for p in slurmd slurmctld munged; do
    f=$STATE/$p.pid
    if [[ -f $f ]]; then
        pid=$(cat "$f" 2>/dev/null || true)
        [[ -n $pid ]] && kill "$pid" 2>/dev/null
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$f"
    fi
done
rm -f "$STATE/env"
echo "slurm-down: stopped"
