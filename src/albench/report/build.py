"""Build every figure and table of an experiment from its result store.

Reads ``summary/cycles.csv`` and ``summary/reference.csv`` (written by
:mod:`albench.aggregate`), each finished cycle's ``metrics.json``
(diagnostics) and the cycle-0 ``candidates.csv`` files, computes the
statistics of :mod:`albench.report.metrics` and writes::

    <out>/figures/<name>.{png,pdf}     one per entry of FIGURES
    <out>/tables/<name>.{csv,md,tex,html}   one per entry of TABLES
    <out>/missing.csv                  every missing / failed run
    <out>/notes.md                     options used, exclusions and skipped analyses

The names are fixed (see :func:`expected_outputs`), so the workflow rule can
declare them; an analysis that does not apply still writes its files, saying why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from albench.config import ReportConfig
from albench.io import write_json, write_text
from albench.layout import RunKey
from albench.report import figures, tables
from albench.report import metrics as m
from albench.report.outputs import FIGURES, TABLES, expected_outputs

CANDIDATE_FIXED = ("index", "label", "predicted", "correct", "is_tail", "selected")
TD_SOURCES = ("td_entropy", "dispersion", "tidal_entropy", "tidal_margin")
FRACTIONS = np.linspace(0.01, 1.0, 100)


# ----------------------------------------------------------------------------- loading


def load_summary(summary_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``cycles.csv`` and (if present) ``reference.csv`` of a summary folder."""
    summary = Path(summary_dir)
    if not (summary / "cycles.csv").exists():
        raise FileNotFoundError(f"no cycles.csv in {summary} (run `albench aggregate` first)")
    cycles = pd.read_csv(summary / "cycles.csv", keep_default_na=True)
    cycles["imbalance_ratio"] = cycles["imbalance_ratio"].astype(float)
    refs = None
    if (summary / "reference.csv").exists():
        refs = pd.read_csv(summary / "reference.csv")
        refs["imbalance_ratio"] = refs["imbalance_ratio"].astype(float)
    return cycles, refs


def _run_dir(results: Path, row) -> Path:
    return RunKey(
        row.experiment, row.dataset, row.imbalance_ratio, row.seed, row.sampler, row.cycle
    ).dir(results)


def collect_diagnostics(cycles: pd.DataFrame, results: str | Path) -> pd.DataFrame:
    """KL diagnostics of every finished cycle's ``metrics.json`` that has them."""
    rows = []
    for row in m.ok_rows(cycles).itertuples():
        path = _run_dir(Path(results), row) / "metrics.json"
        if not path.exists():
            continue
        diag = json.loads(path.read_text()).get("diagnostics") or {}
        if "kl_actual_vs_predicted" not in diag and "kl_actual_vs_snapshot" not in diag:
            continue
        rows.append(
            {
                "dataset": row.dataset,
                "imbalance_ratio": row.imbalance_ratio,
                "sampler": row.sampler,
                "seed": row.seed,
                "cycle": row.cycle,
                "num_labeled": row.num_labeled,
                "predicted": diag.get("kl_actual_vs_predicted", math.nan),
                "snapshot": diag.get("kl_actual_vs_snapshot", math.nan),
            }
        )
    columns = [*m.SETTING, "sampler", "seed", "cycle", "num_labeled", "predicted", "snapshot"]
    return pd.DataFrame(rows, columns=columns)


def collect_candidates(cycles: pd.DataFrame, results: str | Path) -> dict[tuple, pd.DataFrame]:
    """Cycle-0 ``candidates.csv`` per (dataset, IR, seed, sampler), for finished runs."""
    out = {}
    first = cycles["cycle"].min()
    for row in m.ok_rows(cycles[cycles["cycle"] == first]).itertuples():
        path = _run_dir(Path(results), row) / "candidates.csv"
        if path.exists():
            out[(row.dataset, float(row.imbalance_ratio), int(row.seed), row.sampler)] = (
                pd.read_csv(path)
            )
    return out


