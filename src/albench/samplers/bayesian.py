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

    Score I(y; w) = H(p̄) − (1/T) Σ_t H(p_t) over the T stochastic passes in
    ``ctx.mc_probs`` (n, C, T), p̄ their mean. The cycle produces them as in
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
    needs = frozenset({Need.MC_PROBS})

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers import scores

        mc_probs = ctx.require(Need.MC_PROBS)  # (n, C, T)
        scores.require_shape(mc_probs, "mc_probs", 3, rows=ctx.n)
        return scores.bald_mutual_information(mc_probs)  # (n,)
