"""Query strategies: a registry of :class:`Sampler` classes (``albench samplers`` lists them).

Built-ins live in this package, one module per family; plugins come from
``albench.samplers`` entry points or ``module:Class`` references in a config
(:mod:`albench.samplers.registry`). Importing this package does not import torch.
"""

from albench.samplers.base import Need, Sampler, ScoringContext, Selection
from albench.samplers.registry import (
    SamplerError,
    get_sampler,
    get_sampler_class,
    register,
    resolve,
    sampler_names,
)

__all__ = [
    "Need",
    "Sampler",
    "SamplerError",
    "ScoringContext",
    "Selection",
    "get_sampler",
    "get_sampler_class",
    "register",
    "resolve",
    "sampler_names",
]
