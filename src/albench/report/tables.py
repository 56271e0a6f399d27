"""Paper-style result tables, written as Markdown, LaTeX (booktabs), CSV and HTML.

A :class:`Table` is a caption, one or more :class:`Section` blocks of
formatted cells (with a mask of cells to set in bold: the best value of each
column) and the tidy numeric frame behind it (the CSV). Builders turn the
summaries of :mod:`albench.report.metrics` into tables:

- :func:`final_accuracy_table` — dispersion paper Table 1: accuracy at the
  final budget, mean ± std over seeds, and relative to the full-data run;
- :func:`cycle_accuracy_table` — accuracy at every budget, one section per setting;
- :func:`aubc_table` — AUBC mean [95% CI];
- :func:`improvement_table` — relative improvement over random at the final budget;
- :func:`penalty_table` — the pairwise penalty matrix with its column means;
- :func:`ranking_table` — average rank, penalty-matrix wins and losses.
"""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from albench.io import write_text
from albench.report.metrics import setting_label
from albench.report.outputs import TABLE_FORMATS

FORMATS = TABLE_FORMATS


@dataclass
class Section:
    """One block of a table: a header (two levels) and rows of formatted cells.

    Attributes:
        title: shown above the block (None for single-block tables).
        row_header: heading of the row-label column.
        rows: row labels.
        columns: ``(group, label)`` per column; an empty group spans nothing.
        cells: formatted strings, ``len(rows) × len(columns)``.
        bold: same shape; True where the cell is set in bold.
    """

    title: str | None
    row_header: str
    rows: list[str]
    columns: list[tuple[str, str]]
    cells: list[list[str]]
    bold: list[list[bool]]

    def __post_init__(self) -> None:
        shape = (len(self.rows), len(self.columns))
        for name in ("cells", "bold"):
            grid = getattr(self, name)
            if len(grid) != shape[0] or any(len(r) != shape[1] for r in grid):
                raise ValueError(f"Section.{name} must be {shape[0]}×{shape[1]} (rows × columns)")


@dataclass
class Table:
    """A result table: caption, sections, notes and the tidy data written as CSV."""

    name: str
    caption: str
    sections: list[Section]
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        marked = any(
            " (n=" in cell for section in self.sections for row in section.cells for cell in row
        )
        if marked and SEEDS_NOTE not in self.notes:
            self.notes.append(SEEDS_NOTE)


def best_mask(values: np.ndarray, higher_is_better: bool = True, decimals: int = 1) -> np.ndarray:
    """Per column, True for the best value after rounding to the displayed precision.

    Ties (equal after rounding) are all best; NaN is never best.

    Args:
        values: (rows, columns) numbers.
        higher_is_better: maximise (else minimise).
        decimals: displayed decimals.
    """
    v = np.round(np.asarray(values, dtype=float), decimals)  # (r, c)
    mask = np.zeros(v.shape, dtype=bool)
    for j in range(v.shape[1]):
        column = v[:, j]
        if np.all(np.isnan(column)):
            continue
        best = np.nanmax(column) if higher_is_better else np.nanmin(column)
        mask[:, j] = column == best
    return mask


def fmt(value: float, decimals: int = 1, signed: bool = False) -> str:
    """Number with fixed decimals; ``n/a`` for NaN; ``+`` sign on request."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def mean_std(mean: float, std: float, decimals: int = 1) -> str:
    """``"71.2 ± 0.4"``; the std is omitted when undefined (one seed)."""
    if math.isnan(mean):
        return "n/a"
    return fmt(mean, decimals) if math.isnan(std) else f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def mean_ci(mean: float, low: float, high: float, decimals: int = 1, signed: bool = False) -> str:
    """``"71.2 [70.1, 72.3]"`` (the CI of one seed is shown as the value itself)."""
    if math.isnan(mean):
        return "n/a"
    return (
        f"{fmt(mean, decimals, signed)} [{fmt(low, decimals, signed)}, "
        f"{fmt(high, decimals, signed)}]"
    )


def seeds_mark(n, n_max) -> str:
    """`` (n=2)`` when a cell rests on fewer seeds than the table's fullest cell, else ``""``."""
    if n is None or (isinstance(n, float) and math.isnan(n)) or not 0 < int(n) < int(n_max):
        return ""
    return f" (n={int(n)})"


