"""VAAL: a β-VAE and a labeled/unlabeled discriminator pick the least "labeled-looking" images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from albench import checks
from albench.samplers.base import Need, Sampler, ScoringContext
from albench.samplers.registry import register

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["VAALSampler"]


@register
@dataclass(frozen=True)
class VAALSampler(Sampler):
    """Variational Adversarial Active Learning (VAAL): query the lowest D(μ(x)).

    The VAE and discriminator are trained from scratch at every query on the
    labeled images (``Need.LABELED_IMAGES``) versus the candidate images
    (``Need.IMAGES``), seeded by ``ScoringContext.seed``. The original trains on
    the whole unlabeled pool; albench's unlabeled set is the scored subset (the
    same candidates it ranks), which bounds the cost. Architecture, objectives
    and every deviation from the official code: :mod:`albench.training.vaal`.

    Args:
        iterations: training iterations (each: ``vae_steps`` VAE updates, then
            ``adv_steps`` discriminator updates). CPU default 300.
        batch_size: images per batch from each set.
        latent_dim: size of z (32 in the paper).
        beta: weight of the VAE's KL term.
        adversary_weight: weight of the VAE's adversarial term.
        lr: Adam learning rate of both networks (5e-4 as the official code).
        vae_steps, adv_steps: updates per iteration (2 and 1 as the official code).
        width: channels of the first encoder convolution (doubles per layer).
        downsamplings: stride-2 convolutions of the encoder; None = from the image size.
        disc_hidden: discriminator hidden width (512 in the official code).
        score_batch_size: images per scoring forward pass.

    References:
        Samarth Sinha, Sayna Ebrahimi, Trevor Darrell. Variational Adversarial
        Active Learning. ICCV, 2019. arXiv:1904.00370.
    """

    name = "vaal"
    summary = "VAAL: lowest labeled-probability of a VAE-latent discriminator (Sinha et al. 2019)"
    needs = frozenset({Need.IMAGES, Need.LABELED_IMAGES})
    quick_params: ClassVar[dict[str, Any]] = {"iterations": 5, "batch_size": 16}

    iterations: int = 300
    batch_size: int = 64
    latent_dim: int = 32
    beta: float = 1.0
    adversary_weight: float = 1.0
    lr: float = 5e-4
    vae_steps: int = 2
    adv_steps: int = 1
    width: int = 32
    downsamplings: int | None = None
    disc_hidden: int = 512
    score_batch_size: int = 512

    def __post_init__(self) -> None:
        for key in (
            "iterations",
            "batch_size",
            "latent_dim",
            "vae_steps",
            "adv_steps",
            "width",
            "disc_hidden",
            "score_batch_size",
        ):
            checks.check_int(getattr(self, key), key, minimum=1)
        checks.check_optional_int(self.downsamplings, "downsamplings", minimum=1)
        checks.check_real(self.beta, "beta", low=0)
        checks.check_real(self.adversary_weight, "adversary_weight", low=0)
        checks.check_real(self.lr, "lr", low=0, low_open=True)

    def score(self, ctx: ScoringContext) -> Tensor:
        from albench.training.vaal import train_vaal, vaal_scores

        images = ctx.require(Need.IMAGES)  # (n, C_in, H, W)
        labeled = ctx.require(Need.LABELED_IMAGES)  # (m, C_in, H, W)
        vae, disc = train_vaal(labeled, images, self, seed=ctx.seed, device=ctx.device)
        return vaal_scores(vae, disc, images, batch_size=self.score_batch_size, device=ctx.device)
