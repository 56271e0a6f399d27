"""VAAL: architecture sizes, selection of the lowest D(μ), and a tiny seeded end-to-end run
(networks: albench.models.vaal; training: albench.training.vaal; sampler: albench.samplers.vaal)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import albench.training.vaal as vaal_training
from albench.models.vaal import VAE, default_downsamplings
from albench.samplers import SamplerError, get_sampler
from albench.samplers.base import Need, ScoringContext
from albench.samplers.learned import LL4ALSampler
from albench.samplers.vaal import VAALSampler
from albench.training.vaal import train_vaal, vaal_scores, vae_loss


def _ctx(n: int, seed: int = 0, **values) -> ScoringContext:
    return ScoringContext(
        candidates=np.arange(n),
        labeled=np.arange(n, n + 2),
        num_classes=2,
        seed=seed,
        values={Need(k): v for k, v in values.items()},
    )


class FirstPixelVAE(nn.Module):
    """Stub: μ(x) = the first two pixel values of x."""

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu = x.flatten(1)[:, :2]
        return mu, torch.zeros_like(mu)


class FirstCoordinateDiscriminator(nn.Module):
    """Stub: logit of D(μ) = μ₀, so D = sigmoid(first pixel)."""

    def forward(self, mu: Tensor) -> Tensor:
        return mu[:, 0]


def _images(first_pixels: list[float]) -> Tensor:
    x = torch.zeros(len(first_pixels), 1, 4, 4)
    x[:, 0, 0, 0] = torch.tensor(first_pixels)
    return x


@pytest.mark.parametrize(("size", "downs"), [(8, 1), (28, 3), (32, 3), (64, 4)])
def test_vae_depth_scales_with_image_size(size: int, downs: int) -> None:
    assert default_downsamplings(size, size) == downs
    torch.manual_seed(0)
    vae = VAE(3, size, latent_dim=4, width=4)
    n_convs = sum(isinstance(m, nn.Conv2d) and m.stride == (2, 2) for m in vae.modules())
    assert n_convs == downs
    recon, z, mu, logvar = vae(torch.randn(2, 3, size, size))
    assert recon.shape == (2, 3, size, size)
    assert z.shape == mu.shape == logvar.shape == (2, 4)


def test_vae_loss_hand_values() -> None:
    x = torch.zeros(2, 1, 2, 2)
    recon = torch.ones(2, 1, 2, 2)  # squared error summed over 4 pixels = 4 per sample
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # KL: ½·1² = 0.5 and 0
    logvar = torch.zeros(2, 2)
    # mean over the batch of (4 + 2·0.5, 4 + 2·0) = 4.5
    assert vae_loss(x, recon, mu, logvar, beta=2.0).item() == pytest.approx(4.5)
    # log σ² = ln 4 on one latent: KL = ½(σ² − 1 − ln σ²) = ½(3 − ln 4) = 0.8068528
    logvar2 = torch.tensor([[math.log(4.0), 0.0], [0.0, 0.0]])
    expected = (4 + 0.5 * (3 - math.log(4.0)) + 4) / 2
    assert vae_loss(x, recon, torch.zeros(2, 2), logvar2, beta=1.0).item() == pytest.approx(
        expected
    )


def test_scores_are_minus_discriminator_probability() -> None:
    images = _images([0.5, -2.0, 3.0, -1.0, 0.0])
    scores = vaal_scores(FirstPixelVAE(), FirstCoordinateDiscriminator(), images, batch_size=2)
    expected = [-1 / (1 + np.exp(-v)) for v in [0.5, -2.0, 3.0, -1.0, 0.0]]
    assert scores.tolist() == pytest.approx(expected)


def test_sampler_selects_lowest_discriminator_output(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {}

    def fake_train(labeled, unlabeled, params, **kwargs):
        calls.update(labeled=labeled, unlabeled=unlabeled, iterations=params.iterations, **kwargs)
        return FirstPixelVAE(), FirstCoordinateDiscriminator()

    monkeypatch.setattr(vaal_training, "train_vaal", fake_train)
    images = _images([0.5, -2.0, 3.0, -1.0, 0.0])
    labeled = _images([9.0, 9.0])
    ctx = _ctx(5, seed=11, images=images, labeled_images=labeled)
    sel = VAALSampler(iterations=7).select(ctx, budget=2)
    assert sel.positions.tolist() == [1, 3]  # D = sigmoid(−2), sigmoid(−1): the two lowest
    assert calls["unlabeled"] is images and calls["labeled"] is labeled
    assert calls["seed"] == 11 and calls["iterations"] == 7


def test_sampler_needs_labeled_images() -> None:
    with pytest.raises(RuntimeError, match=r"Need\.LABELED_IMAGES"):
        VAALSampler().score(_ctx(2, images=_images([0.0, 1.0])))
    with pytest.raises(ValueError, match="iterations must be an integer >= 1, got 0"):
        VAALSampler(iterations=0)


@pytest.mark.usefixtures("one_thread")
def test_end_to_end_is_seeded_and_deterministic() -> None:
    gen = torch.Generator().manual_seed(0)
    labeled = torch.randn(16, 3, 8, 8, generator=gen)
    candidates = torch.randn(24, 3, 8, 8, generator=gen)
    params = {"iterations": 15, "batch_size": 8, "latent_dim": 8, "width": 8, "disc_hidden": 32}
    before = torch.get_rng_state()
    first = vaal_scores(*train_vaal(labeled, candidates, VAALSampler(**params), seed=5), candidates)
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is left alone
    second = vaal_scores(
        *train_vaal(labeled, candidates, VAALSampler(**params), seed=5), candidates
    )
    other = vaal_scores(*train_vaal(labeled, candidates, VAALSampler(**params), seed=6), candidates)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    assert first.shape == (24,) and ((first >= -1) & (first <= 0)).all()
    ctx = _ctx(24, seed=5, images=candidates, labeled_images=labeled)
    picks = [VAALSampler(**params).select(ctx, budget=5).positions.tolist() for _ in range(2)]
    assert picks[0] == picks[1] == torch.argsort(-first, stable=True)[:5].tolist()


@pytest.mark.usefixtures("one_thread")
def test_discriminator_learns_labeled_is_one_unlabeled_is_zero() -> None:
    # Labeled images are bright, unlabeled ones dark; on held-out images every dark one
    # must score higher (lower D = "less likely labeled") than every bright one.
    gen = torch.Generator().manual_seed(0)
    labeled = torch.randn(24, 3, 8, 8, generator=gen) * 0.3 + 1.0
    unlabeled = torch.randn(24, 3, 8, 8, generator=gen) * 0.3 - 1.0
    bright = torch.randn(12, 3, 8, 8, generator=gen) * 0.3 + 1.0
    dark = torch.randn(12, 3, 8, 8, generator=gen) * 0.3 - 1.0
    params = VAALSampler(iterations=30, batch_size=8, latent_dim=8, width=8, disc_hidden=32)
    vae, disc = train_vaal(labeled, unlabeled, params, seed=0)
    scores = vaal_scores(vae, disc, torch.cat([bright, dark]))
    assert scores[12:].min() > scores[:12].max()


def test_sampler_parameters_are_validated_by_name() -> None:
    sampler = get_sampler("vaal", iterations=5, width=4)
    assert (sampler.iterations, sampler.width, sampler.batch_size) == (5, 4, 64)
    with pytest.raises(SamplerError, match="downsamplings must be null or an integer >= 1"):
        get_sampler("vaal", downsamplings=0)
    with pytest.raises(SamplerError, match=r"unknown parameter.*iteration;"):
        get_sampler("vaal", iteration=5)


def test_ll4al_sampler_picks_highest_predicted_loss() -> None:
    ctx = _ctx(4, predicted_loss=torch.tensor([0.2, 1.5, -0.3, 0.9]))
    assert LL4ALSampler().select(ctx, budget=2).positions.tolist() == [1, 3]
