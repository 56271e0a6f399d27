"""Intervals over seeds: hand-computed values, labels, and coverage on simulated data.

The coverage test is the reason the default interval is Student t: on normal draws
it covers the true mean at the nominal 95 % for n = 3, 5 and 10 seeds, while the
percentile bootstrap covers about 75 % at n = 3 (it is then [min, max]: the mean
lies outside when all three draws fall on one side, probability 2 · (1/2)³).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from albench.config import ReportConfig
from albench.report import metrics as m

REPLICATIONS = 4000
SEED = 20261202
MU, SIGMA = 1.0, 2.0


def _coverage(interval, n: int, replications: int = REPLICATIONS) -> float:
    draws = np.random.default_rng(SEED + n).normal(MU, SIGMA, size=(replications, n))
    hits = 0
    for k, row in enumerate(draws):
        low, high = interval(row, k)
        hits += low <= MU <= high
    return hits / replications


@pytest.mark.parametrize("n", [3, 5, 10])
def test_t_interval_covers_at_the_nominal_level(n):
    coverage = _coverage(lambda row, k: m.t_interval(row, 0.95), n)
    # Binomial sd at 4000 replications: sqrt(0.95 · 0.05 / 4000) = 0.0034; ±0.015 ≈ 4.4 sd.
    assert coverage == pytest.approx(0.95, abs=0.015)


def test_percentile_bootstrap_under_covers_with_three_seeds():
    boot = _coverage(lambda row, k: m.bootstrap_ci(row, 2000, 0.95, seed=k), 3)
    t = _coverage(lambda row, k: m.t_interval(row, 0.95), 3)
    assert boot == pytest.approx(0.75, abs=0.03)  # = P(min <= mu <= max) = 1 - 2/8
    assert t - boot > 0.15
    five = _coverage(lambda row, k: m.bootstrap_ci(row, 2000, 0.95, seed=k), 5)
    assert five < 0.86  # still short of 95 % with five seeds


def test_t_interval_by_hand():
    # mean 2, s = 1, t_{0.975, 2} = 4.302653 -> half width 4.302653 / sqrt(3) = 2.484138.
    low, high = m.t_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 2.484138, 2 + 2.484138), rel=1e-6)
    # 90 % on (0, 1): mean 0.5, s = 0.7071068, t_{0.95, 1} = 6.313752, n = 2.
    low, high = m.t_interval([0.0, 1.0], level=0.90)
    half = 6.313752 * 0.7071068 / math.sqrt(2)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half), rel=1e-6)
    assert m.t_interval([0.4, 0.4, 0.4]) == pytest.approx((0.4, 0.4))  # s = 0
    assert all(math.isnan(v) for v in m.t_interval([0.4]))  # one seed: undefined
    assert all(math.isnan(v) for v in m.t_interval([0.4, math.nan]))  # NaNs are dropped


def test_interval_spec_methods_and_the_bca_fallback():
    values = [0.61, 0.64, 0.58, 0.70, 0.66]
    assert m.IntervalSpec().compute(values) == (*m.t_interval(values), "t")
    boot = m.IntervalSpec("bootstrap", n_resamples=500, seed=3).compute(values)
    assert boot == (*m.bootstrap_ci(values, 500, 0.95, 3), "bootstrap")
    few = m.IntervalSpec("bca").compute(values)  # 5 < BCA_MIN_N seeds: the t interval
    assert few == (*m.t_interval(values), "t")
    many = np.random.default_rng(0).normal(size=m.BCA_MIN_N)
    low, high, used = m.IntervalSpec("bca", n_resamples=2000).compute(many)
    assert used == "bca" and low < many.mean() < high
    with pytest.raises(ValueError, match="interval 'wald' is not one of t, bootstrap, bca"):
        m.IntervalSpec("wald")


def test_interval_labels_say_what_they_are():
    spec = m.IntervalSpec()
    assert spec.describe(3, 3) == "95% t interval over seeds, n = 3 (fewer than 5 seeds: wide)"
    assert spec.describe(5, 10) == "95% t interval over seeds, n = 5–10"
    assert spec.describe(1, 3).endswith("n = 1–3 (one seed: no interval)")
    boot = m.IntervalSpec("bootstrap", level=0.9)
    assert boot.describe(3, 3) == (
        "90% percentile-bootstrap interval over seeds, n = 3 "
        "(fewer than 5 seeds: under-covers, about [min, max])"
    )
    assert "BCa bootstrap interval (t interval below 30 seeds)" in m.IntervalSpec("bca").describe()


def test_summaries_use_the_configured_interval():
    frame = pd.DataFrame({"g": ["a"] * 3, "seed": [0, 1, 2], "v": [1.0, 2.0, 3.0]})
    row = m.summarise(frame, ["g"], "v").iloc[0]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((2 - 2.484138, 2 + 2.484138))
    assert row["ci_method"] == "t" and row["n_seeds"] == 3 and row["std"] == 1.0
    boot = m.summarise(frame, ["g"], "v", m.IntervalSpec("bootstrap", n_resamples=2000)).iloc[0]
    assert boot["ci_method"] == "bootstrap" and (boot["ci_low"], boot["ci_high"]) == (1.0, 3.0)
    assert ReportConfig().interval == "t"
    with pytest.raises(ValueError, match="interval: 'normal' is not one of t, bootstrap, bca"):
        ReportConfig.from_dict({"interval": "normal"})
