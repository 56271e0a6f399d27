"""The smoke workflow through the SLURM profile on a real single-node cluster.

Starts slurmctld/slurmd/munged (Debian slurm-wlm + munge, as root; see .ci/slurm/), runs the
reduced smoke config with ``--workflow-profile profiles/slurm`` (partition and GPU
settings overridden for this CPU-only test cluster), and checks that every cycle ran inside a
SLURM job and produced exactly the local run's results. The daemons are stopped by pid
whatever happens.
"""

from __future__ import annotations

import json

import pytest

import slurm_cluster
from workflow_support import SMOKE, assert_same_results, copy_workflow, snakemake

AVAILABLE, REASON = slurm_cluster.slurm_available()
pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason=REASON)]

TEST_CLUSTER = [
    "--workflow-profile",
    "profiles/slurm",
    "--jobs",
    "4",
    "--slurm-init-seconds-before-status-checks",
    "2",  # short jobs: poll early
    "--latency-wait",
    "10",
    # this cluster: one CPU partition called debug, no GPUs, ~20 GB
    "--default-resources",
    "slurm_partition=debug",
    "runtime=30",
    "mem_mb=2000",
    "--set-resources",
    "run_cycle:gpu=0",
    "run_reference:gpu=0",
    "train_initial:gpu=0",
    # this cluster's node has 2 CPUs; the profile asks 4 per training job
    "--set-threads",
    "run_cycle=1",
    "train_initial=1",
    "run_reference=1",
    # CPU-sized cycles: one submission per sampler chain (the profile's documented option)
    "--groups",
    "run_cycle=chain",
    "--group-components",
    "chain=1",
]


def test_smoke_workflow_through_slurm_matches_a_local_run(finished_run, tmp_path):
    work = copy_workflow(tmp_path / "slurm-run")
    with slurm_cluster.local_slurm_cluster(tmp_path) as cluster:
        proc = snakemake(work, *SMOKE, *TEST_CLUSTER, timeout=900, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:] + cluster.logs()
        pids = dict(cluster.pids)
    slurm_cluster.assert_no_daemons_left(pids, timeout=10)

    metrics = sorted((work / "results" / "smoke").rglob("metrics.json"))
    assert len(metrics) == 2 * 2 * 2 + 2
    runs = {path: json.loads(path.read_text())["run"]["slurm_job_id"] for path in metrics}
    assert all(job_id and job_id.isdigit() for job_id in runs.values()), runs
    cycles = {path: job for path, job in runs.items() if "/cycle" in str(path)}
    # Grouped: both cycles of a sampler chain ran in one submission, chains in their own.
    assert len(set(cycles.values())) == len(cycles) // 2
    for path, job in cycles.items():
        if path.parent.name == "cycle1":
            assert job == cycles[path.parent.parent / "cycle0" / "metrics.json"]
    assert assert_same_results(finished_run, work) == len(metrics)
