#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on loopback, from Debian's packages (installed
# when missing): munge, slurmctld, slurmd, and slurmdbd on a MariaDB of its own (so
# that `sacct` works). Everything lives in DIR and nothing in /etc is touched, except
# munge's socket: Slurm's commands look for it at /run/munge/munge.socket.2 whatever
# the configuration says, so a munged already serving there is used, and otherwise
# one is started there with a key in DIR. Prints the SLURM_CONF to export for sbatch, squeue, scancel, sacct.
#
#   scripts/test-slurm.sh start [DIR]    # default /tmp/effnas-slurm
#   scripts/test-slurm.sh stop  [DIR]
#
# The node is this machine under its own name, with its CPUs, its memory and two
# pretend GPUs (two empty files as their devices), so that a batch script that asks
# for `--gres=gpu:1` is scheduled as on a GPU cluster. No cgroups (a container seldom
# has them to give): processes are tracked by the Linux process tree. Ports: 56817
# (slurmctld), 56818 (slurmd), 56819 (slurmdbd), 53306 (MariaDB, 127.0.0.1 only).
set -euo pipefail
action="${1:-start}"
dir="$(realpath -m "${2:-/tmp/effnas-slurm}")"
conf="$dir/slurm.conf"
host="$(hostname -s 2>/dev/null || uname -n | cut -d. -f1)"

need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
install_packages() {
    need slurmctld && need slurmd && need slurmdbd && need sbatch && need munged && need mariadbd && return
    [ "$(id -u)" = 0 ] || { echo "test-slurm: Slurm is not installed (apt-get install slurmctld slurmd slurm-client slurmdbd munge mariadb-server)" >&2; exit 2; }
    # The packages' own services stay down (this script starts what it needs): a
    # policy-rc.d that denies every start, only for the install, if there is none.
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        slurmctld slurmd slurm-client slurmdbd munge mariadb-server >/dev/null
    [ -z "$policy" ] || rm -f "$policy"
}

# Waits up to 60 s for `$@` to succeed.
wait_until() {
    local what=$1
    shift
    for _ in $(seq 600); do
        timeout 5 "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "test-slurm: $what did not come up; logs in $dir" >&2
    exit 1
}

stop_pid() {
    local file=$1
    [ -f "$file" ] || return 0
    local pid
    pid="$(cat "$file")"
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

case "$action" in
start)
    [ "$(id -u)" = 0 ] || { echo "test-slurm: run as root (slurmd starts jobs as their users)" >&2; exit 2; }
    install_packages
    mkdir -p "$dir"/{ctld,spool,mysql,log} /run/munge
    export PATH="$PATH:/usr/sbin"

    # munge: the machine's, or one of our own on the standard socket.
    if ! munge -n >/dev/null 2>&1; then
        if [ ! -f "$dir/munge.key" ]; then
            dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
            chmod 600 "$dir/munge.key"
        fi
        munged --force --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
            --log-file="$dir/log/munged.log" --seed-file="$dir/munge.seed"
    fi
    wait_until munge munge -n

    # MariaDB for slurmdbd: one database, one user, loopback only.
    if [ ! -d "$dir/mysql/mysql" ]; then
        mariadb-install-db --datadir="$dir/mysql" --user=root --auth-root-authentication-method=normal \
            --skip-test-db >"$dir/log/mariadb-install.log" 2>&1
    fi
    if ! [ -f "$dir/mariadb.pid" ] || ! kill -0 "$(cat "$dir/mariadb.pid")" 2>/dev/null; then
        mariadbd --no-defaults --user=root --datadir="$dir/mysql" --socket="$dir/mariadb.sock" \
            --port=53306 --bind-address=127.0.0.1 --pid-file="$dir/mariadb.pid" \
            --log-error="$dir/log/mariadb.log" >/dev/null 2>&1 &
    fi
    wait_until MariaDB mariadb --no-defaults -S "$dir/mariadb.sock" -u root -e "SELECT 1"
    mariadb --no-defaults -S "$dir/mariadb.sock" -u root -e "
        CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

    cpus="$(nproc)"
    memory_mb="$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)"
    cat >"$conf" <<EOF
ClusterName=effnas-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=56817
SlurmdPort=56818
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=56819
AccountingStorageTRES=gres/gpu
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
ReturnToService=2
MpiDefault=none
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    # Pretend GPUs: slurmd counts a GPU per device file it is given.
    touch "$dir/fake-gpu0" "$dir/fake-gpu1"
    cat >"$dir/gres.conf" <<EOF
AutoDetect=off
NodeName=$host Name=gpu File=$dir/fake-gpu[0-1]
EOF
    cat >"$dir/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=$host
DbdAddr=127.0.0.1
DbdPort=56819
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=53306
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
PidFile=$dir/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
EOF
    chmod 600 "$dir/slurmdbd.conf"
    export SLURM_CONF="$conf"

    [ -f "$dir/slurmdbd.pid" ] && kill -0 "$(cat "$dir/slurmdbd.pid")" 2>/dev/null || slurmdbd
    wait_until slurmdbd sacctmgr -n list cluster
    sacctmgr -n -P list cluster format=cluster | grep -qx effnas-test || sacctmgr -i add cluster effnas-test >/dev/null
    [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null || slurmctld
    wait_until slurmctld scontrol ping
    [ -f "$dir/slurmd.pid" ] && kill -0 "$(cat "$dir/slurmd.pid")" 2>/dev/null || slurmd
    wait_until "the node" sh -c "sinfo -h -N -o '%T' | grep -Eq '^(idle|mixed|allocated)'"
    echo "$conf"
    ;;
stop)
    export SLURM_CONF="$conf" PATH="$PATH:/usr/sbin"
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid "$dir/slurmdbd.pid"
    stop_pid "$dir/mariadb.pid"
    stop_pid "$dir/munged.pid"
    ;;
*)
    echo "usage: $0 start|stop [DIR]" >&2
    exit 2
    ;;
esac
