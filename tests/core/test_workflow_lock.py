"""Stale-lock detection: a dead owner's locks are cleared, a live or foreign owner's never."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from albench.workflow_lock import LOCKS, OWNER, clear_stale_lock, process_start


def _setup(tmp_path, owner):
    (tmp_path / LOCKS).mkdir(parents=True)
    (tmp_path / LOCKS / "0.input.lock").write_text("results/a\n")
    if owner is not None:
        (tmp_path / OWNER).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / OWNER).write_text(json.dumps(owner))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_owners_lock_is_removed_and_this_process_becomes_owner(tmp_path, capsys):
    _setup(tmp_path, {"host": socket.gethostname(), "pid": _dead_pid(), "start": "1"})
    assert clear_stale_lock(tmp_path)
    assert not list((tmp_path / LOCKS).glob("*.lock"))
    assert "removed the lock of a run that was killed" in capsys.readouterr().err
    owner = json.loads((tmp_path / OWNER).read_text())
    assert owner["pid"] == os.getpid() and owner["start"] == process_start(os.getpid())


def test_live_foreign_and_unknown_owners_keep_their_locks(tmp_path):
    live = {"host": socket.gethostname(), "pid": os.getpid(), "start": process_start(os.getpid())}
    for owner in (live, {"host": "another-node", "pid": 1, "start": "1"}, None):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        _setup(folder, owner)
        assert not clear_stale_lock(folder)
        assert list((folder / LOCKS).glob("*.lock"))


def test_a_reused_pid_is_not_mistaken_for_the_owner(tmp_path):
    # Same host and pid but another start time: the owner died and its pid was reused.
    _setup(tmp_path, {"host": socket.gethostname(), "pid": os.getpid(), "start": "0"})
    assert clear_stale_lock(tmp_path)
