"""The workflow's local GPU-job limit, set at parse time from the GPUs found (albench.gpu_slots).

Dry-runs of the real Snakefile with a fake ``nvidia-smi`` on PATH (no GPU here); a few seconds.
"""

from __future__ import annotations

import os

from workflow_support import MINI_CONFIG, copy_workflow, snakemake

GPUS = "\n".join(f"GPU {i}: Fake A100 (UUID: GPU-{i:04d})" for i in range(4))


def test_the_parse_limits_gpu_jobs_to_gpus_times_slots(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(f'#!/bin/sh\n[ "$1" = "-L" ] || exit 1\necho "{GPUS}"\n')
    (folder / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    work = copy_workflow(tmp_path / "wf")
    args = ("-n", "--cores", "2", "--configfile", MINI_CONFIG, "--config", "device=auto")
    proc = snakemake(work, *args, "gpu_slots_per_device=2")
    assert "albench: at most 8 GPU job(s) at once (4 GPU(s) x gpu_slots_per_device 2)" in (
        proc.stderr
    )
    proc = snakemake(work, *args, "--resources", "gpu=1")  # the user's own limit wins
    assert "albench: at most" not in proc.stderr
