"""Batch-aware diversity samplers: CoreSet (k-center greedy) and BADGE.

Both override :meth:`Sampler.select`: the batch is built pick by pick, so there
is no per-candidate score (``Selection.all_scores`` is None) and
``Selection.scores`` holds each pick's distance at the time it was picked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from albench import checks
from albench.samplers.base import Need, Sampler, ScoringContext, Selection, check_budget
from albench.samplers.registry import register


@register
@dataclass(frozen=True)
class CoreSetSampler(Sampler):
    """Core-Set selection by greedy k-center (CoreSet, KCenterGreedy).

    Starting from the labeled embeddings as centres, repeatedly picks the
    candidate farthest (Euclidean, penultimate features) from its nearest
    centre and adds it to the centres (Sener & Savarese's greedy 2-approximation;
    the robust MIP variant is not implemented). Ties go to the lowest candidate
    position, i.e. the earliest in the seeded candidate order. With an empty
    labeled set the first pick is position 0 and its recorded distance +inf.
    ``Selection.scores`` are the min distances at pick time (non-increasing).

    Args:
        chunk: labeled rows per block when computing the initial distances;
            memory is O(n · chunk). Positive integer, default 1024.

    References:
        Ozan Sener and Silvio Savarese. Active Learning for Convolutional Neural
        Networks: A Core-Set Approach. ICLR, 2018. arXiv:1708.00489.
        Teofilo F. Gonzalez. Clustering to Minimize the Maximum Intercluster
        Distance. Theoretical Computer Science 38, 1985.
    """

    name = "coreset"
    summary = "greedy k-center on penultimate embeddings, labeled set as initial centres"
    needs = frozenset({Need.EMBEDDINGS, Need.LABELED_EMBEDDINGS})

    chunk: int = 1024

    def __post_init__(self) -> None:
        checks.check_int(self.chunk, "chunk", minimum=1)

    def select(self, ctx: ScoringContext, budget: int) -> Selection:
        from albench.samplers import scores

        check_budget(budget, ctx.n, self.name)
        emb = ctx.require(Need.EMBEDDINGS)  # (n, d)
        labeled_emb = ctx.require(Need.LABELED_EMBEDDINGS)  # (m, d)
        scores.require_shape(emb, "embeddings", 2, rows=ctx.n)
        scores.require_shape(labeled_emb, "labeled_embeddings", 2, rows=len(ctx.labeled))
        positions, distances = scores.k_center_greedy(emb, labeled_emb, budget, chunk=self.chunk)
        return Selection(positions=positions, scores=distances, all_scores=None)


@register
class BADGESampler(Sampler):
    """Batch Active learning by Diverse Gradient Embeddings (BADGE).

    Each candidate's gradient embedding is the last-layer cross-entropy
    gradient at its predicted label, g = (p − e_ŷ) ⊗ h; the batch is the
    k-means++ seeding of these: first the largest ‖g‖, then draws ∝ D² (squared
    distance to the nearest chosen) from ``np.random.default_rng(ctx.seed)``,
    never repeating. g (n × C·d) is never materialised: distances use
    ‖g_x − g_y‖² = ‖a_x‖²‖h_x‖² + ‖a_y‖²‖h_y‖² − 2(a_x·a_y)(h_x·h_y), a = p − e_ŷ.
    If only duplicates of chosen centres remain (all D² = 0), picks are uniform
    among the unchosen (project choice; the official code would loop forever).
    ``Selection.scores`` are D² at pick time, ‖g‖² for the first pick.

    Args:
        none (the sampler has no hyperparameters).

    References:
        Jordan T. Ash, Chicheng Zhang, Akshay Krishnamurthy, John Langford,
        Alekh Agarwal. Deep Batch Active Learning by Diverse, Uncertain Gradient
        Lower Bounds. ICLR, 2020. arXiv:1906.03671.
        David Arthur and Sergei Vassilvitskii. k-means++: The Advantages of
        Careful Seeding. SODA, 2007.
    """

    name = "badge"
    summary = "k-means++ seeding on last-layer gradient embeddings (p - e_yhat) x h"
    needs = frozenset({Need.PROBS, Need.EMBEDDINGS})

    def select(self, ctx: ScoringContext, budget: int) -> Selection:
        from albench.samplers import scores

        check_budget(budget, ctx.n, self.name)
        probs = ctx.require(Need.PROBS)  # (n, C)
        emb = ctx.require(Need.EMBEDDINGS)  # (n, d)
        scores.require_shape(probs, "probs", 2, rows=ctx.n)
        scores.require_shape(emb, "embeddings", 2, rows=ctx.n)
        rng = np.random.default_rng(ctx.seed)
        positions, sq_dists = scores.badge_kmeanspp(probs, emb, budget, rng)
        return Selection(positions=positions, scores=sq_dists, all_scores=None)
