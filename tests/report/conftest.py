"""A small synthetic result store (summary CSVs, metrics.json, candidates.csv) for report tests.

Three settings (toy IR 1, toy IR 10, other IR 1) × 5 samplers × 3 seeds × 3 cycles
(budgets 20/40/60). Accuracy = 0.40 + 0.10·cycle + 0.01·seed + a per-sampler gain
per cycle (random 0, td_entropy 0.01, tidal_random 0.02, entropy 0.03,
tidal_entropy 0.05) + a small fixed jitter, so every analysis has a known ordering.
Roles as in the registry: td_entropy is a reference, tidal_random the control of
tidal_entropy (so TiDAL's selection effect is 0.03 per cycle and its training
effect 0.02). Two runs are not ``ok``: entropy seed 2 cycle 2 of toy IR 10 is
missing, random seed 1 cycle 1 of other IR 1 failed; the full-data run of other
IR 1 seed 2 is missing. Times: train 1 + 0.5·cycle s (+1 s with a TiDAL module),
score 0.2 s and select 0.01 s on querying cycles (0 on the last), peak RSS
500 + 10·seed MB; 4 epochs and 2·num_labeled/10 optimizer steps per cycle.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from albench.aggregate import KEY_COLUMNS, MEASURE_COLUMNS

EXPERIMENT = "synth"
SETTINGS = [("toy", 1.0), ("toy", 10.0), ("other", 1.0)]
SAMPLERS = ["random", "entropy", "tidal_entropy", "td_entropy", "tidal_random"]
GAIN = {
    "random": 0.0,
    "entropy": 0.03,
    "tidal_entropy": 0.05,
    "td_entropy": 0.01,
    "tidal_random": 0.02,
}
ROLE = {"td_entropy": "reference", "tidal_random": "control"}
CONTROL = {"tidal_entropy": "tidal_random"}
MODULE = ("tidal_entropy", "tidal_random")  # samplers that train TiDAL's module
SEEDS = [0, 1, 2]
CYCLES = [0, 1, 2]
BUDGETS = {0: 20, 1: 40, 2: 60}
MISSING = {("toy", 10.0, "entropy", 2, 2): "missing", ("other", 1.0, "random", 1, 1): "failed"}
MISSING_REFERENCE = ("other", 1.0, 2)
N_CANDIDATES = 60


def synthetic_accuracy(sampler: str, seed: int, cycle: int) -> float:
    jitter = 0.002 * ((seed * 7 + SAMPLERS.index(sampler) * 3 + cycle) % 5)
    return 0.40 + 0.10 * cycle + 0.01 * seed + GAIN[sampler] * cycle + jitter


def _candidates(sampler: str, seed: int, ratio: float) -> pd.DataFrame:
    rng = np.random.default_rng(100 * seed + SAMPLERS.index(sampler))
    labels = rng.integers(0, 10, N_CANDIDATES)
    entropy = rng.uniform(0, 2.3, N_CANDIDATES)
    correct = rng.uniform(0, 2.3, N_CANDIDATES) > entropy  # uncertain samples are mostly wrong
    frame = pd.DataFrame(
        {
            "index": np.arange(N_CANDIDATES) * 3,
            "label": labels,
            "predicted": np.where(correct, labels, (labels + 1) % 10),
            "correct": correct,
            "is_tail": labels >= 5 if ratio > 1 else np.zeros(N_CANDIDATES, bool),
            "selected": np.arange(N_CANDIDATES) < 10,
            "entropy": entropy,
            "margin": -rng.uniform(0, 1, N_CANDIDATES),
            "least_confidence": entropy / 2.3,
        }
    )
    if sampler in ("tidal_entropy", "td_entropy", "tidal_random"):
        frame["td_entropy"] = entropy * 0.8 + rng.uniform(0, 0.3, N_CANDIDATES)
        frame["td_margin"] = frame["margin"] * 0.7
    if sampler in MODULE:
        frame["tidal_entropy"] = entropy * 0.5
        frame["tidal_margin"] = frame["margin"] * 0.5
    own = rng.uniform(0, 1, N_CANDIDATES) if sampler in ("random", "tidal_random") else None
    frame[f"sampler_{sampler}"] = own if own is not None else frame[sampler]
    return frame


def build_synthetic_results(root: Path) -> Path:
    """Write the synthetic store under ``root/<EXPERIMENT>``; return its summary folder."""
    rows, refs = [], []
    for dataset, ratio in SETTINGS:
        setting = root / EXPERIMENT / dataset / f"ir{ratio:g}"
        for seed in SEEDS:
            for sampler in SAMPLERS:
                for cycle in CYCLES:
                    key = dict(
                        zip(
                            KEY_COLUMNS,
                            (EXPERIMENT, dataset, ratio, sampler, seed, cycle),
                            strict=True,
                        )
                    )
                    status = MISSING.get((dataset, ratio, sampler, seed, cycle), "ok")
                    if status != "ok":
                        rows.append({**key, "status": status, "error": f"synthetic {status}"})
                        continue
                    acc = synthetic_accuracy(sampler, seed, cycle)
                    queries = cycle < CYCLES[-1]
                    train = 1.0 + 0.5 * cycle + (1.0 if sampler in MODULE else 0.0)
                    rows.append(
                        {
                            **key,
                            "status": "ok",
                            "role": ROLE.get(sampler, "method"),
                            "control": CONTROL.get(sampler),
                            "num_labeled": BUDGETS[cycle],
                            "accuracy": acc,
                            "balanced_accuracy": acc - 0.02,
                            "train_epochs": 4,
                            "train_steps": 2 * BUDGETS[cycle] // 10,
                            "train_time_s": train,
                            "score_time_s": 0.2 if queries else 0.0,
                            "select_time_s": 0.01 if queries else 0.0,
                            "total_time_s": train + (0.21 if queries else 0.0) + 0.1,
                            "peak_rss_mb": 500.0 + 10 * seed,
                        }
                    )
                    run = setting / f"seed{seed}" / sampler / f"cycle{cycle}"
                    run.mkdir(parents=True, exist_ok=True)
                    diagnostics = {}
                    if sampler in ("td_entropy", *MODULE) and cycle < CYCLES[-1]:
                        diagnostics["kl_actual_vs_snapshot"] = 0.05 + 0.001 * seed
                        if sampler in MODULE:
                            diagnostics["kl_actual_vs_predicted"] = 0.02 - 0.005 * cycle
                            diagnostics["kl_actual_train_vs_snapshot"] = 0.06 + 0.001 * seed
                            diagnostics["kl_actual_train_vs_predicted"] = 0.03 + 0.002 * seed
                    (run / "metrics.json").write_text(json.dumps({"diagnostics": diagnostics}))
                    if cycle == 0:
                        _candidates(sampler, seed, ratio).to_csv(
                            run / "candidates.csv", index=False
                        )
            ok = (dataset, ratio, seed) != MISSING_REFERENCE
            refs.append(
                {
                    "experiment": EXPERIMENT,
                    "dataset": dataset,
                    "imbalance_ratio": ratio,
                    "seed": seed,
                    "status": "ok" if ok else "missing",
                    "num_labeled": 1000 if ok else None,
                    "accuracy": 0.90 + 0.01 * seed if ok else None,
                    "balanced_accuracy": 0.88 if ok else None,
                }
            )
    summary = root / EXPERIMENT / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=KEY_COLUMNS + MEASURE_COLUMNS).to_csv(
        summary / "cycles.csv", index=False
    )
    ref_columns = ["experiment", "dataset", "imbalance_ratio", "seed", *MEASURE_COLUMNS]
    pd.DataFrame(refs).reindex(columns=ref_columns).to_csv(summary / "reference.csv", index=False)
    return summary


@pytest.fixture(scope="session")
def synthetic():
    """The store's design (gains, samplers, accuracy formula), for tests to compute expectations."""
    return SimpleNamespace(
        samplers=SAMPLERS,
        gain=GAIN,
        role=ROLE,
        control=CONTROL,
        accuracy=synthetic_accuracy,
        build=build_synthetic_results,
    )


@pytest.fixture(scope="module")
def synthetic_summary(tmp_path_factory) -> Path:
    return build_synthetic_results(tmp_path_factory.mktemp("synthetic-results"))


@pytest.fixture(scope="module")
def built_report(synthetic_summary: Path, tmp_path_factory) -> tuple[Path, list[Path]]:
    from albench.config import ReportConfig
    from albench.report.build import build_report

    out = tmp_path_factory.mktemp("report")
    options = ReportConfig(n_resamples=2000)
    return out, build_report(synthetic_summary, synthetic_summary.parents[1], out, options)


@pytest.fixture
def fast_figures(monkeypatch):
    """Skip rendering (the slow part of a report) in tests that only read tables and notes."""
    from albench.report import figures

    def save(fig, stem, tight=False):
        paths = [Path(f"{stem}.{ext}") for ext in ("png", "pdf")]
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"not rendered in this test")
        return paths

    monkeypatch.setattr(figures, "save", save)
