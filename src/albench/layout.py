"""Where every result lives: the one place a result path is spelled.

The workflow rules (``workflow/rules/*.smk``) build their inputs and outputs
from these patterns (Snakemake wildcards in braces), and the aggregation and
the report find runs through :meth:`RunKey.dir`::

    results/<experiment>/<dataset>/ir<IR>/seed<S>/pool.json
    results/<experiment>/<dataset>/ir<IR>/seed<S>/initial.json
    results/<experiment>/<dataset>/ir<IR>/seed<S>/<sampler>/cycle<K>/{metrics.json,...}
    results/<experiment>/<dataset>/ir<IR>/seed<S>/full/metrics.json     all-data reference
    results/<experiment>/<dataset>/ir<IR>/seed<S>/initial_training/<signature>/   shared cycle 0
    results/<experiment>/summary/{cycles,reference}.csv                 tidy tables
    reports/<experiment>/                                               figures, tables, notes

Torch-free: the workflow imports this while parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESULTS = "results"
SETTING = "{experiment}/{dataset}/ir{ir}/seed{seed}"
POOL = SETTING + "/pool.json"
INITIAL = SETTING + "/initial.json"
CYCLE = SETTING + "/{sampler}/cycle{cycle}"
REFERENCE = SETTING + "/full"
INITIAL_TRAINING = SETTING + "/initial_training/{signature}"  # cycle 0 shared by samplers
SUMMARY = "{experiment}/summary"
REPORT = "reports/{experiment}"


def format_ratio(ratio: float) -> str:
    """``10.0`` → ``"10"``, ``2.5`` → ``"2.5"`` (the ``ir`` path component)."""
    return f"{float(ratio):g}"


@dataclass(frozen=True, order=True)
class RunKey:
    """One run of the grid: a cycle of a sampler, or (``sampler=None``) the full-pool reference."""

    experiment: str
    dataset: str
    ir: float
    seed: int
    sampler: str | None = None  # None = the full-pool reference run
    cycle: int = 0

    @property
    def is_reference(self) -> bool:
        return self.sampler is None

    @property
    def wildcards(self) -> dict[str, str]:
        values = {
            "experiment": self.experiment,
            "dataset": self.dataset,
            "ir": format_ratio(self.ir),
            "seed": str(self.seed),
        }
        if self.sampler is not None:
            values |= {"sampler": self.sampler, "cycle": str(self.cycle)}
        return values

    def dir(self, root: str | Path = RESULTS) -> Path:
        """The run's output folder under ``root``."""
        pattern = REFERENCE if self.sampler is None else CYCLE
        return Path(root) / pattern.format(**self.wildcards)

    def initial_training_dir(self, signature: str, root: str | Path = RESULTS) -> Path:
        """The folder of the cycle-0 training shared by the samplers of ``signature``."""
        return Path(root) / INITIAL_TRAINING.format(**self.wildcards, signature=signature)

    def setting_dir(self, root: str | Path = RESULTS) -> Path:
        """The folder of the run's pool and initial set (shared by every sampler)."""
        return Path(root) / SETTING.format(**self.wildcards)
