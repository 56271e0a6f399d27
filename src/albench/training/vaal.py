"""Variational Adversarial Active Learning (VAAL): a β-VAE and a labeled/unlabeled discriminator.

A β-VAE learns a latent space from labeled and unlabeled images together; a
discriminator on the latent mean μ(x) learns to tell labeled (1) from unlabeled
(0) samples, while the VAE additionally tries to make every μ look labeled. The
query takes the candidates the discriminator finds least likely to be labeled
(lowest D(μ(x))). VAAL uses images only, not the classifier.

Networks: :mod:`albench.models.vaal`. Sampler: :mod:`albench.samplers.vaal`.

Objectives (paper form, Sinha et al. Eq. 1–4):

* VAE: for labeled and unlabeled batches, the per-sample negative ELBO
  ‖x̂ − x‖² + β·KL(q(z|x) ‖ N(0, I)) averaged over the batch,
  plus ``adversary_weight`` × [BCE(D(μ_L), 1) + BCE(D(μ_U), 1)].
* Discriminator: BCE(D(μ_L), 1) + BCE(D(μ_U), 0), μ computed without gradient.
* Adam, lr 5e-4 for both; ``vae_steps`` VAE updates then ``adv_steps``
  discriminator updates per iteration, a fresh batch pair before each update
  after the first (as the official ``solver.py``).

Deviations from the official code ``sinhasam/vaal`` (documented choices):

* Both terms are per sample, as in the paper's expectation of the ELBO: the
  squared error summed over the pixels of an image (the negative Gaussian
  log-likelihood up to scale) and the KL summed over latent dimensions, both
  averaged over the batch. ``solver.py`` instead takes the MSE *mean* over all
  elements and the KL *sum* over batch and latent dimensions, which weights the
  KL about B·C_in·H·W times more than the ELBO does; on small budgets that
  pulls μ towards 0 (in a tiny test with bright labeled vs dark unlabeled
  images, even the milder mix of element-mean MSE and per-sample KL left D
  barely able to separate them; the per-sample form separated them cleanly).
* Stored ``solver.py`` versions differ on the unlabeled target of the VAE's
  adversarial term; albench uses the paper's (1, "labeled") for both.
* Labeled and unlabeled batches go through the VAE in one concatenated pass,
  and scoring runs the VAE in eval mode (BN running statistics). The official
  code forwards the two sets separately, so BatchNorm normalises each set by
  its own batch statistics — which hides a shift between the sets from the
  discriminator — and it scores in train mode on unlabeled-only batches, so a
  candidate's score depends on its batch-mates. With separate passes,
  eval-mode scoring would be inconsistent with training (a tiny test with
  bright labeled vs dark unlabeled images then ranked the sets at random);
  with the joint pass the scores are consistent and independent of the
  scoring batch size.
* Iterations, batch size and widths are small CPU defaults; the official
  schedule (``num_images·epochs/batch`` iterations, joint task-model training,
  best-validation checkpoint) is not this benchmark's protocol.
* The "unlabeled" set is whatever the caller passes (in albench, the scored
  subset of the pool), not the whole unlabeled pool.

References:
    Samarth Sinha, Sayna Ebrahimi, Trevor Darrell. "Variational Adversarial
    Active Learning." ICCV 2019. arXiv:1904.00370. Code: ``sinhasam/vaal``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from albench.models.vaal import VAE, Discriminator

if TYPE_CHECKING:
    from albench.samplers.vaal import VAALSampler

__all__ = ["train_vaal", "vaal_scores", "vae_loss"]


def vae_loss(x: Tensor, recon: Tensor, mu: Tensor, logvar: Tensor, beta: float) -> Tensor:
    """β-VAE loss per sample, averaged over the batch: ‖x̂ − x‖² + β · KL(N(μ, σ²) ‖ N(0, I)).

    The squared error is summed over the pixels of a sample (``mse_loss`` with
    ``reduction="sum"`` divided by B), the KL over its latent dimensions.
    """
    sse = (recon - x).pow(2).flatten(1).sum(dim=1)  # (B,)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)  # (B,)
    return (sse + beta * kl).mean()


def _batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Endless index batches: reshuffled passes over range(n), remainder dropped."""
    size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - size + 1, size):
            yield order[start : start + size]


