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
from typing import NamedTuple

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


def sampler_styles(names: Sequence[str], references: Sequence[str] = ()) -> dict[str, dict]:
    """Colour (seaborn ``colorblind``), marker and line style per name, stable in input order.

    Controls and references (``references``) are dashed with open markers, so they
    stand apart from the competing methods in every figure. Beyond 10 names
    colours repeat with a dash-dot line so every entry stays distinct.
    """
    palette = sns.color_palette("colorblind", 10)
    apart = set(references)
    return {
        name: {
            "color": palette[k % 10],
            "marker": MARKERS[k % len(MARKERS)],
            "linestyle": "--" if name in apart else ("-" if k < 10 else "-."),
            "fillstyle": "none" if name in apart else "full",
        }
        for k, name in enumerate(names)
    }


def seeds_text(n_seeds) -> str:
    """``"n = 3 seeds"`` or ``"n = 2–3 seeds"`` from the seed counts behind a figure's points."""
    values = [int(v) for v in pd.Series(n_seeds).dropna()]
    if not values:
        return "no seeds"
    low, high = min(values), max(values)
    n = f"{low}" if low == high else f"{low}–{high}"
    return f"n = {n} seed{'s' if high != 1 else ''}"


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


def _suptitle(fig: Figure, text: str, fontsize: str = "medium", legend: bool = True) -> None:
    """A left-aligned figure title wrapped to the panels' width, clear of the legend."""
    room = fig.get_figwidth() - (4.0 if legend else 0.5)
    width = max(40, int(room * 10))  # about 10 characters per inch at the medium size
    fig.suptitle(_wrap(text, width), fontsize=fontsize, x=0.01, ha="left")


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


HEADER = "__header__"


def _grouped_legend(
    fig: Figure,
    handles: dict[str, Line2D],
    order: Sequence[str],
    references: Sequence[str],
    title: str | None,
    extra: Sequence[tuple[Line2D, str]] = (),
    reference_title: str = "controls & references\n(not ranked)",
) -> None:
    """One legend: the methods, then a bold sub-heading and the controls and references."""
    apart = set(references)
    methods = [n for n in order if n in handles and n not in apart]
    others = [n for n in order if n in handles and n in apart]
    entries = [(handles[n], n) for n in methods]
    if others:
        blank = Line2D([], [], linestyle="none", marker=None, label=HEADER)
        entries += [(blank, reference_title)] + [(handles[n], n) for n in others]
    entries += list(extra)
    if not entries:
        return
    legend = fig.legend(
        [h for h, _ in entries],
        [lab for _, lab in entries],
        loc="outside right upper",
        title=title,
        frameon=False,
    )
    for (handle, _), text in zip(entries, legend.get_texts(), strict=True):
        if handle.get_label() == HEADER:
            text.set_fontweight("bold")


