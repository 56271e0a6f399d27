"""Auxiliary objectives trained jointly with the classifier (TiDAL's TD predictor, LL4AL's loss predictor).

The trainer owns the loop; an auxiliary objective only says how to turn one
forward pass into an extra loss term, and how to turn a forward pass into the
quantity a sampler scores. It is an ``nn.Module`` so its parameters get their
own optimizer (the same SGD hyper-parameters as the classifier, as in the
official TiDAL and LL4AL code).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from albench.models.base import ModelOutput


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
    """Base class. ``name`` is the key samplers use in ``TrainingNeeds.aux_module``."""

    name: str = ""

    def loss(self, batch: AuxBatch) -> Tensor:
        """Scalar extra loss, already multiplied by its weight λ."""
        raise NotImplementedError

    def predict(self, output: ModelOutput) -> Tensor:
        """Scoring-time output from an eval-mode forward pass (TiDAL: (n, C)
        probabilities; LL4AL: (n,) predicted loss)."""
        raise NotImplementedError
