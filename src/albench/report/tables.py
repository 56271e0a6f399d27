"""Paper-style result tables, written as Markdown, LaTeX (booktabs), CSV and HTML.

A :class:`Table` is a caption, one or more :class:`Section` blocks of
formatted cells (with a mask of cells to set in bold: the best value of each
column) and the tidy numeric frame behind it (the CSV). Builders turn the
summaries of :mod:`albench.report.metrics` into tables:

- :func:`final_accuracy_table` — dispersion paper Table 1: accuracy at the
  final budget, mean ± std over seeds, and relative to the full-data run;
- :func:`cycle_accuracy_table` — accuracy at every budget, one section per setting;
- :func:`aubc_table` — AUBC mean [interval];
- :func:`improvement_table` — relative improvement over random at the final budget,
  with the selection effect over each method's own control;
- :func:`effects_table` — selection, training and total effect in points;
- :func:`cost_table` — seconds per cycle / query and peak memory beside the gains;
- :func:`penalty_table` — the pairwise penalty matrix with its column means;
- :func:`ranking_table` — average rank, penalty-matrix wins and losses;
- :func:`claims_table` — one verdict per claim of the papers.

Controls and references get their own block (:func:`row_groups`) and are never
set in bold: bold marks the best *method* of each column.
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

APART_TITLE = "controls and references (not ranked, not bold)"


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


def row_groups(rows: list[str], apart=()) -> list[tuple[str | None, list[str], bool]]:
    """``(title, rows, bold?)`` blocks: the methods, then controls and references apart.

    With no controls or references there is one untitled block; bold (best per
    column) is only ever computed among the methods.
    """
    others = [r for r in rows if r in set(apart)]
    methods = [r for r in rows if r not in set(apart)]
    if not others:
        return [(None, methods, True)]
    blocks = [("methods", methods, True)] if methods else []
    return [*blocks, (APART_TITLE, others, False)]


def _grouped_sections(
    title: str | None,
    rows: list[str],
    columns: list[tuple[str, str]],
    make_row,
    apart=(),
    higher_is_better: bool = True,
) -> list[Section]:
    """Sections of sampler rows split by :func:`row_groups`; ``make_row(r)`` → (cells,
    values); the best value per column (at one decimal) is bold in the methods' section."""
    row_header, decimals = "sampler", 1
    sections = []
    for group, members, bold in row_groups(rows, apart):
        cells, values = [], []
        for row in members:
            c, v = make_row(row)
            cells.append(c)
            values.append(v)
        grid = np.array(values, dtype=float).reshape(len(members), len(columns))
        mask = (
            best_mask(grid, higher_is_better, decimals)
            if bold
            else np.zeros(grid.shape, dtype=bool)
        )
        heading = " — ".join(p for p in (title, group) if p) or None
        sections.append(Section(heading, row_header, members, columns, cells, mask.tolist()))
    return sections


def final_accuracy_table(
    final: pd.DataFrame, samplers: list[str], metric_label: str, apart=()
) -> Table:
    """Dispersion paper Table 1: final-budget accuracy and its ratio to the full-data run.

    Args:
        final: one row per setting × sampler with ``num_labeled``, ``acc_mean``,
            ``acc_std``, ``rel_mean``, ``rel_std``, ``n_seeds`` (accuracies in %).
        samplers: row order.
        metric_label: e.g. ``"accuracy"``.
        apart: controls and references (their own block, never bold).
    """
    n_max = _n_max(final)
    settings = _settings(final)
    columns = []
    for dataset, ratio in settings:
        at = final[(final["dataset"] == dataset) & (final["imbalance_ratio"] == ratio)]
        budget = int(at["num_labeled"].max()) if not at.empty else 0
        group = f"{setting_label(dataset, ratio)} ({budget} labeled)"
        columns += [(group, f"{metric_label} (%)"), (group, "% of full data")]

    def make_row(sampler):
        cells, values = [], []
        for dataset, ratio in settings:
            hit = _lookup(final, dataset, ratio, sampler)
            if hit is None:
                cells += ["n/a", "n/a"]
                values += [math.nan, math.nan]
                continue
            cells += [
                mean_std(hit["acc_mean"], hit["acc_std"]) + seeds_mark(hit["n_seeds"], n_max),
                mean_std(hit["rel_mean"], hit["rel_std"]) + seeds_mark(hit["n_seeds_rel"], n_max),
            ]
            values += [hit["acc_mean"], hit["rel_mean"]]
        return cells, values

    sections = _grouped_sections(None, list(samplers), columns, make_row, apart)
    caption = (
        f"Test {metric_label} at the final budget (mean ± sample std over seeds, %) and "
        "relative to the all-data reference (per-seed ratio acc/acc_full, mean ± std, %). "
        f"Best method per column in bold. Seeds per cell: {_seed_range(final)}."
    )
    return Table("final_accuracy", caption, sections, final)


