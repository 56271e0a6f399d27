"""What a cycle starts from: the request, and the inputs loaded and checked from it.

:func:`load_inputs` reads the dataset cache, the pool and this cycle's labeled
set, checks that they belong together (dataset, data hash, IR, seed, cycle, pool
membership), draws the scored subset and reads the images once. Every check
raises ``ValueError`` naming the file and what was expected, before any
training starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from albench.config import Config, DatasetConfig, TrainConfig
from albench.data import PreparedDataset, load_dataset
from albench.device import resolve_device
from albench.gpu_slots import assign_device
from albench.layout import RunKey
from albench.pools import LabeledSet, Pool
from albench.samplers import Sampler, get_sampler, resolve
from albench.seeding import derive_seed
from albench.training import BatchAugment, Normalization


@dataclass(frozen=True)
class CycleRequest:
    """One AL cycle of one run (what ``albench cycle`` is given)."""

    config: Config
    dataset: str
    imbalance_ratio: float
    sampler: str
    seed: int
    cycle: int
    pool_path: Path
    labeled_path: Path  # the initial set at cycle 0, else the previous cycle's labeled_next.json
    out_dir: Path
    checkpoint_path: Path | None = None  # previous cycle's model.safetensors (warm start)
    initial_training: Path | None = None  # cycle 0: the shared training's folder to load
    device: str | None = None  # overrides config.device
    progress: bool | None = None  # progress bar; None = only on a TTY

    @property
    def key(self) -> RunKey:
        return RunKey(
            self.config.experiment,
            self.dataset,
            self.imbalance_ratio,
            self.seed,
            self.sampler,
            self.cycle,
        )


@dataclass(frozen=True)
class ReferenceRequest:
    """The full-pool ("all data") run of one dataset × IR × seed."""

    config: Config
    dataset: str
    imbalance_ratio: float
    seed: int
    pool_path: Path
    out_dir: Path
    device: str | None = None
    progress: bool | None = None

    @property
    def key(self) -> RunKey:
        return RunKey(self.config.experiment, self.dataset, self.imbalance_ratio, self.seed)


@dataclass(frozen=True)
class CycleInputs:
    """Everything a cycle reads, loaded once and checked.

    Attributes:
        settings: the dataset's section of the config.
        train_config: this run's schedule (``train``, or ``reference_train`` for the reference).
        data: the verified, memory-mapped dataset cache.
        pool: the (long-tailed) training pool.
        labeled: this cycle's labeled set.
        candidates: (n,) pool indices of the scored subset, in seeded random order
            (empty in the last cycle and in the reference run).
        candidate_images: (n, H, W, C_in) uint8.
        labeled_images: (m, H, W, C_in) uint8.
        labels: (N,) the train split's labels.
        norm, augment: normalisation and training augmentation of the dataset.
        device: where training and scoring run.
        budget: samples to query (0 when nothing is queried).
        sampler: the configured sampler, or None for the reference run.
    """

    request: CycleRequest | ReferenceRequest
    settings: DatasetConfig
    train_config: TrainConfig
    data: PreparedDataset
    pool: Pool
    labeled: LabeledSet
    candidates: np.ndarray
    candidate_images: np.ndarray
    labeled_images: np.ndarray
    labels: np.ndarray
    norm: Normalization
    augment: BatchAugment
    device: torch.device
    budget: int
    sampler: Sampler | None

    @property
    def seed(self) -> int:
        return self.request.seed

    @property
    def cycle(self) -> int:
        return getattr(self.request, "cycle", 0)

    @property
    def queries(self) -> bool:
        """Whether this run selects a batch (not the last cycle, not the reference)."""
        return self.sampler is not None and self.budget > 0

    @property
    def num_classes(self) -> int:
        return self.data.num_classes


def load_inputs(request: CycleRequest) -> CycleInputs:
    """Load and check the inputs of one cycle."""
    config = request.config
    settings = config.dataset(request.dataset)
    if not 0 <= request.cycle < settings.cycles:
        raise ValueError(f"cycle must be in [0, {settings.cycles - 1}], got {request.cycle}")
    sampler = _sampler(config, request.sampler)
    data = load_dataset(request.dataset, root=config.cache_dir)
    pool = _load_pool(request, data)
    labeled = LabeledSet.load(request.labeled_path)
    if request.initial_training is not None and request.cycle != 0:
        raise ValueError(f"a shared initial training is for cycle 0, not cycle {request.cycle}")
    if labeled.cycle != request.cycle:
        raise ValueError(
            f"{request.labeled_path}: labeled set is for cycle {labeled.cycle}, not {request.cycle}"
        )
    outside = np.setdiff1d(labeled.indices, pool.indices)
    if len(outside):
        raise ValueError(
            f"{request.labeled_path}: {len(outside)} labeled indices are not in the pool"
        )
    budget = 0 if request.cycle == settings.cycles - 1 else settings.budget_for(pool.size)
    candidates = _candidates(pool, labeled, settings, budget, request.seed, request.cycle)
    return CycleInputs(
        request=request,
        settings=settings,
        train_config=settings.train,
        data=data,
        pool=pool,
        labeled=labeled,
        candidates=candidates,
        budget=budget,
        sampler=sampler,
        **_images_and_transforms(request, data, candidates, labeled, settings.train),
    )


def load_reference_inputs(request: ReferenceRequest) -> CycleInputs:
    """The whole pool as the labeled set; nothing is scored."""
    settings = request.config.dataset(request.dataset)
    data = load_dataset(request.dataset, root=request.config.cache_dir)
    pool = _load_pool(request, data)
    labeled = LabeledSet(pool.indices, cycle=0, seed=request.seed, origin={"kind": "full_pool"})
    candidates = np.empty(0, dtype=np.int64)
    return CycleInputs(
        request=request,
        settings=settings,
        train_config=settings.reference,
        data=data,
        pool=pool,
        labeled=labeled,
        candidates=candidates,
        budget=0,
        sampler=None,
        **_images_and_transforms(request, data, candidates, labeled, settings.reference),
    )


def _images_and_transforms(
    request,
    data: PreparedDataset,
    candidates: np.ndarray,
    labeled: LabeledSet,
    train: TrainConfig,
) -> dict:
    """The images read once (training and scoring share them), labels, transforms, device.

    The augmentation is the dataset's (crop padding, flips), unless the schedule
    overrides it (``train.crop_padding``, ``train.hflip``).
    """
    stats = data.meta["channel_stats"]
    norm = Normalization(stats["mean"], stats["std"])
    return {
        "candidate_images": np.asarray(data.train_images[candidates]),
        "labeled_images": np.asarray(data.train_images[labeled.indices]),
        "labels": np.asarray(data.train_labels),
        "norm": norm,
        "augment": BatchAugment.for_schedule(norm, train.crop_padding, train.hflip, data),
        # A local workflow job on a machine with several GPU slots waits for one and runs
        # on its GPU (albench.gpu_slots); any other device is returned as resolved.
        "device": assign_device(
            resolve_device(request.device or request.config.device, request.config.require_gpu),
            request.config.gpu_slots_per_device,
        ),
    }


def _sampler(config: Config, name: str) -> Sampler:
    for entry in config.samplers:  # module:Class references register their samplers here
        if ":" in entry:
            resolve(entry)
    return get_sampler(name, **config.sampler_params.get(name, {}))


def _load_pool(request: CycleRequest | ReferenceRequest, data: PreparedDataset) -> Pool:
    pool = Pool.load(request.pool_path)
    expected = {
        "dataset": request.dataset,
        "data_hash": data.data_hash,
        "imbalance_ratio": float(request.imbalance_ratio),
        "seed": request.seed,
    }
    for key, value in expected.items():
        if getattr(pool, key) != value:
            raise ValueError(
                f"{request.pool_path}: pool {key} is {getattr(pool, key)!r}, expected {value!r}"
            )
    size = len(data.train_labels)
    if pool.size and int(pool.indices.max()) >= size:
        raise ValueError(
            f"{request.pool_path}: pool index {int(pool.indices.max())} is outside "
            f"the {size} training images of {request.dataset}"
        )
    return pool


def _candidates(
    pool: Pool, labeled: LabeledSet, settings: DatasetConfig, budget: int, seed: int, cycle: int
) -> np.ndarray:
    """The scored subset: a seeded permutation of the unlabeled pool, cut to ``subset``."""
    if budget == 0:
        return np.empty(0, dtype=np.int64)
    unlabeled = np.setdiff1d(pool.indices, labeled.indices)  # sorted
    order = np.random.default_rng(derive_seed(seed, "subset", cycle)).permutation(unlabeled)
    candidates = order[: min(settings.subset, len(order))]
    if budget > len(candidates):
        raise ValueError(
            f"budget {budget} exceeds the {len(candidates)} unlabeled candidates "
            f"(subset={settings.subset}, unlabeled={len(unlabeled)})"
        )
    return candidates
