"""LL4AL: the pairwise margin-ranking loss on hand-computed pairs and the 60% detach rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albench.methods import (
    LossPredictionObjective,
    detach_epoch,
    loss_prediction_ranking_loss,
)
from albench.samplers.base import Need, ScoringContext, TrainingNeeds
from albench.samplers.learned import LL4ALSampler
from albench.training.aux import AuxBatch


def test_ranking_loss_hand_computed_batch_of_four() -> None:
    # Pairs (0, 3) and (1, 2).
    # (0, 3): l0 − l3 = 2 − 3 < 0 → s = −1; l̂0 − l̂3 = 0.1 → max(0, 1 + 0.1) = 1.1
    # (1, 2): l1 − l2 = 0.5 − 1 < 0 → s = −1; l̂1 − l̂2 = −0.3 → max(0, 1 − 0.3) = 0.7
    # L = (2/4)(1.1 + 0.7) = 0.9
    predicted = torch.tensor([0.3, 0.1, 0.4, 0.2])
    target = torch.tensor([2.0, 0.5, 1.0, 3.0])
    assert loss_prediction_ranking_loss(predicted, target).item() == pytest.approx(0.9)


def test_ranking_loss_positive_sign_and_ties() -> None:
    # (0, 3): l = 3 vs 1 → s = +1; l̂ diff 2.0 → max(0, 1 − 2) = 0
    # (1, 2): l = 1 vs 0 → s = +1; l̂ diff 0 → 1;  L = (2/4)(0 + 1) = 0.5
    assert loss_prediction_ranking_loss(
        torch.tensor([2.5, 0.0, 0.0, 0.5]), torch.tensor([3.0, 1.0, 0.0, 1.0])
    ).item() == pytest.approx(0.5)
    # Equal losses count as s = −1: l̂ diff 0.5 → 1 + 0.5 = 1.5, one pair → 1.5
    assert loss_prediction_ranking_loss(
        torch.tensor([0.5, 0.0]), torch.tensor([1.0, 1.0])
    ).item() == pytest.approx(1.5)
    # Margin ξ = 2 on the first example: (2 + 0.1) + (2 − 0.3) = 3.8 → 1.9
    assert loss_prediction_ranking_loss(
        torch.tensor([0.3, 0.1, 0.4, 0.2]), torch.tensor([2.0, 0.5, 1.0, 3.0]), margin=2.0
    ).item() == pytest.approx(1.9)


def test_ranking_loss_odd_batch_drops_the_middle_sample() -> None:
    predicted = torch.tensor([0.3, 0.1, 7.0, 0.4, 0.2], requires_grad=True)
    target = torch.tensor([2.0, 0.5, 9.9, 1.0, 3.0])
    loss = loss_prediction_ranking_loss(predicted, target)
    assert loss.item() == pytest.approx(0.9)  # same pairs as the batch of four
    loss.backward()
    assert predicted.grad[2].item() == 0.0
    # ∂L/∂l̂0 = (1/2)(−s) = 0.5 for the active hinge of pair (0, 4) with s = −1
    assert predicted.grad.tolist() == pytest.approx([0.5, 0.5, 0.0, -0.5, -0.5])


def test_ranking_loss_single_sample_is_zero_but_differentiable() -> None:
    predicted = torch.tensor([1.0], requires_grad=True)
    loss = loss_prediction_ranking_loss(predicted, torch.tensor([2.0]))
    assert loss.item() == 0.0
    loss.backward()
    assert predicted.grad.tolist() == [0.0]


def test_detach_epoch_is_ceil_of_sixty_percent() -> None:
    assert detach_epoch(200) == 120
    assert detach_epoch(5) == 3  # 0.6 · 5 is 3.0000000000000004 in floating point
    assert detach_epoch(10) == 6
    assert detach_epoch(7) == 5  # ⌈4.2⌉
    with pytest.raises(ValueError, match="detach fraction"):
        detach_epoch(10, 1.5)


def _batch(backbone, epoch: int, num_epochs: int) -> tuple[AuxBatch, list[torch.Tensor]]:
    out = backbone(torch.randn(4, 3, 8, 8))
    for f in out.features:
        f.retain_grad()
    batch = AuxBatch(
        output=out,
        targets=torch.zeros(4, dtype=torch.long),
        per_sample_ce=torch.tensor([2.0, 0.5, 1.0, 3.0], requires_grad=True),
        td_target=torch.full((4, 5), 0.2),
        epoch=epoch,
        num_epochs=num_epochs,
    )
    return batch, out.features


@pytest.mark.parametrize(
    ("epoch", "reaches_features"), [(0, True), (5, True), (6, False), (9, False)]
)
def test_features_detached_from_sixty_percent_of_epochs(
    toy_backbone, epoch, reaches_features
) -> None:
    torch.manual_seed(3)
    objective = LossPredictionObjective(toy_backbone.stage_channels)
    batch, features = _batch(toy_backbone, epoch, num_epochs=10)
    loss = objective.loss(batch)
    loss.backward()
    got = [f.grad is not None and bool(f.grad.abs().sum() > 0) for f in features]
    assert got == [reaches_features] * 2
    # The module itself always learns, and the target loss is never trained through.
    assert objective.module.out.weight.grad is not None
    assert batch.per_sample_ce.grad is None
    assert objective.features_detached(epoch, 10) is (not reaches_features)


def test_objective_loss_is_weight_times_ranking_of_module_output(toy_backbone) -> None:
    torch.manual_seed(4)
    objective = LossPredictionObjective(toy_backbone.stage_channels, weight=3.0)
    batch, _ = _batch(toy_backbone, epoch=0, num_epochs=10)
    predicted = objective(batch.output.features).detach()  # (4,)
    true_loss = [2.0, 0.5, 1.0, 3.0]  # s = −1 for both pairs (0, 3) and (1, 2)
    hinge = [
        max(0.0, 1 + (predicted[0] - predicted[3]).item()),
        max(0.0, 1 + (predicted[1] - predicted[2]).item()),
    ]
    expected = 3.0 * (2 / len(true_loss)) * sum(hinge)
    assert objective.loss(batch).item() == pytest.approx(expected, rel=1e-5)
    assert objective.predict(batch.output).shape == (4,)


def test_ll4al_sampler_picks_highest_predicted_loss() -> None:
    ctx = ScoringContext(
        candidates=np.arange(4),
        labeled=np.arange(9, 11),
        num_classes=5,
        seed=0,
        predicted_loss=torch.tensor([0.2, 1.5, -0.3, 0.9]),
    )
    assert LL4ALSampler().select(ctx, budget=2).positions.tolist() == [1, 3]
    assert LL4ALSampler.needs == frozenset({Need.PREDICTED_LOSS})
    assert LL4ALSampler.training == TrainingNeeds(aux_module="ll4al")
