"""Build every figure and table of an experiment from its result store.

Reads ``summary/cycles.csv`` and ``summary/reference.csv`` (written by
:mod:`albench.aggregate`), each finished cycle's ``metrics.json``
(diagnostics) and the cycle-0 ``candidates.csv`` files, computes the
statistics of :mod:`albench.report.metrics` and writes::

    <out>/figures/<name>.{png,pdf}     one per entry of FIGURES
    <out>/tables/<name>.{csv,md,tex,html}   one per entry of TABLES
    <out>/missing.csv                  every missing / failed run
    <out>/notes.md                     options used, exclusions and skipped analyses
    <out>/claims.md                    the papers' claims: estimate, interval, verdict, scale
    <out>/metrics.json                 headline numbers (``dvc metrics show``)

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
from albench.report import claims as c
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


# diagnostics column -> metrics.json key: the actual TD in the clean eval view, and (when
# recorded) in TiDAL's own target view (train-mode BN, training augmentation).
KL_KEYS = {
    "predicted": "kl_actual_vs_predicted",
    "snapshot": "kl_actual_vs_snapshot",
    "predicted_train": "kl_actual_train_vs_predicted",
    "snapshot_train": "kl_actual_train_vs_snapshot",
}


def collect_diagnostics(cycles: pd.DataFrame, results: str | Path) -> pd.DataFrame:
    """KL diagnostics of every finished cycle's ``metrics.json`` that has them (NaN if absent)."""
    rows = []
    for row in m.ok_rows(cycles).itertuples():
        path = _run_dir(Path(results), row) / "metrics.json"
        if not path.exists():
            continue
        diag = json.loads(path.read_text()).get("diagnostics") or {}
        if not any(key in diag for key in KL_KEYS.values()):
            continue
        rows.append(
            {
                "dataset": row.dataset,
                "imbalance_ratio": row.imbalance_ratio,
                "sampler": row.sampler,
                "seed": row.seed,
                "cycle": row.cycle,
                "num_labeled": row.num_labeled,
                **{column: diag.get(key, math.nan) for column, key in KL_KEYS.items()},
            }
        )
    columns = [*m.SETTING, "sampler", "seed", "cycle", "num_labeled", *KL_KEYS]
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


def interval_spec(opt: ReportConfig) -> m.IntervalSpec:
    """The report's :class:`~albench.report.metrics.IntervalSpec` from its options."""
    return m.IntervalSpec(opt.interval, opt.ci_level, opt.n_resamples, opt.bootstrap_seed)


def describe_interval(opt: ReportConfig, frame: pd.DataFrame, column: str = "n_seeds") -> str:
    """``"95% t interval over seeds, n = 3 (fewer than 5 seeds: wide)"`` for a summary."""
    counts = frame[column].dropna() if column in frame and not frame.empty else pd.Series([])
    if counts.empty:
        return interval_spec(opt).describe()
    return interval_spec(opt).describe(int(counts.min()), int(counts.max()))


