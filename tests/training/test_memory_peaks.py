"""Peak memory of the three large steps at small shapes: it must follow what is needed.

Ratios do not depend on scale, so small shapes stand in for the iNaturalist preset
(n = 100k, C = 8,142, T = 10), where the old peaks were ≈ 64 GiB (BALD), 2.6× the
output (``prepare``) and 10 float32 (n, C) tables (KL diagnostics).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albench.cycle.diagnostics import kl_divergence_rows
from albench.samplers.scores import bald_from_moments, mc_moments
from albench.training.augment import BatchAugment, Normalization
from albench.training.mc_dropout import mc_dropout_passes
from memory_support import LiveBytes

N, D, C = 600, 16, 200  # d << C, as on iNaturalist (512 vs 8,142)
TABLE = N * C * 4  # one float32 (n, C) table


class _Head:
    def __init__(self) -> None:
        self.classify = torch.nn.Linear(D, C)


def _bald_peak(passes: int) -> int:
    model, emb = _Head(), torch.randn(N, D, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), LiveBytes() as mem:
        stream = mc_dropout_passes(
            model, emb, passes=passes, generator=torch.Generator().manual_seed(1)
        )
        bald_from_moments(*mc_moments(stream, chunk_rows=50), chunk_rows=50)
    return mem.peak


def test_live_bytes_counts_new_storage_and_not_views():
    with LiveBytes() as mem:
        a = torch.empty(1000, device="meta")  # 4,000 bytes
        view = a[::2]
        b = torch.empty(500, device="meta")  # 2,000 bytes
        del a, view
        c = torch.empty(250, device="meta")  # 1,000 bytes
    assert (mem.peak, mem.live) == (6000, 3000)
    del b, c


def test_bald_peak_does_not_grow_with_the_number_of_passes():
    peak2, peak10 = _bald_peak(2), _bald_peak(10)
    assert peak10 == peak2  # running sums: the same live tables whatever T is
    # sum of probabilities + one pass's logits and probabilities (+ (n, d) mask temporaries)
    assert peak10 <= 3.5 * TABLE  # stacking 10 passes peaked at 2.1 * 10 tables


def test_prepare_peak_is_the_output_plus_one_chunk():
    images = np.zeros((400, 16, 16, 3), dtype=np.uint8)
    augment = BatchAugment(Normalization((0.5,) * 3, (0.25,) * 3), crop_padding=4)
    for channels_last in (False, True):
        with LiveBytes() as mem:
            out = augment.prepare(images, "meta", channels_last=channels_last, chunk_size=20)
        output = out.numel() * 4
        # one chunk: its uint8 upload (1 byte) and normalised copy (4 bytes) per unpadded value
        chunk = 20 * 16 * 16 * 3 * 5
        assert output <= mem.peak <= output + chunk + 1024  # was 2.64 x output (channels-last)
        assert mem.peak <= 1.2 * output


def test_kl_temporaries_are_chunk_sized():
    p = torch.rand(N, C, device="meta")
    with LiveBytes() as mem:
        kl_divergence_rows(p, p, chunk_rows=30)
    chunk64 = 30 * C * 8  # one float64 chunk table
    assert mem.peak <= N * 8 + 5 * chunk64  # the (n,) result + a few chunk tables
    assert mem.peak < TABLE  # unchunked, it was 10 float32 tables


@pytest.mark.parametrize("passes", [1, 3])
def test_mc_moments_of_meta_passes_have_the_expected_shapes(passes):
    out = mc_moments(torch.rand(N, C, device="meta") for _ in range(passes))
    assert out[0].shape == (N, C) and out[1].shape == (N,)
