"""What a cycle writes, and the metrics record that marks it complete.

Each file is written atomically into the output folder, ``metrics.json`` last
(its presence marks a finished run; a stale one is removed before anything is
written):

- ``model.safetensors``: backbone (and auxiliary objective) weights;
- ``selected.csv``: the queried samples in pick order with their scores;
- ``labeled_next.json``: the labeled set of the next cycle;
- ``candidates.csv``: one row per scored candidate with every diagnostic score
  (header only in the last cycle);
- ``metrics.json``: accuracy, balanced and per-class accuracy, labeled-set
  histogram, diagnostics, provenance (config/data hash, code and library
  versions, device, determinism flags, seeds) and, under ``run``, what varies
  between identical runs (wall times, peak memory, host, ``SLURM_JOB_ID``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from albench.config import config_hash
from albench.cycle.checkpoint import FORMAT, save_checkpoint_bytes
from albench.cycle.inputs import CycleInputs
from albench.cycle.train import Trained
from albench.io import write_bytes, write_json, write_text
from albench.plan import RunKey, run_hash
from albench.pools import LabeledSet
from albench.provenance import (
    code_version,
    hardware,
    library_versions,
    run_environment,
)
from albench.seeding import derive_seed

EMPTY_CANDIDATES = "index,label,predicted,correct,is_tail,selected\n"


@dataclass(frozen=True)
class Query:
    """What the query step produced (empty in the last cycle and the reference run)."""

    selected: np.ndarray  # (b,) pool indices in pick order
    scores: np.ndarray  # (b,) the score of each pick when it was picked
    diagnostics: dict[str, Any]
    candidate_table: str | None = None  # candidates.csv text
    timings: dict[str, float] = field(default_factory=lambda: {"score": 0.0, "select": 0.0})

    @classmethod
    def none(cls) -> Query:
        return cls(np.empty(0, dtype=np.int64), np.empty(0), {})


def next_labeled_set(inputs: CycleInputs, query: Query, sampler: str) -> LabeledSet:
    labeled = inputs.labeled
    return LabeledSet(
        indices=np.concatenate([labeled.indices, query.selected]).astype(np.int64),
        cycle=inputs.cycle + 1,
        seed=inputs.seed,
        origin={
            "kind": "query",
            "sampler": sampler,
            "from_cycle": inputs.cycle,
            "dataset": inputs.request.dataset,
            "imbalance_ratio": inputs.request.imbalance_ratio,
        },
    )


def metrics_record(
    key: RunKey,
    inputs: CycleInputs,
    trained: Trained,
    test: dict[str, Any],
    query: Query,
    timings: dict[str, float],
    memory: dict[str, Any],
) -> dict[str, Any]:
    """The ``metrics.json`` of one run (cycle or reference); ``memory`` is the job's
    :meth:`~albench.provenance.PeakMemory.record`."""
    request, result = inputs.request, trained.result
    labels, labeled = inputs.labels, inputs.labeled.indices
    reference = key.sampler is None
    sampler = inputs.sampler
    seed, cycle = inputs.seed, inputs.cycle
    return {
        "dataset": key.dataset,
        "imbalance_ratio": request.imbalance_ratio,
        "sampler": key.sampler,
        "role": sampler.role if sampler is not None else None,
        "control": sampler.control if sampler is not None else None,
        "seed": seed,
        "cycle": cycle,
        "final_cycle": not inputs.queries,
        "full_pool": reference,
        "num_labeled": len(labeled),
        "labeled_class_histogram": np.bincount(
            labels[labeled], minlength=inputs.num_classes
        ).tolist(),
        "test": test,
        "train": {
            "loss": result.loss,  # last epoch's training batches (train mode, augmented)
            "accuracy": result.accuracy,
            "epochs": result.epochs,
            "steps": result.steps,
            "fit_loss": result.fit_loss,  # final model, eval mode, clean labeled set
            "fit_accuracy": result.fit_accuracy,
            # TiDAL's target: training-pass softmax rows that were not finite (fp16 overflow)
            "nonfinite_td_rows": int(result.recorder.nonfinite_rows) if result.recorder else 0,
        },
        "selection": {
            "budget": inputs.budget,
            "num_candidates": len(inputs.candidates),
            "num_selected": len(query.selected),
        },
        "diagnostics": query.diagnostics,
        "provenance": {
            "config_hash": run_hash(request.config, key),
            "data_hash": inputs.data.data_hash,
            "pool_hash": config_hash(inputs.pool.indices.tolist()),
            "code_version": code_version(),
            "libraries": library_versions(),
            "device": str(inputs.device),
            "hardware": hardware(inputs.device),
            "determinism": {k: str(v) for k, v in result.determinism.items()},
            "amp": result.amp,
            "amp_dtype": result.amp_dtype,
            "seeds": {
                "experiment": seed,
                **{s: derive_seed(seed, s, cycle) for s in ("model", "train", "subset", "sampler")},
                "pool": derive_seed(seed, "pool"),
                "initial": derive_seed(seed, "initial"),
            },
        },
        "run": {
            "wall_time_s": {name: round(value, 3) for name, value in timings.items()},
            "train_images_per_s": round(result.images_per_s, 1),
            "peak_memory": memory,
            "trained_in": str(getattr(request, "initial_training", None) or "this job"),
            **run_environment(),
        },
    }


def selected_csv(query: Query, labels: np.ndarray) -> str:
    buffer = io.StringIO()
    buffer.write("rank,index,label,score\n")
    for rank, (index, score) in enumerate(
        zip(query.selected.tolist(), query.scores.tolist(), strict=True)
    ):
        buffer.write(f"{rank},{index},{int(labels[index])},{json.dumps(float(score))}\n")
    return buffer.getvalue()


def begin_outputs(out_dir: Path) -> Path:
    """Prepare the output folder before anything else: remove the completion marker of an
    earlier run (so a killed rerun never leaves old metrics beside new files) and the
    temporary files a killed writer left behind."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").unlink(missing_ok=True)  # a stale marker never survives a rerun
    for leftover in out.glob(".*.tmp-*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
    return out


def write_run(
    out: Path,
    key: RunKey,
    inputs: CycleInputs,
    trained: Trained,
    query: Query,
    metrics: dict[str, Any],
) -> None:
    """Write every output of a run; ``metrics.json`` last."""
    metadata = {
        "format": FORMAT,
        "model": inputs.settings.model,
        "dataset": key.dataset,
        "sampler": key.sampler or "full",
        "cycle": str(inputs.cycle),
        "seed": str(inputs.seed),
        "num_classes": str(inputs.num_classes),
    }
    write_bytes(
        out / "model.safetensors",
        save_checkpoint_bytes(trained.model, trained.objectives, metadata),
    )
    if key.sampler is not None:
        write_text(out / "selected.csv", selected_csv(query, inputs.labels))
        next_labeled_set(inputs, query, key.sampler).save(out / "labeled_next.json")
        write_text(out / "candidates.csv", query.candidate_table or EMPTY_CANDIDATES)
    write_json(out / "metrics.json", metrics)
