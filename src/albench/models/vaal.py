"""VAAL's networks: a β-VAE whose depth follows the image size, and the labeled/unlabeled
discriminator on its latent mean (Sinha, Ebrahimi, Darrell, ICCV 2019).

Architecture (scaled for CPU; official widths are 128→1024 for 32×32 inputs):
the encoder has N stride-2 4×4 convolutions (BN, ReLU), channels
``width·2^k`` capped at ``max_width``; N defaults to round(log2(min(H, W)/4)),
so 8×8 → 1, 28×28 → 3, 32×32 → 3, 64×64 → 4 (final maps ≈4×4). Linear layers
give μ and log σ²; the decoder mirrors the encoder with transposed convolutions
whose ``output_padding`` restores odd sizes exactly (28 → 14 → 7 → 3 → 7 → 14 →
28), then a 1×1 convolution to the input channels (no output activation: the
images are normalised). The discriminator is the official MLP (4 hidden ReLU
layers of 512) on μ; it outputs a logit and D = sigmoid(logit). Training and
scoring: :mod:`albench.training.vaal`.

References:
    Samarth Sinha, Sayna Ebrahimi, Trevor Darrell. "Variational Adversarial
    Active Learning." ICCV 2019. arXiv:1904.00370. Code: ``sinhasam/vaal``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["VAE", "Discriminator", "default_downsamplings"]


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
