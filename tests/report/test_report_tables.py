"""Table formatting: best-in-bold, Markdown / LaTeX / HTML / CSV output of hand-made tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from albench.report import tables as t


def test_best_mask_per_column_with_ties_after_rounding_and_nan():
    values = np.array([[71.24, 0.30, np.nan], [71.21, 0.20, np.nan], [60.0, 0.30, np.nan]])
    assert t.best_mask(values, decimals=1).tolist() == [
        [True, True, False],
        [True, False, False],
        [False, True, False],
    ]
    assert t.best_mask(values, higher_is_better=False, decimals=2)[:, 1].tolist() == [
        False,
        True,
        False,
    ]


def test_number_formats():
    assert t.mean_std(71.234, 0.456) == "71.2 ± 0.5"
    assert t.mean_std(71.234, math.nan) == "71.2"  # one seed: no std
    assert t.mean_ci(3.25, -1.0, 7.5, signed=True) == "+3.2 [-1.0, +7.5]"
    assert t.fmt(math.nan) == "n/a"


def _final_frame() -> pd.DataFrame:
    rows = []
    for (dataset, ratio), accs in {
        ("cifar10", 1.0): (80.0, 82.5),
        ("cifar10", 10.0): (60.0, 58.0),
    }.items():
        for sampler, acc in zip(("random", "tidal_entropy"), accs, strict=True):
            rows.append(
                {
                    "dataset": dataset,
                    "imbalance_ratio": ratio,
                    "sampler": sampler,
                    "num_labeled": 1000,
                    "cycle": 4,
                    "acc_mean": acc,
                    "acc_std": 0.5,
                    "rel_mean": acc / 0.9,
                    "rel_std": 0.6,
                    "n_seeds": 3,
                    "n_seeds_rel": 3,
                }
            )
    return pd.DataFrame(rows)


def test_final_accuracy_table_bolds_the_best_per_column_in_every_format(tmp_path):
    table = t.final_accuracy_table(_final_frame(), ["random", "tidal_entropy"], "accuracy")
    section = table.sections[0]
    assert section.columns[0] == ("cifar10, IR 1 (1000 labeled)", "accuracy (%)")
    assert section.cells[1][0] == "82.5 ± 0.5" and section.bold[1][0] and not section.bold[0][0]
    assert section.bold[0][2] and not section.bold[1][2]  # IR 10: random is best

    md = t.to_markdown(table)
    assert "| tidal_entropy | **82.5 ± 0.5** |" in md and "| random | 80.0 ± 0.5 |" in md
    tex = t.to_latex(table)
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"\textbf{82.5 $\pm$ 0.5}" in tex and r"tidal\_entropy" in tex
    assert r"\multicolumn{2}{c}{cifar10, IR 1 (1000 labeled)}" in tex
    assert r"\cmidrule(lr){2-3} \cmidrule(lr){4-5}" in tex
    assert "<b>82.5 ± 0.5</b>" in t.to_html(table)

    paths = t.write_table(table, tmp_path)
    assert sorted(paths) == sorted(t.FORMATS)
    csv = pd.read_csv(paths["csv"])
    assert csv["acc_mean"].tolist() == [80.0, 82.5, 60.0, 58.0]


def test_cycle_table_has_one_section_per_setting_with_its_budgets():
    curves = pd.DataFrame(
        {
            "dataset": ["a", "a", "a", "a", "b", "b"],
            "imbalance_ratio": [1.0] * 6,
            "sampler": ["random", "random", "entropy", "entropy", "random", "entropy"],
            "cycle": [0, 1, 0, 1, 0, 0],
            "num_labeled": [10, 20, 10, 20, 50, 50],
            "mean": [50.0, 60.0, 50.0, 65.0, 70.0, 71.0],
            "std": [1.0, 1.0, 1.0, 2.0, 0.0, 0.0],
        }
    )
    table = t.cycle_accuracy_table(curves, ["random", "entropy"], "accuracy")
    assert [s.title for s in table.sections] == ["a, IR 1", "b, IR 1"]
    first, second = table.sections
    assert [c[1] for c in first.columns] == ["10", "20"] and [c[1] for c in second.columns] == [
        "50"
    ]
    assert first.bold == [[True, False], [True, True]]
    assert second.bold == [[False], [True]]
    assert t.to_latex(table).count(r"\begin{tabular}") == 2


def test_penalty_table_adds_column_means_and_bolds_the_lowest():
    matrix = pd.DataFrame([[0.0, 1.0], [0.0, 0.0]], index=["A", "B"], columns=["A", "B"])
    table = t.penalty_table(matrix, pd.Series({"A": 0.0, "B": 1.0}), 1, 0.05)
    section = table.sections[0]
    assert section.rows == ["A", "B", "column mean"]
    assert section.cells[0] == ["–", "1.00"] and section.cells[2] == ["0.00", "1.00"]
    assert section.bold[2] == [True, False]
    assert table.data["sampler"].tolist() == ["A", "B", "column mean"]


def test_latex_escape():
    assert t.latex_escape("acc_full 5% & ±") == r"acc\_full 5\% \& $\pm$"


def test_section_shape_is_checked():
    with pytest.raises(ValueError, match="cells must be 1×2"):
        t.Section(None, "s", ["r"], [("", "a"), ("", "b")], [["x"]], [[False, False]])


def test_cells_with_fewer_seeds_are_marked_and_the_table_says_so():
    frame = _final_frame()
    frame.loc[1, ["n_seeds", "n_seeds_rel"]] = [2, 0]
    frame.loc[1, ["rel_mean", "rel_std"]] = [math.nan, math.nan]
    table = t.final_accuracy_table(frame, ["random", "tidal_entropy"], "accuracy")
    assert table.sections[0].cells[1][:2] == ["82.5 ± 0.5 (n=2)", "n/a"]
    assert table.sections[0].cells[0][0] == "80.0 ± 0.5"
    assert t.SEEDS_NOTE in table.notes and t.SEEDS_NOTE in t.to_markdown(table)
    assert t.seeds_mark(3, 3) == "" and t.seeds_mark(1, 3) == " (n=1)"


def test_controls_and_references_get_their_own_block_and_are_never_bold():
    frame = _final_frame()
    oracle = frame[frame["sampler"] == "tidal_entropy"].assign(sampler="oracle", acc_mean=99.0)
    frame = pd.concat([frame, oracle], ignore_index=True)
    table = t.final_accuracy_table(
        frame, ["random", "tidal_entropy", "oracle"], "accuracy", apart=["oracle"]
    )
    methods, others = table.sections
    assert (methods.title, methods.rows) == ("methods", ["random", "tidal_entropy"])
    assert (others.title, others.rows) == (t.APART_TITLE, ["oracle"])
    assert methods.bold[1][0]  # tidal_entropy is the best method although oracle is higher
    assert not any(any(row) for row in others.bold)
    assert t.row_groups(["a", "b"]) == [(None, ["a", "b"], True)]
    assert t.row_groups(["a", "o"], ["o"]) == [
        ("methods", ["a"], True),
        (t.APART_TITLE, ["o"], False),
    ]