SEEDS_NOTE = "(n=k) marks a cell computed from fewer seeds than the others (missing runs)."

# ----------------------------------------------------------------------------- writers


def _flat(column: tuple[str, str]) -> str:
    group, label = column
    return f"{group} · {label}" if group else label


def _md_escape(text: str) -> str:
    return text.replace("|", r"\|")


def to_markdown(table: Table) -> str:
    """GitHub-flavoured Markdown; best values as ``**x**``; one table per section."""
    out = [f"**{table.caption}**", ""]
    for section in table.sections:
        if section.title:
            out += [f"*{section.title}*", ""]
        header = [section.row_header] + [_flat(c) for c in section.columns]
        out.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
        out.append("|" + "|".join([":---"] + ["---:"] * len(section.columns)) + "|")
        for label, cells, bold in zip(section.rows, section.cells, section.bold, strict=True):
            shown = [f"**{c}**" if b else c for c, b in zip(cells, bold, strict=True)]
            out.append("| " + " | ".join(_md_escape(x) for x in [label, *shown]) + " |")
        out.append("")
    out += [f"- {note}" for note in table.notes]
    return "\n".join(out).rstrip() + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SYMBOLS = {
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "·": r"$\cdot$",
    "−": "-",
    "α": r"$\alpha$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials and map ±, Δ, ×, ≥, ·, α to math mode."""
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    for symbol, latex in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, latex)
    return out


def _latex_label(name: str) -> str:
    return "tab:" + name.replace("_", "-")