def _seed_range(frame: pd.DataFrame, column: str = "n_seeds") -> str:
    if column not in frame or frame.empty or frame[column].isna().all():
        return "none"
    low, high = int(frame[column].min()), int(frame[column].max())
    return f"n = {low}" if low == high else f"n = {low}–{high}"


def cycle_accuracy_table(
    curves: pd.DataFrame, samplers: list[str], metric_label: str, apart=()
) -> Table:
    """Accuracy at every budget (mean ± std over seeds, %), one section per setting.

    Args:
        curves: one row per setting × sampler × cycle with ``num_labeled``,
            ``mean``, ``std`` (in %), ``n_seeds``.
        apart: controls and references (their own block per setting, never bold).
    """
    n_max = _n_max(curves)
    sections = []
    for dataset, ratio in _settings(curves):
        at = curves[(curves["dataset"] == dataset) & (curves["imbalance_ratio"] == ratio)]
        cycles = sorted(at["cycle"].unique())
        budgets = {c: int(at[at["cycle"] == c]["num_labeled"].median()) for c in cycles}
        columns = [("labeled", str(budgets[c])) for c in cycles]
        rows = [s for s in samplers if s in set(at["sampler"])]

        def make_row(sampler, at=at, cycles=cycles):
            cells, values = [], []
            for cycle in cycles:
                hit = at[(at["sampler"] == sampler) & (at["cycle"] == cycle)]
                if hit.empty:
                    cells.append("n/a")
                    values.append(math.nan)
                    continue
                values.append(hit["mean"].iloc[0])
                cells.append(
                    mean_std(hit["mean"].iloc[0], hit["std"].iloc[0])
                    + seeds_mark(hit["n_seeds"].iloc[0] if "n_seeds" in hit else None, n_max)
                )
            return cells, values

        sections += _grouped_sections(setting_label(dataset, ratio), rows, columns, make_row, apart)
    caption = (
        f"Test {metric_label} (%) at every budget (number of labeled samples), mean ± sample "
        f"std over seeds ({_seed_range(curves)}). Best method per column in bold."
    )
    return Table("cycle_accuracy", caption, sections, curves)


def _per_setting_table(name, caption, frame, samplers, label, cell_value, apart=()) -> Table:
    """One column per setting; ``cell_value(hit)`` → (cell text, value for the bolding)."""
    settings = _settings(frame)
    columns = [(setting_label(d, r), label) for d, r in settings]

    def make_row(sampler):
        cells, values = [], []
        for dataset, ratio in settings:
            hit = _lookup(frame, dataset, ratio, sampler)
            text, number = ("n/a", math.nan) if hit is None else cell_value(hit)
            cells.append(text)
            values.append(number)
        return cells, values

    sections = _grouped_sections(None, list(samplers), columns, make_row, apart)
    return Table(name, caption, sections, frame)


def aubc_table(
    summary: pd.DataFrame, samplers: list[str], metric_label: str, interval: str, apart=()
) -> Table:
    """AUBC per setting: mean [interval] over seeds, in % (see ``docs/metrics.md``).

    Args:
        interval: what the bracketed interval is (``IntervalSpec.describe``), for the caption.
    """
    caption = (
        f"Area under the budget curve of test {metric_label} (trapezoid over the number of "
        "labeled samples divided by the budget range, %): mean over seeds [" + interval + "]. "
        "Best method per column in bold."
    )
    return _per_setting_table(
        "aubc",
        caption,
        summary,
        samplers,
        "AUBC (%)",
        lambda h: (
            mean_ci(h["mean"], h["ci_low"], h["ci_high"])
            + seeds_mark(h["n_seeds"], _n_max(summary)),
            h["mean"],
        ),
        apart=apart,
    )


