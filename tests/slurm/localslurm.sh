#!/usr/bin/env bash
# localslurm.sh — a throw-away Slurm on localhost for the tests: its own munged (own key, own
# socket), one slurmctld and one slurmd per emulated node, every file under one state directory.
# Nothing outside that directory is read or changed (/etc/slurm and /etc/munge are not used), no
# systemd and no cgroups are needed. Run as root (SlurmUser=root).
#
# Usage: localslurm.sh up DIR [NNODES]     start; then: export SLURM_CONF=DIR/slurm.conf
#        localslurm.sh down DIR            stop everything started by `up DIR` (by PID only)
#
# Nodes n1..nN (NodeHostname = this host, NodeAddr 127.0.0.1, one port each) all describe this
# machine's CPUs (from `slurmd -C`), so emulated nodes share the cores: results are functional
# checks, not performance numbers. Partitions: `debug` (all nodes, default) and, per node k,
# `sysk` (that node only); node k also has the feature `featk`. So a job can be sent to
# "another system" with -p sysk or -C featk.
set -uo pipefail

die() { echo "localslurm: $*" >&2; exit 1; }

# alive PID: the process exists and is not a zombie (without an init that reaps, exited daemons
# stay <defunct>; they hold no ports).
alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Daemons carry DLB_LOCALSLURM=DIR in their environment (and so does every slurmstepd they start);
# jobs carry SLURM_CONF=DIR/slurm.conf plus SLURM_JOB_ID. `down` uses this to find leftovers
# exactly: no process of another cluster or user is ever touched.
ours() {
    local env
    env=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/environ") || return 1
    grep -qxF "DLB_LOCALSLURM=$dir" <<<"$env" && return 0
    grep -qxF "SLURM_CONF=$dir/slurm.conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"
}

leftovers() {
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] && continue
        alive "$p" && ours "$p" && echo "$p"
    done
}

# N+2 consecutive free TCP ports on 127.0.0.1 (slurmctld, slurmd, one per node), away from the
# usual 6817-6822 so that a real Slurm on the machine does not clash.
free_ports() {
    /usr/bin/python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(21000, 29000)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port range")
PY
}

