"""Auxiliary objectives trained jointly with the classifier, and the quantity each provides.

The trainer owns the loop; an objective says how one training forward pass
becomes an extra loss term (:meth:`AuxiliaryObjective.loss`) and how an
eval-mode forward pass becomes the quantity a sampler scores
(:meth:`AuxiliaryObjective.predict`). It is an ``nn.Module`` so its parameters
get their own optimizer (the same SGD hyper-parameters as the classifier, as in
the official TiDAL and LL4AL code).

Each objective registers itself with the :class:`~albench.samplers.Need` it
provides: a sampler that declares that need gets the objective trained in its
cycles, with the keyword arguments of ``sampler_params.<name>_module``. Adding
an objective is one class here with ``name``, ``provides`` and
:func:`register_objective`.

References:
    Yoo & Kweon, "Learning Loss for Active Learning", CVPR 2019, arXiv:1905.03677.
    Kye, Choi, Byun, Chang, "TiDAL: Learning Training Dynamics for Active
    Learning", ICCV 2023, arXiv:2210.06788.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from albench.models.base import ModelOutput
from albench.models.heads import LossPredictionModule, TDPredictionModule
from albench.samplers.base import OBJECTIVES, Need

__all__ = [
    "AuxBatch",
    "AuxiliaryObjective",
    "LossPredictionObjective",
    "TiDALObjective",
    "build_objective",
    "detach_epoch",
    "loss_prediction_ranking_loss",
    "objective_for",
    "objective_named",
    "objective_parameters",
    "register_objective",
    "td_kl_loss",
]


@dataclass
class AuxBatch:
    """What the trainer hands an auxiliary objective for one training batch.

    Attributes:
        output: the classifier's training forward pass (train mode, augmented view).
        targets: (B,) labels.
        per_sample_ce: (B,) un-reduced cross-entropy of the classifier (LL4AL's target loss).
        td_target: (B, C) the running-mean softmax p̄ of these samples *after*
            including this forward pass (TiDAL's target), detached.
        epoch: 0-based epoch within the cycle; num_epochs: epochs in the cycle.
    """

    output: ModelOutput
    targets: Tensor
    per_sample_ce: Tensor
    td_target: Tensor
    epoch: int
    num_epochs: int


class AuxiliaryObjective(nn.Module):
    """Base class: set ``name`` (the config key ``sampler_params.<name>_module``) and
    ``provides`` (the :class:`Need` whose value :meth:`predict` computes).

    Constructors take ``(stage_channels, num_classes, **params)``; ``params`` are
    the objective's hyperparameters.
    """

    name: ClassVar[str] = ""
    provides: ClassVar[Need]

    def loss(self, batch: AuxBatch) -> Tensor:
        """Scalar extra loss, already multiplied by its weight λ."""
        raise NotImplementedError

    def predict(self, output: ModelOutput) -> Tensor:
        """Scoring-time output from an eval-mode forward pass (TiDAL: (n, C)
        probabilities; LL4AL: (n,) predicted loss)."""
        raise NotImplementedError


_OBJECTIVES: dict[Need, type[AuxiliaryObjective]] = {}
ObjectiveT = TypeVar("ObjectiveT", bound=type[AuxiliaryObjective])


def register_objective(cls: ObjectiveT) -> ObjectiveT:
    """Class decorator: ``cls`` trains whenever a sampler needs ``cls.provides``."""
    if OBJECTIVES.get(cls.provides) != cls.name:
        raise ValueError(
            f"{cls.__name__} provides {cls.provides!r} under the name {cls.name!r}; add "
            f"{{Need.{cls.provides.name}: {cls.name!r}}} to albench.samplers.base.OBJECTIVES"
        )
    if cls.provides in _OBJECTIVES and _OBJECTIVES[cls.provides] is not cls:
        raise ValueError(
            f"{cls.provides} is already provided by {_OBJECTIVES[cls.provides].__name__}"
        )
    _OBJECTIVES[cls.provides] = cls
    return cls


def objective_for(need: Need) -> type[AuxiliaryObjective] | None:
    """The objective that provides ``need``, or None (the cycle computes it otherwise)."""
    return _OBJECTIVES.get(need)


def objective_named(name: str) -> type[AuxiliaryObjective]:
    for cls in _OBJECTIVES.values():
        if cls.name == name:
            return cls
    valid = ", ".join(sorted(cls.name for cls in _OBJECTIVES.values()))
    raise ValueError(f"unknown auxiliary objective {name!r}; valid objectives: {valid}")


def objective_parameters(cls: type[AuxiliaryObjective]) -> list[str]:
    """The keyword hyperparameters of an objective (its constructor after the shapes)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[3:]  # self, stages, classes
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def build_objective(
    cls: type[AuxiliaryObjective],
    stage_channels: Sequence[int],
    num_classes: int,
    params: dict[str, Any],
) -> AuxiliaryObjective:
    """A freshly initialised objective; unknown keywords are named with the valid ones."""
    valid = objective_parameters(cls)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"sampler_params.{cls.name}_module: unknown parameter(s) "
            f"{', '.join(unknown)}; valid parameters: {', '.join(valid)}"
        )
    return cls(stage_channels, num_classes, **params)


# ----------------------------------------------------------------------------- TiDAL


def td_kl_loss(module_logits: Tensor, td_target: Tensor) -> Tensor:
    """KL(p̄ ‖ q) averaged over the batch, q = softmax(module_logits), p̄ = TD target.

    Equals (1/B) Σₓ Σ_c p̄_c (log p̄_c − log q_c) with 0·log 0 = 0; the target is
    detached. This is the official ``KLDivLoss(reduction="batchmean")(log q, p̄)``:
    the target p̄ is the first argument of the KL, so the loss is mass-covering
    in p̄ (not KL(q ‖ p̄)).

    Args:
        module_logits: (B, C) logits of the TD prediction module.
        td_target: (B, C) running-mean softmax p̄ (rows sum to 1).

    Returns:
        Scalar loss.
    """
    if module_logits.shape != td_target.shape or module_logits.dim() != 2:
        raise ValueError(
            f"module logits and TD target must both be (B, C), got "
            f"{tuple(module_logits.shape)} and {tuple(td_target.shape)}"
        )
    log_q = F.log_softmax(module_logits, dim=1)  # (B, C)
    target = td_target.detach().to(log_q.dtype)  # (B, C)
    # Written out rather than via F.kl_div so 0·log 0 = 0 is explicit (xlogy).
    per_sample = (torch.xlogy(target, target) - target * log_q).sum(dim=1)  # (B,)
    return per_sample.mean()


@register_objective
class TiDALObjective(AuxiliaryObjective):
    """TiDAL as an auxiliary objective: L = λ · KL(p̄ ‖ q), name ``"tidal"``.

    ``loss`` runs the TD prediction module on the training forward pass's stage
    features (not detached) and compares q with ``AuxBatch.td_target``;
    ``predict`` returns q = softmax(m(x)) for an eval-mode forward pass.

    Args:
        stage_channels: C_k of the backbone stages.
        num_classes: C.
        weight: λ (``WEIGHT`` = 1.0 in the official code).
        hidden: per-stage projection width (128).

    References:
        Kye, Choi, Byun, Chang, "TiDAL: Learning Training Dynamics for Active
        Learning", ICCV 2023, arXiv:2210.06788.
    """

    name = "tidal"
    provides = Need.TD_PROBS

    def __init__(
        self,
        stage_channels: Sequence[int],
        num_classes: int,
        weight: float = 1.0,
        hidden: int = 128,
    ):
        super().__init__()
        self.module = TDPredictionModule(stage_channels, num_classes, hidden=hidden)
        self.weight = float(weight)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Per-stage feature maps → (B, C) module logits m(x)."""
        return self.module(features)

    def loss(self, batch: AuxBatch) -> Tensor:
        logits = self.module(batch.output.features)  # (B, C)
        return self.weight * td_kl_loss(logits, batch.td_target)

    def predict(self, output: ModelOutput) -> Tensor:
        """(n, C) predicted TD q = softmax(m(x))."""
        return F.softmax(self.module(output.features), dim=1)


# ----------------------------------------------------------------------------- LL4AL


def loss_prediction_ranking_loss(predicted: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    """LL4AL's margin-ranking loss on the pairs (i, B−1−i) of a batch.

    With P = ⌊B/2⌋ pairs (i, j = B−1−i), i < P, and s_ij = +1 if l_i > l_j else −1
    (ties count as −1, as in the re-implementation's ``2·sign(clamp(l_i−l_j, 0))−1``),

        L = (1/P) Σ_i max(0, ξ − s_ij (l̂_i − l̂_j)) = (2/B') Σ_i …,  B' = 2P.

    If B is odd the middle sample is unpaired and dropped, so B' (the paired count)
    replaces the paper's B; for even B this is exactly the paper's loss. The
    target losses are detached. A batch with fewer than two samples has no pair
    and gives a zero loss that is still connected to ``predicted``'s graph.

    Args:
        predicted: (B,) predicted losses l̂.
        target: (B,) actual per-sample losses l.
        margin: ξ (1.0 in the paper).

    Returns:
        Scalar loss.
    """
    if predicted.dim() != 1 or predicted.shape != target.shape:
        raise ValueError(
            f"predicted and target must both be (B,), got {tuple(predicted.shape)} "
            f"and {tuple(target.shape)}"
        )
    pairs = predicted.shape[0] // 2
    if pairs == 0:
        return predicted.sum() * 0.0
    target = target.detach()
    diff_pred = (predicted - predicted.flip(0))[:pairs]  # (P,) l̂_i − l̂_{B−1−i}
    diff_true = (target - target.flip(0))[:pairs]  # (P,) l_i − l_{B−1−i}
    sign = torch.where(diff_true > 0, 1.0, -1.0).to(diff_pred.dtype)  # (P,)
    return torch.clamp(margin - sign * diff_pred, min=0).sum() / pairs


def detach_epoch(num_epochs: int, fraction: float = 0.6) -> int:
    """First 0-based epoch whose features are detached: ⌈fraction · num_epochs⌉.

    Exact rational arithmetic on ``str(fraction)`` avoids float rounding
    (0.6·5 = 3.0000000000000004 in floating point would give 4 instead of 3).
    200 epochs → 120, as in the paper's "after 120 epochs".
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"detach fraction must be in [0, 1], got {fraction}")
    return math.ceil(Fraction(str(fraction)) * num_epochs)


@register_objective
class LossPredictionObjective(AuxiliaryObjective):
    """LL4AL as an auxiliary objective: L = λ · ranking loss(l̂, CE), name ``"ll4al"``.

    The per-stage features feed the module undetached until epoch
    ⌈``detach_fraction`` · num_epochs⌉ (0-based; 120 of 200, the paper's "after
    120 epochs"), so the ranking loss also shapes the backbone; from that epoch
    on they are detached and only the module learns. (The re-implementation
    tests ``epoch > 120``, i.e. detaches one epoch later; albench follows the
    paper's wording.) The target is the classifier's per-sample cross-entropy,
    detached.

    The official TiDAL code's LL4AL baseline replaced the hinge with
    BCE(sigmoid(l̂_i − l̂_j), 1[l_i > l_j]) and ignored its ``margin`` argument;
    albench does not copy that and uses the paper's hinge.

    Args:
        stage_channels: C_k of the backbone stages.
        num_classes: C (unused: the module predicts a scalar).
        weight: λ (1.0 in the paper).
        margin: ξ (1.0 in the paper).
        detach_fraction: fraction of the epochs after which features are detached (0.6).
        hidden: per-stage projection width (128).

    References:
        Yoo & Kweon, "Learning Loss for Active Learning", CVPR 2019, arXiv:1905.03677.
    """

    name = "ll4al"
    provides = Need.PREDICTED_LOSS

    def __init__(
        self,
        stage_channels: Sequence[int],
        num_classes: int,
        weight: float = 1.0,
        margin: float = 1.0,
        detach_fraction: float = 0.6,
        hidden: int = 128,
    ):
        super().__init__()
        detach_epoch(1, detach_fraction)  # validates the fraction
        self.module = LossPredictionModule(stage_channels, hidden=hidden)
        self.weight = float(weight)
        self.margin = float(margin)
        self.detach_fraction = float(detach_fraction)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Per-stage feature maps → (B,) predicted loss."""
        return self.module(features)

    def features_detached(self, epoch: int, num_epochs: int) -> bool:
        """Whether the features are detached in 0-based ``epoch`` of ``num_epochs``."""
        return epoch >= detach_epoch(num_epochs, self.detach_fraction)

    def loss(self, batch: AuxBatch) -> Tensor:
        features = list(batch.output.features)
        if self.features_detached(batch.epoch, batch.num_epochs):
            features = [f.detach() for f in features]
        predicted = self.module(features)  # (B,)
        return self.weight * loss_prediction_ranking_loss(
            predicted, batch.per_sample_ce.detach(), self.margin
        )

    def predict(self, output: ModelOutput) -> Tensor:
        """(n,) predicted loss l̂ from an eval-mode forward pass."""
        return self.module(output.features)
