"""One active-learning cycle: train → evaluate → score → select; and the full-pool reference.

This is the unit each workflow job runs. A cycle reads the config, a pool file,
its labeled set (the initial set at cycle 0) and, with ``warm_start``, the
previous cycle's checkpoint (:mod:`~albench.cycle.inputs`); trains what the
sampler's needs call for (:mod:`~albench.cycle.train`); evaluates on the test
set; computes exactly the quantities the sampler declared
(:mod:`~albench.cycle.context`), selects, records the diagnostics
(:mod:`~albench.cycle.diagnostics`); and writes its outputs atomically,
``metrics.json`` last (:mod:`~albench.cycle.outputs`).

Randomness: the model initialisation, the training order and augmentation,
the scored subset and the sampler each draw from their own stream derived from
(seed, cycle), so every sampler of one (dataset, IR, seed) with the same
training needs shares the cycle-0 model and the initial set. On CPU the same
inputs give byte-identical files (``metrics.json`` apart from its ``run``
section). The last cycle trains and evaluates only: its ``selected.csv`` is
empty and ``labeled_next.json`` repeats the labeled set.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from albench.cycle.checkpoint import load_checkpoint, save_checkpoint_bytes
from albench.cycle.context import build_context
from albench.cycle.diagnostics import candidates_csv, cycle_diagnostics
from albench.cycle.inputs import (
    CycleInputs,
    CycleRequest,
    ReferenceRequest,
    load_inputs,
    load_reference_inputs,
)
from albench.cycle.outputs import Query, begin_outputs, metrics_record, write_run
from albench.cycle.shared import load_initial, write_initial
from albench.cycle.train import Requirements, Trained, train_models
from albench.device import synchronize
from albench.layout import RunKey
from albench.plan import run_needs
from albench.provenance import PeakMemory
from albench.training.evaluate import balanced_accuracy, per_class_accuracy, predict

__all__ = [
    "CycleRequest",
    "ReferenceRequest",
    "load_checkpoint",
    "run_cycle",
    "run_reference",
    "save_checkpoint_bytes",
    "train_initial",
]


def run_cycle(request: CycleRequest) -> dict[str, Any]:
    """Run one cycle and write its outputs; returns the metrics."""
    started = time.perf_counter()
    out = begin_outputs(request.out_dir)
    inputs = load_inputs(request)
    memory = PeakMemory(inputs.device)
    requirements = Requirements.of(
        run_needs(inputs.sampler, inputs.settings.diagnostics), inputs.sampler.needs
    )
    with memory.phase("train"):  # cycle 0 of a shared training: loading it
        if request.initial_training is not None:  # cycle 0, trained once for several samplers
            trained = load_initial(request.initial_training, inputs, requirements)
        else:
            trained = train_models(inputs, requirements, desc=_label(request.key))
    test, evaluate_s = _timed(evaluate, inputs, trained)
    with memory.phase("query"):
        query = query_batch(inputs, trained) if inputs.queries else Query.none()
    timings = {"train": trained.result.wall_time_s, "evaluate": evaluate_s, **query.timings}
    timings["total"] = time.perf_counter() - started
    metrics = metrics_record(request.key, inputs, trained, test, query, timings, memory.record())
    write_run(out, request.key, inputs, trained, query, metrics)
    return metrics


def train_initial(
    request: CycleRequest,
    signature: str,
    track_views: tuple[str, ...],
    diagnostic_views: tuple[str, ...] = (),
) -> None:
    """Train the cycle-0 model shared by the samplers of ``signature`` and write it.

    ``request`` is the cycle-0 request of any sampler of the group (they all have the
    same inputs); the trackers record the union of the group's views, those in
    ``diagnostic_views`` (read by no sampler of the group) every ``diagnostics_interval``.
    """
    inputs = load_inputs(request)
    objectives = () if signature == "plain" else (signature,)
    requirements = Requirements(objectives, tuple(track_views), tuple(diagnostic_views))
    trained = train_models(inputs, requirements, desc=f"{_label(request.key)} (shared)")
    write_initial(request.out_dir, inputs, trained, signature)


def run_reference(request: ReferenceRequest) -> dict[str, Any]:
    """Train on the whole pool (the "all data" run the report compares with); no query."""
    started = time.perf_counter()
    out = begin_outputs(request.out_dir)
    inputs = load_reference_inputs(request)
    memory = PeakMemory(inputs.device)
    with memory.phase("train"):
        trained = train_models(inputs, Requirements(), desc=_label(request.key))
    test, evaluate_s = _timed(evaluate, inputs, trained)
    timings = {"train": trained.result.wall_time_s, "evaluate": evaluate_s, **Query.none().timings}
    timings["total"] = time.perf_counter() - started
    none = Query.none()
    metrics = metrics_record(request.key, inputs, trained, test, none, timings, memory.record())
    write_run(out, request.key, inputs, trained, Query.none(), metrics)
    return metrics


def evaluate(inputs: CycleInputs, trained: Trained) -> dict[str, Any]:
    """Accuracy, balanced and per-class accuracy of the trained model on the test set."""
    data, num_classes = inputs.data, inputs.num_classes
    batch = inputs.train_config.eval_batch_size
    logits, _ = predict(trained.model, data.test_images, inputs.norm, batch, device=inputs.device)
    predicted = logits.argmax(dim=1).cpu()
    labels = torch.from_numpy(np.array(data.test_labels))
    per_class = per_class_accuracy(predicted, labels, num_classes).tolist()
    return {
        "accuracy": float((predicted == labels).double().mean()),
        "balanced_accuracy": balanced_accuracy(predicted, labels, num_classes),
        "per_class_accuracy": [None if np.isnan(v) else v for v in per_class],
        "num_test": len(labels),
    }


def query_batch(inputs: CycleInputs, trained: Trained) -> Query:
    """Score the candidates, select the batch and record the diagnostics."""
    sampler = inputs.sampler
    t0 = time.perf_counter()
    ctx = build_context(sampler.needs, inputs, trained)
    synchronize(inputs.device)  # CUDA work is asynchronous: time it, not its launch
    t1 = time.perf_counter()
    selection = sampler.select(ctx.restricted(sampler.needs), inputs.budget)
    synchronize(inputs.device)
    t2 = time.perf_counter()
    labels = inputs.labels[inputs.candidates]
    epochs = max((tracker.num_records for tracker in trained.trackers.values()), default=0)
    diagnostics = cycle_diagnostics(ctx, selection, inputs.pool, sampler.name, labels, epochs)
    table = candidates_csv(ctx, selection, inputs.pool, sampler.name, labels)
    selected = inputs.candidates[selection.positions]
    timings = {"score": t1 - t0, "select": t2 - t1}
    return Query(selected, selection.scores, diagnostics, table, timings)


def _timed(fn, *args):
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0


def _label(key: RunKey) -> str:
    what = f"{key.sampler} s{key.seed} c{key.cycle}" if key.sampler else f"full s{key.seed}"
    return f"{key.dataset} IR{key.ir:g} {what}"
