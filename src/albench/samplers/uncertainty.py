"""Uncertainty sampling on the classifier's softmax: entropy, margin, least confidence.

Each sampler scores the (n, C) eval-mode softmax ``ctx.probs`` with a pure
function from :mod:`albench.samplers.scores`; the base class selects the top b
(higher = more uncertain; ties keep the seeded candidate order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from albench.samplers.base import Need, Sampler, ScoringContext
from albench.samplers.registry import register

if TYPE_CHECKING:
    from torch import Tensor


def _probs(ctx: ScoringContext) -> Tensor:
    from albench.samplers import scores

    probs = ctx.require(Need.PROBS)  # (n, C)
    scores.require_shape(probs, "probs", 2, rows=ctx.n)
    return probs


@register
class EntropySampler(Sampler):
    """Maximum Entropy sampling (Entropy): pick the highest predictive entropy H(p).

    Score H(p) = −Σ_c p_c log p_c in nats, computed with ``xlogy`` so a class
    probability that underflowed to 0 contributes 0 (never NaN).

    Args:
        none (the sampler has no hyperparameters).

    References:
        Claude E. Shannon. A Mathematical Theory of Communication. Bell System
        Technical Journal, 1948.
        Dan Wang and Yi Shang. A New Active Labeling Method for Deep Learning.
        IJCNN, 2014.
        Kye, Choi, Byun, Chang. TiDAL: Learning Training Dynamics for Active
        Learning. ICCV, 2023. arXiv:2210.06788 (the Entropy baseline).
    """

    name = "entropy"
    summary = "highest predictive entropy H(p) of the classifier softmax"
    needs = frozenset({Need.PROBS})
    diagnostic = True

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import entropy

        return entropy(_probs(ctx))  # (n,)


@register
class MarginSampler(Sampler):
    """Margin Sampling (Margin): pick the smallest gap between the two most probable classes.

    The margin p₍₁₎ − p₍₂₎ is small for uncertain candidates, so the score is
    −(p₍₁₎ − p₍₂₎) ∈ [−1, 0] (higher = more informative).

    Args:
        none (the sampler has no hyperparameters).

    References:
        Tobias Scheffer, Christian Decomain, Stefan Wrobel. Active Hidden Markov
        Models for Information Extraction. IDA, 2001.
        Dan Wang and Yi Shang. A New Active Labeling Method for Deep Learning.
        IJCNN, 2014.
        Zolfaghari Bengar, Raducanu, van de Weijer. When Deep Learners Change
        Their Mind: Learning Dynamics for Active Learning. CAIP, 2021.
        arXiv:2107.14707 (the Margin baseline).
    """

    name = "margin"
    summary = "smallest margin between the two most probable classes"
    needs = frozenset({Need.PROBS})
    diagnostic = True

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import margin

        return -margin(_probs(ctx))  # (n,)


@register
class LeastConfidenceSampler(Sampler):
    """Least Confidence sampling (LC): pick the lowest top-class probability.

    Score 1 − max_c p_c ∈ [0, 1 − 1/C].

    Args:
        none (the sampler has no hyperparameters).

    References:
        David D. Lewis and William A. Gale. A Sequential Algorithm for Training
        Text Classifiers. SIGIR, 1994.
        Aron Culotta and Andrew McCallum. Reducing Labeling Effort for Structured
        Prediction Tasks. AAAI, 2005.
        Dan Wang and Yi Shang. A New Active Labeling Method for Deep Learning.
        IJCNN, 2014.
    """

    name = "least_confidence"
    summary = "lowest top-class probability, 1 - max p"
    needs = frozenset({Need.PROBS})
    diagnostic = True

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.scores import least_confidence

        return least_confidence(_probs(ctx))  # (n,)
