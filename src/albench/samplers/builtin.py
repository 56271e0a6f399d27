"""Imports every built-in sampler module so their ``@register`` decorators run."""

from albench.samplers import (  # noqa: F401
    bayesian,
    diversity,
    learned,
    reference,
    training_dynamics,
    uncertainty,
)
