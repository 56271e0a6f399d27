"""The report builder on the synthetic result store of conftest.py: every file, right content."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from albench.config import ReportConfig
from albench.report.build import (
    build_report,
    collect_candidates,
    informativeness_curves,
    load_summary,
)
from albench.report.outputs import FIGURES, TABLES, expected_outputs
from albench.report.tables import FORMATS


def test_every_figure_and_table_file_is_written(built_report):
    out, paths = built_report
    assert paths == expected_outputs(out)
    for path in paths:
        assert path.exists() and path.stat().st_size > 0, path
    for name in FIGURES:
        with Image.open(out / "figures" / f"{name}.png") as image:
            dpi = image.info["dpi"]
        assert dpi == pytest.approx((150, 150), abs=0.5), name
        assert (out / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    for name in TABLES:
        for ext in FORMATS:
            assert (out / "tables" / f"{name}.{ext}").exists()


def test_missing_and_failed_runs_are_listed(built_report):
    out, _ = built_report
    missing = pd.read_csv(out / "missing.csv")
    got = {
        (r.kind, r.dataset, r.imbalance_ratio, r.sampler, r.seed, r.status)
        for r in missing.itertuples()
    }
    assert got == {
        ("cycle", "toy", 10.0, "entropy", 2, "missing"),
        ("cycle", "other", 1.0, "random", 1, "failed"),
        ("reference", "other", 1.0, "full", 2, "missing"),
    }
    notes = (out / "notes.md").read_text()
    assert "missing or failed runs: 3" in notes
    for sampler in ("entropy", "tidal_entropy", "td_entropy"):
        assert f"other, IR 1: {sampler} seed 1 cycle 1 excluded" in notes
    assert "toy, IR 10: entropy seed 2 excluded" in notes  # from AUBC
    assert "other, IR 1 seed 2: no finished full-data run" in notes


def test_relative_improvement_table_matches_the_synthetic_gains(built_report, synthetic):
    out, _ = built_report
    synthetic_accuracy = synthetic.accuracy
    ri = pd.read_csv(out / "tables" / "relative_improvement.csv")
    curve = ri[
        (ri["dataset"] == "toy")
        & (ri["imbalance_ratio"] == 1.0)
        & (ri["sampler"] == "tidal_entropy")
    ]
    assert curve["cycle"].tolist() == [0, 1, 2]  # the CSV holds every budget
    row = curve.iloc[-1]
    expected = [
        100
        * (synthetic_accuracy("tidal_entropy", s, 2) - synthetic_accuracy("random", s, 2))
        / synthetic_accuracy("random", s, 2)
        for s in (0, 1, 2)
    ]
    assert row["cycle"] == 2 and row["num_labeled"] == 60
    assert row["ri_mean"] == pytest.approx(sum(expected) / 3, rel=1e-5)
    assert row["ri_ci_low"] <= row["ri_mean"] <= row["ri_ci_high"]
    md = (out / "tables" / "relative_improvement.md").read_text()
    assert "| tidal_entropy | **+" in md  # the largest gain is bold


def test_statistics_follow_the_synthetic_ordering(built_report, synthetic):
    out, _ = built_report
    synthetic_accuracy = synthetic.accuracy
    ranking = pd.read_csv(out / "tables" / "ranking.csv").set_index("sampler")
    methods = [s for s in synthetic.samplers if s not in synthetic.role]
    by_gain = sorted(methods, key=lambda s: -synthetic.gain[s])
    assert ranking["mean_rank"].sort_values().index.tolist() == by_gain
    assert ranking.loc["tidal_entropy", "mean_rank"] == 1.0
    notes = (out / "notes.md").read_text()
    assert "Friedman test over 3 settings and 3 samplers" in notes
    penalty = pd.read_csv(out / "tables" / "penalty_matrix.csv").set_index("sampler")
    # Every budget but toy IR 10 cycle 2, where entropy seed 2 is missing (n = 2, p = 0.077).
    assert penalty.loc["tidal_entropy", "entropy"] == pytest.approx(2.5)
    assert penalty.loc["entropy", "tidal_entropy"] == 0.0
    final = pd.read_csv(out / "tables" / "final_accuracy.csv")
    other = final[(final["dataset"] == "other") & (final["sampler"] == "random")].iloc[0]
    assert other["n_seeds_rel"] == 2  # seed 2 has no reference run
    expected = [100 * synthetic_accuracy("random", s, 2) / (0.90 + 0.01 * s) for s in (0, 1)]
    assert other["rel_mean"] == pytest.approx(sum(expected) / 2, rel=1e-5)


def test_ranks_exclude_controls_and_references_unless_rank_all(
    built_report, synthetic, tmp_path, fast_figures
):
    out, _ = built_report
    apart = sorted(synthetic.role)  # td_entropy (reference), tidal_random (control)
    methods = [s for s in synthetic.samplers if s not in synthetic.role]
    ranking = pd.read_csv(out / "tables" / "ranking.csv")
    assert ranking["sampler"].tolist() == methods
    penalty = pd.read_csv(out / "tables" / "penalty_matrix.csv")
    assert penalty["sampler"].tolist() == [*methods, "column mean"]
    assert not set(apart) & set(penalty.columns)
    tests = pd.read_csv(out / "tables" / "penalty_tests.csv")
    assert not set(apart) & (set(tests["sampler_i"]) | set(tests["sampler_j"]))
    md = (out / "tables" / "final_accuracy.md").read_text()
    methods_block, apart_block = md.split("*controls and references (not ranked, not bold)*")
    assert "| tidal_entropy | **" in methods_block and "td_entropy" not in methods_block
    assert "| td_entropy |" in apart_block and "**" not in apart_block  # never bold
    notes = (out / "notes.md").read_text()
    assert "controls and references (td_entropy, tidal_random) are not in the ranks" in notes

    everything = tmp_path / "all"
    summary = synthetic.build(tmp_path / "results")
    build_report(summary, summary.parents[1], everything, ReportConfig(rank_all=True))
    ranked = pd.read_csv(everything / "tables" / "ranking.csv")
    assert sorted(ranked["sampler"]) == sorted(synthetic.samplers)
    by_gain = sorted(synthetic.samplers, key=lambda s: -synthetic.gain[s])
    assert ranked.set_index("sampler")["mean_rank"].sort_values().index.tolist() == by_gain


def test_roles_of_old_results_come_from_the_registry(synthetic, tmp_path, fast_figures):
    summary = synthetic.build(tmp_path / "results")
    cycles = pd.read_csv(summary / "cycles.csv")
    cycles.drop(columns=["role", "control", "train_steps"]).to_csv(
        summary / "cycles.csv", index=False
    )
    out = tmp_path / "rep"
    build_report(summary, summary.parents[1], out, ReportConfig(n_resamples=100))
    notes = (out / "notes.md").read_text()
    assert "td_entropy: no role in cycles.csv; 'reference' taken from the sampler registry" in notes
    assert (
        "tidal_random: no role in cycles.csv; 'control' taken from the sampler registry" in (notes)
        or "tidal_random: no role in cycles.csv; 'method' taken from the default" in notes
    )
    ranking = pd.read_csv(out / "tables" / "ranking.csv")
    assert "td_entropy" not in set(ranking["sampler"])
    claims = (out / "claims.md").read_text()
    assert "optimizer steps per cycle: not recorded" in claims


def test_selection_training_and_total_effects(built_report, synthetic):
    out, _ = built_report
    acc = synthetic.accuracy
    effects = pd.read_csv(out / "tables" / "effects.csv")
    row = effects[(effects["dataset"] == "toy") & (effects["imbalance_ratio"] == 1.0)].iloc[0]
    assert (row["method"], row["control"], row["baseline"]) == (
        "tidal_entropy",
        "tidal_random",
        "random",
    )
    seeds = (0, 1, 2)
    selection = [100 * (acc("tidal_entropy", s, 2) - acc("tidal_random", s, 2)) for s in seeds]
    training = [100 * (acc("tidal_random", s, 2) - acc("random", s, 2)) for s in seeds]
    assert row["selection_mean"] == pytest.approx(np.mean(selection), rel=1e-6)
    assert row["training_mean"] == pytest.approx(np.mean(training), rel=1e-6)
    assert row["total_mean"] == pytest.approx(row["selection_mean"] + row["training_mean"])
    assert row["selection_mean"] == pytest.approx(100 * 2 * 0.03, abs=0.5)  # 0.03 per cycle
    sd = np.std(training, ddof=1)
    half = stats.t.ppf(0.975, 2) * sd / np.sqrt(3)
    assert row["training_low"] == pytest.approx(np.mean(training) - half, rel=1e-6)
    assert row["training_high"] == pytest.approx(np.mean(training) + half, rel=1e-6)
    ri = pd.read_csv(out / "tables" / "relative_improvement.md".replace(".md", ".csv"))
    assert {"partner", "ri_mean", "ci_method"} <= set(ri.columns)
    md = (out / "tables" / "relative_improvement.md").read_text()
    assert "selection RI vs own control (%)" in md and "vs tidal_random" in md
    headline = json.loads((out / "metrics.json").read_text())
    te = headline["toy_ir1"]["tidal_entropy"]
    expected = np.mean(
        [
            100
            * (acc("tidal_entropy", s, 2) - acc("tidal_random", s, 2))
            / acc("tidal_random", s, 2)
            for s in seeds
        ]
    )
    assert te["final_selection_ri_percent"] == pytest.approx(expected, abs=1e-3)


def test_cost_table_from_the_recorded_times(built_report):
    out, _ = built_report
    cost = pd.read_csv(out / "tables" / "cost.csv")
    tidal = cost[
        (cost["dataset"] == "toy")
        & (cost["imbalance_ratio"] == 1.0)
        & (cost["sampler"] == "tidal_entropy")
    ].iloc[0]
    # train 1 + 0.5·cycle (+1 with the module) over cycles 0, 1, 2 -> 2.5 s; score 0.2 s on
    # the two querying cycles only; peak RSS 500 + 10·seed -> 520 MB.
    assert tidal["train_s"] == pytest.approx(2.5)
    assert tidal["score_s"] == pytest.approx(0.2) and tidal["select_s"] == pytest.approx(0.01)
    assert tidal["total_s"] == pytest.approx(2.5 + 0.14 + 0.1)
    assert tidal["peak_rss_mb"] == 520 and (tidal["n_cycles"], tidal["n_queries"]) == (9, 6)
    assert tidal["ri_final"] > 0 and 0 < tidal["aubc"] < 100
    md = (out / "tables" / "cost.md").read_text()
    assert "| tidal_entropy | 2.5 | 0.20 | 0.01 | 2.7 | 520 |" in md


def test_claims_report_from_the_synthetic_store(built_report):
    out, _ = built_report
    claims = pd.read_csv(out / "tables" / "claims.csv")
    verdicts = claims.groupby("claim")["claim_verdict"].first().to_dict()
    assert verdicts == {
        "a": "supported",
        "b": "inconclusive at this scale",  # entropy seed 2 missing at IR 10: 2 seeds, df 1
        "c": "supported",
        "d": "not testable in this run",
        "e": "not testable in this run",
    }
    a = claims[claims["claim"] == "a"]
    assert set(a["comparison"]) == {"tidal_entropy − entropy"}
    assert (a["level"] == 1 - 0.05 / 2).all()  # Bonferroni over two balanced settings
    c = claims[claims["claim"] == "c"]
    primary = c[c["primary"].astype(str) == "True"]
    assert set(primary["comparison"]) == {"tidal_entropy predicted TD − snapshot (train view)"}
    # train view: snapshot 0.06 + 0.001·seed, predicted 0.03 + 0.002·seed -> 0.03 − 0.001·seed.
    assert primary["estimate"].tolist() == pytest.approx([0.029] * 3)
    text = (out / "claims.md").read_text()
    assert "**not testable in this run**" in text and "no dispersion run" in text
    assert "toy, IR 10: model not recorded, 4 epochs per cycle, 4–12 optimizer steps" in text
    assert json.loads((out / "metrics.json").read_text())["claims"] == {"a": 1, "b": 0, "c": 1}


def test_informativeness_sources_and_scores(synthetic_summary):
    cycles, _ = load_summary(synthetic_summary)
    candidates = collect_candidates(cycles, synthetic_summary.parents[1])
    assert len(candidates) == 3 * 3 * 5  # settings x seeds x samplers, cycle 0
    summary, per_seed = informativeness_curves(
        candidates, "random", ReportConfig(), random_queries=["tidal_random"]
    )
    scores = set(summary["score"])
    assert scores == {
        "random",
        "entropy",
        "margin",
        "least_confidence",
        "td_entropy",
        "td_margin",
        "tidal_entropy",
        "tidal_margin",
    }
    sources = per_seed.groupby("score")["source"].agg(set).to_dict()
    assert sources["td_entropy"] == {"td_entropy"} and sources["entropy"] == {"entropy"}
    assert sources["least_confidence"] == {"random"} and sources["random"] == {"random"}
    at_all = summary[summary["fraction"] == 1.0]
    assert (at_all["mean"] - at_all["overall"]).abs().max() < 1e-9  # 100 % = all candidates


def test_options_come_from_the_config_section():
    opts = ReportConfig.from_dict({"metric": "balanced_accuracy", "n_resamples": 500})
    assert opts.metric == "balanced_accuracy" and opts.n_resamples == 500
    with pytest.raises(ValueError, match="unknown key"):
        ReportConfig.from_dict({"bootstraps": 5})
    with pytest.raises(ValueError, match="not one of accuracy, balanced_accuracy"):
        ReportConfig(metric="f1")


def test_cli_handler_passes_paths_and_options(synthetic_summary, tmp_path, capsys, monkeypatch):
    import albench.report.build as build
    from albench.report import cli

    calls = []

    def fake_build(summary, results, out, options, models=None):
        calls.append((Path(summary), Path(results), Path(out), options))
        return [Path(out) / "notes.md"]

    monkeypatch.setattr(build, "build_report", fake_build)
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "report",
            "--summary",
            str(synthetic_summary),
            "--out",
            str(tmp_path / "rep"),
            "--metric",
            "balanced_accuracy",
        ]
    )
    assert cli.run(args) == 0
    ((summary, results, out, options),) = calls
    assert summary == synthetic_summary and out == tmp_path / "rep"
    assert results == synthetic_summary.resolve().parents[1]  # default: SUMMARY/../..
    assert options.metric == "balanced_accuracy" and options.n_resamples == 10_000
    assert "report: 1 files" in capsys.readouterr().out


def test_single_seed_without_references_or_baseline_still_reports_and_says_why(
    synthetic, tmp_path, fast_figures
):
    summary = synthetic.build(tmp_path / "results")
    cycles = pd.read_csv(summary / "cycles.csv")
    cycles[cycles["seed"] == 0].to_csv(summary / "cycles.csv", index=False)
    (summary / "reference.csv").unlink()
    out = tmp_path / "rep"
    build_report(summary, summary.parents[1], out, ReportConfig())
    notes = (out / "notes.md").read_text()
    assert "some points have a single seed: they have no interval (t, BCa)" in notes
    assert "n = 1 (one seed: no interval)" in notes
    assert "no reference.csv" in notes
    ri = pd.read_csv(out / "tables" / "relative_improvement.csv")
    assert ri["ri_ci_low"].isna().all() and ri["ri_ci_high"].isna().all()  # t: undefined
    assert "penalty matrix" in notes and "1 shared seed(s)" in notes  # t-tests need 2 seeds
    final = (out / "tables" / "final_accuracy.md").read_text()
    acc = 100 * synthetic.accuracy("random", 0, 2)
    assert f"| random | {acc:.1f} | n/a |" in final  # no std with one seed, no full-data ratio
    claims = pd.read_csv(out / "tables" / "claims.csv")
    assert set(claims[claims["claim"] == "a"]["verdict"]) == {"inconclusive at this scale"}

    boot = tmp_path / "boot"  # the percentile bootstrap collapses to the value itself
    build_report(summary, summary.parents[1], boot, ReportConfig(interval="bootstrap"))
    ri = pd.read_csv(boot / "tables" / "relative_improvement.csv")
    assert (ri["ri_ci_low"] == ri["ri_mean"]).all() and (ri["ri_ci_high"] == ri["ri_mean"]).all()
    assert "(one seed: degenerate, the value itself)" in (boot / "notes.md").read_text()


def test_without_the_baseline_sampler_the_figure_and_notes_say_why(synthetic_summary, tmp_path):
    from albench.report import figures, metrics

    cycles, _ = load_summary(synthetic_summary)
    per_seed, notes = metrics.paired_improvement(cycles, baseline="oracle")
    assert per_seed.empty and "no 'oracle' sampler in the results" in notes[0].message
    curves = metrics.improvement_curves(per_seed)
    png, pdf = figures.relative_improvement_figure(curves, ["random"], "oracle", tmp_path / "ri")
    assert png.stat().st_size > 0 and pdf.read_bytes().startswith(b"%PDF")


def test_learning_curves_have_one_row_per_finished_run():
    import pandas as pd

    from albench.report.build import learning_curves

    cycles = pd.DataFrame(
        {
            "dataset": ["d"] * 4,
            "imbalance_ratio": [10.0] * 4,
            "sampler": ["random"] * 4,
            "seed": [0, 1, 0, 1],
            "num_labeled": [20, 20, 30, 30],
            "accuracy": [0.5, 0.7, 0.8, float("nan")],
            "status": ["ok", "ok", "ok", "failed"],
        }
    )
    curves = learning_curves(cycles, "accuracy")
    assert curves["labeled"].tolist() == [20, 30, 20]  # the failed run is left out
    assert curves["seed"].tolist() == [0, 0, 1]
    assert curves["percent"].tolist() == [50.0, 80.0, 70.0]
    assert set(curves["series"]) == {"d IR 10 random"} and set(curves["metric"]) == {"accuracy"}
