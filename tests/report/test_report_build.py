"""The report builder on the synthetic result store of conftest.py: every file, right content."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from albench.config import ReportConfig
from albench.report.build import collect_candidates, informativeness_curves, load_summary
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
    by_gain = sorted(synthetic.samplers, key=lambda s: -synthetic.gain[s])
    assert ranking["mean_rank"].sort_values().index.tolist() == by_gain
    assert ranking.loc["tidal_entropy", "mean_rank"] == 1.0
    notes = (out / "notes.md").read_text()
    assert "Friedman test over 3 settings and 4 samplers" in notes
    penalty = pd.read_csv(out / "tables" / "penalty_matrix.csv").set_index("sampler")
    assert penalty.loc["tidal_entropy", "td_entropy"] == pytest.approx(3.0)  # every budget
    assert penalty.loc["td_entropy", "tidal_entropy"] == 0.0
    final = pd.read_csv(out / "tables" / "final_accuracy.csv")
    other = final[(final["dataset"] == "other") & (final["sampler"] == "random")].iloc[0]
    assert other["n_seeds_rel"] == 2  # seed 2 has no reference run
    expected = [100 * synthetic_accuracy("random", s, 2) / (0.90 + 0.01 * s) for s in (0, 1)]
    assert other["rel_mean"] == pytest.approx(sum(expected) / 2, rel=1e-5)


def test_informativeness_sources_and_scores(synthetic_summary):
    cycles, _ = load_summary(synthetic_summary)
    candidates = collect_candidates(cycles, synthetic_summary.parents[1])
    assert len(candidates) == 3 * 3 * 4  # settings x seeds x samplers, cycle 0
    summary, per_seed = informativeness_curves(candidates, "random", ReportConfig(n_resamples=200))
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

    def fake_build(summary, results, out, options):
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


def test_single_seed_without_references_or_baseline_still_reports_and_says_why(synthetic, tmp_path):
    from albench.report.build import build_report

    summary = synthetic.build(tmp_path / "results")
    cycles = pd.read_csv(summary / "cycles.csv")
    cycles[cycles["seed"] == 0].to_csv(summary / "cycles.csv", index=False)
    (summary / "reference.csv").unlink()
    out = tmp_path / "rep"
    options = ReportConfig(n_resamples=100)
    build_report(summary, summary.parents[1], out, options)
    notes = (out / "notes.md").read_text()
    assert "single seed: their CI is degenerate" in notes
    assert "no reference.csv" in notes
    ri = pd.read_csv(out / "tables" / "relative_improvement.csv")
    assert (ri["ri_ci_low"] == ri["ri_mean"]).all() and (ri["ri_ci_high"] == ri["ri_mean"]).all()
    assert "penalty matrix" in notes and "1 shared seed(s)" in notes  # t-tests need 2 seeds
    final = (out / "tables" / "final_accuracy.md").read_text()
    acc = 100 * synthetic.accuracy("random", 0, 2)
    assert f"| random | {acc:.1f} | n/a |" in final  # no std with one seed, no full-data ratio


def test_without_the_baseline_sampler_the_figure_and_notes_say_why(synthetic_summary, tmp_path):
    from albench.report import figures, metrics

    cycles, _ = load_summary(synthetic_summary)
    per_seed, notes = metrics.paired_improvement(cycles, baseline="oracle")
    assert per_seed.empty and "no 'oracle' sampler in the results" in notes[0].message
    curves = metrics.improvement_curves(per_seed, n_resamples=10)
    png, pdf = figures.relative_improvement_figure(curves, ["random"], "oracle", tmp_path / "ri")
    assert png.stat().st_size > 0 and pdf.read_bytes().startswith(b"%PDF")
