"""The experiment configuration: typed, strictly validated, hashable.

A config file is YAML with this shape (see ``config/config.yaml``)::

    experiment: default          # name of the results/<experiment>/ folder
    seeds: [0, 1, 2]              # one repetition per seed: pool, initial set and model
    samplers: [random, entropy]   # query strategies (``albench samplers``)
    device: auto                  # auto | cpu | cuda | cuda:N
    cache_dir: resources/datasets # canonical dataset caches
    datasets:                     # one entry per dataset in the grid
      fashion_mnist:
        imbalance_ratios: [1, 10]
        pool: {profile: exp, reserve_per_class: 1, head_order: null, n_max: null}
        initial: {size: 500, strategy: random}   # or fraction: 0.01
        ...                       # training/cycle keys, validated by later stages
    custom_datasets: {}           # user image folders, see albench.data.sources.imagefolder

Unknown keys are errors that name the key and list the valid ones, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from albench.pools import INITIAL_STRATEGIES, PROFILES, validate_ratio


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the valid values."""


def _check_keys(section: Mapping[str, Any], valid: set[str], where: str) -> None:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(section).__name__}")
    unknown = sorted(set(section) - valid)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(valid))}"
        )


# Characters a path in the config may not hold: control characters (a newline or NUL is a
# typo or an attack, never a folder name) and shell expansion, which albench never performs
# (so "$HOME/data" would be a folder literally named "$HOME").
_PATH_FORBIDDEN = {"$": "a '$' (environment variables are not expanded; write the path out)",
                   "`": "a backtick (commands are not run; write the path out)"}  # fmt: skip
PATH_KEYS = ("root", "test_root")
NAME_PATTERN = r"[A-Za-z0-9_]+"  # dataset names: folder names and workflow wildcards  # path-like keys of a custom_datasets entry


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


@dataclass(frozen=True)
class PoolConfig:
    profile: str = "exp"  # exp | step
    reserve_per_class: int = 1  # seeds per class kept out of the imbalance draw (TiDAL: 1)
    head_order: list[int] | None = None  # class indices, head first; None = label order
    n_max: int | None = None  # samples of the largest class; None = ⌊|pool|/C⌋

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> PoolConfig:
        _check_keys(data, {f.name for f in fields(cls)}, where)
        cfg = cls(**data)
        if cfg.profile not in PROFILES:
            raise ConfigError(
                f"{where}.profile: {cfg.profile!r} is not one of {', '.join(PROFILES)}"
            )
        if not isinstance(cfg.reserve_per_class, int) or cfg.reserve_per_class < 0:
            raise ConfigError(
                f"{where}.reserve_per_class: must be an integer >= 0, got {cfg.reserve_per_class!r}"
            )
        return cfg


@dataclass(frozen=True)
class InitialConfig:
    size: int | None = None  # number of labeled samples at cycle 0
    fraction: float | None = None  # or a fraction of the pool
    strategy: str = "random"  # random | balanced

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> InitialConfig:
        _check_keys(data, {f.name for f in fields(cls)}, where)
        cfg = cls(**data)
        if (cfg.size is None) == (cfg.fraction is None):
            raise ConfigError(f"{where}: give exactly one of `size` or `fraction`")
        if cfg.strategy not in INITIAL_STRATEGIES:
            raise ConfigError(
                f"{where}.strategy: {cfg.strategy!r} is not one of {', '.join(INITIAL_STRATEGIES)}"
            )
        return cfg


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    imbalance_ratios: list[float] = field(default_factory=lambda: [1])
    pool: PoolConfig = field(default_factory=PoolConfig)
    initial: InitialConfig = field(default_factory=lambda: InitialConfig(fraction=0.1))
    settings: dict[str, Any] = field(default_factory=dict)  # cycle/training keys

    POOL_KEYS = frozenset({"imbalance_ratios", "pool", "initial"})

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any], extra_keys: set[str]) -> DatasetConfig:
        where = f"datasets.{name}"
        _check_keys(data, set(cls.POOL_KEYS) | extra_keys, where)
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
        return cls(
            name=name,
            imbalance_ratios=[float(r) for r in ratios],
            pool=PoolConfig.from_dict(data.get("pool", {}), f"{where}.pool"),
            initial=InitialConfig.from_dict(
                data.get("initial", {"fraction": 0.1}), f"{where}.initial"
            ),
            settings={k: v for k, v in data.items() if k not in cls.POOL_KEYS},
        )


# Keys of a dataset entry handled by the cycle (training engine); validated there.
CYCLE_KEYS = {
    "model", "budget", "budget_fraction", "cycles", "subset", "warm_start", "diagnostics", "train",
    "reference_train",
}  # fmt: skip


@dataclass(frozen=True)
class Config:
    experiment: str
    datasets: dict[str, DatasetConfig]
    seeds: list[int] = field(default_factory=lambda: [0])
    samplers: list[str] = field(default_factory=lambda: ["random"])
    device: str = "auto"
    cache_dir: str = "resources/datasets"
    download: bool = False  # allow dataset downloads in the workflow's prepare step
    custom_datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    sampler_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    TOP_KEYS = frozenset(
        {"experiment", "datasets", "seeds", "samplers", "device", "cache_dir", "download",
         "custom_datasets", "sampler_params", "report"}
    )  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        _check_keys(data, set(cls.TOP_KEYS), "config")
        if "experiment" not in data or not str(data["experiment"]).strip():
            raise ConfigError("config: `experiment` (the results folder name) is required")
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
        datasets = data.get("datasets") or {}
        if not datasets:
            raise ConfigError("config.datasets: at least one dataset is required")
        custom = dict(data.get("custom_datasets") or {})
        for name, entry in custom.items():
            if not re.fullmatch(NAME_PATTERN, str(name)):
                raise ConfigError(
                    f"config.custom_datasets: dataset name {name!r} must match {NAME_PATTERN} "
                    "(letters, digits and underscores: it becomes a folder and a wildcard)"
                )
            for key in PATH_KEYS:
                if isinstance(entry, Mapping) and entry.get(key) is not None:
                    check_path(entry[key], f"config.custom_datasets.{name}.{key}")
        cache_dir = check_path(data.get("cache_dir", "resources/datasets"), "config.cache_dir")
        from albench.data import dataset_names

        known = set(dataset_names()) | set(custom)
        for name in datasets:
            if name not in known:
                raise ConfigError(
                    f"config.datasets: unknown dataset {name!r}; valid datasets: "
                    f"{', '.join(sorted(known))} (add your own under custom_datasets)"
                )
        return cls(
            experiment=str(data["experiment"]),
            datasets={
                name: DatasetConfig.from_dict(name, entry or {}, CYCLE_KEYS)
                for name, entry in datasets.items()
            },
            seeds=list(seeds),
            samplers=list(data.get("samplers", ["random"])),
            device=str(data.get("device", "auto")),
            cache_dir=cache_dir,
            download=bool(data.get("download", False)),
            custom_datasets=custom,
            sampler_params=dict(data.get("sampler_params") or {}),
            raw=dict(data),
        )

    def dataset(self, name: str) -> DatasetConfig:
        if name not in self.datasets:
            raise ConfigError(
                f"dataset {name!r} is not in this config; configured: {', '.join(self.datasets)}"
            )
        return self.datasets[name]


def load_config(path: str | Path) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_hash(section: Any) -> str:
    """sha256 of the canonical JSON of a config (sub)section: the provenance key of a result."""
    canonical = json.dumps(section, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
