"""Collect per-cycle ``metrics.json`` files into tidy CSV tables.

``cycles.csv`` has one row per dataset × IR × sampler × seed × cycle that the
config asks for; a run whose metrics are missing or unreadable keeps its row
with ``status`` = ``missing`` / ``failed`` and empty measurements, so nothing
disappears silently. Keys that older ``metrics.json`` files lack (``role``,
``control``, ``train.steps``, ``train.fit_accuracy``, ...) stay empty, so old
results still aggregate. ``reference.csv`` holds the full-pool ("all data") runs.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from albench.config import Config
from albench.io import write_text
from albench.plan import cycle_runs, reference_runs

KEY_COLUMNS = ["experiment", "dataset", "imbalance_ratio", "sampler", "seed", "cycle"]
MEASURE_COLUMNS = [
    "status",
    "role",  # method | control | reference (the sampler's role); empty for the full-pool run
    "control",  # the sampler's own random control, if it has one
    "num_labeled",
    "accuracy",
    "balanced_accuracy",
    "train_loss",
    "train_accuracy",
    "train_epochs",
    "train_steps",  # optimizer steps of the cycle's training
    "train_fit_accuracy",  # eval-mode accuracy of the final model on the clean labeled set
    "train_fit_loss",  # ... and its cross-entropy
    "train_time_s",
    "evaluate_time_s",
    "score_time_s",
    "select_time_s",
    "total_time_s",
    "peak_rss_mb",
    "peak_rss_train_mb",  # run.peak_memory.phases: training (or loading the shared model)
    "peak_rss_query_mb",  # scoring, selection and diagnostics
    "peak_cuda_train_allocated_mb",  # CUDA allocator peaks per phase; empty on the CPU
    "peak_cuda_train_reserved_mb",
    "peak_cuda_query_allocated_mb",
    "peak_cuda_query_reserved_mb",
    "config_hash",
    "data_hash",
    "code_version",
    "device",
    "gpu_name",  # provenance.hardware.gpu_name; empty on the CPU
    "slurm_job_id",
    "error",
]


def _phase_peaks(phases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The per-phase peaks of ``metrics.json`` as flat cycles.csv columns (None if absent)."""
    row = {}
    for phase in ("train", "query"):
        record = phases.get(phase, {})
        row[f"peak_rss_{phase}_mb"] = record.get("host_rss_mb")
        for kind in ("allocated", "reserved"):
            row[f"peak_cuda_{phase}_{kind}_mb"] = record.get(f"cuda_{kind}_mb")
    return row


def _row(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"status": "missing", "error": f"no {path}"}
    try:
        metrics = json.loads(path.read_text())
        run, prov = metrics.get("run", {}), metrics["provenance"]
        times, train = run.get("wall_time_s", {}), metrics["train"]
        return {
            "status": "ok",
            "role": metrics.get("role"),
            "control": metrics.get("control"),
            "num_labeled": metrics["num_labeled"],
            "accuracy": metrics["test"]["accuracy"],
            "balanced_accuracy": metrics["test"]["balanced_accuracy"],
            "train_loss": train["loss"],
            "train_accuracy": train["accuracy"],
            "train_epochs": train.get("epochs"),
            "train_steps": train.get("steps"),
            "train_fit_accuracy": train.get("fit_accuracy"),
            "train_fit_loss": train.get("fit_loss"),
            "train_time_s": times.get("train"),
            "evaluate_time_s": times.get("evaluate"),
            "score_time_s": times.get("score"),
            "select_time_s": times.get("select"),
            "total_time_s": times.get("total"),
            "peak_rss_mb": run.get("peak_memory", {}).get("host_rss_mb"),
            **_phase_peaks(run.get("peak_memory", {}).get("phases", {})),
            "config_hash": prov["config_hash"],
            "data_hash": prov["data_hash"],
            "code_version": prov["code_version"],
            "device": prov["device"],
            "gpu_name": prov.get("hardware", {}).get("gpu_name"),
            "slurm_job_id": run.get("slurm_job_id"),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {"status": "failed", "error": f"{path}: {type(exc).__name__}: {exc}"}


def collect_cycles(config: Config, results: str | Path) -> pd.DataFrame:
    """One row per cycle run of the grid (:func:`albench.plan.cycle_runs`)."""
    rows = [
        {
            "experiment": key.experiment,
            "dataset": key.dataset,
            "imbalance_ratio": float(key.ir),
            "sampler": key.sampler,
            "seed": key.seed,
            "cycle": key.cycle,
            **_row(key.dir(results) / "metrics.json"),
        }
        for key in cycle_runs(config)
    ]
    return pd.DataFrame(rows, columns=KEY_COLUMNS + MEASURE_COLUMNS)


def collect_references(config: Config, results: str | Path) -> pd.DataFrame:
    """One row per full-pool reference run (:func:`albench.plan.reference_runs`)."""
    rows = [
        {
            "experiment": key.experiment,
            "dataset": key.dataset,
            "imbalance_ratio": float(key.ir),
            "seed": key.seed,
            **_row(key.dir(results) / "metrics.json"),
        }
        for key in reference_runs(config)
    ]
    columns = ["experiment", "dataset", "imbalance_ratio", "seed", *MEASURE_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    write_text(path, buffer.getvalue())


def aggregate(
    config: Config, results: str | Path, out_dir: str | Path, require_references: bool = True
) -> pd.DataFrame:
    """Write ``cycles.csv`` (and ``reference.csv``) into ``out_dir``; return the cycles table."""
    cycles = collect_cycles(config, results)
    write_csv(cycles, Path(out_dir) / "cycles.csv")
    if require_references:
        write_csv(collect_references(config, results), Path(out_dir) / "reference.csv")
    return cycles


__all__ = ["aggregate", "collect_cycles", "collect_references", "write_csv"]
