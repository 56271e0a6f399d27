"""Auxiliary objectives: TiDAL's KL(p̄ ‖ q) and LL4AL's ranking loss on hand-computed values,
what reaches the backbone, and the need → objective registration."""

from __future__ import annotations

import math

import pytest
import torch

from albench.samplers.base import OBJECTIVES, Need
from albench.training.objectives import (
    AuxBatch,
    LossPredictionObjective,
    TiDALObjective,
    build_objective,
    detach_epoch,
    loss_prediction_ranking_loss,
    objective_for,
    objective_named,
    objective_parameters,
    td_kl_loss,
)

# Asymmetric example: p̄ = [0.7, 0.2, 0.1], q = [0.4, 0.4, 0.2].
# KL(p̄‖q) = 0.7 ln(7/4) + 0.2 ln(1/2) + 0.1 ln(1/2) = 0.3917311 − 0.2079442 = 0.1837869
# KL(q‖p̄) = 0.4 ln(4/7) + 0.4 ln 2 + 0.2 ln 2 = −0.2238463 + 0.4158883 = 0.1920420
KL_PQ = 0.7 * math.log(0.7 / 0.4) + 0.3 * math.log(0.5)
KL_QP = 0.4 * math.log(0.4 / 0.7) + 0.6 * math.log(2.0)


def test_kl_loss_is_kl_of_target_to_module_not_reverse() -> None:
    p_bar = torch.tensor([[0.7, 0.2, 0.1]])
    q = torch.tensor([[0.4, 0.4, 0.2]])
    loss = td_kl_loss(q.log(), p_bar)
    assert loss.item() == pytest.approx(KL_PQ, abs=1e-6)
    assert abs(KL_PQ - KL_QP) > 5e-3  # the example is asymmetric enough to tell them apart
    assert loss.item() != pytest.approx(KL_QP, abs=1e-4)


def test_kl_loss_batch_mean_with_zero_target_entries() -> None:
    # Row 2: p̄ = [1, 0, 0], q = [0.5, 0.25, 0.25] → KL = ln 2 (0·log 0 = 0).
    p_bar = torch.tensor([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    q = torch.tensor([[0.4, 0.4, 0.2], [0.5, 0.25, 0.25]])
    loss = td_kl_loss(q.log() + 3.0, p_bar)  # logits are defined up to a constant
    assert loss.item() == pytest.approx((KL_PQ + math.log(2.0)) / 2, abs=1e-6)
    assert torch.isfinite(loss)
    # Same as the official KLDivLoss("batchmean")(log q, p̄).
    reference = torch.nn.functional.kl_div(
        torch.log_softmax(q.log() + 3.0, dim=1), p_bar, reduction="batchmean"
    )
    assert loss.item() == pytest.approx(reference.item(), abs=1e-6)


def test_objective_loss_is_weighted_kl_and_trains_the_features(toy_backbone) -> None:
    torch.manual_seed(1)
    objective = TiDALObjective(toy_backbone.stage_channels, num_classes=5, weight=2.0)
    out = toy_backbone(torch.randn(4, 3, 8, 8))
    for f in out.features:
        f.retain_grad()
    p_bar = torch.softmax(torch.randn(4, 5), dim=1)
    batch = AuxBatch(
        output=out,
        targets=torch.zeros(4, dtype=torch.long),
        per_sample_ce=torch.ones(4),
        td_target=p_bar,
        epoch=199,
        num_epochs=200,
    )
    loss = objective.loss(batch)
    log_q = torch.log_softmax(objective(out.features), dim=1).double()
    p64 = p_bar.double()
    direct = (p64 * (p64.log() - log_q)).sum(dim=1).mean()  # (1/B) Σ Σ p̄ (log p̄ − log q)
    assert loss.item() == pytest.approx(2.0 * direct.item(), rel=1e-5)
    loss.backward()
    # Not detached, even in the last epoch: the TD loss reaches the backbone's features.
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in out.features)
    assert objective.name == "tidal"


def test_predict_returns_probabilities(toy_backbone) -> None:
    objective = TiDALObjective(toy_backbone.stage_channels, num_classes=5)
    q = objective.predict(toy_backbone(torch.randn(3, 3, 8, 8)))
    assert q.shape == (3, 5)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(3))


@pytest.mark.parametrize(
    ("name", "in_channels", "size", "stages"),
    [("resnet18", 3, 32, [64, 128, 256, 512]), ("small_cnn", 1, 28, None)],
)
def test_objectives_attach_to_real_backbones(name, in_channels, size, stages) -> None:
    registry = pytest.importorskip("albench.models.registry")
    torch.manual_seed(0)
    model = registry.build_model(name, in_channels, 10, size).eval()
    if stages is not None:
        assert list(model.stage_channels) == stages
    with torch.no_grad():
        out = model(torch.randn(2, in_channels, size, size))
        tidal = TiDALObjective(model.stage_channels, 10).eval()
        ll4al = LossPredictionObjective(model.stage_channels, 10).eval()
        q = tidal.predict(out)
        loss = ll4al.predict(out)
    assert q.shape == (2, 10)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(2))
    assert loss.shape == (2,)


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
    objective = LossPredictionObjective(toy_backbone.stage_channels, 5)
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
    objective = LossPredictionObjective(toy_backbone.stage_channels, 5, weight=3.0)
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


def test_each_objective_provides_the_need_that_names_it() -> None:
    assert objective_for(Need.TD_PROBS) is TiDALObjective
    assert objective_for(Need.PREDICTED_LOSS) is LossPredictionObjective
    assert objective_for(Need.PROBS) is None  # computed by the cycle, no training needed
    for need, name in OBJECTIVES.items():
        assert objective_named(name) is objective_for(need)
        assert objective_for(need).provides is need


def test_build_objective_names_unknown_parameters() -> None:
    assert objective_parameters(TiDALObjective) == ["weight", "hidden"]
    assert objective_parameters(LossPredictionObjective) == [
        "weight",
        "margin",
        "detach_fraction",
        "hidden",
    ]
    built = build_objective(TiDALObjective, (4, 6), 5, {"weight": 0.5})
    assert isinstance(built, TiDALObjective) and built.weight == 0.5
    with pytest.raises(
        ValueError,
        match=r"tidal_module: unknown parameter\(s\) wieght; valid "
        r"parameters: weight, hidden",
    ):
        build_objective(TiDALObjective, (4, 6), 5, {"wieght": 0.5})
    with pytest.raises(
        ValueError, match="unknown auxiliary objective 'vaal'; valid objectives: ll4al, tidal"
    ):
        objective_named("vaal")
