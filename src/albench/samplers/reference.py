"""Reference samplers that bracket the methods: random (lower) and oracle (upper)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from albench.samplers.base import Need, Sampler, ScoringContext, Selection, check_budget
from albench.samplers.registry import register

if TYPE_CHECKING:
    from torch import Tensor


@register
class RandomSampler(Sampler):
    """Random sampling (Random): a uniform draw from the scored candidates.

    Scores are i.i.d. U[0, 1) from ``np.random.default_rng(ctx.seed)``, so the
    top b is a uniform b-subset and the same seed gives the same selection.

    Args:
        none (the sampler has no hyperparameters).

    References:
        Prateek Munjal, Nasir Hayat, Munawar Hayat, Jamshid Sourati, Shadab
        Khan. Towards Robust and Reproducible Active Learning Using Neural
        Networks. CVPR, 2022. arXiv:2002.09564 (random as the strong baseline).
        Kye, Choi, Byun, Chang. TiDAL: Learning Training Dynamics for Active
        Learning. ICCV, 2023. arXiv:2210.06788 (relative improvement over random).
    """

    name = "random"
    summary = "uniform random draw from the candidates (seeded)"

    def score(self, ctx: ScoringContext) -> Tensor:
        import torch

        rng = np.random.default_rng(ctx.seed)
        return torch.from_numpy(rng.random(ctx.n))  # (n,) float64


@register
class OracleSampler(Sampler):
    """Misclassification Oracle (Oracle): ground truth picks what the model gets wrong.

    A reference upper bound, not a method: candidates whose argmax prediction
    differs from ``ctx.true_labels`` come first, in a seeded uniform random
    order from ``np.random.default_rng(ctx.seed)``; if fewer than b are
    misclassified the shortfall is filled uniformly at random from the rest
    (project choice; the paper does not say). Scores are 1 for misclassified and
    0 otherwise; ``Selection.positions`` carries the random tie order.

    Args:
        none (the sampler has no hyperparameters).

    References:
        Javad Zolfaghari Bengar, Bogdan Raducanu, Joost van de Weijer. When Deep
        Learners Change Their Mind: Learning Dynamics for Active Learning.
        CAIP, 2021. arXiv:2107.14707 (§4.1, the Oracle reference).
    """

    name = "oracle"
    summary = "ground-truth reference: misclassified candidates first (seeded order)"
    needs = frozenset({Need.TRUE_LABELS, Need.PROBS})
    role = "reference"

    def select(self, ctx: ScoringContext, budget: int) -> Selection:
        from albench.samplers import scores

        check_budget(budget, ctx.n, self.name)
        probs = ctx.require(Need.PROBS)  # (n, C)
        true_labels = ctx.require(Need.TRUE_LABELS)  # (n,)
        scores.require_shape(probs, "probs", 2, rows=ctx.n)
        scores.require_shape(true_labels, "true_labels", 1, rows=ctx.n)
        wrong = (probs.argmax(dim=1).cpu() != true_labels.cpu()).numpy()  # (n,) bool
        all_scores = wrong.astype(np.float64)  # (n,)
        order = np.random.default_rng(ctx.seed).permutation(ctx.n)  # (n,)
        order = order[np.argsort(-all_scores[order], kind="stable")]  # misclassified first
        positions = order[:budget].astype(np.int64)
        return Selection(positions=positions, scores=all_scores[positions], all_scores=all_scores)
