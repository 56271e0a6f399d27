"""Diagnostics: row-wise KL with zeros, and the tail-vs-head AUROC of a score."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.cycle.diagnostics import (
    candidate_scores,
    kl_divergence_rows,
    mean_kl,
    tail_auroc,
)
from albench.samplers.base import Need, ScoringContext
from albench.samplers.registry import score_samplers


def test_kl_rows_hand_values() -> None:
    p = torch.tensor([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    q = torch.tensor([[0.4, 0.4, 0.2], [0.5, 0.5, 0.0]])  # q = 0 where p = 0 is harmless
    expected = [0.7 * math.log(0.7 / 0.4) + 0.3 * math.log(0.5), math.log(2.0)]
    assert kl_divergence_rows(p, q).tolist() == pytest.approx(expected, abs=1e-7)
    assert mean_kl(p, q) == pytest.approx(sum(expected) / 2, abs=1e-7)
    assert kl_divergence_rows(p, p).tolist() == pytest.approx([0.0, 0.0], abs=1e-12)


def test_kl_is_finite_when_q_is_zero_where_p_is_not() -> None:
    # p = [½, ½, 0], q = [1, 0, 0]: the true KL is +∞; q₁ is clamped to the smallest normal
    # float64 in the log: ½ ln ½ + ½ (ln ½ − ln 2.2250738585072014e−308) = 353.5050621
    rows = kl_divergence_rows(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([[1.0, 0.0, 0.0]]))
    tiny = np.finfo(np.float64).tiny
    expected = 0.5 * math.log(0.5) + 0.5 * (math.log(0.5) - math.log(tiny))
    assert rows.tolist() == pytest.approx([expected])
    assert rows.item() == pytest.approx(353.5050621, abs=1e-6)


def test_tail_auroc_hand_values() -> None:
    # tail scores {0.9, 0.3}, head {0.8, 0.1}: pairs won 0.9>0.8, 0.9>0.1, 0.3>0.1 → 3/4
    result = tail_auroc(torch.tensor([0.9, 0.8, 0.3, 0.1]), np.array([True, False, True, False]))
    assert result.auroc == pytest.approx(0.75)
    assert (result.n_tail, result.n_head, result.reason) == (2, 2, None)
    assert tail_auroc(np.array([0.5, 0.5]), np.array([True, False])).auroc == pytest.approx(0.5)
    assert result.as_dict()["auroc"] == pytest.approx(0.75)


def test_tail_auroc_undefined_cases_give_a_reason() -> None:
    no_tail = tail_auroc(np.array([0.1, 0.2]), np.array([False, False]))
    assert no_tail.auroc is None and "no tail-class samples" in no_tail.reason
    no_head = tail_auroc(np.array([0.1, 0.2]), torch.tensor([True, True]))
    assert no_head.auroc is None and "no head-class samples" in no_head.reason
    nan = tail_auroc(np.array([0.1, np.nan]), np.array([True, False]))
    assert nan.auroc is None and "non-finite" in nan.reason
    with pytest.raises(ValueError, match="boolean"):
        tail_auroc(np.array([0.1, 0.2]), np.array([1, 0]))


def _context(**values) -> ScoringContext:
    return ScoringContext(
        candidates=np.arange(4),
        labeled=np.arange(4, 6),
        num_classes=3,
        seed=0,
        values={Need(k): v for k, v in values.items()},
    )


def test_candidate_scores_come_from_the_registry() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [0.34, 0.33, 0.33], [0.6, 0.4, 0.0]])
    scores = candidate_scores(_context(probs=probs, logits=probs.log()))
    # Only diagnostic samplers whose needs the context holds are scored.
    expected = {
        cls.name
        for cls in score_samplers()
        if cls.diagnostic and cls().needs <= {Need.PROBS, Need.LOGITS}
    }
    assert set(scores) == expected == {"entropy", "least_confidence", "margin"}
    assert scores["least_confidence"].tolist() == pytest.approx([0.5, 0.1, 0.66, 0.4])
    assert scores["margin"].tolist() == pytest.approx([-0.2, -0.85, -0.01, -0.2])
    with_td = candidate_scores(
        _context(probs=probs, logits=probs.log(), td_probs=probs, tracked_probs=probs)
    )
    assert {"tidal_entropy", "tidal_margin", "td_entropy", "td_margin"} <= set(with_td)
    torch.testing.assert_close(with_td["tidal_entropy"], with_td["entropy"])  # same q here


def test_diagnostics_track_the_actual_td_only_for_tidal() -> None:
    from albench.plan import run_needs
    from albench.samplers import get_sampler

    both_views = {Need.TRACKED_PROBS, Need.TRACKED_PROBS_TRAIN}
    tidal, entropy = get_sampler("tidal_entropy"), get_sampler("entropy")
    assert run_needs(tidal, diagnostics=True) == tidal.needs | both_views
    assert run_needs(tidal, diagnostics=False) == tidal.needs
    assert run_needs(entropy, diagnostics=True) == entropy.needs


def test_only_views_no_sampler_reads_are_diagnostic_only() -> None:
    """diagnostics_interval thins the trackers kept for the KL figures, never a view a
    sampler scores (td_entropy reads the clean view by default; TiDAL reads none)."""
    from albench.cycle.train import Requirements, diagnostic_only
    from albench.plan import run_needs
    from albench.samplers import get_sampler

    tidal, td = get_sampler("tidal_entropy"), get_sampler("td_entropy")
    req = Requirements.of(run_needs(tidal, diagnostics=True), tidal.needs)
    assert req.objectives == ("tidal",)
    assert req.track_views == ("clean", "train") and req.diagnostic_views == ("clean", "train")
    assert Requirements.of(run_needs(td, diagnostics=True), td.needs).diagnostic_views == ()
    # Without `scored`, every tracked view is read: none is diagnostic-only.
    assert Requirements.of(run_needs(tidal, diagnostics=True)).diagnostic_views == ()
    # A group that trains together: a view one member scores keeps the full schedule.
    assert diagnostic_only(("clean", "train"), [tidal.needs, td.needs]) == ("train",)


def test_auroc_is_the_exact_mann_whitney_ratio_with_ties() -> None:
    from albench.cycle.diagnostics import average_ranks

    assert average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    # tail scores {3, 2}, head {3, 1}: pairs (3>1), (3=3: ½), (2>1), (2<3) → 2.5 of 4
    result = tail_auroc(np.array([3.0, 1.0, 3.0, 2.0]), np.array([True, False, False, True]))
    assert result.auroc == 0.625


def test_candidate_csv_columns_are_written_as_pandas_writes_them() -> None:
    import io

    import pandas as pd

    from albench.cycle.diagnostics import _csv_column

    rng = np.random.default_rng(0)
    columns = {
        "index": rng.integers(0, 60_000, 40),
        "correct": rng.random(40) > 0.5,
        "score": np.r_[np.nan, -0.0, 1e-300, np.inf, rng.normal(size=36) * 1e-7],
    }
    expected = io.StringIO()
    pd.DataFrame(columns).to_csv(expected, index=False, lineterminator="\n", float_format="%.9g")
    rows = zip(*(_csv_column(v) for v in columns.values()), strict=True)
    ours = ",".join(columns) + "\n" + "\n".join(",".join(row) for row in rows) + "\n"
    assert ours == expected.getvalue()


def test_kl_rows_are_the_same_in_any_chunking():
    g = torch.Generator().manual_seed(2)
    p = torch.rand(23, 9, generator=g).softmax(1)
    q = torch.rand(23, 9, generator=g).softmax(1)
    q[0, 3] = 0.0  # the clamped entry stays clamped in every chunk
    whole = kl_divergence_rows(p, q, chunk_rows=23)
    for chunk in (1, 4, 22, 1000):
        assert torch.equal(kl_divergence_rows(p, q, chunk_rows=chunk), whole)
    with pytest.raises(ValueError, match="chunk_rows must be >= 1, got 0"):
        kl_divergence_rows(p, q, chunk_rows=0)
