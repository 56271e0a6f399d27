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

At cycle 0 the cycle also writes ``candidates.csv`` (:func:`candidates_csv`):
one row per scored candidate with its label, the model's prediction, whether
it is a tail-class sample, whether it was selected, and every available score,
for the informativeness analysis (dispersion paper Fig. 3) and the head/tail
scatter of the TiDAL poster.
"""

from __future__ import annotations

import io
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


def candidates_csv(
    ctx: ScoringContext, selection: Selection, pool: Pool, sampler_name: str,
    candidate_labels: np.ndarray,
) -> str:  # fmt: skip
    """CSV text: index, label, predicted, correct, is_tail, selected, then one column per score."""
    import pandas as pd

    scores = {name: s.detach().cpu().double().numpy() for name, s in candidate_scores(ctx).items()}
    if selection.all_scores is not None:
        scores[f"sampler_{sampler_name}"] = selection.all_scores
    predicted = ctx.probs.argmax(dim=1).cpu().numpy() if ctx.probs is not None else None
    selected = np.zeros(ctx.n, dtype=bool)
    selected[selection.positions] = True
    frame = pd.DataFrame({
        "index": ctx.candidates, "label": candidate_labels, "predicted": predicted,
        "correct": predicted == candidate_labels if predicted is not None else None,
        "is_tail": tail_mask(pool, candidate_labels), "selected": selected, **scores,
    })  # fmt: skip
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", float_format="%.9g")
    return buffer.getvalue()
