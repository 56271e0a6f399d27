"""The run grid of a config, the hash of each run, and the checks that run before any job.

:func:`runs` is the one definition of the grid (datasets × imbalance ratios ×
seeds × samplers × cycles, plus one full-pool reference per dataset × IR ×
seed): the workflow, the aggregation and the report all take it from here.
:func:`run_hash` is the part of the config that can change one run's results
(the workflow's rerun trigger and the ``config_hash`` of its provenance).
:func:`check_config` raises :class:`~albench.config.ConfigError` naming the key
and the valid values, so a typo or a budget that cannot fit the pool stops the
workflow at parse time instead of hours into a run.

Torch-free, except that validating the hyperparameters of an auxiliary
objective (``sampler_params.tidal_module``, ``ll4al_module``) imports the
objectives, hence PyTorch; configs that set none do not pay for it.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from albench.config import Config, ConfigError, DatasetConfig, config_hash
from albench.layout import RunKey
from albench.pools import pool_class_sizes, resolve_size
from albench.samplers import Sampler, SamplerError, get_sampler, resolve
from albench.samplers.base import (
    OBJECTIVES,
    Need,
    diagnostic_only,
    objectives_of,
    tracked_views,
)

__all__ = [
    "GpuMemoryWarning",
    "MemoryPlan",
    "RunKey",
    "SettingPlan",
    "check_config",
    "cycle_runs",
    "reference_runs",
    "run_hash",
    "runs",
    "sampler_names_of",
]


def sampler_names_of(config: Config) -> list[str]:
    """The configured samplers' names (``module:Class`` references resolved and registered)."""
    try:
        return [resolve(entry).name for entry in config.samplers]
    except SamplerError as exc:
        raise ConfigError(f"config.samplers: {exc}") from None


def cycle_runs(config: Config) -> Iterator[RunKey]:
    samplers = sampler_names_of(config)
    for dataset, settings in config.datasets.items():
        for ratio in settings.imbalance_ratios:
            for seed in config.seeds:
                for sampler in samplers:
                    for cycle in range(settings.cycles):
                        yield RunKey(config.experiment, dataset, ratio, seed, sampler, cycle)


def reference_runs(config: Config) -> Iterator[RunKey]:
    for dataset, settings in config.datasets.items():
        for ratio in settings.imbalance_ratios:
            for seed in config.seeds:
                yield RunKey(config.experiment, dataset, ratio, seed)


def runs(config: Config) -> list[RunKey]:
    """Every run of the grid: the cycles, then the references."""
    return [*cycle_runs(config), *reference_runs(config)]


def run_needs(sampler: Sampler, diagnostics: bool) -> frozenset[Need]:
    """What a run of ``sampler`` computes: its needs, plus what the diagnostics add (the
    actual TD in both tracker views when TiDAL's module trains, for the KL figures)."""
    needs = sampler.needs
    if diagnostics and Need.TD_PROBS in needs:
        needs |= {Need.TRACKED_PROBS, Need.TRACKED_PROBS_TRAIN}
    return needs


def training_signature(sampler: Sampler) -> str:
    """How a sampler's cycles train: ``"plain"`` or the name of the objective trained with it.

    Samplers with the same signature train byte-identical models on the same inputs
    (tracking candidates never changes the weights).
    """
    objectives = objectives_of(sampler.needs)
    return objectives[0] if objectives else "plain"


@dataclass(frozen=True)
class SharedTraining:
    """One cycle-0 training that several samplers of a dataset share."""

    dataset: str
    signature: str  # training_signature of every sampler in ``samplers``
    samplers: tuple[str, ...]  # at least two
    track_views: tuple[str, ...]  # union of the views these samplers need at cycle 0
    diagnostic_views: tuple[str, ...] = ()  # those of track_views no member scores


