#!/usr/bin/env bash
# Stops what slurm_up.sh started (by PID file), waits until each is gone, and removes its folder.
S=${TP_SLURM_DIR:-/tmp/tp-slurm}
P="$S/slurmd.pid $S/slurmctld.pid $S/munged.pid"
for p in $P; do [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
for p in $P; do
  pid=$(cat "$p" 2>/dev/null) || continue
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
done
rm -rf "$S"
