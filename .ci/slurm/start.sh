#!/usr/bin/env bash
# start.sh - start a throwaway single-node Slurm cluster (munged, slurmctld, slurmd) for tests/CI.
#
# Usage: .ci/slurm/start.sh STATE_DIR
#
# Renders .ci/slurm/slurm.conf.in into /etc/slurm/slurm.conf (the Snakemake SLURM jobstep strips
# SLURM_CONF, so the default path is required; a pre-existing file is backed up into STATE_DIR and
# put back by stop.sh), starts munged (unless a working one already runs), slurmctld and slurmd as
# root in the foreground of their own sessions, waits until the node is idle, runs
# `srun -N1 -n1 true`, and writes "NAME PID" lines to STATE_DIR/pids. All state, spool, pid and
# log files live under STATE_DIR, so every run starts clean.
# On any failure it prints the daemons' logs, runs stop.sh STATE_DIR and exits non-zero.
# Calling it again while the cluster from the same STATE_DIR is up is a no-op.
#
# Environment: SLURM_HARNESS_TIMEOUT  seconds to wait for each daemon to come up (default 60).
set -euo pipefail

log() { echo "[slurm-harness] $*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[ $# -eq 1 ] || {
	echo "usage: $0 STATE_DIR" >&2
	exit 2
}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
mkdir -p "$1"
STATE_DIR=$(cd "$1" && pwd -P)
[[ $STATE_DIR =~ ^[A-Za-z0-9._/+-]+$ ]] ||
	die "STATE_DIR '$STATE_DIR' has characters slurm.conf paths cannot hold (allowed: A-Z a-z 0-9 . _ / + -)"
CONF=/etc/slurm/slurm.conf
MARKER="albench-slurm-harness STATE_DIR=$STATE_DIR"
PIDS=$STATE_DIR/pids
TIMEOUT=${SLURM_HARNESS_TIMEOUT:-60}

# Clients must read /etc/slurm/slurm.conf and must not think they run inside someone's job.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SRUN|SALLOC)_' || true)

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

# all_alive FILE: every "NAME PID" line of FILE names a live process.
all_alive() {
	local name pid n=0
	[ -s "$1" ] || return 1
	while read -r name pid; do
		alive "$pid" "$name" || return 1
		n=$((n + 1))
	done <"$1"
	[ "$n" -gt 0 ]
}

# ---- pre-flight ---------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (slurmctld/slurmd run as SlurmUser=root); uid is $(id -u)"
for cmd in munged munge unmunge slurmctld slurmd sbatch srun squeue sinfo scontrol scancel; do
	PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null ||
		die "'$cmd' not found; install the packages with .ci/slurm/install.sh"
done
export PATH=$PATH:/usr/sbin:/sbin

if [ -f "$CONF" ] && head -n1 "$CONF" | grep -qxF "# $MARKER" && all_alive "$PIDS"; then
	log "cluster from $STATE_DIR is already running; nothing to do"
	exit 0
fi
# Leftovers of an earlier run from this STATE_DIR (crash, kill -9): stop them first.
if [ -e "$PIDS" ] || [ -e "$STATE_DIR/etc-slurm.conf.orig" ] || [ -e "$STATE_DIR/etc-slurm.conf.absent" ]; then
	log "cleaning up an earlier run from $STATE_DIR"
	"$HERE/stop.sh" "$STATE_DIR" || die "could not stop the earlier run from $STATE_DIR"
fi

# A config written by a harness from another STATE_DIR: refuse if that cluster is up, else adopt
# its backup of the original file so that stop.sh restores the right thing.
other_orig=""
if [ -f "$CONF" ] && other=$(head -n1 "$CONF" | sed -n 's/^# albench-slurm-harness STATE_DIR=//p') && [ -n "$other" ]; then
	if all_alive "$other/pids"; then
		die "a cluster started from $other is running; stop it with: $HERE/stop.sh $other"
	fi
	log "found a stale config from $other (its cluster is not running); replacing it"
	[ -f "$other/etc-slurm.conf.orig" ] && other_orig=$other/etc-slurm.conf.orig
	stale=1
else
	stale=0
fi
for daemon in slurmctld slurmd; do
	# pgrep -x on the name (a regex longer than 15 characters would match nothing); it also
	# lists zombies: filter them.
	for pid in $(pgrep -x "$daemon" || true) $(pgrep -x "$daemon-wlm" || true); do
		alive "$pid" "$daemon" && die "a $daemon not started by this harness is running (pid $pid); stop it first"
	done
done