def improvement_table(
    final: pd.DataFrame,
    samplers: list[str],
    baseline: str,
    metric_label: str,
    interval: str,
    selection: pd.DataFrame | None = None,
    apart=(),
) -> Table:
    """Relative improvement over the baseline at the final budget, and the selection effect.

    Per setting: RI [interval] and Δ (total effect over the baseline) and, for a
    method with its own random control, the selection RI [interval] over that
    control (``n/a`` for samplers without one).

    Args:
        final: improvement curves (vs the baseline) at each setting's final budget.
        interval: what the bracketed intervals are, for the caption.
        selection: improvement curves of methods vs their controls at the final budget.
    """
    n_max = _n_max(final)
    settings = _settings(final)
    with_selection = selection is not None and not selection.empty
    rows = [s for s in samplers if s != baseline]
    columns = []
    for dataset, ratio in settings:
        columns += [
            (setting_label(dataset, ratio), f"RI vs {baseline} (%)"),
            (setting_label(dataset, ratio), "Δ (points)"),
        ]
        if with_selection:
            columns.append((setting_label(dataset, ratio), "selection RI vs own control (%)"))

    def make_row(sampler):
        cells, values = [], []
        for dataset, ratio in settings:
            hit = _lookup(final, dataset, ratio, sampler)
            sel = _lookup(selection, dataset, ratio, sampler) if with_selection else None
            if hit is None:
                cells += ["n/a", "n/a"]
                values += [math.nan, math.nan]
            else:
                cells += [
                    mean_ci(hit["ri_mean"], hit["ri_ci_low"], hit["ri_ci_high"], signed=True)
                    + seeds_mark(hit["n_seeds"], n_max),
                    fmt(hit["delta_mean"], 1, signed=True),
                ]
                values += [hit["ri_mean"], hit["delta_mean"]]
            if not with_selection:
                continue
            if sel is None:
                cells.append("n/a")
                values.append(math.nan)
            else:
                cells.append(
                    mean_ci(sel["ri_mean"], sel["ri_ci_low"], sel["ri_ci_high"], signed=True)
                    + f" vs {sel['partner']}"
                    + seeds_mark(sel["n_seeds"], n_max)
                )
                values.append(sel["ri_mean"])
        return cells, values

    sections = _grouped_sections(None, rows, columns, make_row, apart)
    caption = (
        f"Relative improvement of test {metric_label} at the final budget, paired by seed. "
        f"RI = 100·(acc − acc_{baseline})/acc_{baseline}: the total effect, mean over seeds "
        f"[{interval}]; Δ = mean difference in accuracy points."
        + (
            " Selection RI = the same ratio against the method's own random control (same "
            "training, random query), i.e. the effect of the query alone."
            if with_selection
            else ""
        )
        + " Best method per column in bold."
    )
    return Table("relative_improvement", caption, sections, final)


def effects_table(effects: pd.DataFrame, interval: str) -> Table:
    """Selection, training and total effect (Δ, points) at the final budget.

    Args:
        effects: one row per setting × method with a control: ``method``, ``control``,
            ``baseline``, and for each of ``total``, ``selection``, ``training``:
            ``<e>_mean``, ``<e>_low``, ``<e>_high``, ``<e>_n``.
        interval: what the bracketed intervals are, for the caption.
    """
    settings = _settings(effects) if not effects.empty else []
    sections = []
    columns = [
        ("", "control"),
        ("Δ (points) [interval]", "total: method − random"),
        ("Δ (points) [interval]", "selection: method − control"),
        ("Δ (points) [interval]", "training: control − random"),
    ]
    for dataset, ratio in settings:
        at = effects[(effects["dataset"] == dataset) & (effects["imbalance_ratio"] == ratio)]
        rows, cells = [], []
        for row in at.itertuples():
            rows.append(row.method)
            line = [row.control]
            for kind in ("total", "selection", "training"):
                mean = getattr(row, f"{kind}_mean")
                line.append(
                    mean_ci(
                        mean, getattr(row, f"{kind}_low"), getattr(row, f"{kind}_high"), 1, True
                    )
                    + f", n = {int(getattr(row, f'{kind}_n'))}"
                    if not math.isnan(mean)
                    else "n/a"
                )
            cells.append(line)
        bold = [[False] * len(columns) for _ in rows]
        sections.append(
            Section(setting_label(dataset, ratio), "method", rows, columns, cells, bold)
        )
    if not sections:
        sections = [
            Section(
                None,
                "method",
                ["(none)"],
                [("", "note")],
                [["no method in this run has its random control"]],
                [[False]],
            )
        ]
    caption = (
        "Selection vs training effect at the final budget, paired by seed, in accuracy points: "
        "total = method − random; selection = method − its own random control (same training "
        "and auxiliary loss, random query); training = control − random. Per seed, total = "
        f"selection + training. Mean over seeds [{interval}]; n = paired seeds."
    )
    return Table("effects", caption, sections, effects)


COST_COLUMNS = (
    ("train_s", "train s/cycle", 1),
    ("score_s", "score s/query", 2),
    ("select_s", "select s/query", 2),
    ("total_s", "total s/cycle", 1),
    ("peak_rss_mb", "peak RSS (MB)", 0),
    ("ri_final", "RI final (%)", 1),
    ("aubc", "AUBC (%)", 1),
)


