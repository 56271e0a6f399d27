"""What users rely on, on the (reduced) smoke config: no-op reruns, partial reruns, and
recovery from a run killed mid-cycle with identical results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from workflow_support import (
    MINI_CONFIG,
    SMOKE,
    SNAKEMAKE,
    assert_same_results,
    copy_workflow,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.slow


def test_run_produces_the_tidy_summary(finished_run):
    cycles = pd.read_csv(finished_run / "results" / "smoke" / "summary" / "cycles.csv")
    assert len(cycles) == 2 * 2 * 2 and set(cycles["status"]) == {"ok"}  # IRs x samplers x cycles
    assert set(cycles["sampler"]) == {"random", "tidal_entropy"}
    assert cycles.groupby("cycle")["num_labeled"].unique().map(list).to_dict() == {0: [40], 1: [60]}
    references = pd.read_csv(finished_run / "results" / "smoke" / "summary" / "reference.csv")
    assert len(references) == 2 and (references["num_labeled"] > 500).all()


def test_rerunning_a_finished_workflow_runs_nothing(finished_run):
    proc = snakemake(finished_run, *SMOKE, "--cores", "2", "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def _mtimes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in (root / "results").rglob("*")
        if p.is_file()
    }


def test_deleting_one_cycle_reruns_only_it_and_its_successors(finished_run):
    chain = finished_run / "results/smoke/digits/ir10/seed0/random"
    before = _mtimes(finished_run)
    original = (chain / "cycle0" / "selected.csv").read_bytes()
    for path in (chain / "cycle0").iterdir():
        path.unlink()
    proc = snakemake(finished_run, *SMOKE, "--cores", "2", "-n")
    planned = proc.stdout + proc.stderr
    assert "run_cycle" in planned and "run_reference" not in planned and "build_pool" not in planned
    snakemake(finished_run, *SMOKE, "--cores", "2")
    after = _mtimes(finished_run)
    changed = {path for path, mtime in after.items() if before.get(path) != mtime}
    allowed_prefixes = (
        "results/smoke/digits/ir10/seed0/random/cycle0/",
        "results/smoke/digits/ir10/seed0/random/cycle1/",  # its successor
        "results/smoke/summary/",
    )
    assert changed and all(path.startswith(allowed_prefixes) for path in changed), sorted(changed)
    assert any(path.startswith(allowed_prefixes[0]) for path in changed)
    assert (chain / "cycle0" / "selected.csv").read_bytes() == original


def test_killed_run_resumes_with_identical_results(finished_run, tmp_path):
    work = copy_workflow(tmp_path / "killed")
    proc = subprocess.Popen(
        [*SNAKEMAKE, *SMOKE, "--cores", "2"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logs = work / "logs" / "smoke" / "run_cycle"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:  # wait until a cycle job is running
            running = [log for log in logs.glob("*cycle1.log")] if logs.exists() else []
            if running:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no cycle job started within 240 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its running jobs, no cleanup
        proc.wait(timeout=30)
    assert len(list((work / "results").rglob("metrics.json"))) < 2 * 2 * 2 + 2  # interrupted
    assert list((work / ".snakemake" / "locks").glob("*.lock"))  # the killed run's lock
    # The README's "after a crash": the same plain command, nothing else.
    proc = snakemake(work, *SMOKE)
    log = proc.stdout + proc.stderr
    assert "Using workflow specific profile profiles/default" in log
    assert "removed the lock of a run that was killed" in log
    assert assert_same_results(finished_run, work) == 2 * 2 * 2 + 2


def test_warm_started_jobs_give_the_bytes_of_jobs_in_their_own_process(finished_run, tmp_path):
    """finished_run's training jobs were forked by the warm-start server (albench.warm);
    with ALBENCH_WARM=0 each job is its own process, and every output is the same."""
    work = copy_workflow(tmp_path / "own-processes")
    env = {**os.environ, "ALBENCH_WARM": "0"}
    subprocess.run([*SNAKEMAKE, *SMOKE, "--cores", "2"], cwd=work, env=env, check=True, timeout=600)

    def processes(root: Path) -> set[str]:
        runs = (root / "results" / "smoke").rglob("metrics.json")
        return {json.loads(path.read_text())["run"]["process"] for path in runs}

    assert processes(finished_run) == {"warm fork"}
    assert processes(work) == {"own"}
    assert assert_same_results(finished_run, work) == 2 * 2 * 2 + 2


def test_turning_off_the_shared_cycle_zero_training_changes_no_output(tmp_path):
    """random and entropy train alike, so by default their cycle 0 loads one shared
    training per IR; with share_initial_training: false each trains its own, same bytes."""
    runs = {}
    for share in (True, False):
        work = copy_workflow(tmp_path / f"share-{share}")
        write_config(
            work / MINI_CONFIG,
            seeds=[0],
            samplers=["random", "entropy"],
            share_initial_training=share,
        )
        snakemake(work, *SMOKE, "--cores", "2")
        runs[share] = work

    def shared_trainings(root: Path) -> list[Path]:
        return sorted((root / "results" / "smoke").rglob("initial_training/*/training.json"))

    assert len(shared_trainings(runs[True])) == 2 and not shared_trainings(runs[False])
    assert assert_same_results(runs[True], runs[False]) == 2 * 2 * 2 + 2


def _subset_of(golden, value, where: str) -> None:
    """Every key of ``golden`` is in ``value`` with an equal value (new keys are allowed)."""
    if isinstance(golden, dict):
        assert isinstance(value, dict), where
        for key, item in golden.items():
            assert key in value, f"{where}.{key} is missing"
            _subset_of(item, value[key], f"{where}.{key}")
    elif isinstance(golden, float) and ".tail_auroc." in where:
        # The AUROC is now the exact Mann-Whitney ratio instead of scikit-learn's trapezoid,
        # which differed from it in the last bit (at most 1.1e-16 here).
        assert abs(value - golden) <= 1e-15, f"{where}: {value!r} != recorded {golden!r}"
    else:
        assert value == golden, f"{where}: {value!r} != recorded {golden!r}"


def test_results_equal_the_recorded_ones(finished_run):
    """The cycles give the bytes and metrics recorded before the cycle/sampler redesign.

    ``tests/workflow/golden/smoke_seed0.json`` holds, for every run of the reduced smoke
    config, the sha256 of its selection, next labeled set and checkpoint, and its
    metrics without the timing section, as the code of commit 0af3f36 wrote them. A
    refactor must leave them unchanged; a change meant to alter results records them anew
    (and says so). Floating-point kernels depend on the CPU's vector unit, so the
    comparison runs only where the recorded capability matches.
    """
    import hashlib
    import json

    import torch

    golden = json.loads((Path(__file__).parent / "golden" / "smoke_seed0.json").read_text())
    capability = torch.backends.cpu.get_cpu_capability()
    if capability != golden["cpu_capability"]:
        pytest.skip(f"recorded on {golden['cpu_capability']}, this CPU is {capability}")
    base = finished_run / "results" / "smoke"
    for run, recorded in golden["runs"].items():
        folder = base / run
        for name, digest in recorded["files"].items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, run + name
        metrics = json.loads((folder / "metrics.json").read_text())
        _subset_of(recorded["metrics"], metrics, run)
    assert len(golden["runs"]) == 8


@pytest.mark.slow
def test_a_failed_cycle_still_gets_a_report_of_what_finished(finished_run, tmp_path):
    """`snakemake report_available` after a run with a failed cycle: every finished run is
    reported, the failed one is in missing.csv, and nothing is rerun."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(finished_run, work, symlinks=True)
    # A copied (or moved) project is up to date: no rule parameter holds an absolute path.
    assert "Nothing to be done" in snakemake(work, "-n", *SMOKE, "--cores", "1").stdout
    cycles = sorted((work / "results" / "smoke").rglob("cycle1/metrics.json"))
    failed = cycles[0]
    failed.unlink()  # as a cycle that crashed leaves it: no metrics.json
    proc = snakemake(work, *SMOKE, "--cores", "1", "report_available")
    assert "rule run_cycle" not in proc.stdout + proc.stderr
    out = work / "reports" / "smoke" / "available"
    missing = (out / "missing.csv").read_text().splitlines()
    assert len(missing) == 2, missing  # header + the failed cycle
    run = failed.parent.relative_to(
        work / "results" / "smoke"
    ).parts  # dataset/irX/seedN/sampler/cycle1
    assert run[3] in missing[1] and "missing" in missing[1]
    assert (out / "claims.md").exists() and (out / "tables" / "final_accuracy.csv").exists()