def train_vaal(
    labeled_images: Tensor,
    unlabeled_images: Tensor,
    params: VAALSampler,
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> tuple[VAE, Discriminator]:
    """Train VAAL's VAE and discriminator on labeled vs unlabeled images.

    Everything random (initialisation, batch order, reparameterisation noise)
    comes from ``seed``; the global RNG state (CPU and CUDA) is left untouched,
    and on CPU the same seed gives the same models.

    Args:
        labeled_images: (m, C_in, H, W) float, normalised.
        unlabeled_images: (n, C_in, H, W) float, normalised.
        params: the hyperparameters, :class:`albench.samplers.vaal.VAALSampler`'s
            fields: ``iterations`` (each ``vae_steps`` VAE updates, then
            ``adv_steps`` discriminator updates), ``batch_size`` (per set,
            capped at the set size), ``latent_dim``, ``beta``,
            ``adversary_weight``, ``lr`` (Adam, both networks), ``width`` and
            ``downsamplings`` (see :class:`~albench.models.vaal.VAE`), ``disc_hidden``.
        seed: random seed.
        device: where to train (images are moved batch by batch); default CPU.

    Returns:
        (vae, discriminator), both in eval mode.
    """
    if labeled_images.dim() != 4 or unlabeled_images.dim() != 4:
        raise ValueError(
            f"images must be (N, C_in, H, W), got {tuple(labeled_images.shape)} and "
            f"{tuple(unlabeled_images.shape)}"
        )
    if labeled_images.shape[1:] != unlabeled_images.shape[1:]:
        raise ValueError(
            f"labeled {tuple(labeled_images.shape[1:])} and unlabeled "
            f"{tuple(unlabeled_images.shape[1:])} images differ in shape"
        )
    if len(labeled_images) == 0 or len(unlabeled_images) == 0:
        raise ValueError(
            f"VAAL needs labeled and unlabeled images, got {len(labeled_images)} "
            f"labeled and {len(unlabeled_images)} unlabeled"
        )
    device = torch.device("cpu" if device is None else device)
    channels, height, wide = labeled_images.shape[1:]
    with torch.random.fork_rng(devices=[]):  # the modules are built on the CPU
        torch.default_generator.manual_seed(seed)
        vae = VAE(
            channels,
            (height, wide),
            params.latent_dim,
            width=params.width,
            downsamplings=params.downsamplings,
        )
        disc = Discriminator(params.latent_dim, hidden=params.disc_hidden)
    vae, disc = vae.to(device), disc.to(device)
    opt_vae = torch.optim.Adam(vae.parameters(), lr=params.lr)
    opt_disc = torch.optim.Adam(disc.parameters(), lr=params.lr)
    order = torch.Generator().manual_seed(seed + 1)
    noise = torch.Generator(device=device).manual_seed(seed + 2)
    lab_stream = _batches(len(labeled_images), params.batch_size, order)
    unl_stream = _batches(len(unlabeled_images), params.batch_size, order)

    def next_pair() -> tuple[Tensor, Tensor]:
        lab = labeled_images[next(lab_stream)].to(device, torch.float32)
        unl = unlabeled_images[next(unl_stream)].to(device, torch.float32)
        return lab, unl

    vae.train()
    disc.train()
    for _ in range(params.iterations):
        lab, unl = next_pair()
        for step in range(params.vae_steps):
            if step > 0:
                lab, unl = next_pair()
            # One pass over both sets, so BatchNorm sees mixed-batch statistics (see above).
            recon, _, mu, logvar = vae(torch.cat([lab, unl]), noise)
            split = len(lab)
            recon_l, recon_u = recon[:split], recon[split:]
            mu_l, mu_u = mu[:split], mu[split:]
            logvar_l, logvar_u = logvar[:split], logvar[split:]
            logit_l, logit_u = disc(mu_l), disc(mu_u)  # (B_l,), (B_u,)
            adversarial = F.binary_cross_entropy_with_logits(
                logit_l, torch.ones_like(logit_l)
            ) + F.binary_cross_entropy_with_logits(logit_u, torch.ones_like(logit_u))
            total = (
                vae_loss(lab, recon_l, mu_l, logvar_l, params.beta)
                + vae_loss(unl, recon_u, mu_u, logvar_u, params.beta)
                + params.adversary_weight * adversarial
            )
            opt_vae.zero_grad(set_to_none=True)
            total.backward()
            opt_vae.step()
        for step in range(params.adv_steps):
            if step > 0:
                lab, unl = next_pair()
            with torch.no_grad():
                mu = vae.encode(torch.cat([lab, unl]))[0]
            mu_l, mu_u = mu[: len(lab)], mu[len(lab) :]
            logit_l, logit_u = disc(mu_l), disc(mu_u)
            d_loss = F.binary_cross_entropy_with_logits(
                logit_l, torch.ones_like(logit_l)
            ) + F.binary_cross_entropy_with_logits(logit_u, torch.zeros_like(logit_u))
            opt_disc.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_disc.step()
    return vae.eval(), disc.eval()


@torch.no_grad()
def vaal_scores(
    vae: nn.Module,
    discriminator: nn.Module,
    images: Tensor,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> Tensor:
    """VAAL's informativeness −D(μ(x)): the least likely labeled first.

    Both networks are put in eval mode. ``vae`` needs an ``encode(x) → (μ, …)``
    method and ``discriminator`` maps μ to logits of D (D = sigmoid(logit)).

    Args:
        vae: trained VAE.
        discriminator: trained discriminator.
        images: (n, C_in, H, W) candidates.
        batch_size: images per forward pass.
        device: where to run; default CPU.

    Returns:
        (n,) float64 scores −D(μ(x)) on the CPU.
    """
    device = torch.device("cpu" if device is None else device)
    vae.eval()
    discriminator.eval()
    out = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size].to(device, torch.float32)
        logits = discriminator(vae.encode(chunk)[0])  # (b,)
        out.append(torch.sigmoid(logits.to(torch.float64)).cpu())
    if not out:
        return torch.zeros(0, dtype=torch.float64)
    return -torch.cat(out)  # (n,)
