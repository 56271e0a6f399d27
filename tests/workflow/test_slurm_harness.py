"""Tests of the local single-node SLURM harness (.ci/slurm/*.sh via tests/slurm_cluster.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_harness() -> ModuleType:
    """Import tests/slurm_cluster.py by path (pytest runs with --import-mode=importlib)."""
    if "slurm_cluster" in sys.modules:
        return sys.modules["slurm_cluster"]
    path = Path(__file__).resolve().parents[1] / "slurm_cluster.py"
    spec = importlib.util.spec_from_file_location("slurm_cluster", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["slurm_cluster"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


harness = _load_harness()
AVAILABLE, REASON = harness.slurm_available()
CONF = Path("/etc/slurm/slurm.conf")


def test_assert_no_daemons_left_sees_a_live_process_and_its_exit() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(AssertionError, match=rf"sleep {proc.pid}"):
            harness.assert_no_daemons_left({"sleep": proc.pid})
        with pytest.raises(AssertionError, match=rf"pid {proc.pid}"):
            harness.assert_no_daemons_left([proc.pid])
        # Same pid under another program name counts as reused, i.e. the daemon is gone.
        harness.assert_no_daemons_left({"slurmctld": proc.pid})
    finally:
        proc.kill()
        proc.wait()
    harness.assert_no_daemons_left({"sleep": proc.pid})
    harness.assert_no_daemons_left([proc.pid])


def test_read_pids_parses_name_pid_lines(tmp_path: Path) -> None:
    assert harness.read_pids(tmp_path) == {}
    (tmp_path / "pids").write_text("munged 11\nslurmctld 22\nslurmd 33\n\n")
    assert harness.read_pids(tmp_path) == {"munged": 11, "slurmctld": 22, "slurmd": 33}


def test_slurm_env_drops_inherited_job_variables() -> None:
    env = harness.slurm_env({"PATH": "/bin", "SLURM_CONF": "/x", "SLURM_JOB_ID": "7", "HOME": "/h"})
    assert env == {"PATH": "/bin:/usr/sbin:/sbin", "HOME": "/h"}


def test_slurm_available_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.os, "geteuid", lambda: 1000)
    ok, reason = harness.slurm_available()
    assert not ok
    assert "root" in reason and "1000" in reason
    monkeypatch.setattr(harness.os, "geteuid", lambda: 0)
    monkeypatch.setattr(harness.shutil, "which", lambda name, path=None: None)
    ok, reason = harness.slurm_available()
    assert not ok
    assert "slurmctld" in reason and ".ci/slurm/install.sh" in reason


@pytest.mark.slurm
@pytest.mark.skipif(not AVAILABLE, reason=REASON)
def test_local_cluster_runs_a_batch_job_and_stops_cleanly(tmp_path: Path) -> None:
    conf_before = CONF.read_bytes() if CONF.exists() else None
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    with harness.local_slurm_cluster(tmp_path) as cluster:
        assert set(cluster.pids) >= {"slurmctld", "slurmd"}
        assert CONF.read_text().startswith(
            f"# albench-slurm-harness STATE_DIR={cluster.state_dir}\n"
        )
        sinfo = cluster.run("sinfo", "--noheader", "--Node", "--format=%T").stdout.split()
        assert sinfo == ["idle"]
        job_id = cluster.sbatch("--wrap", "echo $SLURM_JOB_ID > out", cwd=job_dir)
        state = cluster.wait_for_job(job_id, timeout=30)
        assert state == "COMPLETED", cluster.logs()
        assert (job_dir / "out").read_text().strip() == str(job_id)
        pids = dict(cluster.pids)
    harness.assert_no_daemons_left(pids)
    conf_after = CONF.read_bytes() if CONF.exists() else None
    assert conf_after == conf_before
    # stop.sh is idempotent: a second call finds nothing to do and succeeds.
    harness.stop_cluster(tmp_path / "slurm-state")


@pytest.mark.slurm
@pytest.mark.skipif(not AVAILABLE, reason=REASON)
def test_local_cluster_is_stopped_when_the_body_raises(tmp_path: Path) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        harness.local_slurm_cluster(tmp_path) as cluster,
    ):
        pids = dict(cluster.pids)
        raise KeyboardInterrupt
    harness.assert_no_daemons_left(pids)
