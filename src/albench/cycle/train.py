"""Training of one cycle: the backbone, the objectives its needs call for, the trackers.

What is trained follows from the sampler's needs alone
(:func:`requirements`): a need provided by an auxiliary objective (TiDAL's
predicted dynamics, LL4AL's predicted loss) trains that objective jointly with
the classifier, and a tracked need records the candidates in its view during
training. Samplers whose requirements are equal train byte-identical models on
the same inputs and seed.

Randomness: the model (and objective) initialisation draws from the ``model``
stream of (seed, cycle), the batch order and augmentation from ``train``, and
the train-augmented tracker view from its own ``train`` sub-stream, so tracking
never changes training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from albench.cycle.checkpoint import load_checkpoint
from albench.cycle.inputs import CycleInputs
from albench.models.base import Backbone
from albench.models.registry import build_model
from albench.samplers.base import Need, diagnostic_only, objectives_of, tracked_views
from albench.seeding import derive_seed
from albench.training import CandidateTracker, TrainHooks, TrainResult, train
from albench.training.objectives import AuxiliaryObjective, build_objective, objective_named


@dataclass(frozen=True)
class Requirements:
    """What training must produce for a set of needs."""

    objectives: tuple[str, ...] = ()  # auxiliary objectives trained with the classifier
    track_views: tuple[str, ...] = ()  # candidate-tracker views recorded during training
    # Those of track_views only the diagnostics read: recorded every `diagnostics_interval`.
    diagnostic_views: tuple[str, ...] = ()

    @classmethod
    def of(cls, needs: frozenset[Need], scored: frozenset[Need] | None = None) -> Requirements:
        """What training must produce for ``needs``; ``scored``: the needs samplers score
        (the rest of the tracked views are diagnostic-only); None → all of ``needs``."""
        objectives = objectives_of(needs)
        if len(objectives) > 1:
            raise ValueError(
                f"needs {sorted(needs)} call for {len(objectives)} jointly trained objectives "
                f"({', '.join(objectives)}); a cycle trains at most one"
            )
        views = tracked_views(needs)
        return cls(objectives, views, diagnostic_only(views, [needs if scored is None else scored]))


@dataclass
class Trained:
    """The cycle's trained models and what was recorded while training them."""

    model: Backbone
    objectives: list[AuxiliaryObjective]
    trackers: dict[str, CandidateTracker]  # view -> tracker of the candidates
    result: TrainResult
    requirements: Requirements = field(default_factory=Requirements)


def build_models(inputs: CycleInputs, requirements: Requirements):
    """The freshly initialised backbone and objectives (seeded by the ``model`` stream)."""
    request, settings = inputs.request, inputs.settings
    torch.manual_seed(derive_seed(inputs.seed, "model", inputs.cycle))
    height, _, channels = inputs.data.train_images.shape[1:]
    model = build_model(settings.model, channels, inputs.num_classes, height)
    objectives = [
        build_objective(
            objective_named(name),
            model.stage_channels,
            inputs.num_classes,
            request.config.sampler_params.get(f"{name}_module", {}),
        )
        for name in requirements.objectives
    ]
    return model, objectives


def train_models(inputs: CycleInputs, requirements: Requirements, desc: str) -> Trained:
    """Build, (warm-)start and train the backbone and the objectives for ``requirements``."""
    request, settings = inputs.request, inputs.settings
    seed, cycle = inputs.seed, inputs.cycle
    model, objectives = build_models(inputs, requirements)
    if settings.warm_start and cycle > 0:
        checkpoint = getattr(request, "checkpoint_path", None)
        if checkpoint is None:
            raise ValueError("warm_start is on: cycle > 0 needs --checkpoint of the previous cycle")
        expected = {
            "dataset": request.dataset,
            "model": settings.model,
            "sampler": request.sampler,
            "seed": str(seed),
            "cycle": str(cycle - 1),
            "num_classes": str(inputs.num_classes),
        }
        load_checkpoint(checkpoint, model, objectives, expected)
    trackers = (
        {
            view: CandidateTracker(
                inputs.candidate_images,
                inputs.num_classes,
                inputs.augment,
                inputs.train_config,
                view=view,
                device=inputs.device,
                seed=derive_seed(seed, "train", cycle, 1),
                interval=(
                    settings.diagnostics_interval if view in requirements.diagnostic_views else None
                ),
            )
            for view in requirements.track_views
        }
        if inputs.queries
        else {}
    )
    hooks = TrainHooks(
        aux=objectives, trackers=list(trackers.values()), progress=request.progress, desc=desc
    )
    result = train(
        model.to(inputs.device),
        inputs.labeled_images,
        inputs.labels[inputs.labeled.indices],
        inputs.train_config,
        augment=inputs.augment,
        seed=derive_seed(seed, "train", cycle),
        hooks=hooks,
    )
    return Trained(model, objectives, trackers, result, requirements)