# ----------------------------------------------------------------------------- analyses


def missing_runs(cycles: pd.DataFrame, refs: pd.DataFrame | None) -> pd.DataFrame:
    """Every cycle or reference run whose status is not ``ok``."""
    columns = ["kind", "dataset", "imbalance_ratio", "sampler", "seed", "cycle", "status", "error"]
    parts = []
    bad = cycles[cycles["status"] != "ok"].assign(kind="cycle")
    parts.append(bad.reindex(columns=columns))
    if refs is not None:
        bad_refs = refs[refs["status"] != "ok"].assign(kind="reference", sampler="full", cycle="")
        parts.append(bad_refs.reindex(columns=columns))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return frame[columns]


def _percent_summary(frame: pd.DataFrame, by: list[str], value: str, opt: ReportConfig):
    scaled = frame.assign(**{value: 100.0 * frame[value]})
    return m.summarise(scaled, by, value, opt.n_resamples, opt.ci_level, opt.bootstrap_seed)


def accuracy_curves(cycles: pd.DataFrame, opt: ReportConfig) -> pd.DataFrame:
    """Metric (%) per setting × sampler × cycle: mean, std, CI, plus ``num_labeled``."""
    ok = m.ok_rows(cycles)
    by = [*m.SETTING, "sampler", "cycle"]
    out = _percent_summary(ok, by, opt.metric, opt)
    budgets = ok.groupby(by)["num_labeled"].median().rename("num_labeled").reset_index()
    return out.merge(budgets, on=by, how="left")


def reference_summary(refs: pd.DataFrame | None, opt: ReportConfig) -> pd.DataFrame:
    """Full-data metric (%) per setting: mean, CI over the finished reference seeds."""
    if refs is None or refs.empty:
        return pd.DataFrame(columns=[*m.SETTING, "mean", "std", "ci_low", "ci_high", "n_seeds"])
    return _percent_summary(m.ok_rows(refs), m.SETTING, opt.metric, opt)


def final_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of each setting's last cycle (the final budget)."""
    last = frame.groupby(m.SETTING)["cycle"].transform("max")
    return frame[frame["cycle"] == last]


def final_accuracy(
    cycles: pd.DataFrame, refs: pd.DataFrame | None, opt: ReportConfig
) -> tuple[pd.DataFrame, list[m.Note]]:
    """Per setting × sampler at the final budget: metric mean ± std (%) and per-seed acc/acc_full."""
    last = cycles.groupby(m.SETTING)["cycle"].transform("max")
    final = m.ok_rows(cycles[cycles["cycle"] == last])
    notes = []
    if refs is not None:
        full = m.ok_rows(refs)[[*m.SETTING, "seed", opt.metric]].rename(
            columns={opt.metric: "full"}
        )
        final = final.merge(full, on=[*m.SETTING, "seed"], how="left")
    else:
        final = final.assign(full=math.nan)
        notes.append(
            m.Note(
                "final accuracy",
                "no reference.csv: the ratio to the full-data run is not available",
            )
        )
    lacking = final[final["full"].isna()][[*m.SETTING, "seed"]].drop_duplicates()
    for row in lacking.itertuples() if refs is not None else []:
        notes.append(
            m.Note(
                "final accuracy",
                (
                    f"{m.setting_label(row.dataset, row.imbalance_ratio)} seed {row.seed}: no finished "
                    "full-data run; that seed is left out of the ratio to full data"
                ),
            )
        )
    final["rel"] = 100.0 * final[opt.metric] / final["full"]
    final["acc"] = 100.0 * final[opt.metric]
    rows = []
    for (dataset, ratio, sampler), group in final.groupby([*m.SETTING, "sampler"]):
        acc, rel = group["acc"].to_numpy(), group["rel"].dropna().to_numpy()
        rows.append(
            {
                "dataset": dataset,
                "imbalance_ratio": ratio,
                "sampler": sampler,
                "num_labeled": int(group["num_labeled"].median()),
                "cycle": int(group["cycle"].max()),
                "acc_mean": acc.mean(),
                "acc_std": acc.std(ddof=1) if acc.size > 1 else math.nan,
                "rel_mean": rel.mean() if rel.size else math.nan,
                "rel_std": rel.std(ddof=1) if rel.size > 1 else math.nan,
                "n_seeds": int(acc.size),
                "n_seeds_rel": int(rel.size),
            }
        )
    return pd.DataFrame(rows), notes


