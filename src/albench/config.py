"""The experiment configuration: typed, strictly validated, hashable, torch-free.

A config file is YAML with this shape (``config/config.yaml``; every key is
described in ``config/README.md`` and ``workflow/schemas/config.schema.yaml``)::

    experiment: default            # name of the results/<experiment>/ folder
    seeds: [0, 1, 2]               # one repetition per seed: pool, initial set and model
    samplers: [random, entropy]    # query strategies (``albench samplers``), or module:Class
    device: auto                   # auto | cpu | cuda | cuda:N
    cache_dir: resources/datasets  # canonical dataset caches
    datasets:                      # one entry per dataset in the grid  -> DatasetConfig
      fashion_mnist:
        imbalance_ratios: [1, 10]
        pool: {profile: exp, reserve_per_class: 1}   # -> PoolConfig
        initial: {size: 200}                         # -> InitialConfig
        model: small_cnn
        cycles: 5
        budget: 200
        train: {epochs: 30, lr: 0.05}                # -> TrainConfig
    sampler_params: {}             # keyword arguments per sampler / auxiliary objective
    report: {metric: accuracy}     # -> ReportConfig
    custom_datasets: {}            # user image folders (albench.data.sources.imagefolder)

:func:`load_config` is the one strict loader: every section becomes a frozen
dataclass here, and an unknown key or a bad value is a :class:`ConfigError`
naming the key, the value and what would be valid. Checks that need the
sampler registry or the data (sampler names, budgets against pool sizes) are
in :func:`albench.plan.check_config`. Nothing here imports torch, so the
workflow can parse and validate a config cheaply.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from albench import checks
from albench.pools import INITIAL_STRATEGIES, PROFILES, validate_ratio


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the valid values."""


def _field_names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _section(cls, data: Any, where: str, **extra: Any):
    """Build dataclass ``cls`` from a mapping: unknown keys and bad values become ConfigErrors.

    A validator's message starts with the field it checked (``"lr must be ..."``),
    so it becomes ``"<where>.lr must be ..."``: the full path of the key to fix.
    """
    try:
        checks.check_keys(data, _field_names(cls), where)
        return cls(**data, **extra)
    except ValueError as exc:
        message = str(exc)
        if message.startswith(where):
            raise ConfigError(message) from None
        field_name = message.split(" ", 1)[0].rstrip(":")
        joint = "." if field_name in _field_names(cls) else ": "
        raise ConfigError(f"{where}{joint}{message}") from None


