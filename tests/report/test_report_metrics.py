"""Statistics of the report on hand-made tables with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from albench.report import metrics as m


def _cycles(rows) -> pd.DataFrame:
    """rows: (dataset, ir, sampler, seed, cycle, num_labeled, accuracy[, status])."""
    out = []
    for row in rows:
        dataset, ratio, sampler, seed, cycle, budget, acc, *status = row
        out.append(
            {
                "experiment": "x",
                "dataset": dataset,
                "imbalance_ratio": float(ratio),
                "sampler": sampler,
                "seed": seed,
                "cycle": cycle,
                "status": status[0] if status else "ok",
                "num_labeled": budget,
                "accuracy": acc,
                "balanced_accuracy": acc,
            }
        )
    return pd.DataFrame(out)


def test_relative_improvement_and_delta_on_a_hand_made_table():
    cycles = _cycles(
        [
            ("d", 1, "random", 0, 0, 10, 0.50),
            ("d", 1, "random", 1, 0, 10, 0.60),
            ("d", 1, "entropy", 0, 0, 10, 0.55),
            ("d", 1, "entropy", 1, 0, 10, 0.66),
        ]
    )
    per_seed, notes = m.paired_improvement(cycles)
    per_seed = per_seed.sort_values("seed")
    assert per_seed["ri"].tolist() == pytest.approx([10.0, 10.0])
    assert per_seed["delta"].tolist() == pytest.approx([5.0, 6.0])
    assert notes == []
    curve = m.improvement_curves(per_seed)
    assert curve["ri_mean"].iloc[0] == pytest.approx(10.0)
    assert curve["delta_mean"].iloc[0] == pytest.approx(5.5)
    # t interval of (5, 6): 5.5 ± t_{0.975, 1} · 0.7071 / sqrt(2) = 5.5 ± 6.353102.
    assert (curve["delta_ci_low"].iloc[0], curve["delta_ci_high"].iloc[0]) == pytest.approx(
        (5.5 - 6.353102, 5.5 + 6.353102), rel=1e-6
    )
    assert curve["partner"].iloc[0] == "random" and curve["ci_method"].iloc[0] == "t"
    assert curve["num_labeled"].iloc[0] == 10 and curve["n_seeds"].iloc[0] == 2


def test_improvement_is_paired_by_seed_not_ratio_of_means():
    # Per seed: +10 % and 0 % -> mean 5 %. Unpaired: (0.62 - 0.60)/0.60 = 3.33 %.
    cycles = _cycles(
        [
            ("d", 1, "random", 0, 0, 10, 0.40),
            ("d", 1, "random", 1, 0, 10, 0.80),
            ("d", 1, "margin", 0, 0, 10, 0.44),
            ("d", 1, "margin", 1, 0, 10, 0.80),
        ]
    )
    per_seed, _ = m.paired_improvement(cycles)
    paired = per_seed["ri"].mean()
    unpaired = 100 * (0.62 - 0.60) / 0.60
    assert paired == pytest.approx(5.0)
    assert abs(paired - unpaired) > 1.5


def test_a_seed_without_its_random_partner_is_excluded_with_a_note():
    cycles = _cycles(
        [
            ("d", 10, "random", 0, 0, 10, 0.50),
            ("d", 10, "random", 1, 0, 10, None, "failed"),
            ("d", 10, "badge", 0, 0, 10, 0.60),
            ("d", 10, "badge", 1, 0, 10, 0.90),
        ]
    )
    per_seed, notes = m.paired_improvement(cycles)
    assert per_seed["seed"].tolist() == [0]
    assert per_seed["ri"].tolist() == pytest.approx([20.0])
    assert len(notes) == 1
    assert "badge seed 1 cycle 0 excluded" in notes[0].message and "IR 10" in notes[0].message


def test_bootstrap_ci_brackets_the_mean_and_is_reproducible():
    values = [0.61, 0.64, 0.58, 0.70, 0.66]
    low, high = m.bootstrap_ci(values, n_resamples=5000, seed=3)
    assert low < np.mean(values) < high
    assert min(values) <= low and high <= max(values)
    assert (low, high) == m.bootstrap_ci(values, n_resamples=5000, seed=3)


def test_bootstrap_ci_of_two_seeds_is_their_range_and_of_one_seed_is_degenerate():
    # Resample means of {a, b}: a w.p. 1/4, (a+b)/2 w.p. 1/2, b w.p. 1/4 -> 2.5/97.5 % = a, b.
    assert m.bootstrap_ci([0.3, 0.5]) == pytest.approx((0.3, 0.5))
    assert m.bootstrap_ci([0.42]) == (0.42, 0.42)
    assert all(math.isnan(v) for v in m.bootstrap_ci([]))
    one = pd.DataFrame({"g": ["a"], "seed": [4], "v": [0.42]})
    boot = m.summarise(one, ["g"], "v", m.IntervalSpec("bootstrap")).iloc[0]
    assert (boot["mean"], boot["ci_low"], boot["ci_high"]) == (0.42, 0.42, 0.42)
    assert math.isnan(boot["std"]) and boot["n_seeds"] == 1 and boot["seeds"] == "4"
    row = m.summarise(one, ["g"], "v").iloc[0]  # the default t interval: none with one seed
    assert row["mean"] == 0.42 and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def test_aubc_is_the_normalised_trapezoid():
    # Area = 10*(0.5+0.7)/2 + 20*(0.7+0.8)/2 = 6 + 15 = 21 over a range of 30 -> 0.7.
    assert m.aubc([10, 20, 40], [0.5, 0.7, 0.8]) == pytest.approx(0.7)
    assert m.aubc([40, 10, 20], [0.8, 0.5, 0.7]) == pytest.approx(0.7)  # order does not matter
    assert m.aubc([10, 20], [0.4, 0.4]) == pytest.approx(0.4)
    assert math.isnan(m.aubc([10], [0.5]))
    with pytest.raises(ValueError, match="differ in shape"):
        m.aubc([1, 2], [0.1])


def test_aubc_per_run_excludes_runs_with_a_missing_cycle():
    cycles = _cycles(
        [
            ("d", 1, "random", 0, 0, 10, 0.5),
            ("d", 1, "random", 0, 1, 20, 0.7),
            ("d", 1, "random", 1, 0, 10, 0.5),
            ("d", 1, "random", 1, 1, 20, None, "missing"),
        ]
    )
    runs, notes = m.aubc_per_run(cycles)
    assert runs["seed"].tolist() == [0] and runs["aubc"].tolist() == pytest.approx([0.6])
    assert "random seed 1 excluded" in notes[0].message and "missing" in notes[0].message


def _two_samplers(gap_by_cycle, seeds=5, setting=("d", 1)):
    rows = []
    for seed in range(seeds):
        noise = 0.001 * ((seed * 3) % 5 - 2)  # tiny, zero-mean over 5 seeds, not constant
        for cycle, gap in gap_by_cycle.items():
            base = 0.5 + 0.1 * cycle + 0.02 * seed
            rows.append((*setting, "B", seed, cycle, 10 * (cycle + 1), base))
            rows.append((*setting, "A", seed, cycle, 10 * (cycle + 1), base + gap + noise))
    return rows


def test_penalty_matrix_constant_advantage_gives_one_and_zero():
    # Cycle 0 identical (not tested), A better by 0.05 at both later budgets.
    cycles = _cycles(_two_samplers({0: 0.0, 1: 0.05, 2: 0.05}))
    result = m.penalty_matrix(cycles)
    assert result.matrix.loc["A", "B"] == pytest.approx(1.0)
    assert result.matrix.loc["B", "A"] == 0.0
    assert result.n_settings == 1
    assert set(result.tests["winner"]) == {"A"} and len(result.tests) == 2
    assert result.column_means().to_dict() == pytest.approx({"A": 0.0, "B": 1.0})


def test_penalty_matrix_weights_budgets_and_sums_settings():
    rows = _two_samplers({0: 0.0, 1: 0.05, 2: 0.0}) + _two_samplers(
        {0: 0.0, 1: 0.05, 2: 0.05}, setting=("e", 10)
    )
    result = m.penalty_matrix(_cycles(rows))
    # Setting d: A wins 1 of its 2 budgets (zero-mean noise at cycle 2: p = 1) -> 1/2;
    # setting e: both budgets -> 1; summed over settings: 1.5.
    assert result.matrix.loc["A", "B"] == pytest.approx(1.5)
    assert result.matrix.loc["B", "A"] == 0.0
    assert result.n_settings == 2
    tie = result.tests[(result.tests["dataset"] == "d") & (result.tests["cycle"] == 2)]
    assert tie["p"].iloc[0] == pytest.approx(1.0) and tie["winner"].iloc[0] == ""


def test_penalty_matrix_skips_constant_differences_and_single_seeds():
    constant = _cycles(
        [
            ("d", 1, s, seed, c, 10, 0.5 + (0.1 if s == "A" else 0.0) + 0.01 * seed)
            for s in ("A", "B")
            for seed in range(4)
            for c in (0, 1)
        ]
    )
    result = m.penalty_matrix(constant)
    assert result.matrix.to_numpy().sum() == 0.0
    assert math.isnan(result.tests["p"].iloc[0])
    single = m.penalty_matrix(_cycles(_two_samplers({0: 0.0, 1: 0.05}, seeds=1)))
    assert single.matrix.to_numpy().sum() == 0.0
    assert "1 shared seed(s)" in single.notes[0].message


def test_penalty_matrix_can_include_the_initial_budget():
    cycles = _cycles(_two_samplers({0: 0.05, 1: 0.05}))
    assert m.penalty_matrix(cycles).matrix.loc["A", "B"] == pytest.approx(1.0)
    with_initial = m.penalty_matrix(cycles, include_initial=True)
    assert with_initial.matrix.loc["A", "B"] == pytest.approx(1.0)  # 2 budgets x 1/2
    assert len(with_initial.tests) == 2


def test_average_ranks_with_ties():
    scores = pd.DataFrame(
        {"a": [0.9, 0.7, 0.8], "b": [0.8, 0.7, 0.9], "c": [0.1, 0.2, 0.3]}, index=["s1", "s2", "s3"]
    )
    # s1: a1 b2 c3; s2: a1.5 b1.5 c3; s3: b1 a2 c3.
    ranks = m.average_ranks(scores)
    assert ranks.to_dict() == pytest.approx({"a": 4.5 / 3, "b": 4.5 / 3, "c": 3.0})
    assert m.average_ranks(scores, higher_is_better=False)["c"] == pytest.approx(1.0)


def test_block_table_keeps_complete_settings_only():
    frame = pd.DataFrame(
        {
            "dataset": ["d", "d", "e"],
            "imbalance_ratio": [1.0, 1.0, 1.0],
            "sampler": ["a", "b", "a"],
            "seed": [0, 0, 0],
            "aubc": [0.5, 0.6, 0.7],
        }
    )
    table, notes = m.block_table(frame, "aubc")
    assert list(table.index) == ["d, IR 1"] and list(table.columns) == ["a", "b"]
    assert "e, IR 1 dropped" in notes[0].message


def test_friedman_is_skipped_with_two_settings_and_runs_with_four():
    two = pd.DataFrame({"a": [0.9, 0.8], "b": [0.7, 0.6], "c": [0.5, 0.4]})
    skipped = m.friedman_test(two)
    assert not skipped.ran and "only 2 complete setting(s)" in skipped.reason
    assert skipped.ranks.to_dict() == pytest.approx({"a": 1.0, "b": 2.0, "c": 3.0})
    assert "at least 3" in m.friedman_test(two[["a", "b"]].iloc[[0, 1, 0]]).reason
    four = pd.DataFrame(
        {"a": [0.9, 0.8, 0.7, 0.6], "b": [0.5, 0.4, 0.5, 0.4], "c": [0.1, 0.2, 0.1, 0.2]}
    )
    result = m.friedman_test(four)
    # Consistent ranks 1,2,3 on N=4 blocks: chi2 = 12N/(k(k+1)) * (sum R^2 - k(k+1)^2/4)
    # with R = mean ranks (1, 2, 3): 12*4/12 * (14 - 12) = 8; p = exp(-8/2) for df 2.
    assert result.ran and result.statistic == pytest.approx(8.0)
    assert result.pvalue == pytest.approx(math.exp(-4.0), rel=1e-6)
    assert result.posthoc.shape == (3, 3) and list(result.posthoc.index) == ["a", "b", "c"]
    assert result.critical_difference == pytest.approx(2.343 * math.sqrt(12 / 24), rel=1e-3)


def test_nemenyi_cd_matches_demsar_table():
    # q_0.05 = 2.343 (k=3), 2.728 (k=5), 3.164 (k=10); CD = q sqrt(k(k+1)/(6N)).
    assert m.nemenyi_cd(5, 10) == pytest.approx(2.728 * math.sqrt(30 / 60), rel=1e-3)
    assert m.nemenyi_cd(10, 6) == pytest.approx(3.164 * math.sqrt(110 / 36), rel=1e-3)


def test_top_fraction_accuracy_by_hand():
    scores = [0.9, 0.1, 0.5, 0.7]
    correct = [False, True, True, False]
    # Ranked: 0.9 (wrong), 0.7 (wrong), 0.5 (right), 0.1 (right).
    got = m.top_fraction_accuracy(scores, correct, [0.25, 0.5, 0.75, 1.0, 0.01])
    assert got.tolist() == pytest.approx([0.0, 0.0, 1 / 3, 0.5, 0.0])
    with pytest.raises(ValueError, match="fractions"):
        m.top_fraction_accuracy(scores, correct, [0.0])


def test_auroc_by_hand():
    # Positive/negative pairs: (0.9>0.8) (0.9>0.1) (0.3<0.8) (0.3>0.1) -> 3/4.
    assert m.auroc([0.9, 0.8, 0.3, 0.1], [True, False, True, False]) == pytest.approx(0.75)
    assert m.auroc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert math.isnan(m.auroc([0.1, 0.2], [False, False]))


def test_selection_effect_pairs_each_method_with_its_own_control():
    cycles = _cycles(
        [
            ("d", 1, "random", 0, 1, 20, 0.50),
            ("d", 1, "random", 1, 1, 20, 0.60),
            ("d", 1, "tidal_random", 0, 1, 20, 0.55),
            ("d", 1, "tidal_random", 1, 1, 20, 0.60),
            ("d", 1, "tidal_entropy", 0, 1, 20, 0.66),
            ("d", 1, "tidal_entropy", 1, 1, 20, 0.63),
        ]
    )
    per_seed, notes = m.paired_differences(cycles, {"tidal_entropy": "tidal_random"})
    per_seed = per_seed.sort_values("seed")
    assert notes == [] and set(per_seed["partner"]) == {"tidal_random"}
    assert per_seed["delta"].tolist() == pytest.approx([11.0, 3.0])  # selection effect
    assert per_seed["ri"].tolist() == pytest.approx([20.0, 5.0])
    total, _ = m.paired_improvement(cycles)
    total = total.set_index(["sampler", "seed"])["delta"]
    training = [total[("tidal_random", s)] for s in (0, 1)]
    assert training == pytest.approx([5.0, 0.0])
    # Per seed, total = selection + training.
    assert [total[("tidal_entropy", s)] for s in (0, 1)] == pytest.approx([16.0, 3.0])


def test_roles_from_the_table_then_the_fallback_then_method():
    cycles = _cycles(
        [
            ("d", 1, "random", 0, 0, 10, 0.5),
            ("d", 1, "oracle", 0, 0, 10, 0.9),
            ("d", 1, "tidal_entropy", 0, 0, 10, 0.6),
            ("d", 1, "mine", 0, 0, 10, 0.6),
        ]
    )
    cycles["role"] = ["method", "reference", "method", None]
    cycles["control"] = [None, None, "tidal_random", None]
    roles, controls, notes = m.sampler_roles(cycles, lambda name: None)
    assert roles == {"random": "method", "oracle": "reference", "tidal_entropy": "method"} | {
        "mine": "method"
    }
    assert controls["tidal_entropy"] == "tidal_random" and controls["random"] is None
    assert [n.message for n in notes] == [
        "mine: no role in cycles.csv; 'method' taken from the default"
    ]
    old = cycles.drop(columns=["role", "control"])
    roles, _, notes = m.sampler_roles(
        old, lambda name: ("reference", None) if name == "oracle" else None
    )
    assert roles["oracle"] == "reference" and "taken from the sampler registry" in notes[1].message
    assert m.order_by_role(["oracle", "random", "mine"], roles) == ["random", "mine", "oracle"]
    cycles["role"] = ["method", "baseline", "method", "method"]
    with pytest.raises(ValueError, match="role 'baseline'"):
        m.sampler_roles(cycles)


def test_fit_notes_count_the_cycles_below_the_criterion():
    import pandas as pd

    from albench.report.metrics import fit_notes

    cycles = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "imbalance_ratio": [1.0, 1.0, 10.0],
            "sampler": ["random", "entropy", "random"],
            "seed": [0, 0, 1],
            "cycle": [0, 1, 2],
            "train_fit_accuracy": [0.99, 0.94, 0.951],
        }
    )
    notes = fit_notes(cycles, 0.95)
    assert notes[0].message.startswith("2 of 3 cycles reach eval-mode accuracy >= 0.95")
    assert "lowest 0.940 (entropy, d IR 1, seed 0, cycle 1)" in notes[0].message
    assert [n.message for n in notes[1:]] == [
        "below the fit criterion: entropy, d IR 1, seed 0, cycle 1: 0.940"
    ]
    assert len(fit_notes(cycles, 0.9)) == 1
    assert (
        "no cycle recorded" in fit_notes(cycles.drop(columns="train_fit_accuracy"), 0.95)[0].message
    )


def test_device_notes_flag_a_chain_that_mixed_cpu_and_gpu():
    import pandas as pd

    from albench.report.metrics import device_notes

    cycles = pd.DataFrame(
        {
            "dataset": ["d"] * 4,
            "imbalance_ratio": [1.0] * 4,
            "seed": [0, 0, 1, 1],
            "sampler": ["random"] * 4,
            "cycle": [0, 1, 0, 1],
            "status": ["ok"] * 4,
            "device": ["cuda:0", "cpu", "cuda:0", "cuda:1"],
        }
    )
    notes = device_notes(cycles)
    assert [n.message for n in notes] == [
        "random, d IR 1, seed 0 ran on mixed device types (cycle 0: cuda:0, cycle 1: cpu)"
    ]
