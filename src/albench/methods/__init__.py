"""Training-dynamics and learned query methods: TiDAL, label dispersion, LL4AL, VAAL.

The modules here hold the method math (networks, losses, scores); the samplers
that expose them to the active-learning cycle live in
:mod:`albench.samplers.training_dynamics` and :mod:`albench.samplers.learned`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from albench.methods.diagnostics import TailAuroc, kl_divergence_rows, mean_kl, tail_auroc
from albench.methods.dispersion import label_dispersion, modal_label_count
from albench.methods.ll4al import (
    LossPredictionModule,
    LossPredictionObjective,
    StagePoolingHead,
    detach_epoch,
    loss_prediction_ranking_loss,
)
from albench.methods.tidal import (
    TDPredictionModule,
    TiDALObjective,
    td_kl_loss,
    tidal_entropy_scores,
    tidal_margin_scores,
)
from albench.methods.vaal import VAE, Discriminator, train_vaal, vaal_scores
from albench.training.aux import AuxiliaryObjective

AUX_MODULES = ("ll4al", "tidal")

__all__ = [
    "AUX_MODULES",
    "VAE",
    "Discriminator",
    "LossPredictionModule",
    "LossPredictionObjective",
    "StagePoolingHead",
    "TDPredictionModule",
    "TailAuroc",
    "TiDALObjective",
    "build_aux_module",
    "detach_epoch",
    "kl_divergence_rows",
    "label_dispersion",
    "loss_prediction_ranking_loss",
    "mean_kl",
    "modal_label_count",
    "tail_auroc",
    "td_kl_loss",
    "tidal_entropy_scores",
    "tidal_margin_scores",
    "train_vaal",
    "vaal_scores",
]


def build_aux_module(
    name: str, stage_channels: Sequence[int], num_classes: int, **params: Any
) -> AuxiliaryObjective:
    """The auxiliary objective a sampler asked for in ``TrainingNeeds.aux_module``.

    Args:
        name: ``"tidal"`` (:class:`TiDALObjective`) or ``"ll4al"``
            (:class:`LossPredictionObjective`).
        stage_channels: ``Backbone.stage_channels``.
        num_classes: C (used by TiDAL; LL4AL predicts a scalar).
        **params: keyword arguments of the objective (``weight``, ``hidden``;
            LL4AL also ``margin``, ``detach_fraction``).

    Returns:
        A freshly initialised objective.
    """
    if name == "tidal":
        return TiDALObjective(stage_channels, num_classes, **params)
    if name == "ll4al":
        return LossPredictionObjective(stage_channels, **params)
    raise ValueError(f"unknown auxiliary module {name!r}; valid: {', '.join(AUX_MODULES)}")