def _clip_percent(ax) -> None:
    """Keep a percentage axis within [0, 100]: t bands of bounded values can run past it."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, 0.0), min(high, 100.0))


def band_alpha(n_lines: int) -> float:
    """Opacity of CI bands: lighter when many overlap, so the lines stay readable."""
    return 0.15 if n_lines <= 4 else 0.07


RI_COLUMNS = ("ri_mean", "ri_ci_low", "ri_ci_high")  # improvement_curves output


def _band(
    ax, run: pd.DataFrame, columns: tuple[str, str, str], style: dict, label: str, alpha: float
) -> Line2D:
    """A curve over ``run["num_labeled"]`` with its interval band; ``columns`` names the
    mean, lower and upper columns of ``run``."""
    x = run["num_labeled"]
    mean, low, high = (run[name] for name in columns)
    (line,) = ax.plot(
        x,
        mean,
        color=style["color"],
        marker=style["marker"],
        fillstyle=style.get("fillstyle", "full"),
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
    band: str = "95% t interval over seeds",
    references: Sequence[str] = (),
) -> list[Path]:
    """TiDAL poster grid: RI (%) over the baseline vs labeled images, interval bands, dashed zero.

    Args:
        curves: :func:`albench.report.metrics.improvement_curves` output.
        samplers: legend order (the baseline is skipped).
        baseline: the reference sampler (the zero line).
        stem: output path without extension.
        band: what the bands are (legend title), e.g. ``IntervalSpec.describe(...)``.
        references: controls and references, drawn dashed in their own legend group.
    """
    if curves.empty:
        return message_figure(
            "Relative improvement over random",
            f"No sampler could be paired with a finished {baseline!r} run (see notes.md).",
            stem,
        )
    styles = sampler_styles(samplers, references)
    with _Themed():
        fig, axes, placed = _grid(_settings(curves))
        handles = {}
        for (dataset, ratio), ax in placed.items():
            at = curves[(curves["dataset"] == dataset) & (curves["imbalance_ratio"] == ratio)]
            ax.axhline(0, color="0.25", linestyle=":", linewidth=1.2, zorder=1)
            _budget_ticks(ax, at["num_labeled"])
            for sampler in samplers:
                run = at[at["sampler"] == sampler].sort_values("num_labeled")
                if sampler == baseline or run.empty:
                    continue
                handles[sampler] = _band(
                    ax,
                    run,
                    RI_COLUMNS,
                    styles[sampler],
                    sampler,
                    band_alpha(len(samplers) - 1),
                )
        _label_grid(axes, X_LABELED, f"relative improvement over {baseline} (%)")
        _suptitle(
            fig,
            f"Relative improvement over {baseline}, paired by seed: mean over seeds "
            f"({seeds_text(curves['n_seeds'])})",
            fontsize="medium",
        )
        zero = Line2D([], [], color="0.25", linestyle=":")
        _grouped_legend(
            fig,
            handles,
            samplers,
            references,
            title=_wrap(f"mean, band: {band}", 26),
            extra=[(zero, f"{baseline} (0 %)")],
        )
        return save(fig, stem)


class EffectCurves(NamedTuple):
    """:func:`albench.report.metrics.improvement_curves` of each method m vs the baseline
    (total), m vs its control c (selection), and c vs the baseline (training)."""

    total: pd.DataFrame
    selection: pd.DataFrame
    training: pd.DataFrame


def selection_effect_figure(
    effects: EffectCurves,
    controls: dict[str, str],
    baseline: str,
    stem: str | Path,
    band: str = "95% t interval over seeds",
    palette_order: Sequence[str] = (),
) -> list[Path]:
    """Selection vs total effect of every method that has its own random control.

    One panel per setting. Per method m with control c, all in RI (%), paired by seed:
    solid = selection effect (m over c), dashed = total effect (m over the
    baseline), dotted (open markers, the control's colour) = training effect (c
    over the baseline).

    Args:
        effects: the total, selection and training curves.
        controls: method → its control (only methods whose control ran).
    """
    total, selection, training = effects
    if selection.empty:
        return message_figure(
            "Selection vs total effect",
            "No method in this run has its random control (e.g. tidal_entropy / tidal_margin "
            "with tidal_random, ll4al with ll4al_random) with finished paired runs, so the "
            "selection effect (method − control) cannot be separated from the training effect "
            "(control − random).",
            stem,
        )
    styles = sampler_styles(_palette_names(palette_order, [*controls, *controls.values()]))
    looks = {
        "selection": ("-", "full"),
        "total": ("--", "full"),
        "training": (":", "none"),
    }
    with _Themed():
        fig, axes, placed = _grid(_settings(selection))
        handles: dict[str, Line2D] = {}
        for (dataset, ratio), ax in placed.items():
            ax.axhline(0, color="0.25", linestyle="-", linewidth=0.8, zorder=1)

            def at(frame, dataset=dataset, ratio=ratio):
                return frame[(frame["dataset"] == dataset) & (frame["imbalance_ratio"] == ratio)]

            _budget_ticks(ax, at(selection)["num_labeled"])
            drawn_controls = set()
            for method, control in controls.items():
                for kind, frame, name, colour_of in (
                    ("selection", selection, method, method),
                    ("total", total, method, method),
                    ("training", training, control, control),
                ):
                    if kind == "training" and control in drawn_controls:
                        continue
                    run = at(frame)
                    run = run[run["sampler"] == name].sort_values("num_labeled")
                    if run.empty:
                        continue
                    dash, fill = looks[kind]
                    style = {**styles[colour_of], "linestyle": dash, "fillstyle": fill}
                    label = {
                        "selection": f"{method} − {control} (selection)",
                        "total": f"{method} − {baseline} (total)",
                        "training": f"{control} − {baseline} (training)",
                    }[kind]
                    handles[label] = _band(
                        ax,
                        run,
                        RI_COLUMNS,
                        style,
                        label,
                        band_alpha(3 * len(controls)),
                    )
                    if kind == "training":
                        drawn_controls.add(control)
        _label_grid(axes, X_LABELED, "relative improvement (%)")
        _suptitle(
            fig,
            "Selection effect (method over its own random control) vs total effect (over "
            f"{baseline}), paired by seed: mean over seeds ({seeds_text(selection['n_seeds'])})",
            fontsize="medium",
        )
        _legend(fig, list(handles.values()), list(handles), title=_wrap(f"mean, band: {band}", 26))
        return save(fig, stem)


def accuracy_figure(
    curves: pd.DataFrame,
    references: pd.DataFrame,
    samplers: Sequence[str],
    metric_label: str,
    stem: str | Path,
    band: str = "95% t interval over seeds",
    apart: Sequence[str] = (),
) -> list[Path]:
    """Absolute accuracy (%) vs labeled images per setting, with the full-data accuracy line.

    Args:
        curves: :func:`albench.report.metrics.summarise` of the metric (in %) by
            setting × sampler × cycle, plus ``num_labeled``.
        references: per setting ``mean`` (%) and ``n_seeds`` of the full-data runs.
        band: what the bands are (legend title).
        apart: controls and references, drawn dashed in their own legend group.
    """
    if curves.empty:
        return message_figure(f"Test {metric_label}", "No finished cycle (see missing.csv).", stem)
    styles = sampler_styles(samplers, apart)
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
                        run,
                        ("mean", "ci_low", "ci_high"),
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
                    f"full data {ref['mean'].iloc[0]:.1f} ({seeds_text(ref['n_seeds'])})",
                    xy=(1, ref["mean"].iloc[0]),
                    xycoords=("axes fraction", "data"),
                    xytext=(-4, -4),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    fontsize="small",
                )
            _clip_percent(ax)
        _label_grid(axes, X_LABELED, f"test {metric_label} (%)")
        _suptitle(
            fig,
            f"Test {metric_label}: mean over seeds ({seeds_text(curves['n_seeds'])})",
            fontsize="medium",
        )
        extra = [(full, "all-data reference (mean)")] if full is not None else []
        _grouped_legend(
            fig, handles, samplers, apart, title=_wrap(f"mean, band: {band}", 26), extra=extra
        )
        return save(fig, stem)


def penalty_figure(
    matrix: pd.DataFrame,
    column_means: pd.Series,
    n_settings: int,
    stem: str | Path,
    alpha: float = 0.05,
    seeds: str = "",
    scope: str = "",
) -> list[Path]:
    """Heatmap of the penalty matrix P[i, j] (row i beat column j) with column means below.

    Args:
        seeds: the shared-seed counts of the t-tests (``seeds_text``), for the title.
        scope: which samplers are in the matrix (e.g. methods only), for the title.
    """
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
        detail = ", ".join(p for p in (seeds, scope) if p)
        _suptitle(
            fig,
            f"P[i, j]: row i significantly better than column j (paired t-test over "
            f"seeds, α = {alpha:g}, no correction); max = {n_settings}"
            + (f"\n{detail}" if detail else ""),
            legend=False,
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
    result: FriedmanResult,
    stem: str | Path,
    alpha: float = 0.05,
    palette_order: Sequence[str] = (),
    detail: str = "",
) -> list[Path]:
    """Critical-difference diagram (Demšar 2006) of the average ranks over settings.

    When the Friedman test ran: scikit-posthocs' diagram, crossbars joining
    samplers the Nemenyi test cannot separate at ``alpha``. When skipped: the
    average ranks on a rank axis, titled with the reason. ``detail`` (seeds per
    mean AUBC, which samplers are ranked) is appended to the title.
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
                f"{result.critical_difference:.2f}" + (f". {detail}" if detail else ""),
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
                    "Shown: average ranks only, no significance test."
                    + (f" {detail}" if detail else ""),
                    95,
                ),
                fontsize="medium",
                loc="left",
            )
        return save(fig, stem, tight=True)


