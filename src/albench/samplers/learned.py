"""Samplers driven by a learned auxiliary model: LL4AL (loss prediction) and VAAL.

References:
    Yoo & Kweon, "Learning Loss for Active Learning", CVPR 2019, arXiv:1905.03677.
    Sinha, Ebrahimi, Darrell, "Variational Adversarial Active Learning", ICCV 2019,
    arXiv:1904.00370.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from torch import Tensor

from albench.methods.vaal import train_vaal, vaal_scores
from albench.samplers.base import Need, Sampler, ScoringContext, TrainingNeeds
from albench.samplers.registry import register

__all__ = ["LL4ALSampler", "VAALSampler"]


# train_vaal's keyword arguments and defaults (everything but seed/device): the sampler's
# parameters, read from its signature so the defaults are written in one place.
VAAL_TRAIN_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(train_vaal).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("seed", "device")
}
_POSITIVE_INTS = ("iterations", "batch_size", "latent_dim", "vae_steps", "adv_steps", "width",
                  "disc_hidden")  # fmt: skip


@register
class LL4ALSampler(Sampler):
    """LL4AL: the candidates with the highest loss predicted by the loss-prediction module.

    References:
        Yoo & Kweon, CVPR 2019, arXiv:1905.03677.
    """

    name = "ll4al"
    summary = "Learning Loss: highest loss predicted by a jointly trained module (Yoo & Kweon 2019)"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PREDICTED_LOSS})
    training = TrainingNeeds(aux_module="ll4al")

    def score(self, ctx: ScoringContext) -> Tensor:
        predicted = ctx.require(Need.PREDICTED_LOSS)
        if predicted.dim() != 1:
            raise ValueError(f"predicted loss must be (n,), got shape {tuple(predicted.shape)}")
        return predicted


@register
class VAALSampler(Sampler):
    """VAAL: train a β-VAE + discriminator, query the lowest D(μ(x)) (least "labeled-looking").

    The VAE and discriminator are trained from scratch at every query on the
    labeled images (``ScoringContext.labeled_images``) versus the candidate
    images (``ScoringContext.images``), seeded by ``ScoringContext.seed``. The
    original trains on the whole unlabeled pool; albench's unlabeled set is the
    scored subset (the same candidates it ranks), which bounds the cost. See
    :mod:`albench.methods.vaal` for the architecture and other deviations.

    Parameters (all keyword, CPU-sized defaults): ``iterations`` (300),
    ``batch_size`` (64), ``latent_dim`` (32), ``beta`` (1.0),
    ``adversary_weight`` (1.0), ``lr`` (5e-4), ``vae_steps`` (2), ``adv_steps``
    (1), ``width`` (32), ``downsamplings`` (None = from the image size),
    ``disc_hidden`` (512), ``score_batch_size`` (512).

    References:
        Sinha, Ebrahimi, Darrell, ICCV 2019, arXiv:1904.00370.
    """

    name = "vaal"
    summary = "VAAL: lowest labeled-probability of a VAE-latent discriminator (Sinha et al. 2019)"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.IMAGES})
    training = TrainingNeeds()

    def __init__(self, score_batch_size: int = 512, **train_params: Any) -> None:
        unknown = sorted(set(train_params) - set(VAAL_TRAIN_DEFAULTS))
        if unknown:
            raise TypeError(
                f"sampler 'vaal' got unknown parameter(s) {', '.join(unknown)}; valid: "
                f"{', '.join(sorted([*VAAL_TRAIN_DEFAULTS, 'score_batch_size']))}"
            )
        params = {**VAAL_TRAIN_DEFAULTS, **train_params}  # defaults live in train_vaal only
        ints = {key: params[key] for key in _POSITIVE_INTS} | {"score_batch_size": score_batch_size}
        for key, value in ints.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"vaal {key} must be a positive int, got {value!r}")
        downsamplings = params["downsamplings"]
        if downsamplings is not None and (
            isinstance(downsamplings, bool)
            or not isinstance(downsamplings, int)
            or downsamplings < 1
        ):
            raise ValueError(
                f"vaal downsamplings must be a positive int or None, got {downsamplings!r}"
            )
        beta, adversary_weight, lr = params["beta"], params["adversary_weight"], params["lr"]
        if beta < 0 or adversary_weight < 0 or lr <= 0:
            raise ValueError(
                f"vaal needs beta >= 0, adversary_weight >= 0 and lr > 0, got "
                f"beta={beta}, adversary_weight={adversary_weight}, lr={lr}"
            )
        self.train_params = {
            **params,
            "beta": float(beta),
            "adversary_weight": float(adversary_weight),
            "lr": float(lr),
        }
        self.score_batch_size = score_batch_size

    def score(self, ctx: ScoringContext) -> Tensor:
        images = ctx.require(Need.IMAGES)  # (n, C_in, H, W)
        labeled = ctx.labeled_images
        if labeled is None:
            raise RuntimeError(
                "scoring context has no 'labeled_images': Need.IMAGES must fill "
                "both `images` and `labeled_images` for vaal"
            )
        vae, disc = train_vaal(
            labeled, images, seed=ctx.seed, device=ctx.device, **self.train_params
        )
        return vaal_scores(vae, disc, images, batch_size=self.score_batch_size, device=ctx.device)
