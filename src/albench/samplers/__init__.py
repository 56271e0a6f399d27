"""Query strategies: a registry of :class:`Sampler` classes (``albench samplers`` lists them)."""

from albench.samplers.base import Need, Sampler, ScoringContext, Selection, TrainingNeeds
from albench.samplers.registry import get_sampler, get_sampler_class, register, sampler_names

__all__ = [
    "Need",
    "Sampler",
    "ScoringContext",
    "Selection",
    "TrainingNeeds",
    "get_sampler",
    "get_sampler_class",
    "register",
    "sampler_names",
]
