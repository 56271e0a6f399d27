"""Whole-config checks that run before any job: samplers, models, budgets against pool sizes.

``check_config`` raises :class:`~albench.config.ConfigError` naming the key and
the valid values, so a typo or a budget that cannot fit the pool stops the
workflow at parse time instead of hours into a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from albench.config import Config, ConfigError
from albench.pools import pool_class_sizes, resolve_size


@dataclass(frozen=True)
class SettingPlan:
    """The sizes of one dataset × IR setting."""

    dataset: str
    imbalance_ratio: float
    pool_size: int | None  # None when the class counts are unknown before preparation
    initial: int | None
    budget: int | None
    final_labeled: int | None


def _class_counts(config: Config, dataset: str) -> list[int] | None:
    from albench.data import get_dataset_spec
    from albench.io import read_json

    meta = Path(config.cache_dir) / dataset / "meta.json"
    if meta.exists():
        return list(read_json(meta)["splits"]["train"]["class_counts"])
    counts = get_dataset_spec(dataset, config.custom_datasets).train_class_counts
    return list(counts) if counts is not None else None


def check_config(config: Config) -> list[SettingPlan]:
    """Validate everything that can be checked without training; return the per-setting sizes."""
    from albench.cycle import cycle_settings
    from albench.models.registry import model_names
    from albench.samplers import get_sampler, sampler_names

    valid_samplers = sampler_names()
    for name in config.samplers:
        if name not in valid_samplers:
            raise ConfigError(
                f"config.samplers: unknown sampler {name!r}; valid samplers: {', '.join(valid_samplers)}"
            )
    if len(set(config.samplers)) != len(config.samplers):
        raise ConfigError(f"config.samplers: duplicates in {config.samplers}")
    aux_keys = {"tidal_module", "ll4al_module"}
    for name, params in config.sampler_params.items():
        if name in aux_keys:
            continue
        if name not in valid_samplers:
            raise ConfigError(
                f"config.sampler_params: unknown sampler {name!r}; valid keys: "
                f"{', '.join(sorted([*valid_samplers, *aux_keys]))}"
            )
        try:
            get_sampler(name, **(params or {}))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config.sampler_params.{name}: {exc}") from None

    plans = []
    for dataset, dcfg in config.datasets.items():
        settings = cycle_settings(config, dataset)
        if settings.model not in model_names():
            raise ConfigError(
                f"datasets.{dataset}.model: unknown model {settings.model!r}; "
                f"valid models: {', '.join(model_names())}"
            )
        counts = _class_counts(config, dataset)
        for ratio in dcfg.imbalance_ratios:
            plans.append(_check_setting(config, dataset, ratio, settings, counts))
    return plans


def _check_setting(config, dataset, ratio, settings, counts) -> SettingPlan:
    where = f"datasets.{dataset} (IR {ratio:g})"
    if counts is None:
        return SettingPlan(dataset, ratio, None, None, None, None)
    dcfg = config.datasets[dataset]
    try:
        reserved, drawn, _ = pool_class_sizes(
            counts, imbalance_ratio=ratio, profile=dcfg.pool.profile,
            reserve_per_class=dcfg.pool.reserve_per_class, head_order=dcfg.pool.head_order,
            n_max=dcfg.pool.n_max,
        )  # fmt: skip
        pool_size = sum(reserved) + sum(drawn)
        initial = resolve_size(dcfg.initial.size, dcfg.initial.fraction, pool_size,
                               f"{where}.initial")  # fmt: skip
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if initial < sum(reserved):
        raise ConfigError(
            f"{where}.initial: {initial} samples cannot hold the {sum(reserved)} reserved seeds "
            f"(pool.reserve_per_class={dcfg.pool.reserve_per_class})"
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
    return SettingPlan(dataset, ratio, pool_size, initial, budget, final)
