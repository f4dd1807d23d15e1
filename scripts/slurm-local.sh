#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for the slurm backend's tests and for trying it out.
#
#   scripts/slurm-local.sh start [STATE_DIR]   # prints the SLURM_CONF to export
#   scripts/slurm-local.sh stop  [STATE_DIR]
#   scripts/slurm-local.sh status [STATE_DIR]
#
# Needs Debian's (or Ubuntu's) slurmctld, slurmd, slurm-client and munge, run as root:
#   apt-get install --no-install-recommends slurmctld slurmd slurm-client munge
# Everything the cluster writes (config, state, logs, pid files) lives in STATE_DIR
# (default /tmp/ffdqn-slurm); point Slurm's commands at it with SLURM_CONF=STATE_DIR/slurm.conf.
# Facts this script relies on (Slurm 22.05, munge 0.5): 22.05 has no auth/slurm, so munge is
# required and /run/munge must exist (owned by munge); proctrack/cgroup fails without systemd,
# so proctrack/linuxproc and task/none; kill_invalid_depend belongs in DependencyParameters;
# daemons are stopped by the PIDs in their pid files, never by name.
set -euo pipefail

cmd=${1:-}
state=${2:-/tmp/ffdqn-slurm}
conf="$state/slurm.conf"

die() { echo "slurm-local: $*" >&2; exit 1; }

alive() { # pid file -> 0 if that process runs (zombies count as stopped)
    local f=$1 pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -e "/proc/$pid/stat" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat")" != "Z" ]
}

stop_pidfile() {
    local f=$1 pid i
    alive "$f" || { rm -f "$f"; return 0; }
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        alive "$f" || { rm -f "$f"; return 0; }
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
}

start() {
    [ "$(id -u)" = 0 ] || die "run as root (slurmd and munged need it)"
    for b in slurmctld slurmd munged sbatch scontrol; do
        command -v "$b" >/dev/null || die "$b is missing: apt-get install --no-install-recommends slurmctld slurmd slurm-client munge"
    done
    mkdir -p "$state"/{ctld,spool,logs}
    # munge: a key and a socket directory owned by munge.
    if [ ! -f /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    if ! alive /run/munge/munged.pid; then
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    fi
    local cpus
    cpus=$(nproc)
    cat > "$conf" <<CONF
ClusterName=ffdqn-local
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/logs/slurmctld.log
SlurmdLogFile=$state/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
DependencyParameters=kill_invalid_depend
JobCompType=jobcomp/filetxt
JobCompLoc=$state/logs/jobcomp.txt
MinJobAge=86400
MpiDefault=none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$conf"
    alive "$state/slurmctld.pid" || slurmctld -f "$conf"
    alive "$state/slurmd.pid" || slurmd -f "$conf" -N localhost
    local i
    for i in $(seq 1 100); do
        if scontrol -o show node localhost 2>/dev/null | grep -Eq 'State=IDLE'; then
            echo "export SLURM_CONF=$conf"
            return 0
        fi
        sleep 0.1
    done
    scontrol -o show node localhost >&2 || true
    die "the node did not become idle within 10 s; logs in $state/logs"
}

stop() {
    stop_pidfile "$state/slurmd.pid"
    stop_pidfile "$state/slurmctld.pid"
    stop_pidfile /run/munge/munged.pid
}

status() {
    export SLURM_CONF="$conf"
    for d in slurmctld slurmd; do
        if alive "$state/$d.pid"; then echo "$d: running (pid $(cat "$state/$d.pid"))"; else echo "$d: stopped"; fi
    done
    if alive /run/munge/munged.pid; then echo "munged: running"; else echo "munged: stopped"; fi
    scontrol -o show node localhost 2>/dev/null || true
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status [STATE_DIR]" ;;
esac