def cost_table(cost: pd.DataFrame, samplers: list[str], baseline: str, apart=()) -> Table:
    """Seconds per cycle (train, total) and per query (score, select), peak memory, and gains.

    Args:
        cost: one row per setting × sampler with the columns of :data:`COST_COLUMNS`
            and ``n_cycles``, ``n_queries``.
    """
    sections = []
    for dataset, ratio in _settings(cost):
        at = cost[(cost["dataset"] == dataset) & (cost["imbalance_ratio"] == ratio)]
        rows = [s for s in samplers if s in set(at["sampler"])]
        columns = [("", label) for _, label, _ in COST_COLUMNS]

        def make_row(sampler, at=at):
            hit = at[at["sampler"] == sampler].iloc[0]
            cells = [
                fmt(hit[key], decimals, signed=key == "ri_final")
                for key, _, decimals in COST_COLUMNS
            ]
            return cells, [math.nan] * len(COST_COLUMNS)

        sections += _grouped_sections(setting_label(dataset, ratio), rows, columns, make_row, apart)
    caption = (
        "Cost per sampler and setting, from cycles.csv: mean wall-clock seconds of training and "
        "of the whole cycle job over every finished cycle; of scoring (building the scoring "
        "context: forward passes, MC dropout, embeddings) and of selection over the querying "
        "cycles (all but the last); the largest peak host RSS of any of its cycles. Beside it, "
        f"what the sampler gains: mean RI over {baseline} at the final budget and mean AUBC. "
        "Times depend on the machine and on what else ran on it."
    )
    return Table("cost", caption, sections, cost)


def penalty_table(
    matrix: pd.DataFrame, column_means: pd.Series, n_settings: int, alpha: float, scope: str = ""
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
        f"(α = {alpha:g}, no multiple-comparison correction); maximum entry = number of "
        "settings. Column mean = how often a sampler was beaten (lower is better, best in bold)."
    )
    return Table("penalty_matrix", caption, [section], data, notes=[scope] if scope else [])


def ranking_table(ranking: pd.DataFrame, notes: list[str] | str) -> Table:
    """Average rank (by mean AUBC per setting) and penalty-matrix wins / losses per sampler.

    Args:
        ranking: columns sampler, ``mean_rank``, ``wins`` (row sum of P),
            ``beaten`` (column mean of P).
        notes: the Friedman result or why it was skipped, and which samplers are ranked.
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
    ).reshape(len(rows), 3)
    section = Section(None, "sampler", rows, columns, cells, bold.tolist())
    caption = (
        "Ranking: mean rank over settings of the mean AUBC (1 = best), and the pairwise "
        "penalty matrix's wins (row sum) and column mean (lower is better). Best in bold."
    )
    notes = [notes] if isinstance(notes, str) else list(notes)
    return Table("ranking", caption, [section], ranking, notes=notes)


def claims_table(results, frame: pd.DataFrame) -> Table:
    """One row per claim: the claim, the comparison its verdict hinges on, and the verdict.

    Args:
        results: :class:`albench.report.claims.ClaimResult` list.
        frame: :func:`albench.report.claims.claims_frame` (the CSV: every comparison).
    """
    rows, cells = [], []
    for result in results:
        rows.append(f"({result.spec.key})")
        key = result.deciding()
        digits = 4 if result.spec.unit == "nats" else 2
        if key is None:
            estimate = result.reason or "no comparison"
        else:
            estimate = (
                f"{mean_ci(key.estimate, key.low, key.high, digits, True)} "
                f"{result.spec.unit} ({key.label}, {setting_label(*key.setting)}, "
                f"n={len(key.seeds)}; {len(result.primary)} comparison(s), "
                f"{result.level:.2%} {key.method} intervals)"
            )
        cells.append([result.spec.statement, estimate, result.verdict])
    columns = [("", "claim"), ("", "deciding comparison [interval]"), ("", "verdict")]
    bold = [[False, False, True] for _ in rows]
    section = Section(None, "", rows, columns, cells, bold)
    caption = (
        "Claims of TiDAL (a–c) and label dispersion (d–e) tested on this run. Each claim is "
        "a set of paired comparisons with Bonferroni-adjusted intervals; its verdict follows "
        "the rule of docs/metrics.md (supported iff every comparison's interval lies above 0; "
        "not supported iff one lies below 0 or rules out the margin). Shown: the comparison "
        "the verdict hinges on; claims.md gives every comparison and the scale."
    )
    return Table("claims", caption, [section], frame)


__all__ = [
    "FORMATS",
    "Section",
    "Table",
    "aubc_table",
    "best_mask",
    "claims_table",
    "cost_table",
    "cycle_accuracy_table",
    "effects_table",
    "final_accuracy_table",
    "improvement_table",
    "latex_escape",
    "penalty_table",
    "ranking_table",
    "row_groups",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
    "write_table",
]