def informativeness_curves(
    candidates: dict[tuple, pd.DataFrame], baseline: str, opt: ReportConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Top-x% accuracy curves per setting × score (mean and CI over seeds, %).

    Each score is taken from one run per seed: the run of the sampler of the
    same name if it recorded it, else the baseline's run, else the first run
    (alphabetically) that has it. ``sampler_<name>`` columns are the sampler's
    own score, kept under ``<name>`` unless they duplicate a generic column.

    Returns:
        ``(summary, per_seed)``.
    """
    per_seed = []
    groups: dict[tuple, dict[str, pd.DataFrame]] = {}
    for (dataset, ratio, seed, sampler), frame in candidates.items():
        groups.setdefault((dataset, ratio, seed), {})[sampler] = frame
    for (dataset, ratio, seed), runs in groups.items():
        available: dict[str, list[tuple[str, str]]] = {}  # score -> [(sampler, column)]
        for sampler, frame in sorted(runs.items()):
            if "correct" not in frame.columns or frame["correct"].isna().all():
                continue
            for column in frame.columns:
                if column in CANDIDATE_FIXED:
                    continue
                score = column.removeprefix("sampler_")
                if column.startswith("sampler_") and _duplicates_generic(frame, column):
                    continue
                available.setdefault(score, []).append((sampler, column))
        for score, sources in available.items():
            sampler, column = _pick_source(score, sources, baseline)
            frame = runs[sampler]
            correct = frame["correct"].astype(str).str.lower().eq("true").to_numpy()
            accuracy = m.top_fraction_accuracy(frame[column].to_numpy(float), correct, FRACTIONS)
            per_seed.append(
                pd.DataFrame(
                    {
                        "dataset": dataset,
                        "imbalance_ratio": ratio,
                        "seed": seed,
                        "score": score,
                        "source": sampler,
                        "fraction": FRACTIONS,
                        "accuracy": 100.0 * accuracy,
                        "overall": 100.0 * correct.mean(),
                    }
                )
            )
    if not per_seed:
        empty = pd.DataFrame(
            columns=[
                *m.SETTING,
                "score",
                "fraction",
                "mean",
                "ci_low",
                "ci_high",
                "overall",
                "source",
            ]
        )
        return empty, empty
    long = pd.concat(per_seed, ignore_index=True)
    by = [*m.SETTING, "score", "fraction"]
    summary = m.summarise(long, by, "accuracy", opt.n_resamples, opt.ci_level, opt.bootstrap_seed)
    extra = (
        long.groupby(by)
        .agg(overall=("overall", "mean"), source=("source", lambda s: ";".join(sorted(set(s)))))
        .reset_index()
    )
    summary = summary.merge(extra, on=by)
    order = {name: k for k, name in enumerate(_score_order(list(pd.unique(long["score"]))))}
    summary = summary.sort_values(
        [*m.SETTING, "score", "fraction"], key=lambda c: c.map(order) if c.name == "score" else c
    )
    return summary.reset_index(drop=True), long


def _duplicates_generic(frame: pd.DataFrame, column: str) -> bool:
    generic = column.removeprefix("sampler_")
    return generic in frame.columns and np.allclose(
        frame[generic].to_numpy(float),
        frame[column].to_numpy(float),
        rtol=1e-6,
        atol=1e-9,
        equal_nan=True,
    )


def _pick_source(score: str, sources: list[tuple[str, str]], baseline: str) -> tuple[str, str]:
    for preferred in (score, baseline):
        for sampler, column in sources:
            if sampler == preferred:
                return sampler, column
    return sources[0]


SCORE_ORDER = (
    "random",
    "entropy",
    "margin",
    "least_confidence",
    "td_entropy",
    "td_margin",
    "tidal_entropy",
    "tidal_margin",
    "dispersion",
)


def _score_order(scores: list[str]) -> list[str]:
    known = [s for s in SCORE_ORDER if s in scores]
    return known + sorted(s for s in scores if s not in SCORE_ORDER)


def kl_curves(diagnostics: pd.DataFrame, opt: ReportConfig) -> pd.DataFrame:
    """Mean and CI over seeds of both KL diagnostics, for samplers with a predicted TD."""
    tidal = diagnostics.dropna(subset=["predicted"])
    if tidal.empty:
        return pd.DataFrame(
            columns=[
                *m.SETTING,
                "sampler",
                "quantity",
                "cycle",
                "num_labeled",
                "mean",
                "ci_low",
                "ci_high",
                "n_seeds",
            ]
        )
    long = tidal.melt(
        id_vars=[*m.SETTING, "sampler", "seed", "cycle", "num_labeled"],
        value_vars=["predicted", "snapshot"],
        var_name="quantity",
        value_name="kl",
    ).dropna(subset=["kl"])
    by = [*m.SETTING, "sampler", "quantity", "cycle"]
    out = m.summarise(long, by, "kl", opt.n_resamples, opt.ci_level, opt.bootstrap_seed)
    budgets = long.groupby(by)["num_labeled"].median().rename("num_labeled").reset_index()
    return out.merge(budgets, on=by)


def tail_scatter_items(candidates: dict[tuple, pd.DataFrame]) -> list[dict]:
    """One scatter per long-tailed setting: the first seed's run with TD scores (see TD_SOURCES)."""
    needed = {"entropy", "td_entropy", "margin", "td_margin", "is_tail"}
    settings = sorted({(d, r) for d, r, _, _ in candidates if r > 1})
    items = []
    for dataset, ratio in settings:
        keys = [
            k
            for k in candidates
            if k[:2] == (dataset, ratio) and needed <= set(candidates[k].columns)
        ]
        if not keys:
            continue
        rank = {name: i for i, name in enumerate(TD_SOURCES)}
        key = min(keys, key=lambda k: (k[2], rank.get(k[3], len(rank)), k[3]))
        frame = candidates[key]
        tail = frame["is_tail"].astype(str).str.lower().eq("true").to_numpy()
        frame = frame.assign(is_tail=tail)
        aurocs = {
            s: m.auroc(frame[s].to_numpy(float), tail)
            for s in ("entropy", "td_entropy", "margin", "td_margin")
        }
        title = (
            f"{m.setting_label(dataset, ratio)} — cycle-0 candidates of the {key[3]} run, "
            f"seed {key[2]} ({int(tail.sum())} tail / {int((~tail).sum())} head)"
        )
        items.append(
            {
                "title": title,
                "frame": frame,
                "auroc": aurocs,
                "dataset": dataset,
                "imbalance_ratio": ratio,
                "seed": key[2],
                "sampler": key[3],
            }
        )
    return items


# ----------------------------------------------------------------------------- orchestration


def build_report(
    summary_dir: str | Path,
    results: str | Path,
    out_dir: str | Path,
    options: ReportConfig | None = None,
) -> list[Path]:
    """Compute every statistic and write every figure, table, ``missing.csv`` and ``notes.md``.

    Args:
        summary_dir: folder with ``cycles.csv`` (and ``reference.csv``).
        results: the results root (``results/``), holding ``<experiment>/...``.
        out_dir: where to write.
        options: :class:`ReportConfig` (defaults if None).

    Returns:
        The written paths (equal to :func:`expected_outputs`).
    """
    opt = options or ReportConfig()
    out = Path(out_dir)
    fig_dir, tab_dir = out / "figures", out / "tables"
    cycles, refs = load_summary(summary_dir)
    samplers = list(pd.unique(cycles["sampler"]))
    notes: list[m.Note] = []

    missing = missing_runs(cycles, refs)
    _write_csv(missing, out / "missing.csv")

    # Relative improvement over the baseline, paired by seed.
    per_seed, found = m.paired_improvement(cycles, opt.metric, opt.baseline)
    notes += found
    ri = m.improvement_curves(per_seed, opt.n_resamples, opt.ci_level, opt.bootstrap_seed)
    figures.relative_improvement_figure(
        ri, samplers, opt.baseline, fig_dir / "relative_improvement", opt.ci_level
    )
    ri_table = tables.improvement_table(
        final_rows(ri) if not ri.empty else ri, samplers, opt.baseline, opt.metric_label
    )
    ri_table.data = ri  # the CSV keeps every budget; the formatted tables show the final one
    tables.write_table(ri_table, tab_dir)

    # Absolute accuracy curves, full-data reference, per-cycle and final tables.
    curves = accuracy_curves(cycles, opt)
    reference = reference_summary(refs, opt)
    figures.accuracy_figure(
        curves, reference, samplers, opt.metric_label, fig_dir / "accuracy_curves", opt.ci_level
    )
    tables.write_table(tables.cycle_accuracy_table(curves, samplers, opt.metric_label), tab_dir)
    final, found = final_accuracy(cycles, refs, opt)
    notes += found
    tables.write_table(tables.final_accuracy_table(final, samplers, opt.metric_label), tab_dir)

    # AUBC per run, its summary, ranks and the Friedman test over settings.
    runs, found = m.aubc_per_run(cycles, opt.metric)
    notes += found
    aubc = _percent_summary(runs, [*m.SETTING, "sampler"], "aubc", opt)
    tables.write_table(tables.aubc_table(aubc, samplers, opt.metric_label), tab_dir)
    scores, found = m.block_table(runs, "aubc", samplers)
    notes += found
    friedman = m.friedman_test(scores, opt.alpha)
    if not friedman.ran:
        notes.append(m.Note("Friedman test", f"skipped: {friedman.reason}"))
    figures.critical_difference_figure(
        friedman, fig_dir / "critical_difference", opt.alpha, samplers
    )

    # Pairwise penalty matrix.
    penalty = m.penalty_matrix(cycles, opt.metric, opt.alpha, opt.include_initial_budget)
    notes += penalty.notes
    means = penalty.column_means()
    figures.penalty_figure(
        penalty.matrix, means, penalty.n_settings, fig_dir / "penalty_matrix", opt.alpha
    )
    tables.write_table(
        tables.penalty_table(penalty.matrix, means, penalty.n_settings, opt.alpha), tab_dir
    )
    _write_csv(penalty.tests, tab_dir / "penalty_tests.csv")
    ranking = pd.DataFrame(
        {
            "sampler": samplers,
            "mean_rank": friedman.ranks.reindex(samplers).to_numpy(dtype=float),
            "wins": penalty.matrix.sum(axis=1).reindex(samplers).to_numpy(),
            "beaten": means.reindex(samplers).to_numpy(),
        }
    )
    tables.write_table(tables.ranking_table(ranking, _friedman_note(friedman, opt)), tab_dir)

    # Diagnostics: informativeness, TiDAL KL, head/tail scatter.
    candidates = collect_candidates(cycles, results)
    informativeness, _ = informativeness_curves(candidates, opt.baseline, opt)
    if not candidates:
        notes.append(m.Note("informativeness", "no cycle-0 candidates.csv found"))
    figures.informativeness_figure(
        informativeness, fig_dir / "informativeness", opt.ci_level, samplers
    )
    kl = kl_curves(collect_diagnostics(cycles, results), opt)
    figures.tidal_kl_figure(kl, fig_dir / "tidal_kl", opt.ci_level, samplers)
    items = tail_scatter_items(candidates)
    figures.tail_scatter_figure(items, fig_dir / "tail_scatter")

    if not ri.empty and (ri["n_seeds"] == 1).any():
        notes.append(
            m.Note(
                "confidence intervals",
                "some points have a single seed: their CI is "
                "degenerate (the value itself) and says nothing about spread",
            )
        )
    write_text(out / "notes.md", _notes_markdown(cycles, refs, missing, notes, friedman, opt))
    write_json(out / "metrics.json", headline_metrics(ri, aubc))
    return expected_outputs(out)


def headline_metrics(ri: pd.DataFrame, aubc: pd.DataFrame) -> dict:
    """``{"<dataset>_ir<IR>": {sampler: {...}}}``: the numbers `dvc metrics show` compares.

    Per setting and sampler: mean relative improvement over the baseline at the
    final budget (%) with its CI, and the mean AUBC (%).
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    if not ri.empty:
        last = ri[ri["cycle"] == ri.groupby(list(m.SETTING))["cycle"].transform("max")]
        for row in last.itertuples():
            key = f"{row.dataset}_ir{float(row.imbalance_ratio):g}"
            out.setdefault(key, {})[row.sampler] = {
                "final_num_labeled": int(row.num_labeled),
                "final_ri_percent": round(float(row.ri_mean), 4),
                "final_ri_ci_low": round(float(row.ri_ci_low), 4),
                "final_ri_ci_high": round(float(row.ri_ci_high), 4),
            }
    for row in aubc.itertuples():
        key = f"{row.dataset}_ir{float(row.imbalance_ratio):g}"
        out.setdefault(key, {}).setdefault(row.sampler, {})["aubc_percent"] = round(
            float(row.mean), 4
        )
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    write_text(path, frame.to_csv(index=False, lineterminator="\n", float_format="%.6g"))


def _friedman_note(result: m.FriedmanResult, opt: ReportConfig) -> str:
    if not result.ran:
        return f"Friedman test skipped: {result.reason}."
    return (
        f"Friedman test over {result.n_blocks} settings and {result.n_groups} samplers: "
        f"χ² = {result.statistic:.3f}, p = {result.pvalue:.3g}; Nemenyi critical difference "
        f"{result.critical_difference:.3f} at α = {opt.alpha:g}."
    )


def _notes_markdown(cycles, refs, missing, notes, friedman, opt: ReportConfig) -> str:
    counts = cycles["status"].value_counts().to_dict()
    lines = [
        "# Report notes",
        "",
        f"- experiment: {', '.join(map(str, pd.unique(cycles['experiment'])))}",
        f"- metric: {opt.metric}; baseline: {opt.baseline}; CIs: {opt.ci_level:.0%} "
        f"percentile bootstrap over seeds ({opt.n_resamples} resamples, seed "
        f"{opt.bootstrap_seed}); t-tests at α = {opt.alpha:g}; initial budget in the "
        f"penalty matrix: {'yes' if opt.include_initial_budget else 'no'}",
        f"- cycle runs: {len(cycles)} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})",
        f"- reference runs: {'none (no reference.csv)' if refs is None else len(refs)}",
        f"- missing or failed runs: {len(missing)} (listed in missing.csv)",
        f"- {_friedman_note(friedman, opt)}",
        "- definitions: docs/metrics.md",
        "",
    ]
    if not notes:
        lines.append("No exclusions.")
    by_scope: dict[str, list[str]] = {}
    for note in notes:
        by_scope.setdefault(note.scope, []).append(note.message)
    for scope, messages in by_scope.items():
        lines += [f"## {scope}", ""] + [f"- {msg}" for msg in dict.fromkeys(messages)] + [""]
    return "\n".join(lines).rstrip() + "\n"


__all__ = [
    "FIGURES",
    "TABLES",
    "ReportConfig",
    "build_report",
    "collect_candidates",
    "collect_diagnostics",
    "expected_outputs",
    "final_accuracy",
    "informativeness_curves",
    "kl_curves",
    "load_summary",
    "missing_runs",
    "tail_scatter_items",
]
