"""Resume after a crash with the plain ``snakemake`` command: clear a dead run's lock.

Snakemake locks its working directory (``.snakemake/locks/``) while it runs and
removes the lock when it exits; a run killed with SIGKILL (or by a power cut)
leaves the lock behind, and the next ``snakemake`` stops with a LockException
until someone runs ``snakemake --unlock``. Snakemake cannot tell a dead run's
lock from a live one's, because its lock files name no owner.

albench records the owner: the main Snakemake process of every run writes its
host name, process id and start time into ``.snakemake/albench/owner.json``
while the workflow is parsed (unless a live owner is recorded already). When the
next run finds lock files whose recorded owner ran on this host and is no
longer alive, it removes them and says so. Locks with no recorded owner, or
owned by a live process or by another host, are never touched.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

OWNER = Path(".snakemake") / "albench" / "owner.json"
LOCKS = Path(".snakemake") / "locks"


def process_start(pid: int) -> str | None:
    """The start time of a live process (clock ticks since boot), or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19]  # field 22 of /proc/PID/stat: starttime


def owner_alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # another host's run: its liveness cannot be seen from here
    start = process_start(int(owner.get("pid", -1)))
    return start is not None and start == owner.get("start")


def clear_stale_lock(workdir: Path) -> bool:
    """Remove a dead run's lock files and record this process as the owner; True if removed."""
    owner_file, lock_dir = workdir / OWNER, workdir / LOCKS
    owner = None
    if owner_file.exists():
        try:
            owner = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            owner = None
    removed = False
    locks = sorted(lock_dir.glob("*.lock")) if lock_dir.is_dir() else []
    if locks and owner is not None and not owner_alive(owner):
        for lock in locks:
            lock.unlink(missing_ok=True)
        removed = True
        print(
            f"albench: removed the lock of a run that was killed (pid {owner.get('pid')} on "
            f"{owner.get('host')}); resuming",
            file=sys.stderr,
        )
    if owner is None or removed or not owner_alive(owner):
        me = {"host": socket.gethostname(), "pid": os.getpid(), "start": process_start(os.getpid())}
        owner_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = owner_file.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(me) + "\n")
        os.replace(tmp, owner_file)
    return removed
