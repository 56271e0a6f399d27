"""Helpers for workflow tests: an isolated copy of the workflow, Snakemake runs, output comparison."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# The smoke config reduced to one seed and two samplers (one with TiDAL's module):
# 2 IRs x 2 samplers x 2 cycles + references, about 14 jobs. copy_workflow writes it.
MINI_CONFIG = "config/smoke-mini.yaml"
SMOKE = ["--configfile", MINI_CONFIG]


def copy_workflow(dest: Path) -> Path:
    """Snakefile, workflow/, profiles/ and config/ in ``dest`` (albench is installed in the venv)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    for folder in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / folder, dest / folder, dirs_exist_ok=True)
    write_config(dest / MINI_CONFIG, seeds=[0], samplers=["random", "tidal_entropy"])
    return dest


def write_config(path: Path, base: str = "config/smoke.yaml", **changes) -> Path:
    """``base`` with top-level keys replaced by ``changes``, written to ``path``."""
    config = yaml.safe_load((REPO / base).read_text())
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(cwd: Path, *args: str, timeout: float = 600, check: bool = True):
    proc = subprocess.run(
        [*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n"
            f"{proc.stderr[-4000:]}"
        )
    return proc


def cycle_dirs(root: Path, experiment: str = "smoke") -> dict[str, Path]:
    base = root / "results" / experiment
    return {str(p.parent.relative_to(base)): p.parent for p in sorted(base.rglob("metrics.json"))}


def stable_metrics(path: Path) -> dict:
    """metrics.json without what legitimately differs between identical runs."""
    metrics = json.loads(path.read_text())
    metrics.pop("run", None)
    metrics["provenance"].pop("code_version", None)
    return metrics


def assert_same_results(a: Path, b: Path, experiment: str = "smoke") -> int:
    """Every cycle/reference output of run ``a`` equals run ``b``'s; returns how many were compared."""
    dirs_a, dirs_b = cycle_dirs(a, experiment), cycle_dirs(b, experiment)
    assert dirs_a.keys() == dirs_b.keys()
    for key, dir_a in dirs_a.items():
        dir_b = dirs_b[key]
        for name in ("selected.csv", "labeled_next.json", "model.safetensors", "candidates.csv"):
            if (dir_a / name).exists():
                assert (dir_a / name).read_bytes() == (dir_b / name).read_bytes(), f"{key}/{name}"
        assert stable_metrics(dir_a / "metrics.json") == stable_metrics(dir_b / "metrics.json"), key
    return len(dirs_a)
