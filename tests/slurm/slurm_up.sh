#!/usr/bin/env bash
# Starts a one-node Slurm cluster on localhost for the tests: munge (unless one already runs), slurmctld,
# slurmd; as root, no systemd, no cgroups. Everything lives in $TP_SLURM_DIR (default /tmp/tp-slurm),
# including slurm.conf, which clients find through SLURM_CONF: /etc/slurm is never touched.
# slurm_down.sh stops exactly what this started. Recipe: ../shared/research/toolchain.md section 6.
set -euo pipefail
S=${TP_SLURM_DIR:-/tmp/tp-slurm}
mkdir -p "$S/state" "$S/spool" "$S/log" /run/munge
chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  cp /run/munge/munged.pid "$S/munged.pid"      # ours to stop
fi
cat > "$S/slurm.conf" <<EOC
ClusterName=tptest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# a requeued job may start again after cred_expire seconds; 5 is the minimum Slurm accepts
AuthInfo=cred_expire=5
CredType=cred/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPort=${TP_SLURMCTLD_PORT:-6817}
SlurmdPort=${TP_SLURMD_PORT:-6818}
MinJobAge=300
KillWait=5
InactiveLimit=0
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOC
export SLURM_CONF="$S/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF" -N localhost
for i in $(seq 150); do sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle && break; sleep 0.2; done
sinfo -h -N -o '%N %T'