def _percent_summary(frame: pd.DataFrame, by: list[str], value: str, opt: ReportConfig):
    scaled = frame.assign(**{value: 100.0 * frame[value]})
    return m.summarise(scaled, by, value, interval_spec(opt))


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
    candidates: dict[tuple, pd.DataFrame],
    baseline: str,
    opt: ReportConfig,
    random_queries: tuple[str, ...] | list[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Top-x% accuracy curves per setting × score (mean and interval over seeds, %).

    Each score is taken from one run per seed: the run of the sampler of the
    same name if it recorded it, else the baseline's run, else the first run
    (alphabetically) that has it. ``sampler_<name>`` columns are the sampler's
    own score, kept under ``<name>`` unless they duplicate a generic column or
    the sampler is in ``random_queries`` (controls: their own score is a random
    draw, the same ranking as ``random``).

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
                if column.startswith("sampler_") and (
                    score in random_queries or _duplicates_generic(frame, column)
                ):
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
    summary = m.summarise(long, by, "accuracy", interval_spec(opt))
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
    """Mean and interval over seeds of the KL diagnostics, per view, for samplers with a
    predicted TD (``view``: ``clean`` or ``train``; ``quantity``: ``predicted`` or ``snapshot``)."""
    columns = [*m.SETTING, "sampler", "view", "quantity", "cycle", "num_labeled", "mean"]
    columns += ["ci_low", "ci_high", "ci_method", "n_seeds"]
    tidal = diagnostics.dropna(subset=["predicted", "predicted_train"], how="all")
    if tidal.empty:
        return pd.DataFrame(columns=columns)
    long = tidal.melt(
        id_vars=[*m.SETTING, "sampler", "seed", "cycle", "num_labeled"],
        value_vars=list(KL_KEYS),
        var_name="column",
        value_name="kl",
    ).dropna(subset=["kl"])
    long["view"] = np.where(long["column"].str.endswith("_train"), "train", "clean")
    long["quantity"] = long["column"].str.removesuffix("_train")
    by = [*m.SETTING, "sampler", "view", "quantity", "cycle"]
    out = m.summarise(long, by, "kl", interval_spec(opt))
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
            f"{m.setting_label(dataset, ratio)} — cycle-0 candidates of one run ({key[3]}, "
            f"seed {key[2]}; n = 1 seed) — {int(tail.sum())} tail / {int((~tail).sum())} head"
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


def registry_role(name: str) -> tuple[str, str | None] | None:
    """``(role, control)`` of a registered sampler, for results written before roles existed."""
    try:
        from albench.samplers import get_sampler_class

        cls = get_sampler_class(name)
    except Exception:
        return None
    return cls.role, getattr(cls, "control", None)


def effect_curves(
    cycles: pd.DataFrame,
    controls: dict[str, str | None],
    baseline: str,
    opt: ReportConfig,
) -> tuple[pd.DataFrame, dict[str, str], list[m.Note]]:
    """Selection effect (method vs its own control) curves, paired by seed.

    Returns:
        ``(selection, pairs, notes)``: :func:`~albench.report.metrics.improvement_curves`
        of every method whose control ran, the method → control pairs used, and notes
        for methods whose control is not in the run.
    """
    present = set(cycles["sampler"])
    pairs, notes = {}, []
    for sampler, control in controls.items():
        if not control:
            continue
        if control in present:
            pairs[sampler] = control
        else:
            notes.append(
                m.Note(
                    "selection effect",
                    f"{sampler}: its random control {control!r} is not in this run; only its "
                    f"total effect over {baseline} is reported (it mixes the selection and the "
                    "training effect)",
                )
            )
    per_seed, found = m.paired_differences(cycles, pairs, opt.metric, "selection effect")
    return m.improvement_curves(per_seed, interval_spec(opt)), pairs, notes + found


def effects_summary(
    ri: pd.DataFrame, selection: pd.DataFrame, pairs: dict[str, str], baseline: str
) -> pd.DataFrame:
    """Per setting × method with a control, at the final budget: total, selection, training Δ."""
    rows = []
    final_ri = final_rows(ri) if not ri.empty else ri
    final_sel = final_rows(selection) if not selection.empty else selection
    for method, control in pairs.items():
        for dataset, ratio in sorted(
            {(d, float(r)) for d, r in final_sel[m.SETTING].itertuples(index=False)}
        ):
            row = {
                "dataset": dataset,
                "imbalance_ratio": ratio,
                "method": method,
                "control": control,
                "baseline": baseline,
            }
            for kind, frame, name in (
                ("total", final_ri, method),
                ("selection", final_sel, method),
                ("training", final_ri, control),
            ):
                hit = frame[
                    (frame["dataset"] == dataset)
                    & (frame["imbalance_ratio"] == ratio)
                    & (frame["sampler"] == name)
                ]
                found = not hit.empty
                row[f"{kind}_mean"] = hit["delta_mean"].iloc[0] if found else math.nan
                row[f"{kind}_low"] = hit["delta_ci_low"].iloc[0] if found else math.nan
                row[f"{kind}_high"] = hit["delta_ci_high"].iloc[0] if found else math.nan
                row[f"{kind}_n"] = int(hit["n_seeds"].iloc[0]) if found else 0
                row[f"{kind}_num_labeled"] = hit["num_labeled"].iloc[0] if found else math.nan
            if row["selection_n"]:
                rows.append(row)
    columns = ["dataset", "imbalance_ratio", "method", "control", "baseline"]
    columns += [
        f"{k}_{v}"
        for k in ("total", "selection", "training")
        for v in ("mean", "low", "high", "n", "num_labeled")
    ]
    return pd.DataFrame(rows, columns=columns)


TIME_COLUMNS = {
    "train_s": "train_time_s",
    "evaluate_s": "evaluate_time_s",
    "total_s": "total_time_s",
}
QUERY_COLUMNS = {"score_s": "score_time_s", "select_s": "select_time_s"}


def cost_summary(cycles: pd.DataFrame, ri: pd.DataFrame, aubc: pd.DataFrame) -> pd.DataFrame:
    """Per setting × sampler: mean seconds per cycle / per query, peak RSS, and the gains.

    Train, evaluate and total seconds are means over every finished cycle; score and
    select seconds over the querying cycles (every cycle but the setting's last, which
    does not query); peak RSS is the largest over the sampler's cycles. The gains are
    the final-budget RI over the baseline and the mean AUBC (%).
    """
    ok = m.ok_rows(cycles)
    rows = []
    last = ok.groupby(m.SETTING)["cycle"].transform("max")
    ok = ok.assign(queries=ok["cycle"] < last)
    final_ri = final_rows(ri) if not ri.empty else ri
    for (dataset, ratio, sampler), group in ok.groupby([*m.SETTING, "sampler"]):
        row = {"dataset": dataset, "imbalance_ratio": ratio, "sampler": sampler}
        for key, column in TIME_COLUMNS.items():
            row[key] = _mean_or_nan(group, column)
        querying = group[group["queries"]]
        for key, column in QUERY_COLUMNS.items():
            row[key] = _mean_or_nan(querying, column)
        rss = group["peak_rss_mb"] if "peak_rss_mb" in group else pd.Series(dtype=float)
        row["peak_rss_mb"] = float(pd.to_numeric(rss, errors="coerce").max())
        row["n_cycles"], row["n_queries"] = len(group), len(querying)
        hit = final_ri[
            (final_ri["dataset"] == dataset)
            & (final_ri["imbalance_ratio"] == ratio)
            & (final_ri["sampler"] == sampler)
        ]
        row["ri_final"] = hit["ri_mean"].iloc[0] if not hit.empty else math.nan
        hit = aubc[
            (aubc["dataset"] == dataset)
            & (aubc["imbalance_ratio"] == ratio)
            & (aubc["sampler"] == sampler)
        ]
        row["aubc"] = hit["mean"].iloc[0] if not hit.empty else math.nan
        rows.append(row)
    columns = ["dataset", "imbalance_ratio", "sampler", *TIME_COLUMNS, *QUERY_COLUMNS]
    columns += ["peak_rss_mb", "n_cycles", "n_queries", "ri_final", "aubc"]
    return pd.DataFrame(rows, columns=columns)


def _mean_or_nan(frame: pd.DataFrame, column: str) -> float:
    if column not in frame or frame.empty:
        return math.nan
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.mean()) if not values.empty else math.nan


