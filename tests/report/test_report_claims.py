"""Claim verdicts on constructed inputs: one case per verdict, intervals checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from albench.report import claims as c
from albench.report.metrics import IntervalSpec

MARGINS = {"claim_margin": 0.5, "claim_kl_margin": 0.01}
EMPTY_DIAGNOSTICS = pd.DataFrame(
    columns=["dataset", "imbalance_ratio", "sampler", "seed", "cycle", "predicted", "snapshot"]
)


def _aubc(values: dict[str, list[float]], ratio: float = 1.0, dataset: str = "d") -> pd.DataFrame:
    """One AUBC row per sampler × seed (AUBC in [0, 1])."""
    rows = [
        {"dataset": dataset, "imbalance_ratio": ratio, "sampler": s, "seed": k, "aubc": v}
        for s, series in values.items()
        for k, v in enumerate(series)
    ]
    return pd.DataFrame(rows)


def _cycles(aubc: pd.DataFrame) -> pd.DataFrame:
    """A cycles.csv with two cycles per run, for the scale lines."""
    rows = []
    for row in aubc.itertuples():
        for cycle, budget in ((0, 100), (1, 200)):
            rows.append(
                {
                    "experiment": "x",
                    "dataset": row.dataset,
                    "imbalance_ratio": row.imbalance_ratio,
                    "sampler": row.sampler,
                    "seed": row.seed,
                    "cycle": cycle,
                    "status": "ok",
                    "num_labeled": budget,
                    "accuracy": row.aubc,
                    "train_epochs": 30,
                    "train_steps": 5 * budget,
                }
            )
    return pd.DataFrame(rows)


def _evaluate(aubc, diagnostics=EMPTY_DIAGNOSTICS, candidates=None, final=None, margins=MARGINS):
    cycles = _cycles(aubc)
    if final is None:
        final = cycles[cycles["cycle"] == 1]
    inputs = c.ClaimInputs(
        cycles, aubc, final, diagnostics, candidates or {}, "accuracy", {"d": "resnet18"}
    )
    results = c.evaluate_claims(inputs, IntervalSpec(), 0.05, margins)
    return {r.spec.key: r for r in results}


def _t(values, level):
    values = np.asarray(values, float)
    half = stats.t.ppf((1 + level) / 2, values.size - 1) * values.std(ddof=1)
    half /= math.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def test_comparison_rule():
    assert c.comparison_verdict(1.0, 0.2, 1.8, 0.5) == c.SUPPORTED
    assert c.comparison_verdict(-1.0, -1.8, -0.2, 0.5) == c.NOT_SUPPORTED
    assert c.comparison_verdict(-0.1, -0.3, 0.1, 0.5) == c.NOT_SUPPORTED  # rules out >= margin
    assert c.comparison_verdict(0.1, -0.3, 0.4, 0.5) == c.INCONCLUSIVE  # estimate > 0
    assert c.comparison_verdict(-0.1, -0.3, 0.6, 0.5) == c.INCONCLUSIVE  # margin not excluded
    assert c.comparison_verdict(-0.1, -0.3, 0.1, 0.0) == c.INCONCLUSIVE  # no margin
    assert c.comparison_verdict(0.4, math.nan, math.nan, 0.5) == c.INCONCLUSIVE  # one seed
    assert c.claim_verdict([c.SUPPORTED, c.SUPPORTED]) == c.SUPPORTED
    assert c.claim_verdict([c.SUPPORTED, c.INCONCLUSIVE]) == c.INCONCLUSIVE
    assert c.claim_verdict([c.SUPPORTED, c.NOT_SUPPORTED, c.INCONCLUSIVE]) == c.NOT_SUPPORTED
    assert c.claim_verdict([]) == c.NOT_TESTABLE


def test_supported_when_every_bonferroni_interval_lies_above_zero():
    # TiDAL(H) beats entropy and margin by 3 points on every seed (± 0.2): 2 comparisons.
    noise = [0.002, -0.001, 0.0, 0.001, -0.002]
    aubc = _aubc(
        {
            "entropy": [0.60 + 0.01 * k for k in range(5)],
            "margin": [0.61 + 0.01 * k for k in range(5)],
            "tidal_entropy": [0.64 + 0.01 * k + e for k, e in enumerate(noise)],
        }
    )
    a = _evaluate(aubc)["a"]
    assert a.verdict == c.SUPPORTED and a.level == pytest.approx(1 - 0.05 / 2)
    entropy = next(x for x in a.comparisons if x.worse == "entropy")
    diffs = 100 * (0.04 + np.array(noise))
    assert entropy.estimate == pytest.approx(diffs.mean())
    assert (entropy.low, entropy.high) == pytest.approx(_t(diffs, 0.975))
    assert entropy.low > 0 and entropy.verdict == c.SUPPORTED
    assert a.scale == [
        "d, IR 1: resnet18, 30 epochs per cycle, 500–1000 optimizer steps per cycle, "
        "100 → 200 labels, 5 seeds"
    ]


def test_not_supported_when_an_interval_lies_below_zero_or_rules_out_the_margin():
    noise = [0.002, -0.001, 0.0, 0.001, -0.002]
    worse = _aubc(
        {
            "entropy": [0.60 + 0.01 * k for k in range(5)],
            "tidal_margin": [0.57 + 0.01 * k + e for k, e in enumerate(noise)],
        }
    )
    a = _evaluate(worse)["a"]
    assert a.verdict == c.NOT_SUPPORTED and a.comparisons[0].high < 0
    # A null effect measured precisely: estimate −0.04 points, interval well inside ±0.5.
    tiny = [0.0002, -0.0004, -0.0001, -0.0003, -0.0004]
    null = _aubc(
        {
            "entropy": [0.60 + 0.01 * k for k in range(5)],
            "tidal_entropy": [0.60 + 0.01 * k + e for k, e in enumerate(tiny)],
        }
    )
    comparison = _evaluate(null)["a"].comparisons[0]
    assert comparison.estimate < 0 and comparison.low < 0 < comparison.high < 0.5
    assert comparison.verdict == c.NOT_SUPPORTED
    # ... which stays inconclusive when the claim counts any positive effect (margin 0).
    zero = _evaluate(null, margins={**MARGINS, "claim_margin": 0.0})["a"]
    assert zero.verdict == c.INCONCLUSIVE


def test_inconclusive_with_three_noisy_seeds_and_with_one_seed():
    aubc = _aubc({"entropy": [0.60, 0.62, 0.61], "tidal_entropy": [0.63, 0.60, 0.64]})
    a = _evaluate(aubc)["a"]
    comparison = a.comparisons[0]
    diffs = 100 * np.array([0.03, -0.02, 0.03])
    assert (comparison.low, comparison.high) == pytest.approx(_t(diffs, 0.95))
    assert comparison.low < 0 < comparison.estimate and a.verdict == c.INCONCLUSIVE
    single = _evaluate(_aubc({"entropy": [0.60], "tidal_entropy": [0.70]}))["a"]
    assert single.verdict == c.INCONCLUSIVE and math.isnan(single.comparisons[0].low)


def test_not_testable_without_the_samplers_or_settings_it_needs():
    no_tidal = _evaluate(_aubc({"entropy": [0.6, 0.7], "random": [0.5, 0.6]}))
    assert no_tidal["a"].verdict == c.NOT_TESTABLE
    assert no_tidal["a"].reason.startswith("no tidal_entropy or tidal_margin run")
    assert no_tidal["c"].reason.startswith("no cycle recorded the KL diagnostics")
    assert no_tidal["d"].reason.startswith("no dispersion run")
    assert no_tidal["e"].reason == "no cycle-0 candidates.csv of a dispersion run"
    no_rival = _evaluate(_aubc({"tidal_entropy": [0.6, 0.7]}))["a"]
    assert no_rival.reason == (
        "none of entropy, margin, least_confidence, bald ran (with an AUBC (all cycles finished))"
    )
    balanced_only = _evaluate(_aubc({"entropy": [0.6, 0.7], "tidal_entropy": [0.7, 0.8]}))
    assert balanced_only["b"].verdict == c.NOT_TESTABLE
    assert balanced_only["b"].reason == ("no long-tailed (IR > 1) setting with a tidal_entropy run")


def test_predicted_td_claim_uses_tidal_s_own_view_and_reports_the_other():
    rows = []
    for seed in range(4):
        for cycle in (0, 1):
            rows.append(
                {
                    "dataset": "d",
                    "imbalance_ratio": 1.0,
                    "sampler": "tidal_entropy",
                    "seed": seed,
                    "cycle": cycle,
                    "num_labeled": 100,
                    "predicted": 0.30 + 0.01 * seed,  # clean view: predicted is worse
                    "snapshot": 0.20,
                    "predicted_train": 0.10 + 0.01 * cycle,  # train view: predicted is better
                    "snapshot_train": 0.30 + 0.005 * seed,
                }
            )
    aubc = _aubc({"tidal_entropy": [0.6] * 4})
    claim = _evaluate(aubc, diagnostics=pd.DataFrame(rows))["c"]
    primary = [x for x in claim.comparisons if x.primary]
    secondary = [x for x in claim.comparisons if not x.primary]
    assert [x.view for x in primary] == ["train view"] and claim.level == 0.95
    # Per seed: 0.30 + 0.005·seed − mean(0.10, 0.11) = 0.195 + 0.005·seed.
    assert primary[0].values.tolist() == pytest.approx([0.195, 0.2, 0.205, 0.21])
    assert claim.verdict == c.SUPPORTED
    assert secondary[0].view == "clean view" and secondary[0].verdict == c.NOT_SUPPORTED
    without_train = pd.DataFrame(rows).drop(columns=["predicted_train", "snapshot_train"])
    clean_only = _evaluate(aubc, diagnostics=without_train)["c"]
    assert [x.view for x in clean_only.comparisons] == ["clean view"]
    assert clean_only.verdict == c.NOT_SUPPORTED


def test_dispersion_claims_at_the_final_budget_and_on_the_candidates():
    final = pd.DataFrame(
        [
            {"dataset": "d", "imbalance_ratio": 1.0, "sampler": s, "seed": k, "accuracy": a}
            for s, accs in {
                "random": [0.80, 0.81, 0.82],
                "entropy": [0.805, 0.80, 0.83],
                "dispersion": [0.83, 0.84, 0.85],
            }.items()
            for k, a in enumerate(accs)
        ]
    )
    # Candidates: dispersion puts the wrong predictions first, entropy ranks them last.
    correct = np.array([False] * 5 + [True] * 15)
    candidates = {
        ("d", 1.0, seed, "dispersion"): pd.DataFrame(
            {
                "correct": correct,
                "sampler_dispersion": np.linspace(1, 0, 20) + 0.001 * seed,
                "entropy": np.linspace(0, 1, 20),
            }
        )
        for seed in range(3)
    }
    aubc = _aubc({"dispersion": [0.6] * 3})
    claims = _evaluate(aubc, final=final, candidates=candidates)
    d = claims["d"]
    assert [x.worse for x in d.comparisons] == ["random", "entropy"]
    vs_random = d.comparisons[0]
    assert vs_random.values.tolist() == pytest.approx([3.0, 3.0, 3.0])
    assert vs_random.verdict == c.SUPPORTED  # constant +3 points: a degenerate interval
    assert d.comparisons[1].verdict == c.INCONCLUSIVE and d.verdict == c.INCONCLUSIVE
    e = claims["e"]
    (comparison,) = e.comparisons
    assert comparison.label == "dispersion ranking − entropy ranking"
    x = np.linspace(0.01, 1.0, 100)
    k = np.maximum(1, np.ceil(x * 20 - 1e-9)).astype(int)
    # Dispersion's top k holds min(k, 5) wrong ones; entropy's top k holds max(0, k − 15).
    dispersion = 1 - np.minimum(k, 5) / k
    entropy = 1 - np.maximum(0, k - 15) / k
    expected = 100 * float(np.mean(entropy - dispersion))
    assert comparison.values.tolist() == pytest.approx([expected] * 3)
    assert e.verdict == c.SUPPORTED


def test_claims_frame_and_markdown_state_every_comparison_and_the_rule():
    aubc = _aubc({"entropy": [0.60, 0.62, 0.61], "tidal_entropy": [0.63, 0.60, 0.64]})
    results = list(_evaluate(aubc).values())
    frame = c.claims_frame(results)
    assert frame["claim"].tolist() == ["a", "b", "c", "d", "e"]
    assert frame.loc[0, "verdict"] == c.INCONCLUSIVE and frame.loc[0, "n_seeds"] == 3
    from albench.config import ReportConfig

    text = c.claims_markdown(results, "x", ReportConfig())
    assert "| (a) TiDAL(H) and TiDAL(M) beat" in text and "**inconclusive at this scale**" in text
    assert "level 1 − α/m (Bonferroni)" in text
    assert "- why: no long-tailed (IR > 1) setting with a tidal_entropy run" in text
    assert "| d, IR 1 | tidal_entropy − entropy | 3 | +1.33 |" in text


def test_the_deciding_comparison_is_the_one_the_verdict_rests_on():
    def comparison(name, values):
        return c.Comparison(("d", 1.0), name, "entropy", "", np.array(values), list(range(5)))

    spec = c.CLAIMS[0]
    good = [5.0, 5.1, 4.9, 5.2, 4.8]
    bad = [-3.0, -3.1, -2.9, -3.2, -2.8]
    noisy = [1.0, -2.0, 3.0, -1.0, 2.0]
    verdict = c.decide(
        spec,
        [comparison("A", good), comparison("B", bad), comparison("C", noisy)],
        IntervalSpec(),
        0.05,
        0.5,
    )
    assert verdict.verdict == c.NOT_SUPPORTED and verdict.deciding().better == "B"
    assert verdict.level == pytest.approx(1 - 0.05 / 3)
    mixed = c.decide(
        spec, [comparison("A", good), comparison("C", noisy)], IntervalSpec(), 0.05, 0.5
    )
    assert mixed.verdict == c.INCONCLUSIVE and mixed.deciding().better == "C"
    alone = c.decide(spec, [comparison("A", good)], IntervalSpec(), 0.05, 0.5)
    assert alone.verdict == c.SUPPORTED and alone.deciding().better == "A"
    boot = c.decide(spec, [comparison("A", good)], IntervalSpec("bootstrap"), 0.05, 0.5)
    assert boot.comparisons[0].method == "t"  # verdicts never use the percentile bootstrap
