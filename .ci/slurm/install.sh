#!/usr/bin/env bash
# install.sh - install Slurm (slurm-wlm: slurmctld, slurmd, client tools) and munge on Debian/Ubuntu.
#
# Usage: .ci/slurm/install.sh        (as root, or with passwordless sudo)
#
# Idempotent and quiet: does nothing when every program the harness needs is already installed.
# The packages' postinst scripts create the munge user and key and the slurmstepd alternatives
# link; no service is started (start.sh starts the daemons itself, without systemd).
set -euo pipefail

needed=(munged munge unmunge slurmctld slurmd slurmstepd sbatch srun squeue sinfo scontrol scancel)
missing=()
for cmd in "${needed[@]}"; do
	PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if [ "${#missing[@]}" -eq 0 ] && [ -f /etc/munge/munge.key ]; then
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "install.sh: must run as root (missing: ${missing[*]:-munge key})" >&2
		exit 1
	}
	SUDO="sudo -n"
fi
command -v apt-get >/dev/null || {
	echo "install.sh: apt-get not found; install slurm-wlm and munge with your package manager" >&2
	exit 1
}

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends slurm-wlm munge; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "install.sh: apt-get failed (output above)" >&2
	exit 1
fi
for cmd in "${needed[@]}"; do
	PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null || {
		echo "install.sh: '$cmd' still missing after installing slurm-wlm and munge" >&2
		exit 1
	}
done
echo "install.sh: installed slurm-wlm and munge"