def build_report(
    summary_dir: str | Path,
    results: str | Path,
    out_dir: str | Path,
    options: ReportConfig | None = None,
    models: dict[str, str] | None = None,
) -> list[Path]:
    """Compute every statistic and write every figure, table, ``missing.csv``, ``notes.md``
    and ``claims.md``.

    Args:
        summary_dir: folder with ``cycles.csv`` (and ``reference.csv``).
        results: the results root (``results/``), holding ``<experiment>/...``.
        out_dir: where to write.
        options: :class:`ReportConfig` (defaults if None).
        models: dataset → model name (from the config), for the claims' scale lines.

    Returns:
        The written paths (equal to :func:`expected_outputs`).
    """
    opt = options or ReportConfig()
    out = Path(out_dir)
    fig_dir, tab_dir = out / "figures", out / "tables"
    cycles, refs = load_summary(summary_dir)
    notes: list[m.Note] = []

    # Roles: methods compete; controls and references are shown apart and not ranked.
    roles, controls, found = m.sampler_roles(cycles, registry_role)
    notes += found
    samplers = m.order_by_role(list(pd.unique(cycles["sampler"])), roles)
    apart = [s for s in samplers if roles[s] != "method"]
    ranked = samplers if opt.rank_all else [s for s in samplers if s not in apart]
    scope = _rank_scope(apart, opt)
    if apart:
        notes.append(m.Note("roles", scope))

    notes += m.fit_notes(cycles, opt.fit_criterion)
    notes += m.device_notes(cycles)
    missing = missing_runs(cycles, refs)
    _write_csv(missing, out / "missing.csv")

    # Relative improvement over the baseline (total effect), paired by seed.
    per_seed, found = m.paired_improvement(cycles, opt.metric, opt.baseline)
    notes += found
    ri = m.improvement_curves(per_seed, interval_spec(opt))
    band = describe_interval(opt, ri)
    figures.relative_improvement_figure(
        ri, samplers, opt.baseline, fig_dir / "relative_improvement", band, apart
    )
    # Selection effect: each method over its own random control, paired by seed.
    selection, pairs, found = effect_curves(cycles, controls, opt.baseline, opt)
    notes += found
    training = ri[ri["sampler"].isin(set(pairs.values()))] if not ri.empty else ri
    total = ri[ri["sampler"].isin(set(pairs))] if not ri.empty else ri
    figures.selection_effect_figure(
        figures.EffectCurves(total, selection, training),
        pairs,
        opt.baseline,
        fig_dir / "selection_effect",
        describe_interval(opt, selection) if not selection.empty else band,
        samplers,
    )
    ri_table = tables.improvement_table(
        final_rows(ri) if not ri.empty else ri,
        samplers,
        opt.baseline,
        opt.metric_label,
        band,
        final_rows(selection) if not selection.empty else None,
        apart,
    )
    ri_table.data = ri  # the CSV keeps every budget; the formatted tables show the final one
    ri_table.notes.append(f"Intervals: {band}.")
    tables.write_table(ri_table, tab_dir)
    effects = effects_summary(ri, selection, pairs, opt.baseline)
    effects_table = tables.effects_table(effects, describe_interval(opt, effects, "selection_n"))
    effects_table.notes.append(f"Intervals: {describe_interval(opt, effects, 'selection_n')}.")
    tables.write_table(effects_table, tab_dir)

    # Absolute accuracy curves, full-data reference, per-cycle and final tables.
    curves = accuracy_curves(cycles, opt)
    reference = reference_summary(refs, opt)
    figures.accuracy_figure(
        curves,
        reference,
        samplers,
        opt.metric_label,
        fig_dir / "accuracy_curves",
        describe_interval(opt, curves),
        apart,
    )
    tables.write_table(
        tables.cycle_accuracy_table(curves, samplers, opt.metric_label, apart), tab_dir
    )
    final, found = final_accuracy(cycles, refs, opt)
    notes += found
    tables.write_table(
        tables.final_accuracy_table(final, samplers, opt.metric_label, apart), tab_dir
    )

    # AUBC per run, its summary, ranks and the Friedman test over settings.
    runs, found = m.aubc_per_run(cycles, opt.metric)
    notes += found
    aubc = _percent_summary(runs, [*m.SETTING, "sampler"], "aubc", opt)
    aubc_band = describe_interval(opt, aubc)
    aubc_table = tables.aubc_table(aubc, samplers, opt.metric_label, aubc_band, apart)
    aubc_table.notes.append(f"Intervals: {aubc_band}.")
    tables.write_table(aubc_table, tab_dir)
    scores, found = m.block_table(runs[runs["sampler"].isin(ranked)], "aubc", ranked)
    notes += found
    friedman = m.friedman_test(scores, opt.alpha)
    if not friedman.ran:
        notes.append(m.Note("Friedman test", f"skipped: {friedman.reason}"))
    aubc_seeds = figures.seeds_text(aubc[aubc["sampler"].isin(ranked)]["n_seeds"])
    figures.critical_difference_figure(
        friedman,
        fig_dir / "critical_difference",
        opt.alpha,
        samplers,
        f"Mean AUBC over {aubc_seeds} per setting; {scope}",
    )

    # Pairwise penalty matrix.
    penalty = m.penalty_matrix(
        cycles[cycles["sampler"].isin(ranked)], opt.metric, opt.alpha, opt.include_initial_budget
    )
    notes += penalty.notes
    means = penalty.column_means()
    tested = penalty.tests.dropna(subset=["t"])
    figures.penalty_figure(
        penalty.matrix,
        means,
        penalty.n_settings,
        fig_dir / "penalty_matrix",
        opt.alpha,
        f"t-tests over {figures.seeds_text(tested['n'])} (shared seeds)",
        scope,
    )
    tables.write_table(
        tables.penalty_table(penalty.matrix, means, penalty.n_settings, opt.alpha, scope),
        tab_dir,
    )
    _write_csv(penalty.tests, tab_dir / "penalty_tests.csv")
    ranking = pd.DataFrame(
        {
            "sampler": ranked,
            "mean_rank": friedman.ranks.reindex(ranked).to_numpy(dtype=float),
            "wins": penalty.matrix.sum(axis=1).reindex(ranked).to_numpy(),
            "beaten": means.reindex(ranked).to_numpy(),
        }
    )
    tables.write_table(
        tables.ranking_table(ranking, [_friedman_note(friedman, opt), scope]), tab_dir
    )

    # Diagnostics: informativeness, TiDAL KL, head/tail scatter.
    candidates = collect_candidates(cycles, results)
    controls_ = [s for s in samplers if roles[s] == "control"]
    informativeness, _ = informativeness_curves(candidates, opt.baseline, opt, controls_)
    if not candidates:
        notes.append(m.Note("informativeness", "no cycle-0 candidates.csv found"))
    figures.informativeness_figure(
        informativeness,
        fig_dir / "informativeness",
        describe_interval(opt, informativeness),
        samplers,
    )
    diagnostics = collect_diagnostics(cycles, results)
    kl = kl_curves(diagnostics, opt)
    figures.tidal_kl_figure(kl, fig_dir / "tidal_kl", describe_interval(opt, kl), samplers)
    items = tail_scatter_items(candidates)
    figures.tail_scatter_figure(items, fig_dir / "tail_scatter")

    # Cost: seconds per cycle and per query, peak memory, beside the gains.
    cost = cost_summary(cycles, ri, aubc)
    tables.write_table(tables.cost_table(cost, samplers, opt.baseline, apart), tab_dir)

    # The papers' claims, each with its estimate, interval, verdict and scale.
    last = m.ok_rows(final_rows(cycles))
    results_ = c.evaluate_claims(
        c.ClaimInputs(cycles, runs, last, diagnostics, candidates, opt.metric, models),
        interval_spec(opt),
        opt.alpha,
        {"claim_margin": opt.claim_margin, "claim_kl_margin": opt.claim_kl_margin},
    )
    claims = c.claims_frame(results_)
    tables.write_table(tables.claims_table(results_, claims), tab_dir)
    experiment = ", ".join(map(str, pd.unique(cycles["experiment"])))
    write_text(out / "claims.md", c.claims_markdown(results_, experiment, opt))

    small = [frame for frame in (ri, curves, aubc) if not frame.empty]
    if any((frame["n_seeds"] == 1).any() for frame in small):
        notes.append(
            m.Note(
                "confidence intervals",
                "some points have a single seed: they have no interval (t, BCa) or a "
                "degenerate one (percentile bootstrap: the value itself)",
            )
        )
    write_text(
        out / "notes.md",
        _notes_markdown(
            cycles,
            (len(missing), None if refs is None else len(refs)),
            notes,
            friedman,
            opt,
            band,
            results_,
        ),
    )
    write_json(out / "metrics.json", headline_metrics(ri, aubc, selection, results_))
    _write_csv(learning_curves(cycles, opt.metric), out / "curves.csv")
    return expected_outputs(out)