up() {
    local nn=$1 host cpuline base conf k
    [ "$(id -u)" -eq 0 ] || die "must run as root (SlurmUser=root)"
    [[ $nn =~ ^[1-9][0-9]?$ ]] || die "NNODES must be 1..99"
    [ -e "$dir/slurm.conf" ] && die "$dir already holds a cluster (run: $0 down $dir)"
    host=$(hostname -s)
    # The machine's topology as slurmd sees it, without RealMemory (left at its default).
    cpuline=$(slurmd -C | head -n 1 | tr ' ' '\n' |
        grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')
    [ -n "$cpuline" ] || die "slurmd -C printed no CPU line"
    base=$(free_ports $((nn + 2))) || die "no free TCP ports"

    # munged wants its socket directory (and the path to it) searchable by everybody; the key
    # stays private.
    mkdir -p "$dir"/{state,run,log,munge-key,munge-sock} || die "cannot create $dir"
    local d=$dir
    while [ "$d" != / ]; do
        d=$(dirname "$d")
        [ "$(($(stat -c '%a' "$d") % 2))" -eq 1 ] ||
            die "munged needs every directory above its socket searchable by all: chmod o+x $d"
    done
    chmod 0755 "$dir" "$dir/munge-sock"
    chmod 0700 "$dir/munge-key"
    for k in $(seq 1 "$nn"); do mkdir -p "$dir/spool/n$k" "$dir/tmp/n$k"; done

    conf=$dir/slurm.conf
    {
        echo "# written by tests/slurm/localslurm.sh; removed by 'localslurm.sh down $dir'"
        echo "ClusterName=dlbtest"
        echo "SlurmctldHost=$host(127.0.0.1)"
        echo "SlurmUser=root"
        echo "SlurmdUser=root"
        echo "AuthType=auth/munge"
        echo "CredType=cred/munge"
        echo "AuthInfo=socket=$dir/munge-sock/munge.socket"
        echo "MailProg=/bin/true"
        echo "SlurmctldPort=$base"
        echo "SlurmdPort=$((base + 1))"
        echo "StateSaveLocation=$dir/state"
        echo "SlurmdSpoolDir=$dir/spool/%n"
        # Per-node TmpFS: the pmix plugin puts its directories there; one shared TmpFS breaks
        # jobs spanning several slurmd on one host.
        echo "TmpFS=$dir/tmp/%n"
        echo "SlurmctldPidFile=$dir/run/slurmctld.pid"
        echo "SlurmdPidFile=$dir/run/slurmd-%n.pid"
        echo "SlurmctldLogFile=$dir/log/slurmctld.log"
        echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
        # No cgroups: plain process tracking, sched_setaffinity binding (works in containers).
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/affinity"
        echo "MpiDefault=none"
        echo "SwitchType=switch/none"
        echo "SchedulerType=sched/backfill"
        echo "SchedulerParameters=sched_interval=2,bf_interval=1"
        echo "SelectType=select/cons_tres"
        echo "SelectTypeParameters=CR_Core"
        echo "ReturnToService=2"
        echo "JobAcctGatherType=jobacct_gather/none"
        echo "AccountingStorageType=accounting_storage/none"
        echo "JobCompType=jobcomp/none"
        # Small MinJobAge: `sbatch --wait` then polls every 2 s instead of 8-32 s.
        echo "MinJobAge=4"
        echo "SlurmdTimeout=30"
        echo "InactiveLimit=0"
        echo "KillWait=3"
        echo "Waittime=0"
        for k in $(seq 1 "$nn"); do
            echo "NodeName=n$k NodeHostname=$host NodeAddr=127.0.0.1 Port=$((base + 1 + k)) $cpuline Features=feat$k State=UNKNOWN"
        done
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
        for k in $(seq 1 "$nn"); do
            echo "PartitionName=sys$k Nodes=n$k MaxTime=INFINITE State=UP"
        done
    } >"$conf"
    export SLURM_CONF=$conf DLB_LOCALSLURM=$dir

    mungekey --create --keyfile="$dir/munge-key/munge.key" >/dev/null 2>&1 ||
        die "mungekey failed"
    munged --socket="$dir/munge-sock/munge.socket" --key-file="$dir/munge-key/munge.key" \
        --log-file="$dir/log/munged.log" --pid-file="$dir/run/munged.pid" \
        --seed-file="$dir/munge-key/munged.seed" ||
        { cat "$dir/log/munged.log" >&2; die "munged did not start"; }
    munge -S "$dir/munge-sock/munge.socket" -n | unmunge -S "$dir/munge-sock/munge.socket" \
        >/dev/null || die "munge credential round trip failed"

    slurmctld -i -f "$conf" || die "slurmctld did not start (log: $dir/log/slurmctld.log)"
    for k in $(seq 1 "$nn"); do
        slurmd -f "$conf" -N "n$k" || die "slurmd n$k did not start (log: $dir/log/slurmd-n$k.log)"
    done

    # Wait (at most 60 s) until every node is idle.
    local states=
    for _ in $(seq 240); do
        states=$(sinfo -h -N -p debug -o '%T' 2>/dev/null)
        [ "$(grep -c '^idle$' <<<"$states")" -eq "$nn" ] && return 0
        sleep 0.25
    done
    echo "localslurm: nodes not idle after 60 s: $(echo $states)" >&2
    tail -n 20 "$dir"/log/*.log >&2
    return 1
}

down() {
    local p pids left
    [ -d "$dir" ] || return 0
    export SLURM_CONF=$dir/slurm.conf
    pids=$(cat "$dir"/run/slurm*.pid 2>/dev/null)
    if [ -n "$pids" ] && [ -e "$SLURM_CONF" ]; then
        # Jobs first (their slurmstepd outlive slurmd otherwise), then the daemons.
        timeout 10 scancel --quiet --user=root >/dev/null 2>&1
        for _ in $(seq 40); do
            [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.25
        done
        timeout 10 scontrol shutdown >/dev/null 2>&1
        for _ in $(seq 40); do
            left=
            for p in $pids; do alive "$p" && left=1; done
            [ -z "$left" ] && break
            sleep 0.25
        done
    fi
    # Fallbacks, by PID only: the daemons' PID files, then anything carrying this cluster's
    # marker (slurmstepd, job processes).
    for p in $pids; do alive "$p" && kill "$p" 2>/dev/null; done
    for p in $(leftovers); do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in $pids $(leftovers); do alive "$p" && kill -9 "$p" 2>/dev/null; done
    # munged last: slurmctld needs it to the end.
    if [ -f "$dir/run/munged.pid" ]; then
        p=$(cat "$dir/run/munged.pid")
        alive "$p" && kill "$p" 2>/dev/null
        for _ in $(seq 20); do alive "$p" || break; sleep 0.1; done
        alive "$p" && kill -9 "$p" 2>/dev/null
    fi
    rm -f "$dir"/run/*.pid "$dir/slurm.conf"
    return 0
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 up DIR [NNODES] | $0 down DIR"
dir=$(realpath -m "$dir")
case $cmd in
up) up "${3:-1}" ;;
down) down ;;
*) die "usage: $0 up DIR [NNODES] | $0 down DIR" ;;
esac
