"""Variational Adversarial Active Learning (VAAL): a β-VAE and a labeled/unlabeled discriminator.

A β-VAE learns a latent space from labeled and unlabeled images together; a
discriminator on the latent mean μ(x) learns to tell labeled (1) from unlabeled
(0) samples, while the VAE additionally tries to make every μ look labeled. The
query takes the candidates the discriminator finds least likely to be labeled
(lowest D(μ(x))). VAAL uses images only, not the classifier.

Architecture (scaled for CPU; official widths are 128→1024 for 32×32 inputs):
the encoder has N stride-2 4×4 convolutions (BN, ReLU), channels
``width·2^k`` capped at ``max_width``; N defaults to round(log2(min(H, W)/4)),
so 8×8 → 1, 28×28 → 3, 32×32 → 3, 64×64 → 4 (final maps ≈4×4). Linear layers
give μ and log σ²; the decoder mirrors the encoder with transposed convolutions
whose ``output_padding`` restores odd sizes exactly (28 → 14 → 7 → 3 → 7 → 14 →
28), then a 1×1 convolution to the input channels (no output activation: the
images are normalised). The discriminator is the official MLP (4 hidden ReLU
layers of 512) on μ; it outputs a logit and D = sigmoid(logit).

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

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "VAE",
    "Discriminator",
    "default_downsamplings",
    "train_vaal",
    "vaal_scores",
    "vae_loss",
]


def default_downsamplings(height: int, width: int) -> int:
    """round(log2(min(H, W)/4)), at least 1 and at most ⌊log2 min(H, W)⌋."""
    size = min(height, width)
    if size < 2:
        raise ValueError(f"images must be at least 2×2 for VAAL's VAE, got {height}×{width}")
    return max(1, min(round(math.log2(size / 4)), int(math.log2(size))))


def _kaiming_init(module: nn.Module) -> None:
    """The official init: Kaiming-normal Conv2d/Linear weights, zero biases, unit BN."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class VAE(nn.Module):
    """VAAL's β-VAE, with depth and width set from the image size.

    Args:
        in_channels: image channels C_in.
        image_size: (H, W) of the images (or one int for square images).
        latent_dim: size of z (32 in the paper).
        width: channels of the first encoder convolution; doubles per layer.
        max_width: channel cap (default ``8·width``).
        downsamplings: number N of stride-2 convolutions; None →
            :func:`default_downsamplings`.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int | tuple[int, int],
        latent_dim: int = 32,
        width: int = 32,
        max_width: int | None = None,
        downsamplings: int | None = None,
    ):
        super().__init__()
        height, wide = (image_size, image_size) if isinstance(image_size, int) else image_size
        height, wide = int(height), int(wide)
        if in_channels < 1 or latent_dim < 1 or width < 1:
            raise ValueError(
                f"in_channels, latent_dim and width must be >= 1, got "
                f"{in_channels}, {latent_dim}, {width}"
            )
        n_down = default_downsamplings(height, wide) if downsamplings is None else downsamplings
        if not 1 <= n_down <= int(math.log2(min(height, wide))):
            raise ValueError(
                f"downsamplings must be in [1, {int(math.log2(min(height, wide)))}] "
                f"for {height}×{wide} images, got {n_down}"
            )
        cap = 8 * width if max_width is None else max_width
        channels = [min(width * 2**k, cap) for k in range(n_down)]
        sizes = [(height, wide)]  # spatial size before each encoder layer, then the final one
        for _ in range(n_down):  # Conv2d(k=4, s=2, p=1): out = ⌊in / 2⌋
            sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))

        encoder: list[nn.Module] = []
        previous = in_channels
        for c in channels:
            encoder += [nn.Conv2d(previous, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            previous = c
        self.encoder = nn.Sequential(*encoder, nn.Flatten())
        self._bottom = (channels[-1], *sizes[-1])
        flat = channels[-1] * sizes[-1][0] * sizes[-1][1]
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)

        decoder: list[nn.Module] = []
        for k in reversed(range(n_down)):  # from size[k+1] back to size[k]
            out_c = channels[k - 1] if k > 0 else channels[0]
            pad = (sizes[k][0] - 2 * sizes[k + 1][0], sizes[k][1] - 2 * sizes[k + 1][1])
            decoder += [
                nn.ConvTranspose2d(channels[k], out_c, 4, 2, 1, output_padding=pad, bias=False),
                nn.BatchNorm2d(out_c),
                nn.ReLU(),
            ]
        self.decoder_input = nn.Linear(latent_dim, flat)
        self.decoder = nn.Sequential(*decoder, nn.Conv2d(channels[0], in_channels, 1))
        self.latent_dim = latent_dim
        self.image_size = (height, wide)
        self.in_channels = in_channels
        _kaiming_init(self)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C_in, H, W) → (μ (B, z), log σ² (B, z))."""
        h = self.encoder(x)  # (B, flat)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: Tensor) -> Tensor:
        """(B, z) → (B, C_in, H, W) reconstruction."""
        h = self.decoder_input(z).view(z.shape[0], *self._bottom)  # (B, c, h, w)
        return self.decoder(h)

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """x → (reconstruction, z, μ, log σ²), z = μ + σ·ε with ε ~ N(0, I) from ``generator``."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, z)
        return self.decode(z), z, mu, logvar


class Discriminator(nn.Module):
    """VAAL's discriminator: MLP on μ → logit; D(μ) = sigmoid(logit) = P(labeled).

    Args:
        latent_dim: size of μ.
        hidden: width of the hidden layers (512 in the official code).
        hidden_layers: number of hidden ReLU layers (4 in the official code).
    """

    def __init__(self, latent_dim: int = 32, hidden: int = 512, hidden_layers: int = 4):
        super().__init__()
        if hidden_layers < 1:
            raise ValueError(f"hidden_layers must be >= 1, got {hidden_layers}")
        layers: list[nn.Module] = []
        previous = latent_dim
        for _ in range(hidden_layers):
            layers += [nn.Linear(previous, hidden), nn.ReLU()]
            previous = hidden
        self.net = nn.Sequential(*layers, nn.Linear(previous, 1))
        _kaiming_init(self)

    def forward(self, mu: Tensor) -> Tensor:
        """(B, z) → (B,) logits."""
        return self.net(mu).squeeze(1)


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
    *,
    iterations: int = 300,
    batch_size: int = 64,
    latent_dim: int = 32,
    beta: float = 1.0,
    adversary_weight: float = 1.0,
    lr: float = 5e-4,
    vae_steps: int = 2,
    adv_steps: int = 1,
    width: int = 32,
    downsamplings: int | None = None,
    disc_hidden: int = 512,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> tuple[VAE, Discriminator]:
    """Train VAAL's VAE and discriminator on labeled vs unlabeled images.

    Everything random (initialisation, batch order, reparameterisation noise)
    comes from ``seed``; the global RNG state is left untouched, and on CPU the
    same seed gives the same models.

    Args:
        labeled_images: (m, C_in, H, W) float, normalised.
        unlabeled_images: (n, C_in, H, W) float, normalised.
        iterations: training iterations (each: ``vae_steps`` VAE updates, then
            ``adv_steps`` discriminator updates).
        batch_size: images per batch from each set (capped at the set size).
        latent_dim, beta, adversary_weight: z size, β and the adversarial weight.
        lr: Adam learning rate for both networks (5e-4 as the official code).
        vae_steps, adv_steps: updates per iteration.
        width, downsamplings: VAE size (see :class:`VAE`).
        disc_hidden: discriminator hidden width.
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
    for name, value in (
        ("iterations", iterations),
        ("batch_size", batch_size),
        ("vae_steps", vae_steps),
        ("adv_steps", adv_steps),
    ):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    device = torch.device("cpu" if device is None else device)
    channels, height, wide = labeled_images.shape[1:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = VAE(channels, (height, wide), latent_dim, width=width, downsamplings=downsamplings)
        disc = Discriminator(latent_dim, hidden=disc_hidden)
    vae, disc = vae.to(device), disc.to(device)
    opt_vae = torch.optim.Adam(vae.parameters(), lr=lr)
    opt_disc = torch.optim.Adam(disc.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed + 1)
    noise = torch.Generator(device=device).manual_seed(seed + 2)
    lab_stream = _batches(len(labeled_images), batch_size, order)
    unl_stream = _batches(len(unlabeled_images), batch_size, order)

    def next_pair() -> tuple[Tensor, Tensor]:
        lab = labeled_images[next(lab_stream)].to(device, torch.float32)
        unl = unlabeled_images[next(unl_stream)].to(device, torch.float32)
        return lab, unl

    vae.train()
    disc.train()
    for _ in range(iterations):
        lab, unl = next_pair()
        for step in range(vae_steps):
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
                vae_loss(lab, recon_l, mu_l, logvar_l, beta)
                + vae_loss(unl, recon_u, mu_u, logvar_u, beta)
                + adversary_weight * adversarial
            )
            opt_vae.zero_grad(set_to_none=True)
            total.backward()
            opt_vae.step()
        for step in range(adv_steps):
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
