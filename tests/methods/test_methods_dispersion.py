"""Label dispersion (1 − f/T) and the actual-TD entropy / margin samplers on hand-made records."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.methods import label_dispersion, modal_label_count
from albench.samplers.base import Need, ScoringContext, TrainingNeeds
from albench.samplers.training_dynamics import DispersionSampler, TDEntropySampler, TDMarginSampler


def _ctx(n: int, **fields) -> ScoringContext:
    return ScoringContext(
        candidates=np.arange(n), labeled=np.arange(50, 53), num_classes=5, seed=0, **fields
    )


def test_label_held_every_epoch_scores_zero() -> None:
    labels = torch.full((3, 6), 4, dtype=torch.uint8)
    assert label_dispersion(labels).tolist() == [0.0, 0.0, 0.0]


def test_label_changing_every_epoch() -> None:
    # T = 5 epochs, a different class each epoch (C ≥ T): f = 1 → 1 − 1/5.
    # C = 3 classes cycling over T = 6 epochs: each class twice → 1 − 2/6.
    a = label_dispersion(torch.tensor([[0, 1, 2, 3, 4]]))
    b = label_dispersion(torch.tensor([[0, 1, 2, 0, 1, 2]]))
    assert a.tolist() == pytest.approx([0.8])
    assert b.tolist() == pytest.approx([2 / 3])


def test_mixed_case_and_mode_ties() -> None:
    labels = torch.tensor(
        [
            [1, 1, 2, 1, 3, 1],  # mode 1 four times → 1 − 4/6
            [0, 0, 1, 1, 2, 2],  # three-way tie, f = 2 → 1 − 2/6
            [3, 2, 3, 2, 3, 2],  # two-way tie, f = 3 → 1 − 3/6
            [5, 5, 5, 5, 5, 0],  # f = 5 → 1/6
        ],
        dtype=torch.int16,
    )
    assert label_dispersion(labels).tolist() == pytest.approx([1 / 3, 2 / 3, 0.5, 1 / 6])
    assert modal_label_count(labels).tolist() == [4, 2, 3, 5]


def test_window_uses_only_last_epochs() -> None:
    labels = torch.tensor([[0, 1, 2, 2, 2]])
    assert label_dispersion(labels).tolist() == pytest.approx([0.4])  # f = 3 of 5
    assert label_dispersion(labels, window=3).tolist() == pytest.approx([0.0])  # [2, 2, 2]
    assert label_dispersion(labels, window=4).tolist() == pytest.approx([0.25])  # [1, 2, 2, 2]
    assert label_dispersion(labels, window=10).tolist() == pytest.approx([0.4])  # K ≥ T: all


def test_mode_window_takes_mode_over_last_epochs_count_over_all() -> None:
    labels = torch.tensor(
        [
            [0, 0, 0, 1, 1],  # paper: c* = 0, f = 3 → 0.4; mode of last 2 = 1, f = 2 → 0.6
            [2, 2, 2, 0, 2],  # last 2 = [0, 2] tie → lowest label 0, count 1 over all → 0.8
        ]
    )
    assert label_dispersion(labels).tolist() == pytest.approx([0.4, 0.2])
    assert label_dispersion(labels, mode_window=2).tolist() == pytest.approx([0.6, 0.8])


def test_dispersion_input_checks() -> None:
    with pytest.raises(ValueError, match="integer tensor"):
        label_dispersion(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(n, T\)"):
        label_dispersion(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="window must be a positive int"):
        label_dispersion(torch.zeros(2, 3, dtype=torch.long), window=0)


def test_dispersion_sampler_params_and_selection() -> None:
    labels = torch.tensor([[1, 1, 1, 1], [0, 1, 2, 3], [2, 0, 2, 1], [0, 1, 0, 1]])
    # dispersion: 0, 0.75, 0.5, 0.5 → top-3: 1, then the 0.5 tie in candidate order 2, 3
    sel = DispersionSampler().select(_ctx(4, tracked_labels=labels), budget=3)
    assert sel.positions.tolist() == [1, 2, 3]
    assert sel.scores.tolist() == pytest.approx([0.75, 0.5, 0.5])
    research = DispersionSampler(mode_window=2, view="train_aug")
    assert research.view == "train_aug"
    # row 2: last two [2, 1] → mode 1 (lowest), count 1 → 0.75; row 3: [0, 1] → 0, count 2 → 0.5
    assert research.score(_ctx(4, tracked_labels=labels)).tolist() == pytest.approx(
        [0.0, 0.75, 0.75, 0.5]
    )
    assert DispersionSampler().view == "clean"
    assert DispersionSampler.needs == frozenset({Need.TRACKED_LABELS})
    assert DispersionSampler.training == TrainingNeeds(track_candidates=True)
    with pytest.raises(ValueError, match="unknown dispersion view 'test'"):
        DispersionSampler(view="test")
    with pytest.raises(ValueError, match="window must be a positive int"):
        DispersionSampler(window=-1)


def test_td_entropy_and_margin_on_tracked_probs() -> None:
    probs = torch.tensor([[0.5, 0.5, 0.0], [0.8, 0.1, 0.1], [1.0, 0.0, 0.0]])
    entropy = TDEntropySampler().score(_ctx(3, tracked_probs=probs))
    expected_h = [math.log(2.0), -(0.8 * math.log(0.8) + 0.2 * math.log(0.1)), 0.0]
    assert entropy.tolist() == pytest.approx(expected_h, abs=1e-6)  # 0.6931, 0.6390, 0
    margin = TDMarginSampler().score(_ctx(3, tracked_probs=probs))
    assert margin.tolist() == pytest.approx([0.0, -0.7, -1.0], abs=1e-6)  # −(p₍₁₎ − p₍₂₎)
    assert TDMarginSampler().select(_ctx(3, tracked_probs=probs), budget=2).positions.tolist() == [
        0,
        1,
    ]
    for cls in (TDEntropySampler, TDMarginSampler):
        assert cls.needs == frozenset({Need.TRACKED_PROBS})
        assert cls.training == TrainingNeeds(track_candidates=True)


def test_training_dynamics_samplers_are_registered() -> None:
    from albench.samplers.registry import get_sampler, get_sampler_class
    from albench.samplers.training_dynamics import TiDALEntropySampler, TiDALMarginSampler

    expected = {
        "tidal_entropy": TiDALEntropySampler,
        "tidal_margin": TiDALMarginSampler,
        "dispersion": DispersionSampler,
        "td_entropy": TDEntropySampler,
        "td_margin": TDMarginSampler,
    }
    for name, cls in expected.items():
        assert get_sampler_class(name) is cls
    sampler = get_sampler("dispersion", window=3, view="train_aug")
    assert (sampler.window, sampler.mode_window, sampler.view) == (3, None, "train_aug")
    with pytest.raises(TypeError, match="takes no parameters"):
        get_sampler("td_entropy", window=3)
