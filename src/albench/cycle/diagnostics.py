"""Per-cycle diagnostics (``metrics.json["diagnostics"]``) and the cycle-0 candidate table.

- ``kl_actual_vs_predicted``: mean over the scored subset of KL(actual TD ‖
  TiDAL's predicted TD), where actual TD is the running mean of the softmax
  recorded on the subset during training (TiDAL's analysis: the predicted TD
  approaches the actual TD).
- ``kl_actual_vs_snapshot``: mean KL(actual TD ‖ final-model softmax), the
  baseline the first number is compared with.
- ``kl_actual_train_vs_predicted`` / ``kl_actual_train_vs_snapshot``: the same
  with the actual TD recorded in the view of TiDAL's own target (train-mode
  BatchNorm, training augmentation; tracker view ``"train"``). The first pair
  uses the clean eval view, which is what ``td_*`` score by default; the module
  learns the second view's quantity on the labeled set.
- ``tail_auroc`` (long-tailed pools only): for each available score, the AUROC
  for ranking tail-class samples above head-class samples of the scored subset
  (the TiDAL poster's motivating observation). Tail classes are those at rank
  ≥ ⌊C/2⌋ of the pool's head order (for the ``step`` profile exactly the
  reduced classes).

The available scores come from the sampler registry: every sampler marked
``diagnostic`` whose needs the cycle has computed anyway is scored on the
candidates (:func:`candidate_scores`), plus the run's own sampler.

At cycle 0 the cycle also writes ``candidates.csv`` (:func:`candidates_csv`):
one row per scored candidate with its label, the model's prediction, whether
it is a tail-class sample, whether it was selected, and every available score,
for the informativeness analysis (dispersion paper Fig. 3) and the head/tail
scatter of the TiDAL poster.

References:
    Kye, Choi, Byun, Chang, "TiDAL: Learning Training Dynamics for Active
    Learning", ICCV 2023, arXiv:2210.06788 (motivating experiment: TD-based
    entropy/margin separate major from minor classes, snapshot ones do not).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from albench.pools import Pool
from albench.samplers.base import Need, ScoringContext, Selection
from albench.samplers.registry import score_samplers

__all__ = [
    "TailAuroc",
    "candidate_scores",
    "candidates_csv",
    "cycle_diagnostics",
    "kl_divergence_rows",
    "mean_kl",
    "tail_auroc",
]


def candidate_scores(ctx: ScoringContext) -> dict[str, Tensor]:
    """Every diagnostic sampler's score that the context can compute (higher = more informative)."""
    scores: dict[str, Tensor] = {}
    for cls in score_samplers():
        if not cls.diagnostic:
            continue
        sampler = cls()
        if ctx.has(*sampler.needs):
            scores[cls.name] = sampler.score(ctx.restricted(sampler.needs))
    return scores