def learning_curves(cycles: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Test ``metric`` (%) of every finished cycle: one tidy row per setting, sampler, seed
    and labeled-set size, the file ``dvc plots show/diff`` overlays across experiments
    (``dvc.yaml``: x = labeled, y = percent)."""
    columns = [
        "series",
        "dataset",
        "imbalance_ratio",
        "sampler",
        "seed",
        "metric",
        "labeled",
        "percent",
    ]
    ok = cycles[cycles["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    frame = ok.sort_values(["dataset", "imbalance_ratio", "sampler", "seed", "num_labeled"])
    frame = frame.assign(
        metric=metric,
        labeled=frame["num_labeled"].astype(int),
        percent=(100 * frame[metric]).round(4),
        series=frame["dataset"]
        + " IR "
        + frame["imbalance_ratio"].map("{:g}".format)
        + " "
        + frame["sampler"],
    )
    return frame[columns].reset_index(drop=True)


def _rank_scope(apart: list[str], opt: ReportConfig) -> str:
    if not apart:
        return "every sampler is a method (no control or reference set apart)"
    names = ", ".join(apart)
    if opt.rank_all:
        return f"all samplers ranked, controls and references included (rank_all): {names}"
    return (
        f"methods only: controls and references ({names}) are not in the ranks, the "
        "critical-difference diagram or the penalty matrix (report.rank_all: true includes them)"
    )


def headline_metrics(
    ri: pd.DataFrame,
    aubc: pd.DataFrame,
    selection: pd.DataFrame | None = None,
    claims: list | None = None,
) -> dict:
    """``{"<dataset>_ir<IR>": {sampler: {...}}, "claims": {...}}`` for `dvc metrics show`.

    Per setting and sampler: mean relative improvement over the baseline at the
    final budget (%) with its interval, the selection RI over the method's own
    control (methods with one), and the mean AUBC (%). ``claims``: per claim, 1 =
    supported, 0 = inconclusive, −1 = not supported (untestable claims are left out).
    """
    out: dict[str, dict] = {}
    if not ri.empty:
        last = final_rows(ri)
        for row in last.itertuples():
            key = f"{row.dataset}_ir{float(row.imbalance_ratio):g}"
            out.setdefault(key, {})[row.sampler] = {
                "final_num_labeled": int(row.num_labeled),
                "final_ri_percent": _round(row.ri_mean),
                "final_ri_ci_low": _round(row.ri_ci_low),
                "final_ri_ci_high": _round(row.ri_ci_high),
                "n_seeds": int(row.n_seeds),
            }
    if selection is not None and not selection.empty:
        for row in final_rows(selection).itertuples():
            key = f"{row.dataset}_ir{float(row.imbalance_ratio):g}"
            entry = out.setdefault(key, {}).setdefault(row.sampler, {})
            entry["final_selection_ri_percent"] = _round(row.ri_mean)
            entry["final_selection_ri_ci_low"] = _round(row.ri_ci_low)
            entry["final_selection_ri_ci_high"] = _round(row.ri_ci_high)
    for row in aubc.itertuples():
        key = f"{row.dataset}_ir{float(row.imbalance_ratio):g}"
        out.setdefault(key, {}).setdefault(row.sampler, {})["aubc_percent"] = _round(row.mean)
    codes = {c.SUPPORTED: 1, c.INCONCLUSIVE: 0, c.NOT_SUPPORTED: -1}
    verdicts = {r.spec.key: codes[r.verdict] for r in claims or [] if r.verdict in codes}
    if verdicts:
        out["claims"] = verdicts
    return out


def _round(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


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


def _notes_markdown(cycles, run_status, notes, friedman, opt, band, claims) -> str:
    """notes.md; ``run_status`` = (missing or failed runs, reference runs or None)."""
    missing, references = run_status
    counts = cycles["status"].value_counts().to_dict()
    if opt.interval == "bootstrap":
        how = f"{opt.n_resamples} resamples, generator seed {opt.bootstrap_seed}"
    elif opt.interval == "bca":
        how = (
            f"BCa from {m.BCA_MIN_N} seeds ({opt.n_resamples} resamples, generator seed "
            f"{opt.bootstrap_seed}), t below"
        )
    else:
        how = "mean ± t quantile × s/√n"
    verdicts = "; ".join(f"({r.spec.key}) {r.verdict}" for r in claims)
    lines = [
        "# Report notes",
        "",
        f"- experiment: {', '.join(map(str, pd.unique(cycles['experiment'])))}",
        f"- metric: {opt.metric}; baseline: {opt.baseline}",
        f"- intervals: {band} ({how}); t-tests at α = {opt.alpha:g}; initial budget in the "
        f"penalty matrix: {'yes' if opt.include_initial_budget else 'no'}",
        f"- cycle runs: {len(cycles)} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})",
        f"- reference runs: {'none (no reference.csv)' if references is None else references}",
        f"- missing or failed runs: {missing} (listed in missing.csv)",
        f"- {_friedman_note(friedman, opt)}",
        f"- claims (claims.md): {verdicts}",
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
    "cost_summary",
    "describe_interval",
    "effect_curves",
    "effects_summary",
    "expected_outputs",
    "final_accuracy",
    "informativeness_curves",
    "interval_spec",
    "kl_curves",
    "load_summary",
    "missing_runs",
    "tail_scatter_items",
]
