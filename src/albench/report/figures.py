"""The report's figures, each written as PNG (150 dpi) and PDF.

Every function takes tidy summaries from :mod:`albench.report.metrics` (or
:mod:`albench.report.build`) and a path stem, and returns the written paths.
Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state, no
GUI backend) under seaborn's ``whitegrid`` style with the colour-blind-safe
``colorblind`` palette; samplers keep the same colour and marker in every
figure; legends sit outside the axes. When an analysis does not apply (no
TiDAL run, fewer than three settings, ...) the figure states why instead.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from albench.io import write_bytes
from albench.report.metrics import FriedmanResult, setting_label

DPI = 150
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p"]
FONT_SCALE = 1.25
X_LABELED = "number of labeled images"


def _theme():
    """Context managers for the shared look: seaborn whitegrid + paper fonts scaled up."""
    return sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=FONT_SCALE)


class _Themed:
    def __enter__(self):
        self._contexts = _theme()
        for ctx in self._contexts:
            ctx.__enter__()
        return self

    def __exit__(self, *exc):
        for ctx in reversed(self._contexts):
            ctx.__exit__(*exc)
        return False


def sampler_styles(names: Sequence[str]) -> dict[str, dict]:
    """Colour (seaborn ``colorblind``), marker and line style per name, stable in input order.

    Beyond 10 names colours repeat with a dashed line so every entry stays distinct.
    """
    palette = sns.color_palette("colorblind", 10)
    return {
        name: {
            "color": palette[k % 10],
            "marker": MARKERS[k % len(MARKERS)],
            "linestyle": "-" if k < 10 else "--",
        }
        for k, name in enumerate(names)
    }


def _palette_names(order: Sequence[str], names) -> list[str]:
    """``order`` (the experiment's samplers) then any other name: a sampler's colour and the
    colour of the score named after it stay the same across figures."""
    return [*order, *(n for n in names if n not in set(order))]


def save(fig: Figure, stem: str | Path, tight: bool = False) -> list[Path]:
    """Write ``<stem>.png`` (150 dpi) and ``<stem>.pdf`` atomically; return both paths.

    ``tight`` grows the canvas to text drawn outside the axes (the CD diagram's labels).
    """
    paths = []
    extra = {"bbox_inches": "tight", "pad_inches": 0.15} if tight else {}
    for ext, metadata in (("png", {"Software": None}), ("pdf", {"CreationDate": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=DPI, metadata=metadata, **extra)
        path = Path(f"{stem}.{ext}")
        write_bytes(path, buffer.getvalue())
        paths.append(path)
    return paths


def message_figure(title: str, message: str, stem: str | Path) -> list[Path]:
    """A figure that states why an analysis was not drawn (so the report says so)."""
    with _Themed():
        fig = Figure(figsize=(7, 2.6), layout="constrained")
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_title(title, loc="left", fontweight="bold")
        ax.text(0.0, 0.75, _wrap(message, 80), va="top", ha="left", transform=ax.transAxes)
        return save(fig, stem)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.fill(part, width) for part in text.split("\n"))


def _settings(frame: pd.DataFrame) -> list[tuple[str, float]]:
    keys = frame[["dataset", "imbalance_ratio"]].drop_duplicates()
    return sorted((d, float(r)) for d, r in keys.itertuples(index=False))


def _grid(settings: list[tuple[str, float]], panel=(5.4, 4.3), sharey: bool = False):
    """Figure with one panel per dataset (rows) × IR (columns); unused panels hidden."""
    datasets = sorted({d for d, _ in settings})
    ratios = sorted({r for _, r in settings})
    fig = Figure(
        figsize=(panel[0] * len(ratios) + 2.6, panel[1] * len(datasets) + 0.4), layout="constrained"
    )
    axes = fig.subplots(len(datasets), len(ratios), squeeze=False, sharey=sharey)
    placed = {}
    for i, dataset in enumerate(datasets):
        for j, ratio in enumerate(ratios):
            if (dataset, ratio) in settings:
                placed[(dataset, ratio)] = axes[i, j]
                axes[i, j].set_title(setting_label(dataset, ratio))
            else:
                axes[i, j].set_axis_off()
    return fig, axes, placed


def _label_grid(axes, xlabel: str, ylabel: str) -> None:
    for ax in axes[-1, :]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for row in axes:
        for ax in row:
            if ax.axison:
                ax.tick_params(labelbottom=True)
                if not ax.get_xlabel():
                    ax.set_xlabel(xlabel)


def _budget_ticks(ax, budgets) -> None:
    """Ticks at the budgets themselves when there are few, else integer ticks."""
    from matplotlib.ticker import MaxNLocator

    values = sorted({int(b) for b in budgets})
    if 0 < len(values) <= 8:
        ax.set_xticks(values)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))


def _legend(fig: Figure, handles, labels, title: str | None = None) -> None:
    if handles:
        fig.legend(handles, labels, loc="outside right upper", title=title, frameon=False)


def band_alpha(n_lines: int) -> float:
    """Opacity of CI bands: lighter when many overlap, so the lines stay readable."""
    return 0.15 if n_lines <= 4 else 0.07


def _band(ax, x, mean, low, high, style: dict, label: str, alpha: float = 0.15) -> Line2D:
    (line,) = ax.plot(
        x,
        mean,
        color=style["color"],
        marker=style["marker"],
        markersize=5,
        linestyle=style["linestyle"],
        linewidth=1.8,
        label=label,
    )
    ax.fill_between(x, low, high, color=style["color"], alpha=alpha, linewidth=0)
    return line


def relative_improvement_figure(
    curves: pd.DataFrame,
    samplers: Sequence[str],
    baseline: str,
    stem: str | Path,
    level: float = 0.95,
) -> list[Path]:
    """TiDAL poster grid: RI (%) over the baseline vs labeled images, CI bands, dashed zero.

    Args:
        curves: :func:`albench.report.metrics.improvement_curves` output.
        samplers: legend order (the baseline is skipped).
        baseline: the reference sampler (the zero line).
        stem: output path without extension.
        level: CI level (for the legend).
    """
    if curves.empty:
        return message_figure(
            "Relative improvement over random",
            f"No sampler could be paired with a finished {baseline!r} run (see notes.md).",
            stem,
        )
    styles = sampler_styles(samplers)
    with _Themed():
        fig, axes, placed = _grid(_settings(curves))
        handles = {}
        for (dataset, ratio), ax in placed.items():
            at = curves[(curves["dataset"] == dataset) & (curves["imbalance_ratio"] == ratio)]
            ax.axhline(0, color="0.25", linestyle="--", linewidth=1.2, zorder=1)
            _budget_ticks(ax, at["num_labeled"])
            for sampler in samplers:
                run = at[at["sampler"] == sampler].sort_values("num_labeled")
                if sampler == baseline or run.empty:
                    continue
                handles[sampler] = _band(
                    ax,
                    run["num_labeled"],
                    run["ri_mean"],
                    run["ri_ci_low"],
                    run["ri_ci_high"],
                    styles[sampler],
                    sampler,
                    band_alpha(len(samplers) - 1),
                )
        _label_grid(axes, X_LABELED, f"relative improvement over {baseline} (%)")
        zero = Line2D([], [], color="0.25", linestyle="--", label=f"{baseline} (0 %)")
        names = [s for s in samplers if s in handles]
        _legend(
            fig,
            [*(handles[s] for s in names), zero],
            [*names, f"{baseline} (0 %)"],
            title=f"mean over seeds,\n{level:.0%} bootstrap CI",
        )
        return save(fig, stem)


def accuracy_figure(
    curves: pd.DataFrame,
    references: pd.DataFrame,
    samplers: Sequence[str],
    metric_label: str,
    stem: str | Path,
    level: float = 0.95,
) -> list[Path]:
    """Absolute accuracy (%) vs labeled images per setting, with the full-data accuracy line.

    Args:
        curves: :func:`albench.report.metrics.summarise` of the metric (in %) by
            setting × sampler × cycle, plus ``num_labeled``.
        references: per setting ``mean`` (%) and ``n_seeds`` of the full-data runs.
    """
    if curves.empty:
        return message_figure(f"Test {metric_label}", "No finished cycle (see missing.csv).", stem)
    styles = sampler_styles(samplers)
    with _Themed():
        fig, axes, placed = _grid(_settings(curves))
        handles, full = {}, None
        for (dataset, ratio), ax in placed.items():
            at = curves[(curves["dataset"] == dataset) & (curves["imbalance_ratio"] == ratio)]
            _budget_ticks(ax, at["num_labeled"])
            for sampler in samplers:
                run = at[at["sampler"] == sampler].sort_values("num_labeled")
                if not run.empty:
                    handles[sampler] = _band(
                        ax,
                        run["num_labeled"],
                        run["mean"],
                        run["ci_low"],
                        run["ci_high"],
                        styles[sampler],
                        sampler,
                        band_alpha(len(samplers)),
                    )
            ref = references[
                (references["dataset"] == dataset) & (references["imbalance_ratio"] == ratio)
            ]
            if not ref.empty and not math.isnan(ref["mean"].iloc[0]):
                full = ax.axhline(ref["mean"].iloc[0], color="black", linestyle=":", linewidth=1.6)
                ax.annotate(
                    f"full data {ref['mean'].iloc[0]:.1f}",
                    xy=(1, ref["mean"].iloc[0]),
                    xycoords=("axes fraction", "data"),
                    xytext=(-4, -4),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    fontsize="small",
                )
        _label_grid(axes, X_LABELED, f"test {metric_label} (%)")
        names = [s for s in samplers if s in handles]
        extra = ([full], ["all-data reference"]) if full is not None else ([], [])
        _legend(
            fig,
            [handles[s] for s in names] + extra[0],
            names + extra[1],
            title=f"mean over seeds,\n{level:.0%} bootstrap CI",
        )
        return save(fig, stem)


def penalty_figure(
    matrix: pd.DataFrame,
    column_means: pd.Series,
    n_settings: int,
    stem: str | Path,
    alpha: float = 0.05,
) -> list[Path]:
    """Heatmap of the penalty matrix P[i, j] (row i beat column j) with column means below."""
    k = len(matrix)
    if k < 2 or n_settings == 0:
        return message_figure(
            "Pairwise penalty matrix",
            "Needs at least two samplers and one setting with a budget after the initial one.",
            stem,
        )
    with _Themed():
        size = max(5.5, 0.75 * k + 3)
        fig = Figure(figsize=(size + 1, size), layout="constrained")
        top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [k, 1.1]})
        mask = np.eye(k, dtype=bool)
        vmax = max(float(n_settings), 1e-9)
        sns.heatmap(
            matrix,
            ax=top,
            mask=mask,
            annot=True,
            fmt=".2f",
            cmap="mako_r",
            vmin=0,
            vmax=vmax,
            square=False,
            linewidths=0.5,
            linecolor="white",
            cbar_kws={"label": "P[i, j] (settings' worth of budgets)"},
        )
        top.grid(False)
        top.set_xlabel("")
        top.set_ylabel("sampler i (row) beat …")
        top.tick_params(axis="y", labelrotation=0)
        fig.suptitle(
            f"P[i, j]: row i significantly better than column j (paired t-test, "
            f"α = {alpha:g}); max = {n_settings}",
            fontsize="medium",
        )
        top.tick_params(axis="x", labelrotation=45)
        means = column_means.reindex(matrix.columns).to_frame().T
        sns.heatmap(
            means,
            ax=bottom,
            annot=True,
            fmt=".2f",
            cmap="mako_r",
            vmin=0,
            vmax=vmax,
            cbar=False,
            linewidths=0.5,
            linecolor="white",
            yticklabels=["column mean"],
        )
        bottom.set_xlabel(
            "… sampler j (column); column mean = how often j was beaten (lower is better)"
        )
        bottom.tick_params(axis="x", labelrotation=45)
        bottom.tick_params(axis="y", labelrotation=0)
        return save(fig, stem)


def critical_difference_figure(
    result: FriedmanResult, stem: str | Path, alpha: float = 0.05, palette_order: Sequence[str] = ()
) -> list[Path]:
    """Critical-difference diagram (Demšar 2006) of the average ranks over settings.

    When the Friedman test ran: scikit-posthocs' diagram, crossbars joining
    samplers the Nemenyi test cannot separate at ``alpha``. When skipped: the
    average ranks on a rank axis, titled with the reason.
    """
    ranks = result.ranks.sort_values()
    if ranks.empty:
        return message_figure("Critical-difference diagram", result.reason or "no ranks", stem)
    styles = sampler_styles(_palette_names(palette_order, result.ranks.index))
    with _Themed():
        fig = Figure(figsize=(9, 1.6 + 0.38 * len(ranks)), layout="constrained")
        ax = fig.add_subplot()
        if result.ran:
            import scikit_posthocs as sp

            sp.critical_difference_diagram(
                ranks,
                result.posthoc,
                ax=ax,
                alpha=alpha,
                color_palette={s: styles[s]["color"] for s in ranks.index},
                label_props={"fontsize": "medium"},
                label_fmt_left="{label} ({rank:.2f})",
                label_fmt_right="({rank:.2f}) {label}",
            )
            verdict = "rejects" if result.pvalue < alpha else "does not reject"
            ax.set_title(
                f"Average rank of mean AUBC over {result.n_blocks} settings (1 = best). "
                f"Friedman χ² = {result.statistic:.2f}, p = {result.pvalue:.3g} "
                f"({verdict} equal ranks at α = {alpha:g}); Nemenyi CD = "
                f"{result.critical_difference:.2f}",
                fontsize="medium",
                wrap=True,
            )
        else:
            y = np.arange(len(ranks))[::-1]
            ax.scatter(
                ranks.to_numpy(), y, s=60, c=[styles[s]["color"] for s in ranks.index], zorder=3
            )
            ax.set_yticks(y, list(ranks.index))
            ax.set_xlim(0.5, max(len(ranks), 2) + 0.5)
            ax.invert_xaxis()
            ax.set_xlabel("average rank of mean AUBC over settings (1 = best)")
            ax.set_title(
                _wrap(
                    f"Critical-difference diagram not drawn: {result.reason}. "
                    "Shown: average ranks only, no significance test.",
                    95,
                ),
                fontsize="medium",
                loc="left",
            )
        return save(fig, stem, tight=True)


def informativeness_figure(
    curves: pd.DataFrame, stem: str | Path, level: float = 0.95, palette_order: Sequence[str] = ()
) -> list[Path]:
    """Accuracy of the cycle-0 model on the top-x% candidates ranked by each score.

    Args:
        curves: one row per setting × score × fraction with ``mean``, ``ci_low``,
            ``ci_high`` (%), and ``overall`` (the model's accuracy on the whole
            scored subset, %), plus ``source`` (the run the score came from).
        palette_order: the experiment's samplers, so a score named after a sampler
            gets that sampler's colour.
    """
    if curves.empty:
        return message_figure(
            "Informativeness of the scores",
            "No cycle-0 candidates.csv with model predictions was found.",
            stem,
        )
    scores = list(pd.unique(curves["score"]))
    styles = sampler_styles(_palette_names(palette_order, scores))
    with _Themed():
        fig, axes, placed = _grid(_settings(curves))
        handles = {}
        for (dataset, ratio), ax in placed.items():
            at = curves[(curves["dataset"] == dataset) & (curves["imbalance_ratio"] == ratio)]
            for score in scores:
                line = at[at["score"] == score].sort_values("fraction")
                if line.empty:
                    continue
                style = {**styles[score], "marker": None}
                (handle,) = ax.plot(
                    100 * line["fraction"],
                    line["mean"],
                    color=style["color"],
                    linestyle=style["linestyle"],
                    linewidth=1.8,
                )
                ax.fill_between(
                    100 * line["fraction"],
                    line["ci_low"],
                    line["ci_high"],
                    color=style["color"],
                    alpha=band_alpha(len(scores)),
                    linewidth=0,
                )
                handles[score] = handle
            overall = at["overall"].median()
            ax.axhline(overall, color="0.3", linestyle=":", linewidth=1.2)
            ax.set_xlim(0, 100)
        _label_grid(
            axes, "top x% of the scored candidates (ranked by score)", "model accuracy on them (%)"
        )
        ref = Line2D([], [], color="0.3", linestyle=":")
        names = list(handles)
        _legend(
            fig,
            [*(handles[s] for s in names), ref],
            [*names, "accuracy on all candidates"],
            title=f"score (lower curve =\nmore informative),\n{level:.0%} CI over seeds",
        )
        return save(fig, stem)


def tidal_kl_figure(
    kl: pd.DataFrame, stem: str | Path, level: float = 0.95, palette_order: Sequence[str] = ()
) -> list[Path]:
    """KL(actual TD ‖ TiDAL's predicted TD) vs KL(actual TD ‖ snapshot) per cycle.

    Args:
        kl: one row per setting × sampler × quantity × cycle with ``num_labeled``,
            ``mean``, ``ci_low``, ``ci_high``; ``quantity`` is ``predicted`` or
            ``snapshot``.
        palette_order: the experiment's samplers (keeps colours as in the other figures).
    """
    if kl.empty:
        return message_figure(
            "TiDAL diagnostics",
            "No run recorded kl_actual_vs_predicted (no "
            "TiDAL sampler with tracked training dynamics).",
            stem,
        )
    samplers = list(pd.unique(kl["sampler"]))
    styles = sampler_styles(_palette_names(palette_order, samplers))
    looks = {"predicted": ("-", "o", "full"), "snapshot": ("--", "s", "none")}
    labels = {"predicted": "KL(actual ‖ predicted TD)", "snapshot": "KL(actual ‖ snapshot)"}
    with _Themed():
        fig, axes, placed = _grid(_settings(kl))
        used = set()
        for (dataset, ratio), ax in placed.items():
            at = kl[(kl["dataset"] == dataset) & (kl["imbalance_ratio"] == ratio)]
            _budget_ticks(ax, at["num_labeled"])
            for sampler in samplers:
                for quantity, (dash, marker, fill) in looks.items():
                    line = at[(at["sampler"] == sampler) & (at["quantity"] == quantity)]
                    if line.empty:
                        continue
                    line = line.sort_values("num_labeled")
                    mean = line["mean"].to_numpy(float)
                    err = np.vstack(
                        [
                            mean - line["ci_low"].to_numpy(float),
                            line["ci_high"].to_numpy(float) - mean,
                        ]
                    )  # (2, n)
                    ax.errorbar(
                        line["num_labeled"],
                        mean,
                        yerr=err,
                        color=styles[sampler]["color"],
                        linestyle=dash,
                        marker=marker,
                        fillstyle=fill,
                        markersize=7,
                        capsize=3,
                        linewidth=1.6,
                        markeredgewidth=1.5,
                    )
                    used.add((sampler, quantity))
        _label_grid(axes, X_LABELED, "mean KL divergence (nats)")
        handles, names = [], []
        for sampler in samplers:
            for quantity, (dash, marker, fill) in looks.items():
                if (sampler, quantity) in used:
                    handles.append(
                        Line2D(
                            [],
                            [],
                            color=styles[sampler]["color"],
                            marker=marker,
                            fillstyle=fill,
                            linestyle=dash,
                            markersize=7,
                            markeredgewidth=1.5,
                        )
                    )
                    names.append(f"{sampler}:\n{labels[quantity]}")
        _legend(fig, handles, names, title=f"mean over seeds, {level:.0%} CI")
        return save(fig, stem)


def tail_scatter_figure(items: list[dict], stem: str | Path) -> list[Path]:
    """TiDAL poster's motivating scatter: snapshot vs TD entropy and margin, head vs tail.

    Args:
        items: one per long-tailed setting, each with ``title`` (setting, run,
            seed), ``frame`` (candidates with entropy, td_entropy, margin,
            td_margin, is_tail) and ``auroc`` (score name → AUROC of tail above head).
    """
    if not items:
        return message_figure(
            "Head vs tail: snapshot vs training-dynamics scores",
            "No long-tailed setting (IR > 1) has a cycle-0 candidates.csv with "
            "td_entropy / td_margin (runs of td_entropy, dispersion or a TiDAL "
            "sampler).",
            stem,
        )
    palette = sns.color_palette("colorblind", 10)
    colours = {"head": palette[0], "tail": palette[3]}
    panels = [
        ("entropy", "td_entropy", "entropy", 1.0),
        ("margin", "td_margin", "margin p₁ − p₂", -1.0),
    ]
    with _Themed():
        fig = Figure(figsize=(12.5, 5.6 * len(items)), layout="constrained")
        rows = fig.subfigures(len(items), 1, squeeze=False)[:, 0]
        for item, subfig in zip(items, rows, strict=True):
            subfig.suptitle(item["title"], fontweight="bold")
            cells = subfig.subfigures(1, 2)
            frame = item["frame"]
            tail = frame["is_tail"].astype(bool).to_numpy()
            for cell, (snap, td, label, sign) in zip(cells, panels, strict=True):
                grid = cell.add_gridspec(2, 2, width_ratios=[4, 1], height_ratios=[1, 4])
                ax = cell.add_subplot(grid[1, 0])
                top = cell.add_subplot(grid[0, 0], sharex=ax)
                right = cell.add_subplot(grid[1, 1], sharey=ax)
                x, y = sign * frame[snap].to_numpy(float), sign * frame[td].to_numpy(float)
                x_bins, y_bins = np.histogram_bin_edges(x, 30), np.histogram_bin_edges(y, 30)
                for group, mask in (("head", ~tail), ("tail", tail)):
                    ax.scatter(
                        x[mask],
                        y[mask],
                        s=9,
                        alpha=0.45,
                        color=colours[group],
                        linewidths=0,
                        label=f"{group} ({int(mask.sum())})",
                    )
                    if mask.any():  # marginal densities, each group normalised to area 1
                        top.hist(
                            x[mask],
                            bins=x_bins,
                            density=True,
                            histtype="stepfilled",
                            alpha=0.35,
                            color=colours[group],
                            edgecolor=colours[group],
                        )
                        right.hist(
                            y[mask],
                            bins=y_bins,
                            density=True,
                            histtype="stepfilled",
                            alpha=0.35,
                            color=colours[group],
                            edgecolor=colours[group],
                            orientation="horizontal",
                        )
                top.set_axis_off()
                right.set_axis_off()
                ax.set_xlabel(f"snapshot {label}")
                ax.set_ylabel(f"training-dynamics {label}")
                auc = item["auroc"]
                top.set_title(
                    f"AUROC tail > head: snapshot {auc.get(snap, math.nan):.3f}, "
                    f"TD {auc.get(td, math.nan):.3f}",
                    fontsize="medium",
                )
                corner = cell.add_subplot(grid[0, 1])
                corner.set_axis_off()
                handles, names = ax.get_legend_handles_labels()
                corner.legend(
                    handles,
                    names,
                    loc="center",
                    fontsize="small",
                    markerscale=2.5,
                    frameon=False,
                    handletextpad=0.2,
                )
        return save(fig, stem)


__all__ = [
    "accuracy_figure",
    "critical_difference_figure",
    "informativeness_figure",
    "message_figure",
    "penalty_figure",
    "relative_improvement_figure",
    "sampler_styles",
    "save",
    "tail_scatter_figure",
    "tidal_kl_figure",
]
