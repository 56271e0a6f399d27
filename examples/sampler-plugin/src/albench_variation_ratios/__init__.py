"""Variation Ratios as an albench sampler, shipped as a plugin package.

Install it next to albench (``pip install examples/sampler-plugin``) and list
``variation_ratios`` in a config's ``samplers:``; albench finds it through the
``albench.samplers`` entry point declared in ``pyproject.toml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from albench.samplers import Need, Sampler, ScoringContext

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["VariationRatiosSampler", "variation_ratios"]


def variation_ratios(mc_probs: Tensor) -> Tensor:
    """1 − f/T, f the number of the T stochastic passes that predict the modal class.

    Args:
        mc_probs: (n, C, T) class probabilities of T MC-dropout passes.

    Returns:
        (n,) float32 scores in [0, 1 − 1/T]; 0 when every pass agrees.
    """
    import torch

    if mc_probs.dim() != 3:
        raise ValueError(f"mc_probs must be (n, C, T), got shape {tuple(mc_probs.shape)}")
    votes = mc_probs.argmax(dim=1)  # (n, T) predicted class of each pass
    counts = torch.nn.functional.one_hot(votes, mc_probs.shape[1]).sum(dim=1)  # (n, C)
    return 1.0 - counts.amax(dim=1).to(torch.float32) / mc_probs.shape[2]


class VariationRatiosSampler(Sampler):
    """Variation Ratios (VR): candidates on whose label the MC-dropout passes disagree most.

    Score 1 − f/T over the T dropout passes the cycle computes for BALD
    (``Need.MC_PROBS``: 10 passes, Dropout(0.5) on the penultimate embedding),
    f the number of passes that predict the modal class. Ties keep the seeded
    candidate order (the scores take few distinct values, so ties are common).

    Args:
        none (the sampler has no hyperparameters).

    References:
        Linton C. Freeman. Elementary Applied Statistics. Wiley, 1965.
        Yarin Gal, Riashat Islam, Zoubin Ghahramani. Deep Bayesian Active
        Learning with Image Data. ICML, 2017. arXiv:1703.02910.
    """

    name = "variation_ratios"
    summary = "Variation Ratios: disagreement of the MC-dropout passes on the label (plugin)"
    needs = frozenset({Need.MC_PROBS})
    diagnostic = True

    def score(self, ctx: ScoringContext) -> Tensor:
        return variation_ratios(ctx.require(Need.MC_PROBS))
