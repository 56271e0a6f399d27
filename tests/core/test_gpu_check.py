"""bench/gpu_check.py keeps working on the CPU (CI has no GPU; a GPU machine runs it for real)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workflow_support import REPO


@pytest.mark.slow
def test_gpu_check_runs_on_cpu_and_every_check_passes():
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu_check.py"), "--device", "cpu", "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "0.00 per extra batch" in out  # no host sync grows with the number of batches
    assert "weights byte-identical: True" in out
    assert out.count(" ok, test accuracy") >= 18 and "all checks passed" in out
