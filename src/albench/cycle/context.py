"""The scoring context: every quantity a sampler can need, each computed by one provider.

:data:`PROVIDERS` maps each :class:`~albench.samplers.Need` to the function that
computes it from a :class:`Sources` (the cycle's inputs and trained models).
Quantities that come from the same eval-mode pass over the candidates (logits,
embeddings, the objectives' outputs) share it: :attr:`Sources.candidate_pass`
runs it once. Adding a quantity is one entry here; a quantity an auxiliary
objective provides needs none (:func:`objective_output` serves them all).

Every provider runs in batches on the cycle's device and draws randomness (MC
dropout) from the ``sampler`` stream of (seed, cycle), so the context is the same
on every rerun on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import torch
from torch import Tensor

from albench.cycle.inputs import CycleInputs
from albench.cycle.train import Trained
from albench.samplers.base import OBJECTIVES, TRACKED, Need, ScoringContext
from albench.samplers.scores import mc_moments
from albench.seeding import derive_seed
from albench.training.augment import as_uint8_tensor
from albench.training.evaluate import mc_dropout_probs, predict
from albench.training.mc_dropout import mc_dropout_passes

MC_PASSES, MC_DROPOUT = 10, 0.5  # BALD as in the official TiDAL code
# What one eval pass over the candidates always yields (the diagnostics read them too).
FORWARD_NEEDS = frozenset({Need.LOGITS, Need.PROBS, Need.EMBEDDINGS})


class Sources:
    """What providers read: the inputs and the trained models, with the shared passes cached."""

    def __init__(self, inputs: CycleInputs, trained: Trained) -> None:
        self.inputs = inputs
        self.trained = trained
        self.batch_size = inputs.train_config.eval_batch_size

    @cached_property
    def candidate_pass(self) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """(logits (n, C), embeddings (n, d), {objective name: output}) in one eval pass."""
        callbacks = {objective.name: objective.predict for objective in self.trained.objectives}
        return predict(
            self.trained.model,
            self.inputs.candidate_images,
            self.inputs.norm,
            self.batch_size,
            device=self.inputs.device,
            callbacks=callbacks,
        )

    @cached_property
    def mc_moments(self) -> tuple[Tensor, Tensor]:
        """(mean probs (n, C), mean per-pass entropy (n,)) of the MC-dropout passes.

        Running sums over the passes (:func:`~albench.samplers.scores.mc_moments`), so
        the (n, C, T) table is never built; the masks are those of ``Need.MC_PROBS``.
        """
        return mc_moments(
            mc_dropout_passes(
                self.trained.model,
                self.candidate_pass[1],
                passes=MC_PASSES,
                p=MC_DROPOUT,
                generator=_mc_generator(self.inputs),
            )
        )


def objective_output(need: Need) -> Callable[[Sources], Tensor]:
    """The provider of a need that an auxiliary objective computes."""
    return lambda sources: sources.candidate_pass[2][OBJECTIVES[need]]


def _tracked(need: Need) -> Callable[[Sources], Tensor]:
    view, index = next((v, pair.index(need)) for v, pair in TRACKED.items() if need in pair)

    def provide(sources: Sources) -> Tensor:
        tracker = sources.trained.trackers[view]
        return tracker.labels if index == 0 else tracker.mean_probs

    return provide


def _labeled_embeddings(sources: Sources) -> Tensor:
    inputs = sources.inputs
    return predict(
        sources.trained.model,
        inputs.labeled_images,
        inputs.norm,
        sources.batch_size,
        device=inputs.device,
    )[1]


def _mc_generator(inputs: CycleInputs) -> torch.Generator:
    """The MC-dropout masks' generator: the sampler stream of (seed, cycle), sub-stream 1."""
    return torch.Generator(device=inputs.device).manual_seed(
        derive_seed(inputs.seed, "sampler", inputs.cycle, 1)
    )


def _mc_probs(sources: Sources) -> Tensor:
    return mc_dropout_probs(
        sources.trained.model,
        sources.candidate_pass[1],
        passes=MC_PASSES,
        p=MC_DROPOUT,
        generator=_mc_generator(sources.inputs),
    )


def _true_labels(sources: Sources) -> Tensor:
    return torch.from_numpy(sources.inputs.labels[sources.inputs.candidates]).to(
        sources.inputs.device
    )


def _images(which: str) -> Callable[[Sources], Tensor]:
    def provide(sources: Sources) -> Tensor:
        images = getattr(sources.inputs, which)
        return sources.inputs.norm.apply(as_uint8_tensor(images, sources.inputs.device))

    return provide


PROVIDERS: dict[Need, Callable[[Sources], Tensor]] = {
    Need.LOGITS: lambda sources: sources.candidate_pass[0],
    Need.PROBS: lambda sources: sources.candidate_pass[0].softmax(dim=1),
    Need.EMBEDDINGS: lambda sources: sources.candidate_pass[1],
    Need.LABELED_EMBEDDINGS: _labeled_embeddings,
    Need.MC_PROBS: _mc_probs,
    Need.MC_MEAN_PROBS: lambda sources: sources.mc_moments[0],
    Need.MC_MEAN_ENTROPY: lambda sources: sources.mc_moments[1],
    Need.TRUE_LABELS: _true_labels,
    Need.IMAGES: _images("candidate_images"),
    Need.LABELED_IMAGES: _images("labeled_images"),
    **{need: _tracked(need) for pair in TRACKED.values() for need in pair},
    **{need: objective_output(need) for need in OBJECTIVES},
}


def available_needs(trained: Trained) -> frozenset[Need]:
    """What the cycle computes anyway: the candidate pass, the objectives' outputs, the trackers."""
    provided = {
        need for need, name in OBJECTIVES.items() if name in trained.requirements.objectives
    }
    tracked = {need for view in trained.trackers for need in TRACKED[view]}
    return FORWARD_NEEDS | provided | tracked


def build_context(needs: frozenset[Need], inputs: CycleInputs, trained: Trained) -> ScoringContext:
    """A context holding ``needs`` plus everything the cycle computes anyway."""
    sources = Sources(inputs, trained)
    wanted = needs | available_needs(trained)
    values = {need: PROVIDERS[need](sources) for need in Need if need in wanted}
    return ScoringContext(
        candidates=inputs.candidates,
        labeled=inputs.labeled.indices,
        num_classes=inputs.num_classes,
        seed=derive_seed(inputs.seed, "sampler", inputs.cycle),
        device=inputs.device,
        values=values,
    )


__all__ = ["PROVIDERS", "Sources", "available_needs", "build_context"]
