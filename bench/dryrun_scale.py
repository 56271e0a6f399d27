"""Dry-run the papers' protocols (config/paper/*.yaml) and print job counts and DAG-building time.

    python bench/dryrun_scale.py

Each preset is dry-run in a temporary copy of the workflow (so no results are touched); the
figures are the wall time of `snakemake -n --quiet` (parsing, validation, DAG building for
every job) and the number of jobs it plans. Target: all presets together in <= 60 s on 2 cores.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from workflow_support import copy_workflow  # noqa: E402


def main() -> int:
    presets = sorted((REPO / "config" / "paper").glob("*.yaml"))
    total_jobs, total_time = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp))
        for preset in presets:
            start = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "snakemake",
                    "-n",
                    "--configfile",
                    str(preset.relative_to(REPO)),
                ],
                cwd=work,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                return 1
            match = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.MULTILINE)
            jobs = int(match.group(1)) if match else 0
            total_jobs += jobs
            total_time += elapsed
            print(f"{preset.name:<28} {jobs:>6} jobs  {elapsed:6.1f} s")
    print(f"{'all paper presets':<28} {total_jobs:>6} jobs  {total_time:6.1f} s  (target <= 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
