"""Per-cycle diagnostics written to ``metrics.json["diagnostics"]``.

- ``kl_actual_vs_predicted``: mean over the scored subset of KL(actual TD ‖
  TiDAL's predicted TD), where actual TD is the running mean of the softmax
  recorded on the subset during training (TiDAL's analysis: the predicted TD
  approaches the actual TD).
- ``kl_actual_vs_snapshot``: mean KL(actual TD ‖ final-model softmax), the
  baseline the first number is compared with.
- ``tail_auroc`` (long-tailed pools only): for each available score, the AUROC
  for ranking tail-class samples above head-class samples of the scored subset
  (the TiDAL poster's motivating observation). Tail classes are those at rank
  ≥ ⌊C/2⌋ of the pool's head order (for the ``step`` profile exactly the
  reduced classes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from albench.methods.diagnostics import mean_kl, tail_auroc
from albench.methods.tidal import tidal_entropy_scores, tidal_margin_scores
from albench.pools import Pool
from albench.samplers import ScoringContext, Selection
from albench.samplers.scores import entropy, least_confidence, margin


def candidate_scores(ctx: ScoringContext) -> dict[str, torch.Tensor]:
    """Every uncertainty score computable from what the context holds (higher = more informative)."""
    scores: dict[str, torch.Tensor] = {}
    if ctx.probs is not None:
        scores |= {"entropy": entropy(ctx.probs), "margin": -margin(ctx.probs),
                   "least_confidence": least_confidence(ctx.probs)}  # fmt: skip
    if ctx.tracked_probs is not None:
        scores |= {
            "td_entropy": entropy(ctx.tracked_probs),
            "td_margin": -margin(ctx.tracked_probs),
        }
    if ctx.td_probs is not None and ctx.logits is not None:
        scores |= {"tidal_entropy": tidal_entropy_scores(ctx.td_probs),
                   "tidal_margin": tidal_margin_scores(ctx.td_probs, ctx.logits)}  # fmt: skip
    return scores


def tail_mask(pool: Pool, labels: np.ndarray) -> np.ndarray:
    tail_classes = pool.head_order[pool.num_classes // 2 :]
    return np.isin(labels, tail_classes)


def cycle_diagnostics(
    ctx: ScoringContext, selection: Selection, pool: Pool, tracker, sampler_name: str,
    candidate_labels: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    if tracker is not None and tracker.num_records > 0:
        actual = tracker.mean_probs
        out["tracked_epochs"] = tracker.num_records
        out["kl_actual_vs_snapshot"] = mean_kl(actual, ctx.probs)
        if ctx.td_probs is not None:
            out["kl_actual_vs_predicted"] = mean_kl(actual, ctx.td_probs)
    if pool.imbalance_ratio > 1:
        is_tail = tail_mask(pool, candidate_labels)
        scores = candidate_scores(ctx)
        if selection.all_scores is not None and sampler_name not in scores:
            scores[sampler_name] = torch.from_numpy(selection.all_scores)
        out["tail_auroc"] = {name: tail_auroc(s, is_tail).as_dict() for name, s in scores.items()}
        out["selected_tail_fraction"] = float(is_tail[selection.positions].mean())
    return out
