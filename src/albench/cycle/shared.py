"""The cycle-0 training shared by every sampler that trains the same way.

At cycle 0 all samplers of one (dataset, IR, seed) start from the same initial
set, the same seeds and the same candidates, so samplers with the same training
signature (:func:`albench.plan.training_signature`: no auxiliary objective, or
the same one) train byte-identical models. The workflow trains that model once
(``albench train-initial``, :func:`train_initial`) and every such sampler's
cycle-0 job loads it (:func:`load_initial`) instead of training: the same bytes
in every output, one training instead of one per sampler.

The shared folder holds ``model.safetensors`` (the checkpoint), ``tracked.safetensors``
(the candidates' recorded labels and running-mean probabilities of every
tracker view a sampler of the group needs) and ``training.json`` (the
:class:`~albench.training.TrainResult` without the labeled set's running mean,
which only training uses).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as save_safetensors

from albench.cycle.checkpoint import FORMAT, load_checkpoint, save_checkpoint_bytes
from albench.cycle.inputs import CycleInputs
from albench.cycle.train import Requirements, Trained, build_models
from albench.device import configure_determinism, default_deterministic
from albench.io import read_json, write_bytes, write_json
from albench.plan import training_signature
from albench.seeding import derive_seed
from albench.training import TrainResult

FILES = ("model.safetensors", "tracked.safetensors", "training.json")


@dataclass(frozen=True)
class RecordedTracks:
    """What a candidate tracker recorded, as loaded from ``tracked.safetensors``."""

    labels: torch.Tensor  # (n, T)
    mean_probs: torch.Tensor  # (n, C)
    num_records: int


def write_initial(out: Path, inputs: CycleInputs, trained: Trained, signature: str) -> None:
    """Write the shared training's files (``training.json`` last: it marks completion)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "training.json").unlink(missing_ok=True)
    metadata = {
        "format": FORMAT,
        "model": inputs.settings.model,
        "dataset": inputs.request.dataset,
        "training": signature,
        "cycle": "0",
        "seed": str(inputs.seed),
        "num_classes": str(inputs.num_classes),
    }
    write_bytes(
        out / "model.safetensors",
        save_checkpoint_bytes(trained.model, trained.objectives, metadata),
    )
    tensors, records = {}, {}
    for view, tracker in trained.trackers.items():
        tensors[f"{view}.labels"] = tracker.labels.detach().cpu().contiguous()
        tensors[f"{view}.mean_probs"] = tracker.mean_probs.detach().cpu().contiguous()
        records[view] = tracker.num_records
    meta = {"albench": json.dumps({"records": records}, sort_keys=True)}
    write_bytes(out / "tracked.safetensors", save_safetensors(tensors, metadata=meta))
    result = {f.name: getattr(trained.result, f.name) for f in dataclasses.fields(TrainResult)}
    del result["recorder"]
    write_json(out / "training.json", {"signature": signature, "result": result})


def load_initial(folder: Path, inputs: CycleInputs, requirements: Requirements) -> Trained:
    """The shared cycle-0 models and tracks, as if this cycle had trained them itself."""
    model, objectives = build_models(inputs, requirements)
    expected = {
        "dataset": inputs.request.dataset,
        "model": inputs.settings.model,
        "training": training_signature(inputs.sampler),
        "seed": str(inputs.seed),
        "cycle": "0",
        "num_classes": str(inputs.num_classes),
    }
    load_checkpoint(folder / "model.safetensors", model, objectives, expected)
    model.to(inputs.device)
    for objective in objectives:
        objective.to(inputs.device)
    config = inputs.train_config
    deterministic = config.deterministic
    if deterministic is None:
        deterministic = default_deterministic(inputs.device)
    configure_determinism(deterministic, derive_seed(inputs.seed, "train", 0))  # as train() does
    trackers = {}
    with safe_open(str(folder / "tracked.safetensors"), framework="pt") as handle:
        records = json.loads((handle.metadata() or {}).get("albench", "{}"))["records"]
        for view in requirements.track_views:
            if view not in records:
                raise ValueError(f"{folder}: the shared training did not track the {view!r} view")
            trackers[view] = RecordedTracks(
                handle.get_tensor(f"{view}.labels").to(inputs.device),
                handle.get_tensor(f"{view}.mean_probs").to(inputs.device),
                records[view],
            )
    result = TrainResult(**read_json(folder / "training.json")["result"], recorder=None)
    return Trained(model, objectives, trackers, result, requirements)
