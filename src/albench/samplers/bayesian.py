"""Bayesian uncertainty: BALD on MC-dropout passes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albench.samplers.base import Need, Sampler, ScoringContext
from albench.samplers.registry import register

if TYPE_CHECKING:
    from torch import Tensor


@register
class BALDSampler(Sampler):
    """Bayesian Active Learning by Disagreement (BALD): pick the highest mutual information.

    Score I(y; w) = H(p̄) − (1/T) Σ_t H(p_t) over T stochastic passes, p̄ their
    mean. The cycle provides the two terms as running sums over the passes
    (``Need.MC_MEAN_PROBS`` = p̄ and ``Need.MC_MEAN_ENTROPY`` = (1/T) Σ_t H(p_t)),
    so memory does not grow with T. It produces the passes as in
    TiDAL's code: T = 10 passes with Dropout(0.5) applied only to the
    penultimate embedding before the final linear layer, BN in eval mode; the
    classifier itself is trained without dropout. The score is reported as
    computed, not clamped: identical passes give 0 up to rounding of the mean
    (|I| ≲ 1e-7 in float32), possibly slightly negative.

    Args:
        none (the sampler has no hyperparameters).

    References:
        Neil Houlsby, Ferenc Huszár, Zoubin Ghahramani, Máté Lengyel. Bayesian
        Active Learning for Classification and Preference Learning. arXiv, 2011.
        arXiv:1112.5745.
        Yarin Gal and Zoubin Ghahramani. Dropout as a Bayesian Approximation:
        Representing Model Uncertainty in Deep Learning. ICML, 2016.
        arXiv:1506.02142.
        Yarin Gal, Riashat Islam, Zoubin Ghahramani. Deep Bayesian Active
        Learning with Image Data. ICML, 2017. arXiv:1703.02910.
    """

    name = "bald"
    summary = "highest mutual information between label and weights under MC dropout"
    needs = frozenset({Need.MC_MEAN_PROBS, Need.MC_MEAN_ENTROPY})

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers import scores

        mean_probs = ctx.require(Need.MC_MEAN_PROBS)  # (n, C)
        scores.require_shape(mean_probs, "mc_mean_probs", 2, rows=ctx.n)
        return scores.bald_from_moments(mean_probs, ctx.require(Need.MC_MEAN_ENTROPY))  # (n,)
