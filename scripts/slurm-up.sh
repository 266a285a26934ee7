#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for reconf's cluster tests (tests/slurm.rs) and
# for trying `reconf sweep --slurm` by hand: munged, slurmctld and slurmd (Debian 12's munge and
# slurm-wlm), as root, without systemd, with a private configuration in $STATE: nothing in
# /etc/slurm is touched. The node is this machine (`hostname -s`) with all its cores, in one
# default partition `debug`.
#
#   scripts/slurm-up.sh [--install]   # --install: apt-get the packages first
#   . /tmp/reconf-slurm/env           # exports SLURM_CONF for sbatch, squeue, scancel, sinfo
#   scripts/slurm-down.sh             # stops what this started, by its pid files
set -euo pipefail
STATE=${RECONF_SLURM_STATE:-/tmp/reconf-slurm}
if [[ ${1:-} == --install ]]; then
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v munged >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    fi
fi
[[ $(id -u) == 0 ]] || { echo "slurm-up: must run as root" >&2; exit 1; }
mkdir -p "$STATE"/{spool,state,log}

# munge: the package made a key; the daemon runs as its own user.
mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
if ! [[ -f $STATE/munged.pid ]] || ! kill -0 "$(cat "$STATE/munged.pid")" 2>/dev/null; then
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    for i in $(seq 1 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$STATE/munged.pid"
fi
munge -n | unmunge >/dev/null || { echo "slurm-up: munge does not work" >&2; exit 1; }

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
cat > "$STATE/slurm.conf" <<CONF
ClusterName=reconf
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmdSpoolDir=$STATE/spool
StateSaveLocation=$STATE/state
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$STATE/slurm.conf
for d in slurmctld slurmd; do
    if ! [[ -f $STATE/$d.pid ]] || ! kill -0 "$(cat "$STATE/$d.pid")" 2>/dev/null; then
        "/usr/sbin/$d" -f "$SLURM_CONF"
    fi
done
# Wait for the node to be usable.
for i in $(seq 1 100); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
    [[ $state == idle* || $state == mix* || $state == alloc* ]] && break
    sleep 0.2
done
if [[ ! $state =~ ^(idle|mix|alloc) ]]; then
    echo "slurm-up: the node did not come up (state '${state:-none}'); see $STATE/log/" >&2
    exit 1
fi
echo "export SLURM_CONF=$SLURM_CONF" > "$STATE/env"
echo "slurm-up: one node '$host' ($cpus CPUs) in partition debug; . $STATE/env"
