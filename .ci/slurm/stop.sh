#!/usr/bin/env bash
# stop.sh - stop the single-node Slurm cluster that .ci/slurm/start.sh started from STATE_DIR.
#
# Usage: .ci/slurm/stop.sh STATE_DIR
#
# Cancels the cluster's jobs, then stops exactly the daemons listed in STATE_DIR/pids (slurmd,
# slurmctld, munged; SIGTERM, a bounded wait, then SIGKILL), checking each pid still runs the
# program it was recorded for, and puts back the /etc/slurm/slurm.conf that start.sh replaced.
# It never signals any other process. Safe to call twice, and on a STATE_DIR where start.sh
# failed half-way. Exits non-zero only if a recorded daemon survives SIGKILL.
#
# Environment: SLURM_HARNESS_STOP_TIMEOUT  seconds to wait after SIGTERM (default 15).
set -uo pipefail

log() { echo "[slurm-harness] $*" >&2; }

[ $# -eq 1 ] || {
	echo "usage: $0 STATE_DIR" >&2
	exit 2
}
if [ ! -d "$1" ]; then
	log "nothing to stop: $1 does not exist"
	exit 0
fi
STATE_DIR=$(cd "$1" && pwd -P)
CONF=/etc/slurm/slurm.conf
MARKER="albench-slurm-harness STATE_DIR=$STATE_DIR"
PIDS=$STATE_DIR/pids
STOP_TIMEOUT=${SLURM_HARNESS_STOP_TIMEOUT:-15}
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SRUN|SALLOC)_' || true)
export PATH=$PATH:/usr/sbin:/sbin

# alive PID NAME: PID runs a live (non-zombie) process named NAME (or NAME-wlm, Debian's binary).
alive() {
	local stat comm state
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	comm=${stat#*(}
	comm=${comm%)*}
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ] && [ "$state" != X ] && [[ $comm == "$2" || $comm == "$2-wlm" ]]
}

names=()
pids=()
if [ -f "$PIDS" ]; then
	while read -r name pid; do
		[[ $pid =~ ^[0-9]+$ ]] || continue
		names+=("$name")
		pids+=("$pid")
	done <"$PIDS"
fi

# ---- cancel the jobs of this cluster, so no slurmstepd outlives slurmd --------------------------
ctld_ours=0
for i in "${!pids[@]}"; do
	[ "${names[$i]}" = slurmctld ] && alive "${pids[$i]}" slurmctld && ctld_ours=1
done
if [ "$ctld_ours" -eq 1 ] && head -n1 "$CONF" 2>/dev/null | grep -qxF "# $MARKER"; then
	jobs=$(timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
	if [ -n "${jobs// /}" ]; then
		log "cancelling jobs: $jobs"
		# shellcheck disable=SC2086  # one argument per job id
		timeout 10 scancel $jobs || log "scancel failed"
		deadline=$((SECONDS + STOP_TIMEOUT))
		while [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.5
		done
	fi
fi

# ---- stop the recorded daemons, last started first ----------------------------------------------
signal_all() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		if alive "${pids[$i]}" "${names[$i]}"; then
			log "sending SIG$1 to ${names[$i]} (pid ${pids[$i]})"
			kill -s "$1" "${pids[$i]}" 2>/dev/null || true
		fi
	done
}
any_alive() {
	local i
	for i in "${!pids[@]}"; do
		alive "${pids[$i]}" "${names[$i]}" && return 0
	done
	return 1
}
wait_gone() {
	local deadline=$((SECONDS + $1))
	while any_alive && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
	! any_alive
}

rc=0
if [ "${#pids[@]}" -gt 0 ]; then
	# slurmd first and alone, so that slurmctld does not see it vanish mid-request.
	for i in "${!pids[@]}"; do
		if [ "${names[$i]}" = slurmd ] && alive "${pids[$i]}" slurmd; then
			log "sending SIGTERM to slurmd (pid ${pids[$i]})"
			kill -s TERM "${pids[$i]}" 2>/dev/null || true
			deadline=$((SECONDS + 5))
			while alive "${pids[$i]}" slurmd && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
		fi
	done
	signal_all TERM
	if ! wait_gone "$STOP_TIMEOUT"; then
		signal_all KILL
		if ! wait_gone 5; then
			for i in "${!pids[@]}"; do
				alive "${pids[$i]}" "${names[$i]}" && log "ERROR: ${names[$i]} (pid ${pids[$i]}) survived SIGKILL"
			done
			rc=1
		fi
	fi
fi

# ---- put back /etc/slurm/slurm.conf -------------------------------------------------------------
if [ -f "$CONF" ] && head -n1 "$CONF" | grep -qxF "# $MARKER"; then
	if [ -f "$STATE_DIR/etc-slurm.conf.orig" ]; then
		cp -p "$STATE_DIR/etc-slurm.conf.orig" "$CONF.harness.$$" && mv -f "$CONF.harness.$$" "$CONF" &&
			rm -f "$STATE_DIR/etc-slurm.conf.orig" && log "restored the original $CONF"
	else
		rm -f "$CONF" && log "removed $CONF (there was none before)"
	fi
	rm -f "$STATE_DIR/etc-slurm.conf.absent"
elif [ -f "$STATE_DIR/etc-slurm.conf.orig" ] || [ -f "$STATE_DIR/etc-slurm.conf.absent" ]; then
	log "WARNING: $CONF was changed by someone else since start.sh; left it alone" \
		"(the original, if any, is $STATE_DIR/etc-slurm.conf.orig)"
	rm -f "$STATE_DIR/etc-slurm.conf.absent"
fi

# ---- remove a spool dir that start.sh had to create outside STATE_DIR ---------------------------
if [ -f "$STATE_DIR/external-spool" ] && [ "$rc" -eq 0 ]; then
	spool=$(cat "$STATE_DIR/external-spool")
	case "$spool" in /tmp/slurmd-spool.*) rm -rf -- "$spool" ;; esac
	rm -f "$STATE_DIR/external-spool"
fi
exit "$rc"
