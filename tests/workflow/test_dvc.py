"""DVC on the (reduced) smoke config in a clone of the repository: repro, no-op repro, partial
reruns driven by params, a clean status, and push → delete → pull giving the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow_support import REPO, write_config

pytestmark = pytest.mark.slow
TRACKED = ("results/smoke", "resources/datasets", "reports/smoke/tables", "results/report.html")


def dvc(work: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (
        f"dvc {' '.join(args)}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc.stdout + proc.stderr


def snapshot(work: Path) -> dict[str, bytes]:
    files = {}
    for name in TRACKED:
        path = work / name
        for f in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            files[str(f.relative_to(work))] = f.read_bytes()
    return files


def mtimes(work: Path, pattern: str) -> dict[str, int]:
    return {str(p.relative_to(work)): p.stat().st_mtime_ns for p in work.glob(pattern)}


def edit_config(work: Path, **changes) -> None:
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dvc") / "albench"
    subprocess.run(["git", "clone", "-q", str(REPO), str(work)], check=True)
    write_config(work / "config" / "config.yaml", seeds=[0], samplers=["random", "tidal_entropy"])
    subprocess.run(
        ["git", "-C", str(work), "commit", "-qam", "smoke config", "--author", "t <t@t>"],
        check=True,
        env={**os.environ, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"},
    )
    return work


def test_repro_reruns_only_what_changed_and_status_is_clean(clone):
    dvc(clone, "repro")
    assert (clone / "reports/smoke/figures/relative_improvement.png").stat().st_size > 10_000
    assert (clone / "results/report.html").exists()
    again = dvc(clone, "repro")
    assert "Running stage" not in again, again

    edit_config(
        clone,
        report={
            **yaml.safe_load((clone / "config/config.yaml").read_text())["report"],
            "n_resamples": 2000,
        },
    )
    before = mtimes(clone, "results/smoke/**/metrics.json")
    out = dvc(clone, "repro")
    assert "Running stage 'report'" in out and "Running stage 'benchmark'" not in out, out
    assert mtimes(clone, "results/smoke/**/metrics.json") == before

    edit_config(clone, sampler_params={"tidal_module": {"weight": 0.5}})  # a TiDAL-only change
    out = dvc(clone, "repro")
    assert "Running stage 'benchmark'" in out and "Running stage 'prepare'" not in out, out
    after = mtimes(clone, "results/smoke/**/metrics.json")
    changed = {path for path in after if after[path] != before[path]}
    assert changed and all("/tidal_entropy/" in path for path in changed), sorted(changed)

    assert "Data and pipelines are up to date" in dvc(clone, "status")
    tracked_by_git = subprocess.run(
        ["git", "ls-files", "results", "resources", "reports"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    )
    assert tracked_by_git.stdout == ""


def test_push_delete_pull_restores_the_same_bytes(clone, tmp_path):
    if not (clone / "results/smoke/summary/cycles.csv").exists():
        dvc(clone, "repro")
    original = snapshot(clone)
    assert any(name.endswith("model.safetensors") for name in original)  # checkpoints travel too
    dvc(clone, "remote", "add", "--local", "-f", "-d", "scratch", str(tmp_path / "remote"))
    dvc(clone, "push")
    shutil.rmtree(clone / ".dvc" / "cache")
    for name in TRACKED:
        path = clone / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    dvc(clone, "pull")
    assert snapshot(clone) == original


def test_metrics_plots_and_an_experiment(clone):
    """`dvc metrics show`, `dvc plots show` (the data plot, no PDF error) and `dvc exp run -S`
    changing a report option: only the report stage reruns, and `dvc exp show` lists it."""
    if not (clone / "results/smoke/summary/cycles.csv").exists():
        dvc(clone, "repro")
    env = {**os.environ, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "-C", str(clone), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(clone), "commit", "-qm", "run", "--author", "t <t@t>", "--allow-empty"],
        check=True,
        env=env,
    )
    assert "digits_ir1" in dvc(clone, "metrics", "show")
    plots = dvc(clone, "plots", "show", "--json")
    assert "curves.csv" in plots and "percent" in plots
    for resamples in (1500, 2500):  # two experiments that differ in a report setting
        out = dvc(clone, "exp", "run", "-S", f"config/config.yaml:report.n_resamples={resamples}")
        assert "Running stage 'report'" in out and "Running stage 'benchmark'" not in out, out
    shown = dvc(clone, "exp", "show", "--csv")
    assert "1500" in shown and "2500" in shown, shown
    assert "digits_ir1" in shown  # their metrics are in the table