def shared_trainings(config: Config) -> list[SharedTraining]:
    """The cycle-0 trainings the workflow runs once per (dataset, IR, seed) and signature.

    Only signatures shared by two or more configured samplers are listed: a sampler
    alone in its group trains its own cycle 0 (sharing would only add a job); with
    ``share_initial_training: false`` every sampler does.
    """
    if not config.share_initial_training:
        return []
    names = sampler_names_of(config)
    out = []
    for dataset, settings in config.datasets.items():
        if settings.cycles < 2:
            continue  # a one-cycle run queries nothing: cycle 0 is its only cycle
        groups: dict[str, list[Sampler]] = {}
        for name in names:
            sampler = get_sampler(name, **config.sampler_params.get(name, {}))
            groups.setdefault(training_signature(sampler), []).append(sampler)
        for signature, members in groups.items():
            if len(members) < 2:
                continue
            views = set()
            for sampler in members:
                views |= set(tracked_views(run_needs(sampler, settings.diagnostics)))
            views = tuple(sorted(views))
            out.append(
                SharedTraining(
                    dataset,
                    signature,
                    tuple(s.name for s in members),
                    views,
                    diagnostic_only(views, [s.needs for s in members]),
                )
            )
    return out


def shared_training_of(config: Config, key: RunKey) -> SharedTraining | None:
    """The shared cycle-0 training a cycle-0 run loads, or None if it trains itself."""
    if key.sampler is None or key.cycle != 0:
        return None
    for shared in shared_trainings(config):
        if shared.dataset == key.dataset and key.sampler in shared.samplers:
            return shared
    return None


def run_hash(config: Config, key: RunKey) -> str:
    """Hash of everything in the config that can change the results of run ``key``.

    Editing one sampler's parameters (or those of the objective it trains)
    changes the hash of that sampler's runs only.
    """
    sampler = key.sampler
    objective_params = []
    if sampler is not None:
        needs = get_sampler(sampler, **config.sampler_params.get(sampler, {})).needs
        objective_params = [
            config.sampler_params.get(f"{name}_module", {}) for name in objectives_of(needs)
        ]
    return config_hash(
        {
            "dataset": config.raw["datasets"][key.dataset],
            "custom_dataset": config.custom_datasets.get(key.dataset),
            "sampler": sampler,
            "sampler_params": config.sampler_params.get(sampler, {}) if sampler else {},
            # At most one objective per run (albench.cycle.train.Requirements): its parameters.
            "aux_params": objective_params[0] if objective_params else {},
        }
    )


# ----------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class SettingPlan:
    """The sizes of one dataset × IR setting."""

    dataset: str
    imbalance_ratio: float
    pool_size: int | None  # None when the class counts are unknown before preparation
    initial: int | None
    budget: int | None
    final_labeled: int | None
    memory: MemoryPlan | None = None  # None when the sizes are unknown before preparation


class GpuMemoryWarning(UserWarning):
    """A job's estimated accelerator peak exceeds ``gpu_memory_gb``."""


@dataclass(frozen=True)
class MemoryPlan:
    """Estimated accelerator peak per job of one setting (:func:`albench.estimate.gpu_estimate`).

    ``cycle_gb`` is the largest over the configured samplers (at the last cycle, the
    largest labeled set), ``sampler`` the one that sets it; ``reference_gb`` is the
    full-pool reference job.
    """

    cycle_gb: float
    sampler: str
    reference_gb: float

    @property
    def peak_gb(self) -> float:
        return max(self.cycle_gb, self.reference_gb)


def check_config(config: Config) -> list[SettingPlan]:
    """Validate everything that can be checked without training; return the per-setting sizes."""
    names = sampler_names_of(config)
    if len(set(names)) != len(names):
        raise ConfigError(f"config.samplers: duplicates in {list(config.samplers)}")
    _check_sampler_params(config, names)
    if config.report.baseline not in names:
        raise ConfigError(
            f"config.report.baseline: {config.report.baseline!r} is not one of the configured "
            f"samplers ({', '.join(names)})"
        )
    from albench.models.registry import model_names

    plans = []
    for dataset, settings in config.datasets.items():
        if settings.model not in model_names():
            raise ConfigError(
                f"datasets.{dataset}.model: unknown model {settings.model!r}; "
                f"valid models: {', '.join(model_names())}"
            )
        _check_custom_folder(config, dataset)
        counts = _class_counts(config, dataset)
        for ratio in settings.imbalance_ratios:
            plan = _check_setting(settings, ratio, counts)
            plans.append(_with_memory(config, names, plan, counts))
    report_gpu_memory(config, plans)
    return plans


