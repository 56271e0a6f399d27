"""Batched augmentation: normalisation, zero-padded random crop, flip, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albench.training.augment import (
    BatchAugment,
    Normalization,
    as_uint8_tensor,
    random_crop,
    random_hflip,
)


def _images(n: int = 6, size: int = 5, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(1, 256, (n, size, size, channels), dtype=np.uint8)  # no zero pixels


def test_normalization_statistics_by_hand() -> None:
    images = np.zeros((2, 1, 2, 1), dtype=np.uint8)
    images[0, 0, 0, 0], images[1, 0, 1, 0] = 255, 255  # pixels 1, 0, 0, 1 (in [0, 1])
    norm = Normalization.from_images(images, chunk_size=1)
    assert norm.mean == pytest.approx((0.5,)) and norm.std == pytest.approx((0.5,))
    x = norm.apply(torch.from_numpy(images))  # (2, 1, 1, 2)
    assert x.shape == (2, 1, 1, 2)
    torch.testing.assert_close(x.flatten(), torch.tensor([1.0, -1.0, -1.0, 1.0]))


def test_normalization_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="std values must be > 0"):
        Normalization((0.5,), (0.0,))
    with pytest.raises(ValueError, match="one value per channel"):
        Normalization((0.5, 0.5), (0.2,))
    with pytest.raises(ValueError, match="images have 3 channels, normalisation has 1"):
        Normalization((0.5,), (0.2,)).apply(torch.zeros(1, 2, 2, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="must be uint8"):
        as_uint8_tensor(np.zeros((1, 2, 2, 1), dtype=np.float32))


def test_prepare_pads_with_black_pixels() -> None:
    images = _images()
    norm = Normalization((0.3, 0.6), (0.2, 0.1))
    prepared = BatchAugment(norm, crop_padding=2).prepare(images, "cpu")  # (6, 2, 9, 9)
    assert prepared.shape == (6, 2, 9, 9)
    mean, std = norm.tensors("cpu")
    raw = prepared * std + mean  # back to [0, 1] pixels
    border = torch.ones(9, 9, dtype=torch.bool)
    border[2:7, 2:7] = False
    assert torch.allclose(raw[:, :, border], torch.zeros(()), atol=1e-6)
    expected = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(raw[:, :, 2:7, 2:7], expected)


def test_random_crop_is_a_window_of_the_padded_image() -> None:
    padded = torch.arange(4 * 1 * 7 * 7, dtype=torch.float32).view(4, 1, 7, 7)  # p=1, H=W=5
    idx = torch.tensor([3, 0, 2])
    generator = torch.Generator().manual_seed(0)
    crops = random_crop(padded, 1, idx, generator)
    offsets = torch.randint(0, 3, (2, 3), generator=torch.Generator().manual_seed(0))
    assert crops.shape == (3, 1, 5, 5)
    for b, row in enumerate(idx.tolist()):
        dy, dx = offsets[:, b].tolist()
        assert torch.equal(crops[b], padded[row, :, dy : dy + 5, dx : dx + 5])


def test_crop_keeps_shape_and_covers_all_offsets() -> None:
    padded = torch.zeros(200, 1, 12, 12)
    padded[:, :, 0, 0] = 1.0  # marks the top-left corner of the padded image
    crops = random_crop(padded, 2, torch.arange(200), torch.Generator().manual_seed(1))
    assert crops.shape == (200, 1, 8, 8)
    # The marker is visible exactly when the offset is (0, 0): probability 1/25.
    assert 0 < int(crops[:, 0, 0, 0].sum()) < 30


def test_flip_mirrors_exactly_and_follows_the_mask() -> None:
    x = torch.randn(64, 2, 3, 4)
    out = random_hflip(x, torch.Generator().manual_seed(7))
    mask = torch.rand(64, generator=torch.Generator().manual_seed(7)) < 0.5
    assert 10 < int(mask.sum()) < 54
    assert torch.equal(out[mask], x[mask].flip(3))
    assert torch.equal(out[~mask], x[~mask])
    assert torch.equal(out[mask][:, :, :, 0], x[mask][:, :, :, -1])


def test_switches_and_clean_view() -> None:
    images = _images()
    norm = Normalization.from_images(images)
    clean_ref = norm.apply(torch.from_numpy(images))
    idx = torch.tensor([5, 1])
    plain = BatchAugment(norm, crop_padding=0, hflip=False)
    prepared = plain.prepare(images, "cpu")
    assert torch.equal(plain(prepared, idx, torch.Generator()), clean_ref[idx])
    padded_aug = BatchAugment(norm, crop_padding=3, hflip=True)
    prepared = padded_aug.prepare(images, "cpu")
    assert torch.equal(padded_aug.clean(prepared, idx), clean_ref[idx])
    with pytest.raises(ValueError, match="crop_padding must be >= 0, got -1"):
        BatchAugment(norm, crop_padding=-1)


def test_same_generator_seed_same_batch() -> None:
    images = _images(n=10)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=2, hflip=True)
    prepared = augment.prepare(images, "cpu")
    idx = torch.arange(10)
    a = augment(prepared, idx, torch.Generator().manual_seed(3))
    b = augment(prepared, idx, torch.Generator().manual_seed(3))
    c = augment(prepared, idx, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_channels_last_layout_gives_the_same_batches() -> None:
    images = _images(n=8, size=6, channels=3)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=2, hflip=True)
    nchw = augment.prepare(images, "cpu")
    nhwc = augment.prepare(images, "cpu", channels_last=True)
    assert nhwc.stride() == (10 * 10 * 3, 1, 10 * 3, 3)  # explicit NHWC strides
    idx = torch.tensor([7, 2, 4])
    a = augment(nchw, idx, torch.Generator().manual_seed(1))
    b = augment(nhwc, idx, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert b.is_contiguous(memory_format=torch.channels_last)  # the layout reaches the model


def test_single_channel_images_get_nhwc_strides_too() -> None:
    images = _images(n=4, size=5, channels=1)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=False)
    prepared = augment.prepare(images, "cpu", channels_last=True)
    assert prepared.stride() == (49, 1, 7, 1)
    batch = augment(prepared, torch.tensor([1, 3]), torch.Generator().manual_seed(0))
    assert batch.stride() == (25, 1, 5, 1)
    assert torch.equal(
        augment.clean(prepared, torch.arange(4)), augment.norm.apply(torch.from_numpy(images))
    )


def test_normalization_tensors_are_built_once_per_device():
    norm = Normalization((0.5, 0.25), (0.2, 0.4))
    mean, std = norm.tensors("cpu")
    assert norm.tensors(torch.device("cpu"))[0] is mean  # cached: no copy per batch
    assert mean.shape == (1, 2, 1, 1) and std.flatten().tolist() == pytest.approx([0.2, 0.4])
    assert norm == Normalization((0.5, 0.25), (0.2, 0.4))  # the cache is not part of equality


def _prepare_by_definition(augment: BatchAugment, images: np.ndarray, channels_last: bool):
    """The whole-set computation ``prepare`` replaced: normalise, pad with -mean/std, copy."""
    x = augment.norm.apply(as_uint8_tensor(images))
    mean, std = augment.norm.tensors("cpu")
    n, c, h, w = x.shape
    p = augment.crop_padding
    padded = (-mean / std).expand(n, c, h + 2 * p, w + 2 * p).clone()
    padded[:, :, p : p + h, p : p + w] = x
    return padded.contiguous(memory_format=torch.channels_last) if channels_last else padded


@pytest.mark.parametrize("padding", [0, 2])
@pytest.mark.parametrize("channels_last", [False, True])
def test_chunked_prepare_gives_the_same_bytes(padding, channels_last) -> None:
    images = _images(n=9, size=5, channels=3)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=padding)
    expected = _prepare_by_definition(augment, images, channels_last)
    for chunk in (1, 4, 9, 100):
        for source in (images, torch.from_numpy(images)):
            got = augment.prepare(source, "cpu", channels_last=channels_last, chunk_size=chunk)
            assert torch.equal(got, expected)
            assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        augment.prepare(images, "cpu", chunk_size=0)
    with pytest.raises(ValueError, match="images have 3 channels, normalisation has 1"):
        BatchAugment(Normalization((0.5,), (0.2,))).prepare(images, "cpu")