# Characters a path in the config may not hold: control characters (a newline or NUL is a
# typo or an attack, never a folder name) and shell expansion, which albench never performs
# (so "$HOME/data" would be a folder literally named "$HOME").
_PATH_FORBIDDEN = {
    "$": "a '$' (environment variables are not expanded; write the path out)",
    "`": "a backtick (commands are not run; write the path out)",
}
PATH_KEYS = ("root", "test_root")  # path-like keys of a custom_datasets entry
NAME_PATTERN = r"[A-Za-z0-9_]+"  # dataset names: folder names and workflow wildcards
EXPERIMENT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def check_path(value: Any, where: str) -> str:
    """A path-like config value as a string, or a :class:`ConfigError` naming what is wrong.

    Spaces and non-ASCII names are fine (every shell line quotes its arguments);
    ``~`` is expanded by the code that opens the path.
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty path, got {value!r}")
    for char, what in _PATH_FORBIDDEN.items():
        if char in value:
            raise ConfigError(f"{where}: {value!r} contains {what}")
    bad = sorted({f"U+{ord(c):04X}" for c in value if ord(c) < 32 or ord(c) == 127})
    if bad:
        raise ConfigError(
            f"{where}: {value!r} contains control character(s) {', '.join(bad)}; "
            "a path may hold any printable character"
        )
    return value


# ----------------------------------------------------------------------------- training


# Candidate-tracking views: the test view in eval mode ("clean"), the training augmentation in
# eval mode ("train_aug", the label-dispersion research code), and the training augmentation in
# train mode ("train": how the labeled set's TD target of TiDAL's module is recorded).
TRACK_VIEWS = ("clean", "train_aug", "train")


# Autocast dtypes of ``train.amp_dtype`` (see :mod:`albench.training.precision`): "auto" = bf16 on a
# CUDA device that has it natively, else fp16 with a GradScaler, and fp32 on the CPU.
AMP_DTYPES = ("auto", "bf16", "fp16", "off")

CONDA_TORCH_BUILDS = ("cpu", "cuda")  # workflow/envs/train-<build>.yaml


@dataclass(frozen=True)
class TrainConfig:
    """One cycle's training schedule (``datasets.<name>.train``; units in the comments).

    Defaults are the official TiDAL code's (``config.py``): 200 epochs, batch 128,
    SGD lr 0.1, momentum 0.9, weight decay 5e-4, LR × 0.1 at epoch 160 (its second
    milestone, 260, is never reached and is dropped). The label-dispersion
    paper's protocol is ``epochs=100, lr=0.02, milestones=(60, 80), gamma=0.2``.
    ``milestones`` beyond ``epochs`` are allowed (they never fire), as in the
    official code's ``[160, 260]``.

    ``min_steps`` makes the training length independent of the labeled-set size:
    with a fixed number of epochs a small labeled set gets few SGD steps (10 epochs
    at batch 64 are 40 steps on 200 labels), and a model does not fit its labeled
    set in 40 steps. :meth:`schedule` resolves the effective schedule of a cycle.
    ``track_records`` spreads a fixed number of candidate-tracking passes over
    that schedule, so a stretched 200-label cycle does not record 5× more often
    than a 1,000-label one. ``crop_padding`` and ``hflip`` override the dataset's
    augmentation (its cache records the published defaults).

    ``amp`` and ``amp_dtype`` choose the precision of training and candidate tracking
    (:func:`albench.training.precision.resolve_precision`): ``amp: false`` is fp32
    everywhere (the paper presets: the official code trains in fp32); otherwise
    ``amp_dtype: auto`` is bf16 autocast on a CUDA device with native bf16 (no GradScaler,
    so no host sync per step), fp16 autocast with a GradScaler on older GPUs, and fp32 on
    the CPU; ``bf16``/``fp16`` force that autocast dtype on any device (the CPU too).
    """

    epochs: int = 200  # passes over the labeled set per cycle (the nominal schedule)
    min_steps: int | None = None  # floor on SGD steps per cycle; None = exactly `epochs` epochs
    batch_size: int = 128  # images per SGD step; the last partial batch is kept
    lr: float = 0.1  # initial learning rate, reset every cycle
    momentum: float = 0.9  # SGD momentum, in [0, 1)
    weight_decay: float = 5e-4  # L2 coefficient applied by SGD
    milestones: tuple[int, ...] = (160,)  # lr *= gamma once this many epochs have finished
    gamma: float = 0.1  # multiplicative LR decay at each milestone
    nesterov: bool = False  # Nesterov momentum (needs momentum > 0)
    eval_batch_size: int = 256  # images per forward pass at evaluation / scoring time
    amp: bool = True  # mixed precision; false = fp32 everywhere (amp_dtype is then ignored)
    amp_dtype: str = "auto"  # auto (CUDA: bf16, else fp16; CPU: off) | bf16 | fp16 | off
    channels_last: bool = True  # NHWC training batches: faster convolutions (CPU and AMP on CUDA)
    deterministic: bool | None = None  # deterministic kernels; None → True on CPU, False on CUDA
    track_interval: int = 1  # epochs between candidate-tracking passes (dispersion, actual TD)
    track_records: int | None = None  # or: this many passes per cycle, evenly spaced
    crop_padding: int | None = None  # random-crop padding in pixels; None = the dataset's
    hflip: bool | None = None  # horizontal flips; None = the dataset's

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "milestones", checks.check_increasing_ints(self.milestones, "milestones")
        )
        for name in ("epochs", "batch_size", "eval_batch_size", "track_interval"):
            checks.check_int(getattr(self, name), name, minimum=1)
        for name in ("min_steps", "track_records"):
            checks.check_optional_int(getattr(self, name), name, minimum=1)
        checks.check_optional_int(self.crop_padding, "crop_padding", minimum=0)
        if self.hflip is not None:
            checks.check_bool(self.hflip, "hflip")
        if self.track_records is not None and self.track_interval != 1:
            raise ValueError(
                f"give track_interval or track_records, not both (got track_interval="
                f"{self.track_interval}, track_records={self.track_records})"
            )
        checks.check_real(self.lr, "lr", low=0, low_open=True)
        checks.check_real(self.gamma, "gamma", low=0, low_open=True)
        checks.check_real(self.momentum, "momentum", low=0, high=1, high_open=True)
        checks.check_real(self.weight_decay, "weight_decay", low=0)
        for name in ("nesterov", "amp", "channels_last"):
            checks.check_bool(getattr(self, name), name)
        checks.check_choice(self.amp_dtype, "amp_dtype", AMP_DTYPES)
        if not self.amp and self.amp_dtype in ("bf16", "fp16"):
            raise ValueError(
                f"amp_dtype {self.amp_dtype!r} asks for mixed precision but amp is false; "
                "set amp: true, or amp_dtype: auto or off"
            )
        if self.deterministic is not None:
            checks.check_bool(self.deterministic, "deterministic")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str = "train") -> TrainConfig:
        """Build from a config mapping; unknown keys and bad values raise :class:`ConfigError`."""
        return _section(cls, values, where)

    def schedule(self, num_samples: int) -> Schedule:
        """The effective schedule of a cycle on ``num_samples`` labeled images.

        With m = ``num_samples``, B = ``batch_size``, E = ``epochs``, S =
        ``min_steps`` and s = ⌈m/B⌉ steps per epoch (the last partial batch is a step):

        * S is None or E·s ≥ S: the nominal schedule, unchanged.
        * Otherwise E′ = ⌈S/s⌉ epochs (at most one epoch more than S needs), and
          every milestone M becomes M′ = ⌊M·E′/E + ½⌋ (exact integer arithmetic):
          the learning rate drops at the same *fraction* of training. Since
          E′ > E the scaled milestones stay strictly increasing and ≥ 1.

        The epoch stays the unit of everything else: TiDAL's running-mean target
        averages over the E′ epochs, LL4AL detaches its features at ⌈0.6·E′⌉.

        Example: E = 10, milestones (8,), B = 64, S = 500: on 200 labels s = 4,
        E′ = 125, M′ = 100 (500 steps); on 1,000 labels s = 16, E′ = 32, M′ = 26.
        """
        checks.check_int(num_samples, "num_samples", minimum=1)
        per_epoch = math.ceil(num_samples / self.batch_size)
        epochs, milestones = self.epochs, self.milestones
        if self.min_steps is not None and self.epochs * per_epoch < self.min_steps:
            epochs = math.ceil(self.min_steps / per_epoch)
            milestones = tuple(
                (2 * m * epochs + self.epochs) // (2 * self.epochs) for m in self.milestones
            )
        return Schedule(epochs, milestones, per_epoch)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (milestones as a list), for provenance."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["milestones"] = list(self.milestones)
        return values


@dataclass(frozen=True)
class Schedule:
    """The effective schedule of one cycle (:meth:`TrainConfig.schedule`)."""

    epochs: int  # passes over the labeled set (E′, or E when not stretched)
    milestones: tuple[int, ...]  # epochs after which lr *= gamma
    steps_per_epoch: int  # ⌈m / batch_size⌉

    @property
    def steps(self) -> int:
        """Optimizer steps of the cycle."""
        return self.epochs * self.steps_per_epoch

    def records_after(self, epoch: int, config: TrainConfig) -> bool:
        """Whether the candidate trackers record after 0-based ``epoch``.

        Every ``track_interval`` epochs, or, with ``track_records`` = R, after the
        epochs e where ⌊(e+1)·R′/E′⌋ > ⌊e·R′/E′⌋, R′ = min(R, E′): exactly R′
        evenly spaced passes, the last epoch always included (E′ = 10, R = 4:
        after epochs 2, 4, 7 and 9).
        """
        if config.track_records is None:
            return (epoch + 1) % config.track_interval == 0
        r = min(config.track_records, self.epochs)
        return (epoch + 1) * r // self.epochs > epoch * r // self.epochs

    def diagnostics_after(self, epoch: int, interval: int) -> bool:
        """Whether a tracker kept only for the KL diagnostics records after 0-based ``epoch``
        (``DatasetConfig.diagnostics_interval`` = k): every k epochs, and always after the
        last epoch, so the final model's predictions are in every record (E′ = 10, k = 4:
        after epochs 3, 7 and 9)."""
        return (epoch + 1) % interval == 0 or epoch + 1 == self.epochs


# ----------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class PoolConfig:
    """How the (possibly long-tailed) training pool is drawn (``datasets.<name>.pool``)."""

    profile: str = "exp"  # exp | step
    reserve_per_class: int = 1  # seeds per class kept out of the imbalance draw (TiDAL: 1)
    head_order: list[int] | None = None  # class indices, head first; None = label order
    n_max: int | None = None  # samples of the largest class; None = ⌊|pool|/C⌋

    def __post_init__(self) -> None:
        checks.check_choice(self.profile, "profile", PROFILES)
        checks.check_int(self.reserve_per_class, "reserve_per_class", minimum=0)
        checks.check_optional_int(self.n_max, "n_max", minimum=1)


@dataclass(frozen=True)
class InitialConfig:
    """The cycle-0 labeled set (``datasets.<name>.initial``): exactly one of size or fraction."""

    size: int | None = None  # number of labeled samples at cycle 0
    fraction: float | None = None  # or a fraction of the pool
    strategy: str = "random"  # random | balanced

    def __post_init__(self) -> None:
        if (self.size is None) == (self.fraction is None):
            raise ValueError("give exactly one of `size` or `fraction`")
        checks.check_optional_int(self.size, "size", minimum=1)
        if self.fraction is not None:
            checks.check_real(self.fraction, "fraction", low=0, high=1, low_open=True)
        checks.check_choice(self.strategy, "strategy", INITIAL_STRATEGIES)


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset of the grid (``datasets.<name>``): its pools and its cycle protocol.

    ``diagnostics`` makes TiDAL runs track the candidates in two extra views for the KL
    figures of ``metrics.json`` (tracking never changes training or selection). Those
    trackers record on the training's tracking schedule (``train.track_interval`` or
    ``train.track_records``), a full eval pass over the candidates every epoch by default;
    ``diagnostics_interval`` = k records them only every k epochs and after the last
    (:meth:`Schedule.diagnostics_after`), which makes the diagnostics k× cheaper. A view a
    sampler itself scores (dispersion, ``td_*``) keeps the tracking schedule.
    """

    name: str
    imbalance_ratios: tuple[float, ...] = (1.0,)  # IR values; 1 = the published (balanced) pool
    pool: PoolConfig = field(default_factory=PoolConfig)
    initial: InitialConfig = field(default_factory=lambda: InitialConfig(fraction=0.1))
    model: str = "small_cnn"  # backbone (`albench.models.registry`)
    cycles: int = 10  # training rounds; cycles - 1 queries (TiDAL: 10)
    budget: int | None = None  # samples queried per cycle
    budget_fraction: float | None = None  # or a fraction of the pool
    subset: int = 10_000  # random unlabeled subset scored per query (papers: 10,000)
    warm_start: bool = False  # keep weights across cycles (official TiDAL); default retrains
    diagnostics: bool = True  # track candidates for TiDAL so KL diagnostics can be reported
    diagnostics_interval: int | None = None  # epochs between diagnostic-only tracker passes
    train: TrainConfig = field(default_factory=TrainConfig)
    reference_train: TrainConfig | None = None  # full-pool reference run; None = `train`

    def __post_init__(self) -> None:
        if (self.budget is None) == (self.budget_fraction is None):
            raise ValueError("give exactly one of `budget` or `budget_fraction`")
        checks.check_optional_int(self.budget, "budget", minimum=1)
        if self.budget_fraction is not None:
            checks.check_real(self.budget_fraction, "budget_fraction", low=0, high=1, low_open=True)
        checks.check_int(self.cycles, "cycles", minimum=1)
        checks.check_int(self.subset, "subset", minimum=1)
        checks.check_bool(self.warm_start, "warm_start")
        checks.check_bool(self.diagnostics, "diagnostics")
        checks.check_optional_int(self.diagnostics_interval, "diagnostics_interval", minimum=1)
        if not isinstance(self.model, str):
            raise ValueError(f"model must be a model name, got {self.model!r}")

    @classmethod
    def from_dict(cls, name: str, data: Any) -> DatasetConfig:
        where = f"datasets.{name}"
        data = dict(_mapping(data, where))
        _keys(data, [f for f in _field_names(cls) if f != "name"], where)
        values: dict[str, Any] = dict(data)
        ratios = data.get("imbalance_ratios", [1])
        if not isinstance(ratios, list) or not ratios:
            raise ConfigError(
                f"{where}.imbalance_ratios: expected a non-empty list, got {ratios!r}"
            )
        for ratio in ratios:
            try:
                validate_ratio(ratio)
            except ValueError as exc:
                raise ConfigError(f"{where}.imbalance_ratios: {exc}") from None
        values["imbalance_ratios"] = tuple(float(r) for r in ratios)
        values["pool"] = _section(PoolConfig, data.get("pool") or {}, f"{where}.pool")
        values["initial"] = _section(
            InitialConfig, data.get("initial", {"fraction": 0.1}), f"{where}.initial"
        )
        values["train"] = TrainConfig.from_dict(data.get("train") or {}, f"{where}.train")
        if data.get("reference_train") is not None:
            values["reference_train"] = TrainConfig.from_dict(
                data["reference_train"], f"{where}.reference_train"
            )
        return _section(cls, values, where, name=name)

    def budget_for(self, pool_size: int) -> int:
        """Samples queried per cycle for a pool of ``pool_size``."""
        if self.budget is not None:
            return int(self.budget)
        assert self.budget_fraction is not None
        return max(1, round(self.budget_fraction * pool_size))

    @property
    def reference(self) -> TrainConfig:
        """The schedule of the full-pool reference run."""
        return self.reference_train or self.train


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    """``data`` as a mapping (None counts as empty), else a ConfigError naming ``where``."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__} {data!r}")
    return data


def _keys(data: Mapping[str, Any], valid: list[str], where: str) -> None:
    try:
        checks.check_keys(data, valid, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# ----------------------------------------------------------------------------- report


METRICS = ("accuracy", "balanced_accuracy")
INTERVALS = ("t", "bootstrap", "bca")  # kept equal to albench.report.metrics.INTERVALS


@dataclass(frozen=True)
class ReportConfig:
    """Settings of the figures and tables (``report:``; see ``docs/metrics.md``)."""

    metric: str = "accuracy"  # accuracy | balanced_accuracy
    baseline: str = "random"  # the sampler relative improvement is measured against
    interval: str = "t"  # t | bootstrap | bca: interval of every mean over seeds
    n_resamples: int = 10_000  # bootstrap resamples (interval: bootstrap or bca)
    ci_level: float = 0.95  # confidence level of every interval
    bootstrap_seed: int = 0  # seed of the bootstrap generator
    alpha: float = 0.05  # level of the t-tests (penalty matrix), Nemenyi CD and claim verdicts
    include_initial_budget: bool = False  # also test the initial budget in the penalty matrix
    rank_all: bool = False  # also rank controls and references (ranks, CD diagram, penalty matrix)
    claim_margin: float = 0.5  # smallest accuracy effect (points) a claim verdict counts
    claim_kl_margin: float = 0.01  # smallest KL reduction (nats) the TD-prediction claim counts
    fit_criterion: float = 0.95  # eval-mode train accuracy every cycle's model should reach

    def __post_init__(self) -> None:
        checks.check_choice(self.metric, "metric", METRICS)
        if not isinstance(self.baseline, str) or not self.baseline:
            raise ValueError(f"baseline must be a sampler name, got {self.baseline!r}")
        checks.check_choice(self.interval, "interval", INTERVALS)
        checks.check_int(self.n_resamples, "n_resamples", minimum=1)
        checks.check_real(self.ci_level, "ci_level", low=0, high=1, low_open=True, high_open=True)
        checks.check_real(self.alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
        checks.check_int(self.bootstrap_seed, "bootstrap_seed", minimum=0)
        checks.check_bool(self.include_initial_budget, "include_initial_budget")
        checks.check_bool(self.rank_all, "rank_all")
        checks.check_real(self.claim_margin, "claim_margin", low=0)
        checks.check_real(self.claim_kl_margin, "claim_kl_margin", low=0)
        checks.check_real(self.fit_criterion, "fit_criterion", low=0, high=1)

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any] | None, where: str = "report") -> ReportConfig:
        return _section(cls, dict(mapping or {}), where)

    @property
    def metric_label(self) -> str:
        return self.metric.replace("_", " ")


# ----------------------------------------------------------------------------- experiment


@dataclass(frozen=True)
class Config:
    """A whole experiment. ``raw`` keeps the mapping it was built from (run hashes use it)."""

    experiment: str
    datasets: dict[str, DatasetConfig]
    seeds: tuple[int, ...] = (0,)
    samplers: tuple[str, ...] = ("random",)  # registered names or module:Class references
    device: str = "auto"
    cache_dir: str = "resources/datasets"
    download: bool = False  # allow dataset downloads in the workflow's prepare step
    require_gpu: bool = False  # fail, never fall back to CPU, when no CUDA device is usable
    gpu_memory_gb: float | None = None  # accelerator memory per job; plan warns above it
    conda_torch: str = "cpu"  # --sdm conda: PyTorch build of the job env (cpu | cuda)
    gpu_slots_per_device: int = 1  # local runs: GPU jobs sharing one GPU (albench.gpu_slots)
    share_initial_training: bool = True  # one cycle-0 training per group that trains alike
    custom_datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    sampler_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: ReportConfig = field(default_factory=ReportConfig)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Config:
        data = _mapping(data, "config")
        _keys(data, [f for f in _field_names(cls) if f != "raw"], "config")
        experiment = data.get("experiment")
        if not isinstance(experiment, str) or not experiment.strip():
            raise ConfigError("config: `experiment` (the results folder name) is required")
        if not re.fullmatch(EXPERIMENT_PATTERN, experiment):
            raise ConfigError(
                f"config.experiment: {experiment!r} must match {EXPERIMENT_PATTERN} "
                "(it becomes a folder name)"
            )
        seeds = data.get("seeds", [0])
        if (
            not isinstance(seeds, list)
            or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        ):
            raise ConfigError(
                f"config.seeds: expected a non-empty list of integers >= 0, got {seeds!r}"
            )
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"config.seeds: duplicate seeds in {seeds}")
        samplers = data.get("samplers", ["random"])
        if (
            not isinstance(samplers, list)
            or not samplers
            or not all(isinstance(s, str) for s in samplers)
        ):
            raise ConfigError(
                f"config.samplers: expected a non-empty list of sampler names, got {samplers!r}"
            )
        custom = _custom_datasets(data.get("custom_datasets"))
        datasets = _mapping(data.get("datasets"), "config.datasets")
        if not datasets:
            raise ConfigError("config.datasets: at least one dataset is required")
        from albench.data import dataset_names

        known = set(dataset_names()) | set(custom)
        for name in datasets:
            if name not in known:
                raise ConfigError(
                    f"config.datasets: unknown dataset {name!r}; valid datasets: "
                    f"{', '.join(sorted(known))} (add your own under custom_datasets)"
                )
        sampler_params = _mapping(data.get("sampler_params"), "config.sampler_params")
        for name, params in sampler_params.items():
            _mapping(params, f"config.sampler_params.{name}")
        device = data.get("device", "auto")
        if not isinstance(device, str):
            raise ConfigError(f"config.device: expected a device name, got {device!r}")
        download = _flag(data, "download", False)
        require_gpu = _flag(data, "require_gpu", False)
        share = _flag(data, "share_initial_training", True)
        gpu_memory_gb = data.get("gpu_memory_gb")
        if gpu_memory_gb is not None and (
            isinstance(gpu_memory_gb, bool)
            or not isinstance(gpu_memory_gb, int | float)
            or not gpu_memory_gb > 0
        ):
            raise ConfigError(
                "config.gpu_memory_gb: expected a number of GB > 0 (e.g. 80 for an H100) or "
                f"null for no check, got {gpu_memory_gb!r}"
            )
        conda_torch = data.get("conda_torch", "cpu")
        if conda_torch not in CONDA_TORCH_BUILDS:
            raise ConfigError(
                f"config.conda_torch: {conda_torch!r} is not a PyTorch build; valid builds: "
                f"{', '.join(CONDA_TORCH_BUILDS)}"
            )
        slots = data.get("gpu_slots_per_device", 1)
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            raise ConfigError(
                f"config.gpu_slots_per_device: expected an integer >= 1 (GPU jobs that may "
                f"share one GPU on a local run), got {slots!r}"
            )
        return cls(
            experiment=experiment,
            datasets={
                name: DatasetConfig.from_dict(name, entry) for name, entry in datasets.items()
            },
            seeds=tuple(seeds),
            samplers=tuple(samplers),
            device=device,
            cache_dir=check_path(data.get("cache_dir", "resources/datasets"), "config.cache_dir"),
            download=download,
            require_gpu=require_gpu,
            gpu_memory_gb=None if gpu_memory_gb is None else float(gpu_memory_gb),
            conda_torch=conda_torch,
            gpu_slots_per_device=slots,
            share_initial_training=share,
            custom_datasets=custom,
            sampler_params={name: dict(params or {}) for name, params in sampler_params.items()},
            report=ReportConfig.from_dict(
                _mapping(data.get("report"), "config.report"), "config.report"
            ),
            raw=dict(data),
        )

    def dataset(self, name: str) -> DatasetConfig:
        if name not in self.datasets:
            raise ConfigError(
                f"dataset {name!r} is not in this config; configured: {', '.join(self.datasets)}"
            )
        return self.datasets[name]


def _custom_datasets(section: Any) -> dict[str, dict[str, Any]]:
    custom = dict(_mapping(section, "config.custom_datasets"))
    for name, entry in custom.items():
        if not re.fullmatch(NAME_PATTERN, str(name)):
            raise ConfigError(
                f"config.custom_datasets: dataset name {name!r} must match {NAME_PATTERN} "
                "(letters, digits and underscores: it becomes a folder and a wildcard)"
            )
        _mapping(entry, f"config.custom_datasets.{name}")
        for key in PATH_KEYS:
            if entry.get(key) is not None:
                check_path(entry[key], f"config.custom_datasets.{name}.{key}")
    return {name: dict(entry) for name, entry in custom.items()}


def load_config(path: str | Path) -> Config:
    """Read, validate and type a config file; every problem is a :class:`ConfigError`."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None or data == {}:
        raise ConfigError(
            f"{path}: the config is empty; it needs at least `experiment` and "
            "`datasets` (see config/config.yaml)"
        )
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    """A top-level true/false key, or a ConfigError naming it (``config.<key>: ...``)."""
    try:
        return checks.check_bool(data.get(key, default), f"config.{key}:")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def typed_overrides(values: Any, nested: bool = False) -> Any:
    """``snakemake --config key=value`` values with the types YAML would give them.

    Snakemake converts a top-level value to int, float or bool (``True``/``False`` only),
    but parses lists and mappings with YAML's BaseLoader, which keeps every scalar a
    string (``seeds=[0,1]`` arrives as ``['0', '1']``). Scalars inside lists and mappings
    are re-read with ``yaml.safe_load`` (``'2'`` → 2, ``'true'`` → True, ``'cpu'`` stays);
    top-level scalars are left as Snakemake made them, except YAML's ``true``/``false``
    in any case (``require_gpu=false`` would otherwise arrive as the string ``'false'``).
    """
    if isinstance(values, Mapping):
        return {
            key: typed_overrides(item, nested or not isinstance(item, str))
            for key, item in values.items()
        }
    if isinstance(values, list):
        return [typed_overrides(item, True) for item in values]
    if isinstance(values, str):
        if not nested:  # Snakemake typed it already, except YAML's true/false (any case)
            return {"true": True, "false": False}.get(values.lower(), values)
        try:
            loaded = yaml.safe_load(values)
        except yaml.YAMLError:
            return values
        return loaded if isinstance(loaded, (int, float, bool)) or loaded is None else values
    return values


def config_hash(section: Any) -> str:
    """sha256 of the canonical JSON of a config (sub)section: the provenance key of a result."""
    canonical = json.dumps(section, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


__all__ = [
    "AMP_DTYPES",
    "METRICS",
    "TRACK_VIEWS",
    "Config",
    "ConfigError",
    "DatasetConfig",
    "InitialConfig",
    "PoolConfig",
    "ReportConfig",
    "TrainConfig",
    "check_path",
    "config_hash",
    "load_config",
]
