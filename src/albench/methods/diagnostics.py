"""Diagnostics of training-dynamics methods for ``metrics.json``.

* How well TiDAL's module predicts the actual TD of the candidates:
  KL(actual TD ‖ predicted TD), and, as a reference point, KL(actual TD ‖ final
  snapshot softmax) (:func:`kl_divergence_rows`, :func:`mean_kl`).
* Whether a score separates tail-class from head-class candidates, TiDAL's
  motivating claim for imbalanced pools (:func:`tail_auroc`).

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

__all__ = ["TailAuroc", "kl_divergence_rows", "mean_kl", "tail_auroc"]


def kl_divergence_rows(p: Tensor, q: Tensor) -> Tensor:
    """Row-wise KL(p ‖ q) = Σ_c p_c (log p_c − log q_c), computed in float64.

    0·log 0 = 0 through ``xlogy``, so zeros in p never produce NaN. Where q_c = 0
    but p_c > 0 the true KL is +∞; q is clamped to the smallest positive normal
    float64 (≈2.2e−308) only in those entries' logarithm, giving a large finite
    value (≈708·p_c nats) instead of ``inf``, so means stay finite and JSON-safe.
    Entries with q_c ≥ that bound are unchanged.

    Args:
        p: (n, C) reference distributions (e.g. actual TD).
        q: (n, C) approximating distributions (e.g. predicted TD).

    Returns:
        (n,) float64 KL values, ≥ 0 up to rounding.
    """
    if p.dim() != 2 or p.shape != q.shape:
        raise ValueError(f"p and q must both be (n, C), got {tuple(p.shape)} and {tuple(q.shape)}")
    p64 = p.detach().to(torch.float64)  # (n, C)
    q64 = q.detach().to(torch.float64).clamp_min(torch.finfo(torch.float64).tiny)  # (n, C)
    return (torch.xlogy(p64, p64) - torch.xlogy(p64, q64)).sum(dim=1)  # (n,)


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
    ties counted ½ (``sklearn.metrics.roc_auc_score``). 0.5 = no separation; 1 =
    every tail sample scores higher.

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
    from sklearn.metrics import roc_auc_score  # lazy: ~1 s import

    return TailAuroc(float(roc_auc_score(tail, s)), None, n_tail, n_head)
