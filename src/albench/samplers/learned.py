"""LL4AL: query the candidates whose loss a jointly trained module predicts to be highest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albench.samplers.base import Need, Sampler, ScoringContext
from albench.samplers.registry import register

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["LL4ALRandomSampler", "LL4ALSampler"]


@register
class LL4ALSampler(Sampler):
    """Learning Loss for Active Learning (LL4AL): highest predicted loss first.

    Declaring :attr:`Need.PREDICTED_LOSS` makes the cycle train the
    loss-prediction module jointly with the classifier
    (:class:`albench.training.objectives.LossPredictionObjective`).

    Args:
        none (the module's hyperparameters are ``sampler_params.ll4al_module``).

    References:
        Donggeun Yoo, In So Kweon. Learning Loss for Active Learning. CVPR, 2019.
        arXiv:1905.03677.
    """

    name = "ll4al"
    summary = "Learning Loss: highest loss predicted by a jointly trained module (Yoo & Kweon 2019)"
    needs = frozenset({Need.PREDICTED_LOSS})
    control = "ll4al_random"

    def score(self, ctx: ScoringContext) -> Tensor:
        predicted = ctx.require(Need.PREDICTED_LOSS)
        if predicted.dim() != 1:
            raise ValueError(f"predicted loss must be (n,), got shape {tuple(predicted.shape)}")
        return predicted


@register
class LL4ALRandomSampler(Sampler):
    """LL4AL Random Control (LL4AL-R): LL4AL's loss module trained as for LL4AL, random query.

    The loss-prediction module's ranking loss also trains the backbone (until
    its detach epoch), so LL4AL − this control is LL4AL's selection effect and
    this control − random the effect of the module's training. The query is the
    uniform draw of ``random`` (the same scores from the same sampler stream).

    Args:
        none (the module's hyperparameters are ``sampler_params.ll4al_module``).

    References:
        Donggeun Yoo, In So Kweon. Learning Loss for Active Learning. CVPR, 2019.
        arXiv:1905.03677.
    """

    name = "ll4al_random"
    summary = "control: LL4AL's loss module trained as for LL4AL, random query"
    needs = frozenset({Need.PREDICTED_LOSS})
    role = "control"

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.samplers.reference import RandomSampler

        return RandomSampler().score(ctx)