def informativeness_figure(
    curves: pd.DataFrame,
    stem: str | Path,
    band: str = "95% t interval over seeds",
    palette_order: Sequence[str] = (),
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
            _clip_percent(ax)
        _label_grid(
            axes, "top x% of the scored candidates (ranked by score)", "model accuracy on them (%)"
        )
        _suptitle(
            fig,
            "Cycle-0 model's accuracy on the top-x% candidates by each score: mean over seeds "
            f"({seeds_text(curves['n_seeds'])}); lower curve = more informative score",
            fontsize="medium",
        )
        ref = Line2D([], [], color="0.3", linestyle=":")
        names = list(handles)
        _legend(
            fig,
            [*(handles[s] for s in names), ref],
            [*names, "accuracy on all candidates"],
            title=_wrap(f"score; mean, band: {band}", 26),
        )
        return save(fig, stem)


KL_VIEW_TITLES = {
    "clean": "actual TD in the clean eval view",
    "train": "actual TD in TiDAL's target view (train-mode BN, augmentation)",
}


def tidal_kl_figure(
    kl: pd.DataFrame,
    stem: str | Path,
    band: str = "95% t interval over seeds",
    palette_order: Sequence[str] = (),
) -> list[Path]:
    """KL(actual TD ‖ TiDAL's predicted TD) vs KL(actual TD ‖ snapshot) per cycle.

    One row of panels per setting, one column per view in which the actual TD was
    recorded (the clean eval view; TiDAL's own target view when present).

    Args:
        kl: one row per setting × sampler × view × quantity × cycle with
            ``num_labeled``, ``mean``, ``ci_low``, ``ci_high``, ``n_seeds``;
            ``quantity`` is ``predicted`` or ``snapshot``, ``view`` ``clean`` or ``train``.
        band: what the error bars are (legend title).
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
    views = [v for v in KL_VIEW_TITLES if v in set(kl["view"])]
    settings = _settings(kl)
    with _Themed():
        fig = Figure(
            figsize=(5.6 * len(views) + 3.2, 4.3 * len(settings) + 0.6), layout="constrained"
        )
        axes = fig.subplots(len(settings), len(views), squeeze=False)
        used = set()
        for i, (dataset, ratio) in enumerate(settings):
            for j, view in enumerate(views):
                ax = axes[i, j]
                ax.set_title(
                    _wrap(f"{setting_label(dataset, ratio)}: {KL_VIEW_TITLES[view]}", 48),
                    fontsize="medium",
                )
                at = kl[
                    (kl["dataset"] == dataset)
                    & (kl["imbalance_ratio"] == ratio)
                    & (kl["view"] == view)
                ]
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
        _label_grid(axes, X_LABELED, "mean KL divergence over the scored subset (nats)")
        _suptitle(
            fig,
            "TiDAL diagnostic: KL from the actual training dynamics, mean over seeds "
            f"({seeds_text(kl['n_seeds'])}); lower = closer",
            fontsize="medium",
        )
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
        _legend(fig, handles, names, title=_wrap(f"mean, error bars: {band}", 26))
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
    "seeds_text",
    "selection_effect_figure",
    "tail_scatter_figure",
    "tidal_kl_figure",
]
