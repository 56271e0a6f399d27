"""One active-learning cycle: train → evaluate → score → select.

This is the unit each workflow job runs. Inputs are the config, a pool file, the
labeled set of this cycle (the initial set at cycle 0) and, with
``warm_start``, the previous cycle's checkpoint. Outputs, each written
atomically into ``out_dir`` (``metrics.json`` last, so it marks completion):

- ``model.safetensors``: backbone (and auxiliary module) weights, no pickle;
- ``selected.csv``: the queried samples in pick order with their scores;
- ``labeled_next.json``: the labeled set of the next cycle;
- ``metrics.json``: accuracy, balanced and per-class accuracy, labeled-set
  histogram, diagnostics, provenance (config/data hash, code and library
  versions, device, determinism flags, seeds) and, under ``run``, what varies
  between identical runs (wall times, peak memory, host, ``SLURM_JOB_ID``).

Randomness: the model initialisation, the training order and augmentation,
the scored subset and the sampler each draw from their own stream derived from
(seed, cycle), so every sampler of one (dataset, IR, seed) shares the cycle-0
model and the initial set. On CPU the same inputs give byte-identical files
(``metrics.json`` apart from its ``run`` section).

The last cycle (``cycle == cycles - 1``) trains and evaluates only; its
``selected.csv`` is empty and ``labeled_next.json`` repeats the labeled set.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as save_safetensors

from albench.config import Config, ConfigError, config_hash
from albench.cycle_diagnostics import candidates_csv, cycle_diagnostics
from albench.data import PreparedDataset, load_dataset
from albench.device import resolve_device
from albench.io import write_bytes, write_json, write_text
from albench.models.registry import build_model
from albench.pools import LabeledSet, Pool
from albench.provenance import code_version, library_versions, peak_memory_mb, run_environment
from albench.samplers import Need, Sampler, ScoringContext, get_sampler
from albench.seeding import derive_seed
from albench.training import BatchAugment, Normalization, TrainConfig, train
from albench.training.augment import as_uint8_tensor
from albench.training.dynamics import CandidateTracker
from albench.training.evaluate import (
    balanced_accuracy,
    mc_dropout_probs,
    per_class_accuracy,
    predict,
)

OUTPUTS = ("model.safetensors", "selected.csv", "labeled_next.json", "metrics.json")
MC_PASSES, MC_DROPOUT = 10, 0.5  # BALD as in the official TiDAL code


@dataclass(frozen=True)
class CycleSettings:
    """The per-dataset cycle keys of the config (``datasets.<name>.*``)."""

    model: str = "small_cnn"  # backbone (`albench.models.registry`)
    cycles: int = 10  # training rounds; cycles - 1 queries (TiDAL: 10)
    budget: int | None = None  # samples queried per cycle
    budget_fraction: float | None = None  # or a fraction of the pool
    subset: int = 10_000  # random unlabeled subset scored per query (papers: 10,000)
    warm_start: bool = False  # keep weights across cycles (official TiDAL); default retrains
    diagnostics: bool = True  # track candidates for TiDAL so KL diagnostics can be reported
    train: TrainConfig = field(default_factory=TrainConfig)
    reference_train: TrainConfig | None = None  # full-pool reference run; None = `train`

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> CycleSettings:
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"valid keys: {', '.join(sorted(valid | {'imbalance_ratios', 'pool', 'initial'}))}"
            )
        values = dict(data)
        for key in ("train", "reference_train"):
            if key == "train" or values.get(key) is not None:
                try:
                    values[key] = TrainConfig.from_dict(values.get(key) or {})
                except ValueError as exc:
                    raise ConfigError(f"{where}.{key}: {exc}") from None
        settings = cls(**values)
        if (settings.budget is None) == (settings.budget_fraction is None):
            raise ConfigError(f"{where}: give exactly one of `budget` or `budget_fraction`")
        for key in ("cycles", "subset"):
            value = getattr(settings, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{where}.{key}: must be an integer >= 1, got {value!r}")
        return settings

    def budget_for(self, pool_size: int) -> int:
        if self.budget is not None:
            return int(self.budget)
        assert self.budget_fraction is not None
        return max(1, round(self.budget_fraction * pool_size))


def cycle_settings(config: Config, dataset: str) -> CycleSettings:
    return CycleSettings.from_dict(config.dataset(dataset).settings, f"datasets.{dataset}")


@dataclass(frozen=True)
class CycleRequest:
    config: Config
    dataset: str
    imbalance_ratio: float
    sampler: str
    seed: int
    cycle: int
    pool_path: Path
    labeled_path: Path | None  # None only with full_pool
    out_dir: Path
    checkpoint_path: Path | None = None  # previous cycle's model.safetensors (warm start)
    device: str | None = None  # overrides config.device
    progress: bool | None = None
    full_pool: bool = False  # the "all data" reference: train on the whole pool, no query


def run_cycle(request: CycleRequest) -> dict[str, Any]:
    """Run one cycle and write its outputs; returns the metrics."""
    started = time.perf_counter()
    config, settings = request.config, cycle_settings(request.config, request.dataset)
    if not 0 <= request.cycle < settings.cycles:
        raise ValueError(f"cycle must be in [0, {settings.cycles - 1}], got {request.cycle}")
    sampler = get_sampler(request.sampler, **config.sampler_params.get(request.sampler, {}))
    data = load_dataset(request.dataset, root=config.cache_dir)
    pool, labeled = _load_inputs(request, data)
    device = resolve_device(request.device or config.device)
    is_final = request.full_pool or request.cycle == settings.cycles - 1
    seed, cycle = request.seed, request.cycle

    norm = Normalization(data.meta["channel_stats"]["mean"], data.meta["channel_stats"]["std"])
    augment = BatchAugment(norm, crop_padding=data.crop_padding, hflip=data.hflip)
    train_cfg = settings.train
    if request.full_pool and settings.reference_train is not None:
        train_cfg = settings.reference_train
    if getattr(sampler, "view", None) in ("clean", "train_aug"):
        train_cfg = dataclasses.replace(train_cfg, track_view=sampler.view)
    labels = np.asarray(data.train_labels)
    labeled_idx = labeled.indices
    budget = settings.budget_for(pool.size)

    candidates = np.empty(0, dtype=np.int64)
    if not is_final:
        unlabeled = np.setdiff1d(pool.indices, labeled_idx)  # sorted
        order = np.random.default_rng(derive_seed(seed, "subset", cycle)).permutation(unlabeled)
        candidates = order[: min(settings.subset, len(order))]
        if budget > len(candidates):
            raise ValueError(
                f"budget {budget} exceeds the {len(candidates)} unlabeled candidates "
                f"(subset={settings.subset}, unlabeled={len(unlabeled)})"
            )
    candidate_images = np.asarray(data.train_images[candidates])
    labeled_images = np.asarray(data.train_images[labeled_idx])  # read once: train + scoring

    torch.manual_seed(derive_seed(seed, "model", cycle))
    image_shape = data.train_images.shape[1:]
    model = build_model(settings.model, image_shape[2], data.num_classes, image_shape[0])
    aux = _build_aux(sampler, model, data.num_classes, config)
    if settings.warm_start and cycle > 0:
        if request.checkpoint_path is None:
            raise ValueError("warm_start is on: cycle > 0 needs --checkpoint of the previous cycle")
        load_checkpoint(request.checkpoint_path, model, aux)

    tracker = None
    wants_diagnostic = settings.diagnostics and sampler.training.aux_module == "tidal"
    if not is_final and (sampler.training.track_candidates or wants_diagnostic):
        tracker = CandidateTracker.from_config(
            candidate_images, data.num_classes, augment, train_cfg, device=device,
            seed=derive_seed(seed, "train", cycle, 1),
        )  # fmt: skip

    result = train(
        model, labeled_images, labels[labeled_idx], train_cfg,
        augment=augment, seed=derive_seed(seed, "train", cycle), device=device,
        aux=[aux] if aux is not None else [], tracker=tracker, progress=request.progress,
        desc=f"{request.dataset} IR{request.imbalance_ratio:g} {request.sampler} s{seed} c{cycle}",
    )  # fmt: skip

    t0 = time.perf_counter()
    test_logits, _ = predict(
        model, data.test_images, norm, train_cfg.eval_batch_size, device=device
    )
    test_pred = test_logits.argmax(dim=1).cpu()
    test_labels = torch.from_numpy(np.array(data.test_labels))
    evaluate_s = time.perf_counter() - t0

    selected = np.empty(0, dtype=np.int64)
    selected_scores = np.empty(0)
    candidate_table = None
    diagnostics: dict[str, Any] = {}
    score_s = select_s = 0.0
    if not is_final:
        t0 = time.perf_counter()
        ctx = _scoring_context(
            sampler,
            model,
            aux,
            tracker,
            data,
            norm,
            candidates,
            candidate_images,
            labeled_idx,
            labeled_images,
            train_cfg,
            seed,
            cycle,
            device,
        )
        score_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        selection = sampler.select(ctx, budget)
        select_s = time.perf_counter() - t0
        selected = candidates[selection.positions]
        selected_scores = selection.scores
        diagnostics = cycle_diagnostics(ctx, selection, pool, tracker, sampler.name,
                                        labels[candidates])  # fmt: skip
        if cycle == 0 and settings.diagnostics:
            candidate_table = candidates_csv(ctx, selection, pool, sampler.name, labels[candidates])

    next_labeled = LabeledSet(
        indices=np.concatenate([labeled_idx, selected]).astype(np.int64),
        cycle=cycle + 1,
        seed=seed,
        origin={"kind": "query", "sampler": request.sampler, "from_cycle": cycle,
                "dataset": request.dataset, "imbalance_ratio": request.imbalance_ratio},
    )  # fmt: skip
    metrics = {
        "dataset": request.dataset,
        "imbalance_ratio": request.imbalance_ratio,
        "sampler": request.sampler,
        "seed": seed,
        "cycle": cycle,
        "final_cycle": is_final,
        "full_pool": request.full_pool,
        "num_labeled": len(labeled_idx),
        "labeled_class_histogram": np.bincount(
            labels[labeled_idx], minlength=data.num_classes
        ).tolist(),
        "test": {
            "accuracy": float((test_pred == test_labels).double().mean()),
            "balanced_accuracy": balanced_accuracy(test_pred, test_labels, data.num_classes),
            "per_class_accuracy": [
                None if np.isnan(v) else v
                for v in per_class_accuracy(test_pred, test_labels, data.num_classes).tolist()
            ],
            "num_test": len(test_labels),
        },
        "train": {"loss": result.loss, "accuracy": result.accuracy, "epochs": result.epochs},
        "selection": {
            "budget": 0 if is_final else budget,
            "num_candidates": len(candidates),
            "num_selected": len(selected),
        },
        "diagnostics": diagnostics,
        "provenance": {
            "config_hash": run_config_hash(config, request.dataset, request.sampler),
            "data_hash": data.data_hash,
            "pool_hash": config_hash(pool.indices.tolist()),
            "code_version": code_version(),
            "libraries": library_versions(),
            "device": str(device),
            "determinism": {k: str(v) for k, v in result.determinism.items()},
            "amp": result.amp,
            "seeds": {
                "experiment": seed,
                **{s: derive_seed(seed, s, cycle) for s in ("model", "train", "subset", "sampler")},
                "pool": derive_seed(seed, "pool"),
                "initial": derive_seed(seed, "initial"),
            },
        },
        "run": {
            "wall_time_s": {
                "train": round(result.wall_time_s, 3),
                "evaluate": round(evaluate_s, 3),
                "score": round(score_s, 3),
                "select": round(select_s, 3),
                "total": round(time.perf_counter() - started, 3),
            },
            "train_images_per_s": round(result.images_per_s, 1),
            "peak_memory": peak_memory_mb(device),
            **run_environment(),
        },
    }
    if candidate_table is not None:  # cycle 0 only: per-candidate scores for the analyses
        write_text(Path(request.out_dir) / "candidates.csv", candidate_table)
    _write_outputs(request, model, aux, settings, data, selected, selected_scores, labels,
                   next_labeled, metrics)  # fmt: skip
    return metrics


def run_config_hash(config: Config, dataset: str, sampler: str | None) -> str:
    """Hash of everything in the config that can change one run's results.

    The workflow uses it as a rerun trigger, so editing one sampler's (or its
    auxiliary module's) parameters reruns only that sampler's cycles.
    """
    aux = None
    if sampler is not None:
        from albench.samplers import get_sampler_class

        aux = get_sampler_class(sampler).training.aux_module
    return config_hash({
        "dataset": config.raw["datasets"][dataset],
        "custom_dataset": config.custom_datasets.get(dataset),
        "sampler": sampler,
        "sampler_params": config.sampler_params.get(sampler, {}) if sampler else {},
        "aux_params": config.sampler_params.get(f"{aux}_module", {}) if aux else {},
    })  # fmt: skip


def _load_inputs(request: CycleRequest, data: PreparedDataset) -> tuple[Pool, LabeledSet]:
    pool = Pool.load(request.pool_path)
    if request.full_pool:
        labeled = LabeledSet(pool.indices, cycle=request.cycle, seed=request.seed,
                             origin={"kind": "full_pool"})  # fmt: skip
    elif request.labeled_path is None:
        raise ValueError("a cycle needs --labeled (the initial set or labeled_next.json)")
    else:
        labeled = LabeledSet.load(request.labeled_path)
    expected = {"dataset": request.dataset, "data_hash": data.data_hash,
                "imbalance_ratio": float(request.imbalance_ratio), "seed": request.seed}  # fmt: skip
    for key, value in expected.items():
        if getattr(pool, key) != value:
            raise ValueError(
                f"{request.pool_path}: pool {key} is {getattr(pool, key)!r}, expected {value!r}"
            )
    if labeled.cycle != request.cycle:
        raise ValueError(
            f"{request.labeled_path}: labeled set is for cycle {labeled.cycle}, not {request.cycle}"
        )
    outside = np.setdiff1d(labeled.indices, pool.indices)
    if len(outside):
        raise ValueError(
            f"{request.labeled_path}: {len(outside)} labeled indices are not in the pool"
        )
    return pool, labeled


def _build_aux(sampler: Sampler, model, num_classes: int, config: Config):
    name = sampler.training.aux_module
    if name is None:
        return None
    from albench.methods import build_aux_module

    params = config.sampler_params.get(f"{name}_module", {})
    return build_aux_module(name, model.stage_channels, num_classes, **params)


def _scoring_context(sampler, model, aux, tracker, data, norm, candidates, candidate_images,
                     labeled_idx, labeled_images, train_cfg, seed, cycle,
                     device) -> ScoringContext:  # fmt: skip
    """Compute, in batches, exactly what the sampler declared in ``needs``."""
    needs = sampler.needs
    callbacks = {aux.name: aux.predict} if aux is not None else {}
    logits, embeddings, extra = predict(model, candidate_images, norm, train_cfg.eval_batch_size,
                                        device=device, callbacks=callbacks)  # fmt: skip
    ctx = ScoringContext(
        candidates=candidates, labeled=labeled_idx, num_classes=data.num_classes,
        seed=derive_seed(seed, "sampler", cycle), device=device,
        probs=logits.softmax(dim=1), logits=logits, embeddings=embeddings,
    )  # fmt: skip
    if Need.LABELED_EMBEDDINGS in needs:
        _, ctx.labeled_embeddings = predict(model, labeled_images, norm,
                                            train_cfg.eval_batch_size, device=device)  # fmt: skip
    if Need.MC_PROBS in needs:
        generator = torch.Generator(device=device).manual_seed(
            derive_seed(seed, "sampler", cycle, 1)
        )
        ctx.mc_probs = mc_dropout_probs(model, embeddings, passes=MC_PASSES, p=MC_DROPOUT,
                                        generator=generator)  # fmt: skip
    if Need.TRUE_LABELS in needs:
        ctx.true_labels = torch.from_numpy(np.asarray(data.train_labels)[candidates]).to(device)
    if tracker is not None:
        ctx.tracked_labels, ctx.tracked_probs = tracker.labels, tracker.mean_probs
    if aux is not None:
        key = "td_probs" if aux.name == "tidal" else "predicted_loss"
        setattr(ctx, key, extra[aux.name])
    if Need.IMAGES in needs:
        ctx.images = norm.apply(as_uint8_tensor(candidate_images, device))
        ctx.labeled_images = norm.apply(as_uint8_tensor(labeled_images, device))
    return ctx


def save_checkpoint_bytes(model, aux, metadata: dict[str, str]) -> bytes:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if aux is not None:
        tensors |= {f"aux.{k}": v.detach().cpu().contiguous() for k, v in aux.state_dict().items()}
    # One metadata key holding canonical JSON: safetensors keeps metadata in a hash
    # map whose order varies between processes, which would break byte-identity.
    return save_safetensors(tensors, metadata={"albench": json.dumps(metadata, sort_keys=True)})


def load_checkpoint(path: Path, model, aux=None) -> dict[str, str]:
    """Load weights saved by :func:`run_cycle` (safetensors: no code is executed)."""
    with safe_open(str(path), framework="pt") as handle:  # one read: tensors and metadata
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = json.loads((handle.metadata() or {}).get("albench", "{}"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if aux is not None:
        aux_state = {k[4:]: v for k, v in tensors.items() if k.startswith("aux.")}
        if aux_state:
            aux.load_state_dict(aux_state)
    return metadata


def _write_outputs(request, model, aux, settings, data, selected, scores, labels, next_labeled,
                   metrics) -> None:  # fmt: skip
    out = Path(request.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").unlink(missing_ok=True)  # a stale marker never survives a rerun
    metadata = {"format": "albench-checkpoint-1", "model": settings.model,
                "dataset": request.dataset, "sampler": request.sampler,
                "cycle": str(request.cycle), "seed": str(request.seed),
                "num_classes": str(data.num_classes)}  # fmt: skip
    write_bytes(out / "model.safetensors", save_checkpoint_bytes(model, aux, metadata))
    buffer = io.StringIO()
    buffer.write("rank,index,label,score\n")
    for rank, (index, score) in enumerate(zip(selected.tolist(), scores.tolist(), strict=True)):
        buffer.write(f"{rank},{index},{int(labels[index])},{json.dumps(float(score))}\n")
    write_text(out / "selected.csv", buffer.getvalue())
    next_labeled.save(out / "labeled_next.json")
    write_json(out / "metrics.json", metrics)
