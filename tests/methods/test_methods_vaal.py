"""VAAL: architecture sizes, selection of the lowest D(μ), and a tiny seeded end-to-end run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import albench.samplers.learned as learned
from albench.methods.vaal import VAE, default_downsamplings, train_vaal, vaal_scores, vae_loss
from albench.samplers.base import Need, ScoringContext, TrainingNeeds
from albench.samplers.learned import VAALSampler


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

    def fake_train(labeled, unlabeled, **kwargs):
        calls.update(labeled=labeled, unlabeled=unlabeled, **kwargs)
        return FirstPixelVAE(), FirstCoordinateDiscriminator()

    monkeypatch.setattr(learned, "train_vaal", fake_train)
    images = _images([0.5, -2.0, 3.0, -1.0, 0.0])
    labeled = _images([9.0, 9.0])
    ctx = ScoringContext(
        candidates=np.arange(5),
        labeled=np.arange(7, 9),
        num_classes=2,
        seed=11,
        images=images,
        labeled_images=labeled,
    )
    sel = VAALSampler(iterations=7).select(ctx, budget=2)
    assert sel.positions.tolist() == [1, 3]  # D = sigmoid(−2), sigmoid(−1): the two lowest
    assert calls["unlabeled"] is images and calls["labeled"] is labeled
    assert calls["seed"] == 11 and calls["iterations"] == 7
    assert VAALSampler.needs == frozenset({Need.IMAGES})
    assert VAALSampler.training == TrainingNeeds()


def test_sampler_needs_labeled_images() -> None:
    ctx = ScoringContext(
        candidates=np.arange(2),
        labeled=np.arange(2, 3),
        num_classes=2,
        seed=0,
        images=_images([0.0, 1.0]),
    )
    with pytest.raises(RuntimeError, match="labeled_images"):
        VAALSampler().score(ctx)
    with pytest.raises(ValueError, match="vaal iterations must be a positive int"):
        VAALSampler(iterations=0)


@pytest.mark.usefixtures("one_thread")
def test_end_to_end_is_seeded_and_deterministic() -> None:
    gen = torch.Generator().manual_seed(0)
    labeled = torch.randn(16, 3, 8, 8, generator=gen)
    candidates = torch.randn(24, 3, 8, 8, generator=gen)
    params = dict(iterations=15, batch_size=8, latent_dim=8, width=8, disc_hidden=32)
    before = torch.get_rng_state()
    first = vaal_scores(*train_vaal(labeled, candidates, seed=5, **params), candidates)
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is left alone
    second = vaal_scores(*train_vaal(labeled, candidates, seed=5, **params), candidates)
    other = vaal_scores(*train_vaal(labeled, candidates, seed=6, **params), candidates)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    assert first.shape == (24,) and ((first >= -1) & (first <= 0)).all()
    ctx = ScoringContext(
        candidates=np.arange(24),
        labeled=np.arange(30, 46),
        num_classes=2,
        seed=5,
        images=candidates,
        labeled_images=labeled,
    )
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
    vae, disc = train_vaal(
        labeled,
        unlabeled,
        iterations=30,
        batch_size=8,
        latent_dim=8,
        width=8,
        disc_hidden=32,
        seed=0,
    )
    scores = vaal_scores(vae, disc, torch.cat([bright, dark]))
    assert scores[12:].min() > scores[:12].max()


def test_learned_samplers_are_registered() -> None:
    from albench.samplers.registry import get_sampler, get_sampler_class

    assert get_sampler_class("ll4al") is learned.LL4ALSampler
    assert get_sampler_class("vaal") is VAALSampler
    sampler = get_sampler("vaal", iterations=5, width=4)
    assert sampler.train_params["iterations"] == 5 and sampler.train_params["width"] == 4
    with pytest.raises(ValueError, match="downsamplings must be a positive int"):
        VAALSampler(downsamplings=0)