def _latex_section(section: Section) -> list[str]:
    n = len(section.columns)
    lines = [r"\begin{tabular}{l" + "r" * n + "}", r"\toprule"]
    if section.title:
        lines.append(rf"\multicolumn{{{n + 1}}}{{l}}{{\emph{{{latex_escape(section.title)}}}}} \\")
        lines.append(r"\midrule")
    groups = [g for g, _ in section.columns]
    if any(groups):
        spans, start = [], 0
        for j in range(1, n + 1):
            if j == n or groups[j] != groups[start]:
                spans.append((start, j, groups[start]))
                start = j
        head = [""]
        for a, b, group in spans:
            if group:
                head.append(rf"\multicolumn{{{b - a}}}{{c}}{{{latex_escape(group)}}}")
            else:
                head += [""] * (b - a)
        lines.append(" & ".join(head) + r" \\")
        rules = [rf"\cmidrule(lr){{{a + 2}-{b + 1}}}" for a, b, g in spans if g]
        lines.append(" ".join(rules))
    labels = [latex_escape(section.row_header)] + [latex_escape(lab) for _, lab in section.columns]
    lines += [" & ".join(labels) + r" \\", r"\midrule"]
    for label, cells, bold in zip(section.rows, section.cells, section.bold, strict=True):
        shown = [
            rf"\textbf{{{latex_escape(c)}}}" if b else latex_escape(c)
            for c, b in zip(cells, bold, strict=True)
        ]
        lines.append(" & ".join([latex_escape(label), *shown]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return lines


def to_latex(table: Table) -> str:
    """A ``table`` environment with one booktabs ``tabular`` per section (needs ``booktabs``)."""
    lines = [
        r"% requires \usepackage{booktabs}",
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{latex_escape(table.caption)}}}",
        rf"\label{{{_latex_label(table.name)}}}",
    ]
    for k, section in enumerate(table.sections):
        if k:
            lines.append(r"\par\medskip")
        lines += _latex_section(section)
    if table.notes:
        lines.append(r"\par\smallskip\footnotesize")
        lines += [latex_escape(note) + r"\par" for note in table.notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


_HTML_STYLE = (
    "<style>body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse;"
    "margin:0 0 1.2em 0}th,td{padding:3px 9px;border-bottom:1px solid #ccc;"
    "text-align:right}th:first-child,td:first-child{text-align:left}"
    "caption{text-align:left;font-weight:bold;padding:4px 0}</style>"
)


def to_html(table: Table) -> str:
    """A standalone HTML page (for the Snakemake report), best values in ``<b>``."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(table.caption)}</title>{_HTML_STYLE}</head><body>",
        f"<p><b>{html.escape(table.caption)}</b></p>",
    ]
    for section in table.sections:
        parts.append("<table>")
        if section.title:
            parts.append(f"<caption>{html.escape(section.title)}</caption>")
        header = [section.row_header] + [_flat(c) for c in section.columns]
        parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        for label, cells, bold in zip(section.rows, section.cells, section.bold, strict=True):
            shown = [
                f"<b>{html.escape(c)}</b>" if b else html.escape(c)
                for c, b in zip(cells, bold, strict=True)
            ]
            parts.append(
                "<tr>" + "".join(f"<td>{x}</td>" for x in [html.escape(label), *shown]) + "</tr>"
            )
        parts.append("</table>")
    if table.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in table.notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    table.data.to_csv(buffer, index=False, lineterminator="\n", float_format="%.6g")
    return buffer.getvalue()


def write_table(table: Table, directory: str | Path) -> dict[str, Path]:
    """Write ``<name>.{csv,md,tex,html}`` into ``directory``; return the paths by format."""
    writers = {"csv": to_csv, "md": to_markdown, "tex": to_latex, "html": to_html}
    paths = {}
    for ext in FORMATS:
        paths[ext] = Path(directory) / f"{table.name}.{ext}"
        write_text(paths[ext], writers[ext](table))
    return paths


# ----------------------------------------------------------------------------- builders


def _settings(frame: pd.DataFrame) -> list[tuple[str, float]]:
    keys = frame[["dataset", "imbalance_ratio"]].drop_duplicates()
    return sorted((d, float(r)) for d, r in keys.itertuples(index=False))


def _n_max(frame: pd.DataFrame) -> int:
    return int(frame["n_seeds"].max()) if "n_seeds" in frame and not frame.empty else 0


def _lookup(frame: pd.DataFrame, dataset: str, ratio: float, sampler: str) -> pd.Series | None:
    hit = frame[
        (frame["dataset"] == dataset)
        & (frame["imbalance_ratio"] == ratio)
        & (frame["sampler"] == sampler)
    ]
    return None if hit.empty else hit.iloc[0]


def final_accuracy_table(final: pd.DataFrame, samplers: list[str], metric_label: str) -> Table:
    """Dispersion paper Table 1: final-budget accuracy and its ratio to the full-data run.

    Args:
        final: one row per setting × sampler with ``num_labeled``, ``acc_mean``,
            ``acc_std``, ``rel_mean``, ``rel_std``, ``n_seeds`` (accuracies in %).
        samplers: row order.
        metric_label: e.g. ``"accuracy"``.
    """
    n_max = _n_max(final)
    settings = _settings(final)
    columns, values, cells = [], [], []
    for dataset, ratio in settings:
        at = final[(final["dataset"] == dataset) & (final["imbalance_ratio"] == ratio)]
        budget = int(at["num_labeled"].max()) if not at.empty else 0
        group = f"{setting_label(dataset, ratio)} ({budget} labeled)"
        columns += [(group, f"{metric_label} (%)"), (group, "% of full data")]
    for sampler in samplers:
        row_cells, row_values = [], []
        for dataset, ratio in settings:
            hit = _lookup(final, dataset, ratio, sampler)
            if hit is None:
                row_cells += ["n/a", "n/a"]
                row_values += [math.nan, math.nan]
                continue
            row_cells += [
                mean_std(hit["acc_mean"], hit["acc_std"]) + seeds_mark(hit["n_seeds"], n_max),
                mean_std(hit["rel_mean"], hit["rel_std"]) + seeds_mark(hit["n_seeds_rel"], n_max),
            ]
            row_values += [hit["acc_mean"], hit["rel_mean"]]
        cells.append(row_cells)
        values.append(row_values)
    bold = best_mask(np.array(values, dtype=float).reshape(len(samplers), len(columns)))
    section = Section(None, "sampler", list(samplers), columns, cells, bold.tolist())
    caption = (
        f"Test {metric_label} at the final budget (mean ± std over seeds, %) and relative "
        "to the all-data reference (per-seed ratio acc/acc_full, mean ± std, %). "
        "Best per column in bold."
    )
    return Table("final_accuracy", caption, [section], final)


def cycle_accuracy_table(curves: pd.DataFrame, samplers: list[str], metric_label: str) -> Table:
    """Accuracy at every budget (mean ± std over seeds, %), one section per setting.

    Args:
        curves: one row per setting × sampler × cycle with ``num_labeled``,
            ``mean``, ``std`` (in %), ``n_seeds``.
    """
    n_max = _n_max(curves)
    sections = []
    for dataset, ratio in _settings(curves):
        at = curves[(curves["dataset"] == dataset) & (curves["imbalance_ratio"] == ratio)]
        cycles = sorted(at["cycle"].unique())
        budgets = {c: int(at[at["cycle"] == c]["num_labeled"].median()) for c in cycles}
        columns = [("labeled", str(budgets[c])) for c in cycles]
        rows = [s for s in samplers if s in set(at["sampler"])]
        values = np.full((len(rows), len(cycles)), np.nan)
        cells = []
        for r, sampler in enumerate(rows):
            line = []
            for c, cycle in enumerate(cycles):
                hit = at[(at["sampler"] == sampler) & (at["cycle"] == cycle)]
                if hit.empty:
                    line.append("n/a")
                    continue
                values[r, c] = hit["mean"].iloc[0]
                line.append(
                    mean_std(hit["mean"].iloc[0], hit["std"].iloc[0])
                    + seeds_mark(hit["n_seeds"].iloc[0] if "n_seeds" in hit else None, n_max)
                )
            cells.append(line)
        sections.append(
            Section(
                setting_label(dataset, ratio),
                "sampler",
                rows,
                columns,
                cells,
                best_mask(values).tolist(),
            )
        )
    caption = (
        f"Test {metric_label} (%) at every budget (number of labeled samples), mean ± std "
        "over seeds. Best per column in bold."
    )
    return Table("cycle_accuracy", caption, sections, curves)


def _per_setting_table(
    name, caption, frame, samplers, label, cell, value, higher=True, row_filter=None
) -> Table:
    settings = _settings(frame)
    rows = [s for s in samplers if row_filter is None or row_filter(s)]
    columns = [(setting_label(d, r), label) for d, r in settings]
    values = np.full((len(rows), len(settings)), np.nan)
    cells = []
    for i, sampler in enumerate(rows):
        line = []
        for j, (dataset, ratio) in enumerate(settings):
            hit = _lookup(frame, dataset, ratio, sampler)
            line.append("n/a" if hit is None else cell(hit))
            if hit is not None:
                values[i, j] = value(hit)
        cells.append(line)
    section = Section(None, "sampler", rows, columns, cells, best_mask(values, higher).tolist())
    return Table(name, caption, [section], frame)


def aubc_table(summary: pd.DataFrame, samplers: list[str], metric_label: str) -> Table:
    """AUBC per setting: mean [95% bootstrap CI] over seeds, in % (see ``docs/metrics.md``)."""
    caption = (
        f"Area under the budget curve of test {metric_label} (trapezoid over the number of "
        "labeled samples divided by the budget range, %): mean [95% bootstrap CI over "
        "seeds]. Best per column in bold."
    )
    return _per_setting_table(
        "aubc",
        caption,
        summary,
        samplers,
        "AUBC (%)",
        lambda h: (
            mean_ci(h["mean"], h["ci_low"], h["ci_high"])
            + seeds_mark(h["n_seeds"], _n_max(summary))
        ),
        lambda h: h["mean"],
    )


def improvement_table(
    final: pd.DataFrame, samplers: list[str], baseline: str, metric_label: str
) -> Table:
    """Relative improvement over the baseline at the final budget: RI [CI] and Δ, per setting."""
    n_max = _n_max(final)
    settings = _settings(final)
    rows = [s for s in samplers if s != baseline]
    columns = []
    for dataset, ratio in settings:
        columns += [
            (setting_label(dataset, ratio), "RI (%) [95% CI]"),
            (setting_label(dataset, ratio), "Δ (points)"),
        ]
    values = np.full((len(rows), len(columns)), np.nan)
    cells = []
    for i, sampler in enumerate(rows):
        line = []
        for j, (dataset, ratio) in enumerate(settings):
            hit = _lookup(final, dataset, ratio, sampler)
            if hit is None:
                line += ["n/a", "n/a"]
                continue
            line += [
                mean_ci(hit["ri_mean"], hit["ri_ci_low"], hit["ri_ci_high"], signed=True)
                + seeds_mark(hit["n_seeds"], n_max),
                fmt(hit["delta_mean"], 1, signed=True),
            ]
            values[i, 2 * j], values[i, 2 * j + 1] = hit["ri_mean"], hit["delta_mean"]
        cells.append(line)
    section = Section(None, "sampler", rows, columns, cells, best_mask(values).tolist())
    caption = (
        f"Relative improvement of test {metric_label} over {baseline} at the final budget, "
        f"paired by seed: RI = 100·(acc − acc_{baseline})/acc_{baseline}, mean [95% "
        f"bootstrap CI] over seeds, and Δ = mean difference in accuracy points. Best per "
        "column in bold."
    )
    return Table("relative_improvement", caption, [section], final)


def penalty_table(
    matrix: pd.DataFrame, column_means: pd.Series, n_settings: int, alpha: float
) -> Table:
    """The penalty matrix P[i, j] (row i beat column j) and its column means (lower = better)."""
    samplers = list(matrix.index)
    cells = [[("–" if i == j else f"{matrix.loc[i, j]:.2f}") for j in samplers] for i in samplers]
    bold = [[False] * len(samplers) for _ in samplers]
    means = column_means.reindex(samplers).to_numpy(dtype=float)
    cells.append([fmt(m, 2) for m in means])
    bold.append(best_mask(means[:, None], higher_is_better=False, decimals=2)[:, 0].tolist())
    columns = [("", s) for s in samplers]
    section = Section(None, "P[i, j] (i = row)", [*samplers, "column mean"], columns, cells, bold)
    data = matrix.copy()
    data.loc["column mean"] = column_means.reindex(samplers)
    data = data.reset_index(names="sampler")
    caption = (
        f"Pairwise penalty matrix summed over {n_settings} setting(s): P[i, j] += 1/N_b for "
        f"every budget at which row i beat column j in a two-sided paired t-test over seeds "
        f"(α = {alpha:g}); maximum entry = number of settings. Column mean = how often a "
        "sampler was beaten (lower is better, best in bold)."
    )
    return Table("penalty_matrix", caption, [section], data)


def ranking_table(ranking: pd.DataFrame, friedman_note: str) -> Table:
    """Average rank (by mean AUBC per setting) and penalty-matrix wins / losses per sampler.

    Args:
        ranking: columns sampler, ``mean_rank``, ``wins`` (row sum of P),
            ``beaten`` (column mean of P).
        friedman_note: the Friedman result or why it was skipped.
    """
    rows = list(ranking["sampler"])
    columns = [("", "mean rank (AUBC)"), ("", "PPM wins (row sum)"), ("", "PPM beaten (col. mean)")]
    values = ranking[["mean_rank", "wins", "beaten"]].to_numpy(dtype=float)
    cells = [[fmt(r, 2), fmt(w, 2), fmt(b, 2)] for r, w, b in values]
    bold = np.column_stack(
        [
            best_mask(values[:, :1], False, 2),
            best_mask(values[:, 1:2], True, 2),
            best_mask(values[:, 2:], False, 2),
        ]
    )
    section = Section(None, "sampler", rows, columns, cells, bold.tolist())
    caption = (
        "Ranking: mean rank over settings of the mean AUBC (1 = best), and the pairwise "
        "penalty matrix's wins (row sum) and column mean (lower is better). Best in bold."
    )
    return Table("ranking", caption, [section], ranking, notes=[friedman_note])


__all__ = [
    "FORMATS",
    "Section",
    "Table",
    "aubc_table",
    "best_mask",
    "cycle_accuracy_table",
    "final_accuracy_table",
    "improvement_table",
    "latex_escape",
    "penalty_table",
    "ranking_table",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
    "write_table",
]