# ---- from here on, any failure prints logs and stops what was started ---------------------------
rm -rf "$STATE_DIR/ctld-state" "$STATE_DIR/spool" "$STATE_DIR/external-spool"
rm -f "$PIDS" "$STATE_DIR"/*.log "$STATE_DIR"/*.pid "$STATE_DIR/slurm.conf"
ok=0
dump_logs() {
	local name f
	for name in munged slurmctld slurmd; do
		# A daemon's own log file; its captured stdout/stderr only if that is missing or empty
		# (it repeats the log file, but also holds errors from before the log file was opened).
		for f in "$STATE_DIR/$name.log" "$STATE_DIR/$name.out.log"; do
			[ -s "$f" ] || continue
			echo "===== $f (last 60 lines) =====" >&2
			tail -n 60 "$f" >&2 || true
			break
		done
	done
}
on_exit() {
	local rc=$?
	[ "$ok" -eq 1 ] && return 0
	log "start failed (exit $rc); daemon logs follow"
	dump_logs
	"$HERE/stop.sh" "$STATE_DIR" >&2 || log "stop.sh failed too; check the processes in $PIDS"
	[ "$rc" -ne 0 ] || rc=1
	exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP
: >"$PIDS"

# ---- render /etc/slurm/slurm.conf ---------------------------------------------------------------
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
MARGIN_MB=$((MEM_TOTAL_MB / 10 > 512 ? MEM_TOTAL_MB / 10 : 512))
REAL_MEMORY=$((MEM_TOTAL_MB - MARGIN_MB))
[ "$REAL_MEMORY" -ge 256 ] || REAL_MEMORY=$((MEM_TOTAL_MB / 2))
DEF_MEM_PER_CPU=$((REAL_MEMORY / CPUS))
# slurmstepd puts unix sockets "<spool>/<host>_<job>.<step>" in the spool dir; sun_path holds
# 107 bytes, so a long STATE_DIR (deep pytest tmp dirs) gets a short spool dir under /tmp.
SPOOL_DIR=$STATE_DIR/spool
if [ $((${#SPOOL_DIR} + ${#HOST} + 23)) -gt 107 ]; then
	SPOOL_DIR=$(mktemp -d /tmp/slurmd-spool.XXXXXX)
	echo "$SPOOL_DIR" >"$STATE_DIR/external-spool"
fi
mkdir -p "$STATE_DIR/ctld-state" "$SPOOL_DIR"
sed -e "s|@MARKER@|$MARKER|" -e "s|@HOST@|$HOST|g" -e "s|@CPUS@|$CPUS|g" \
	-e "s|@REAL_MEMORY@|$REAL_MEMORY|g" -e "s|@DEF_MEM_PER_CPU@|$DEF_MEM_PER_CPU|g" \
	-e "s|@STATE_DIR@|$STATE_DIR|g" -e "s|@SPOOL_DIR@|$SPOOL_DIR|g" \
	"$HERE/slurm.conf.in" >"$STATE_DIR/slurm.conf"
if grep -n '@[A-Z_]*@' "$STATE_DIR/slurm.conf"; then die "unrendered placeholder in slurm.conf"; fi

mkdir -p /etc/slurm
if [ -e "$CONF" ] && [ "$stale" -eq 0 ]; then
	cp -p "$CONF" "$STATE_DIR/etc-slurm.conf.orig"
elif [ -n "$other_orig" ]; then
	cp -p "$other_orig" "$STATE_DIR/etc-slurm.conf.orig"
else
	: >"$STATE_DIR/etc-slurm.conf.absent"
fi
install -m 0644 "$STATE_DIR/slurm.conf" "$CONF.harness.$$"
mv -f "$CONF.harness.$$" "$CONF"
log "wrote $CONF (node $HOST: CPUs=$CPUS RealMemory=$REAL_MEMORY MB of $MEM_TOTAL_MB MB)"

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.5 s; fail if a daemon died.
wait_for() {
	local secs=$1 what=$2 deadline name pid
	shift 2
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		while read -r name pid; do
			alive "$pid" "$name" || die "$name (pid $pid) died while waiting for $what"
		done <"$PIDS"
		[ "$SECONDS" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what"
		sleep 0.5
	done
}

# start_daemon NAME LOGFILE COMMAND...: run COMMAND in its own session, record "NAME PID".
start_daemon() {
	local name=$1 logfile=$2
	shift 2
	setsid "$@" </dev/null >>"$logfile" 2>&1 &
	local pid=$! waited=0
	echo "$name $pid" >>"$PIDS"
	# Until setsid has exec'd the daemon, /proc/PID names setsid (or bash): on a busy machine
	# the liveness checks below would read that as "died". Wait for the exec (at most 10 s).
	while [ -e "/proc/$pid" ] && ! alive "$pid" "$name" && [ "$waited" -lt 100 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	log "started $name (pid $pid)"
}

munge_works() { munge -n </dev/null | unmunge >/dev/null; }
node_idle() { [ "$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null)" = idle ]; }
ctld_up() { timeout 5 scontrol ping | grep -q 'is UP'; }

# ---- munged -------------------------------------------------------------------------------------
if munge_works 2>/dev/null; then
	log "reusing the munged that is already running"
else
	[ -d /run/munge ] || install -d -m 0755 /run/munge
	# As root munged needs --force (it warns that the key belongs to the munge user).
	start_daemon munged "$STATE_DIR/munged.log" munged --foreground --force \
		--seed-file="$STATE_DIR/munged.seed"
	wait_for 10 "munged to answer" munge_works
fi

# ---- slurmctld, slurmd --------------------------------------------------------------------------
start_daemon slurmctld "$STATE_DIR/slurmctld.out.log" slurmctld -D
wait_for "$TIMEOUT" "slurmctld to answer scontrol ping" ctld_up
start_daemon slurmd "$STATE_DIR/slurmd.out.log" slurmd -D
deadline=$((SECONDS + TIMEOUT))
until node_idle; do
	state=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null || true)
	case "$state" in drain* | down* | fail* | inval*)
		sinfo -R >&2 || true
		die "node $HOST is '$state' instead of idle"
		;;
	esac
	while read -r name pid; do
		alive "$pid" "$name" || die "$name (pid $pid) died while waiting for node $HOST to be idle"
	done <"$PIDS"
	[ "$SECONDS" -lt "$deadline" ] || die "timed out after ${TIMEOUT}s waiting for node $HOST to be idle (state '$state')"
	sleep 0.5
done

# ---- smoke check --------------------------------------------------------------------------------
timeout 30 srun -N1 -n1 true || die "smoke check 'srun -N1 -n1 true' failed"
ok=1
log "cluster is up: node $HOST idle, pids in $PIDS"
