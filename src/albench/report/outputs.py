"""The names of everything the report writes (torch- and pandas-free: the workflow reads
them while parsing to declare the report rule's outputs)."""

from __future__ import annotations

from pathlib import Path

FIGURES = {
    "relative_improvement": "Relative improvement over random",
    "selection_effect": "Selection vs total effect",
    "accuracy_curves": "Accuracy vs labeled images",
    "penalty_matrix": "Pairwise penalty matrix",
    "critical_difference": "Critical-difference diagram",
    "informativeness": "Informativeness of the scores",
    "tidal_kl": "TiDAL: KL of predicted vs snapshot",
    "tail_scatter": "Head vs tail: snapshot vs TD scores",
}
TABLES = {
    "final_accuracy": "Final-budget accuracy (Table 1 style)",
    "cycle_accuracy": "Accuracy at every budget",
    "aubc": "Area under the budget curve",
    "relative_improvement": "Relative improvement at the final budget",
    "penalty_matrix": "Pairwise penalty matrix",
    "ranking": "Ranks and penalty-matrix totals",
    "effects": "Selection, training and total effect",
    "cost": "Cost per cycle and what it buys",
    "claims": "Claims of the papers: verdicts",
}
FIGURE_FORMATS = ("png", "pdf")
TABLE_FORMATS = ("csv", "md", "tex", "html")


def expected_outputs(out_dir: str | Path) -> list[Path]:
    """Every file :func:`albench.report.build.build_report` writes into ``out_dir``."""
    out = Path(out_dir)
    paths = [out / "figures" / f"{n}.{e}" for n in FIGURES for e in FIGURE_FORMATS]
    paths += [out / "tables" / f"{n}.{e}" for n in TABLES for e in TABLE_FORMATS]
    return [
        *paths,
        out / "tables" / "penalty_tests.csv",
        out / "missing.csv",
        out / "notes.md",
        out / "claims.md",
        out / "metrics.json",
        out / "curves.csv",
    ]