def tail_mask(pool: Pool, labels: np.ndarray) -> np.ndarray:
    tail_classes = pool.head_order[pool.num_classes // 2 :]
    return np.isin(labels, tail_classes)


def cycle_diagnostics(
    ctx: ScoringContext,
    selection: Selection,
    pool: Pool,
    sampler_name: str,
    candidate_labels: np.ndarray,
    tracked_epochs: int,
) -> dict[str, Any]:
    """The ``diagnostics`` section of a querying cycle's metrics."""
    out: dict[str, Any] = {}
    for need, prefix in (
        (Need.TRACKED_PROBS, "kl_actual"),
        (Need.TRACKED_PROBS_TRAIN, "kl_actual_train"),
    ):
        actual = ctx.values.get(need)
        if actual is None or tracked_epochs == 0:
            continue
        out["tracked_epochs"] = tracked_epochs
        out[f"{prefix}_vs_snapshot"] = mean_kl(actual, ctx.require(Need.PROBS))
        if ctx.has(Need.TD_PROBS):
            out[f"{prefix}_vs_predicted"] = mean_kl(actual, ctx.require(Need.TD_PROBS))
    if pool.imbalance_ratio > 1:
        is_tail = tail_mask(pool, candidate_labels)
        scores = candidate_scores(ctx)
        if selection.all_scores is not None and sampler_name not in scores:
            scores[sampler_name] = torch.from_numpy(selection.all_scores)
        out["tail_auroc"] = {name: tail_auroc(s, is_tail).as_dict() for name, s in scores.items()}
        out["selected_tail_fraction"] = float(is_tail[selection.positions].mean())
    return out


def candidates_csv(
    ctx: ScoringContext,
    selection: Selection,
    pool: Pool,
    sampler_name: str,
    candidate_labels: np.ndarray,
) -> str:
    """CSV text: index, label, predicted, correct, is_tail, selected, then one column per score.

    Written without pandas (whose import would cost every querying job ~0.5 s), in
    the same format pandas writes: booleans as ``True``/``False``, scores as ``%.9g``,
    NaN as an empty field.
    """
    scores = {name: s.detach().cpu().double().numpy() for name, s in candidate_scores(ctx).items()}
    if selection.all_scores is not None:
        scores[f"sampler_{sampler_name}"] = selection.all_scores
    predicted = ctx.require(Need.PROBS).argmax(dim=1).cpu().numpy()
    selected = np.zeros(ctx.n, dtype=bool)
    selected[selection.positions] = True
    columns = {
        "index": ctx.candidates,
        "label": candidate_labels,
        "predicted": predicted,
        "correct": predicted == candidate_labels,
        "is_tail": tail_mask(pool, candidate_labels),
        "selected": selected,
        **scores,
    }
    cells = [_csv_column(values) for values in columns.values()]
    lines = [",".join(columns)] + [",".join(row) for row in zip(*cells, strict=True)]
    return "\n".join(lines) + "\n"


def _csv_column(values: np.ndarray) -> list[str]:
    values = np.asarray(values)
    if values.dtype == np.bool_:
        return ["True" if v else "False" for v in values.tolist()]
    if np.issubdtype(values.dtype, np.integer):
        return [str(v) for v in values.tolist()]
    return ["" if v != v else f"{v:.9g}" for v in values.astype(np.float64).tolist()]


# ----------------------------------------------------------------------------- KL and AUROC


KL_CHUNK_ROWS = 8192  # rows per float64 temporary of kl_divergence_rows


def kl_divergence_rows(p: Tensor, q: Tensor, chunk_rows: int = KL_CHUNK_ROWS) -> Tensor:
    """Row-wise KL(p ‖ q) = Σ_c p_c (log p_c − log q_c), computed in float64.

    0·log 0 = 0 through ``xlogy``, so zeros in p never produce NaN. Where q_c = 0
    but p_c > 0 the true KL is +∞; q is clamped to the smallest positive normal
    float64 (≈2.2e−308) only in those entries' logarithm, giving a large finite
    value (≈708·p_c nats) instead of ``inf``, so means stay finite and JSON-safe.
    Entries with q_c ≥ that bound are unchanged.

    Rows are converted and reduced ``chunk_rows`` at a time, so the float64
    temporaries are a chunk, not whole (n, C) tables (≈30 GiB at iNaturalist
    scale); each row's sum is the same as without chunking.

    Args:
        p: (n, C) reference distributions (e.g. actual TD).
        q: (n, C) approximating distributions (e.g. predicted TD).
        chunk_rows: rows per float64 temporary, >= 1.

    Returns:
        (n,) float64 KL values, ≥ 0 up to rounding.
    """
    if p.dim() != 2 or p.shape != q.shape:
        raise ValueError(f"p and q must both be (n, C), got {tuple(p.shape)} and {tuple(q.shape)}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    out = torch.empty(len(p), dtype=torch.float64, device=p.device)
    tiny = torch.finfo(torch.float64).tiny
    for start in range(0, len(p), chunk_rows):
        rows = slice(start, start + chunk_rows)
        p64 = p[rows].detach().to(torch.float64)  # (chunk, C)
        q64 = q[rows].detach().to(torch.float64).clamp_min(tiny)  # (chunk, C)
        out[rows] = torch.xlogy(p64, p64).sub_(torch.xlogy(p64, q64)).sum(dim=1)
    return out  # (n,)


def mean_kl(p: Tensor, q: Tensor) -> float:
    """Mean over rows of :func:`kl_divergence_rows`; NaN for zero rows."""
    rows = kl_divergence_rows(p, q)
    return float(rows.mean()) if rows.numel() else math.nan


@dataclass(frozen=True)
class TailAuroc:
    """AUROC of a score for tail (positive) vs head samples.

    Attributes:
        auroc: the AUROC in [0, 1], or None when it is undefined.
        reason: why ``auroc`` is None, else None.
        n_tail: number of tail samples; n_head: number of head samples.
    """

    auroc: float | None
    reason: str | None
    n_tail: int
    n_head: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tail_auroc(scores: Tensor | np.ndarray, is_tail: Tensor | np.ndarray) -> TailAuroc:
    """How well ``scores`` rank tail-class samples above head-class samples.

    AUROC = P(score of a random tail sample > score of a random head sample),
    ties counted ½: the Mann–Whitney U statistic over n_tail·n_head, computed
    exactly from average ranks (rank sums are half-integers, so the only rounding
    is the final division; ``sklearn.metrics.roc_auc_score`` agrees to ~1e-16).
    0.5 = no separation; 1 = every tail sample scores higher.

    Args:
        scores: (n,) scores (higher = more informative, the sampler convention).
        is_tail: (n,) bool, True for samples of tail classes.

    Returns:
        :class:`TailAuroc`; ``auroc`` is None with a reason when a group is
        empty or a score is not finite.
    """
    s = np.asarray(
        scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=np.float64
    ).reshape(-1)
    tail = np.asarray(is_tail.detach().cpu() if isinstance(is_tail, Tensor) else is_tail)
    tail = tail.reshape(-1)
    if tail.dtype != np.bool_:
        raise ValueError(f"is_tail must be boolean, got dtype {tail.dtype}")
    if s.shape != tail.shape:
        raise ValueError(f"scores {s.shape} and is_tail {tail.shape} must have the same length")
    n_tail, n_head = int(tail.sum()), int((~tail).sum())
    if n_tail == 0 or n_head == 0:
        empty = "tail" if n_tail == 0 else "head"
        return TailAuroc(
            None, f"no {empty}-class samples among the {s.size} scored", n_tail, n_head
        )
    if not np.isfinite(s).all():
        bad = int((~np.isfinite(s)).sum())
        return TailAuroc(None, f"{bad} non-finite scores", n_tail, n_head)
    ranks = average_ranks(s)  # (n,) 1-based, ties share their mean rank
    u = ranks[tail].sum() - n_tail * (n_tail + 1) / 2
    return TailAuroc(float(u / (n_tail * n_head)), None, n_tail, n_head)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``; tied values get the mean of their ranks (as scipy's rankdata)."""
    order = np.argsort(values, kind="mergesort")
    _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks
