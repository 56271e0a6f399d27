"""Where every result lives. The workflow (``workflow/rules/common.smk``) and the
aggregation read these patterns from here, so paths are defined once.

    results/<experiment>/<dataset>/ir<IR>/seed<S>/pool.json
    results/<experiment>/<dataset>/ir<IR>/seed<S>/initial.json
    results/<experiment>/<dataset>/ir<IR>/seed<S>/<sampler>/cycle<K>/{metrics.json,...}
    results/<experiment>/<dataset>/ir<IR>/seed<S>/full/metrics.json     all-data reference
    results/<experiment>/summary/cycles.csv                            tidy table
"""

from __future__ import annotations

from pathlib import Path

SETTING = "{experiment}/{dataset}/ir{ir}/seed{seed}"
POOL = SETTING + "/pool.json"
INITIAL = SETTING + "/initial.json"
CYCLE_DIR = SETTING + "/{sampler}/cycle{cycle}"
REFERENCE_DIR = SETTING + "/full"
SUMMARY_DIR = "{experiment}/summary"


def format_ratio(ratio: float) -> str:
    """``10.0`` → ``"10"``, ``2.5`` → ``"2.5"`` (the ``ir`` path component)."""
    return f"{float(ratio):g}"


def setting_dir(root: str | Path, experiment: str, dataset: str, ratio: float, seed: int) -> Path:
    return Path(root) / SETTING.format(experiment=experiment, dataset=dataset,
                                       ir=format_ratio(ratio), seed=seed)  # fmt: skip


def cycle_dir(root, experiment, dataset, ratio, seed, sampler, cycle) -> Path:
    return setting_dir(root, experiment, dataset, ratio, seed) / sampler / f"cycle{cycle}"
