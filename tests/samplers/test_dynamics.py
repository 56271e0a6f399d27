"""Training-dynamics samplers on hand-made records: label dispersion (1 − f/T), TiDAL(H/M),
the actual-TD entropy / margin ablations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from albench.samplers import SamplerError, get_sampler
from albench.samplers.base import Need, ScoringContext
from albench.samplers.dynamics import (
    DispersionSampler,
    TDEntropySampler,
    TDMarginAnchoredSampler,
    TDMarginSampler,
    TiDALEntropySampler,
    TiDALMarginSampler,
    TiDALRandomSampler,
)
from albench.samplers.scores import label_dispersion, modal_label_count, tidal_margin_scores


def _ctx(n: int, **values) -> ScoringContext:
    return ScoringContext(
        candidates=np.arange(n),
        labeled=np.arange(50, 53),
        num_classes=5,
        seed=0,
        values={Need(key): value for key, value in values.items()},
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
    # row 2: last two [2, 1] → mode 1 (lowest), count 1 → 0.75; row 3: [0, 1] → 0, count 2 → 0.5
    assert DispersionSampler(mode_window=2).score(_ctx(4, tracked_labels=labels)).tolist() == (
        pytest.approx([0.0, 0.75, 0.75, 0.5])
    )
    research = DispersionSampler(mode_window=2, view="train_aug")
    with pytest.raises(RuntimeError, match=r"Need\.TRACKED_LABELS_AUG"):
        research.score(_ctx(4, tracked_labels=labels))  # the aug view is a different need
    assert research.score(_ctx(4, tracked_labels_aug=labels)).tolist() == pytest.approx(
        [0.0, 0.75, 0.75, 0.5]
    )
    with pytest.raises(ValueError, match="view: 'test' is not one of clean, train_aug, train"):
        DispersionSampler(view="test")
    with pytest.raises(ValueError, match="window must be null or an integer >= 1"):
        DispersionSampler(window=-1)


def test_dispersion_view_is_a_need() -> None:
    # The tracker view is declared through `needs` only: the cycle tracks what is needed.
    assert DispersionSampler().needs == frozenset({Need.TRACKED_LABELS})
    assert DispersionSampler(view="train_aug").needs == frozenset({Need.TRACKED_LABELS_AUG})


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


def test_tidal_entropy_hand_values_and_exact_zeros() -> None:
    q = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    h = TiDALEntropySampler().score(_ctx(3, td_probs=q))
    expected = [
        math.log(2.0),
        0.0,
        -(0.2 * math.log(0.2) + 0.5 * math.log(0.5) + 0.3 * math.log(0.3)),
    ]
    assert h.tolist() == pytest.approx(expected, abs=1e-6)  # 1.0296530 for the last row
    assert not torch.isnan(h).any()


def test_tidal_margin_uses_classifier_argmax() -> None:
    q = torch.tensor([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.6, 0.3]])
    logits = torch.tensor(
        [
            [3.0, 1.0, 0.0],  # ŷ = 0: M = 0.2 − 0.5 = −0.3 → score 0.3
            [0.0, 2.0, 1.0],  # ŷ = 1: M = 0.5 − 0.3 = 0.2 → score −0.2
            [5.0, 0.0, 0.0],  # ŷ = 0: M = 1 − 0 = 1 → score −1
            [0.0, 0.0, 9.0],
        ]
    )  # ŷ = 2: M = 0.3 − 0.6 = −0.3 → score 0.3
    scores = tidal_margin_scores(q, logits)
    assert scores.tolist() == pytest.approx([0.3, -0.2, -1.0, 0.3], abs=1e-6)


def test_tidal_samplers_select_and_tie_in_candidate_order() -> None:
    q = torch.tensor([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.6, 0.3]])
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 9.0]])
    margin_sel = TiDALMarginSampler().select(_ctx(4, td_probs=q, logits=logits), budget=2)
    assert margin_sel.positions.tolist() == [0, 3]  # tie at 0.3 keeps candidate order
    entropy_sel = TiDALEntropySampler().select(_ctx(4, td_probs=q), budget=1)
    assert entropy_sel.positions.tolist() == [0]  # rows 0 and 1 tie at H = 1.0297; first wins
    with pytest.raises(RuntimeError, match="td_probs"):
        TiDALEntropySampler().score(_ctx(4))


def test_samplers_resolve_by_name_with_parameters() -> None:
    sampler = get_sampler("dispersion", window=3, view="train_aug")
    assert (sampler.window, sampler.mode_window, sampler.view) == (3, None, "train_aug")
    with pytest.raises(SamplerError, match=r"'td_entropy' got unknown parameter.*: view$"):
        get_sampler("td_entropy", window=3)
    with pytest.raises(SamplerError, match="valid parameters: window, mode_window, view"):
        get_sampler("dispersion", windows=3)


def test_controls_query_exactly_like_random_and_train_like_their_method() -> None:
    from albench.samplers.learned import LL4ALRandomSampler, LL4ALSampler
    from albench.samplers.reference import RandomSampler

    ctx = _ctx(6, td_probs=torch.full((6, 3), 1 / 3), predicted_loss=torch.rand(6))
    random = RandomSampler().select(ctx, 3).positions.tolist()
    assert TiDALRandomSampler().select(ctx, 3).positions.tolist() == random
    assert LL4ALRandomSampler().select(ctx, 3).positions.tolist() == random
    # The same needs as the method: the cycle trains the same objective.
    assert TiDALRandomSampler().needs == TiDALEntropySampler().needs
    assert LL4ALRandomSampler().needs == LL4ALSampler().needs
    assert TiDALEntropySampler.control == TiDALMarginSampler.control == "tidal_random"
    assert LL4ALSampler.control == "ll4al_random"
    assert get_sampler("tidal_random").role == "control"


def test_td_samplers_read_the_view_they_declare() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    logits = torch.tensor([[0.0, 2.0, 1.0], [0.0, 2.0, 0.0]])  # ŷ = 1 for both
    ctx = _ctx(2, tracked_probs_train=probs, logits=logits)
    anchored = TDMarginAnchoredSampler(view="train")
    assert anchored.needs == {Need.TRACKED_PROBS_TRAIN, Need.LOGITS}
    # ŷ = 1: row 0: 0.3 − 0.5 = −0.2 → score 0.2; row 1: 0.6 − 0.3 → −0.3
    assert anchored.score(ctx).tolist() == pytest.approx([0.2, -0.3])
    assert TDMarginSampler(view="train").score(ctx).tolist() == pytest.approx([-0.2, -0.3])
    with pytest.raises(RuntimeError, match=r"Need\.TRACKED_PROBS\b"):
        TDEntropySampler().score(ctx)  # the clean view was not recorded