def _with_memory(
    config: Config, names: list[str], plan: SettingPlan, counts: list[int] | None
) -> SettingPlan:
    """``plan`` with its :class:`MemoryPlan`: from the class counts, or else from the
    published train size and class count (the whole train set as an upper bound of the
    pool); unchanged when neither is known (image folders before preparation)."""
    from dataclasses import replace

    from albench.data import get_dataset_spec
    from albench.estimate import gpu_estimate

    settings = config.datasets[plan.dataset]
    spec = get_dataset_spec(plan.dataset, config.custom_datasets)
    shape = _image_shape(config, plan.dataset) or spec.image_shape
    if counts is not None:
        classes, pool_size, final = len(counts), plan.pool_size, plan.final_labeled
    elif spec.published_size is not None:
        pool_size, classes = spec.published_size
        where = f"datasets.{plan.dataset}.initial"
        try:
            initial = resolve_size(
                settings.initial.size, settings.initial.fraction, pool_size, where
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        final = min(pool_size, initial + (settings.cycles - 1) * settings.budget_for(pool_size))
    else:
        return plan

    def padding(train) -> int:
        return spec.crop_padding if train.crop_padding is None else train.crop_padding

    cycle = []
    for name in names:
        sampler = get_sampler(name, **config.sampler_params.get(name, {}))
        needs = frozenset(str(need) for need in run_needs(sampler, settings.diagnostics))
        estimate = gpu_estimate(
            settings,
            settings.train,
            final,
            settings.subset,
            shape,
            classes,
            needs,
            padding(settings.train),
        )
        cycle.append((estimate.peak_gb, name))
    reference = gpu_estimate(
        settings,
        settings.reference,
        pool_size,
        0,
        shape,
        classes,
        frozenset(),
        padding(settings.reference),
    )
    worst = max(cycle)
    return replace(plan, memory=MemoryPlan(worst[0], worst[1], reference.peak_gb))


def _image_shape(config: Config, dataset: str) -> tuple[int, int, int] | None:
    from albench.io import read_json

    meta = Path(config.cache_dir) / dataset / "meta.json"
    if meta.exists():
        return tuple(read_json(meta)["splits"]["train"]["image_shape"])
    return None


def gpu_memory_lines(config: Config, plans: list[SettingPlan]) -> list[str]:
    """One line per setting: its estimated accelerator peak per job, and the limit if set."""
    limit = config.gpu_memory_gb
    lines = []
    for plan in plans:
        if plan.memory is None:
            continue
        m = plan.memory
        fits = "" if limit is None else (" (fits" if m.peak_gb <= limit else " (EXCEEDS")
        fits += "" if limit is None else f" gpu_memory_gb = {limit:g})"
        lines.append(
            f"{config.experiment}: {plan.dataset} (IR {plan.imbalance_ratio:g}): estimated "
            f"accelerator peak per job {m.cycle_gb:.1f} GB (cycle, {m.sampler}), "
            f"{m.reference_gb:.1f} GB (full-pool reference){fits}"
        )
    return lines


def report_gpu_memory(config: Config, plans: list[SettingPlan]) -> None:
    """Print :func:`gpu_memory_lines` to stderr; warn for each setting above ``gpu_memory_gb``.

    A run on the CPU (``device: cpu``) prints the lines only when ``gpu_memory_gb`` asks
    for the check: they are about accelerator memory."""
    limit = config.gpu_memory_gb
    if limit is not None or config.device != "cpu":
        for line in gpu_memory_lines(config, plans):
            print(f"albench plan: {line}", file=sys.stderr)
    for plan in plans:
        if limit is None or plan.memory is None or plan.memory.peak_gb <= limit:
            continue
        m = plan.memory
        job = (
            f"the cycle jobs of {m.sampler!r}"
            if m.cycle_gb >= m.reference_gb
            else "the full-pool reference job"
        )
        warnings.warn(
            f"{config.experiment}: datasets.{plan.dataset} (IR {plan.imbalance_ratio:g}): "
            f"{job} need an estimated {m.peak_gb:.1f} GB of accelerator memory, more than "
            f"gpu_memory_gb = {limit:g}; they would likely run out of memory. Lower "
            "subset/budget/batch_size, use a larger GPU, or raise gpu_memory_gb if the "
            "estimate (albench.estimate.gpu_estimate) is too conservative for your GPU",
            GpuMemoryWarning,
            stacklevel=2,
        )


def _check_sampler_params(config: Config, names: list[str]) -> None:
    objective_keys = {f"{name}_module": name for name in OBJECTIVES.values()}
    for key, params in config.sampler_params.items():
        if key in objective_keys:
            _check_objective_params(objective_keys[key], params)
            continue
        if key not in names:
            raise ConfigError(
                f"config.sampler_params: {key!r} is not a configured sampler; valid keys: "
                f"{', '.join(sorted([*names, *objective_keys]))}"
            )
    for name in names:
        try:
            get_sampler(name, **config.sampler_params.get(name, {}))
        except SamplerError as exc:
            raise ConfigError(f"config.sampler_params.{name}: {exc}") from None


def _check_objective_params(name: str, params: dict) -> None:
    from albench.training.objectives import objective_named, objective_parameters

    valid = objective_parameters(objective_named(name))
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(
            f"config.sampler_params.{name}_module: unknown parameter(s) "
            f"{', '.join(unknown)}; valid parameters: {', '.join(valid)}"
        )


def _check_custom_folder(config: Config, dataset: str) -> None:
    """A custom image folder that is not prepared yet: cheap checks now, not at its job."""
    entry = config.custom_datasets.get(dataset)
    if entry is None or entry.get("source") != "imagefolder":
        return
    if (Path(config.cache_dir) / dataset / "meta.json").exists():
        return
    from albench.data import DataSourceError
    from albench.data.sources.imagefolder import quick_check

    where = f"custom_datasets.{dataset}"
    try:
        quick_check(entry.get("root"), where)
        if entry.get("test_root") is not None:
            quick_check(entry["test_root"], f"{where}.test_root", test_split=True)
    except DataSourceError as exc:
        raise ConfigError(str(exc)) from None


def _class_counts(config: Config, dataset: str) -> list[int] | None:
    from albench.data import get_dataset_spec
    from albench.io import read_json

    meta = Path(config.cache_dir) / dataset / "meta.json"
    if meta.exists():
        return list(read_json(meta)["splits"]["train"]["class_counts"])
    counts = get_dataset_spec(dataset, config.custom_datasets).train_class_counts
    return list(counts) if counts is not None else None


def _check_setting(settings: DatasetConfig, ratio: float, counts: list[int] | None) -> SettingPlan:
    where = f"datasets.{settings.name} (IR {ratio:g})"
    if counts is None:
        return SettingPlan(settings.name, ratio, None, None, None, None)
    try:
        reserved, drawn, _ = pool_class_sizes(
            counts,
            imbalance_ratio=ratio,
            profile=settings.pool.profile,
            reserve_per_class=settings.pool.reserve_per_class,
            head_order=settings.pool.head_order,
            n_max=settings.pool.n_max,
        )
        pool_size = sum(reserved) + sum(drawn)
        initial = resolve_size(
            settings.initial.size, settings.initial.fraction, pool_size, f"{where}.initial"
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if initial < sum(reserved):
        raise ConfigError(
            f"{where}.initial: {initial} samples cannot hold the {sum(reserved)} reserved seeds "
            f"(pool.reserve_per_class={settings.pool.reserve_per_class})"
        )
    budget = settings.budget_for(pool_size)
    final = initial + (settings.cycles - 1) * budget
    if final > pool_size:
        raise ConfigError(
            f"{where}: initial {initial} + {settings.cycles - 1} queries × budget {budget} = {final} "
            f"labeled samples, more than the pool's {pool_size}; lower `budget` or `cycles`"
        )
    if settings.cycles > 1 and budget > settings.subset:
        raise ConfigError(
            f"{where}: budget {budget} is larger than the scored subset ({settings.subset}); "
            "raise `subset` or lower `budget`"
        )
    return SettingPlan(settings.name, ratio, pool_size, initial, budget, final)
