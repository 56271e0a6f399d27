"""Name → sampler class."""

from __future__ import annotations

from typing import Any, TypeVar

from albench.samplers.base import Sampler

_REGISTRY: dict[str, type[Sampler]] = {}
S = TypeVar("S", bound=type[Sampler])


def register(cls: S) -> S:
    """Class decorator: add a :class:`Sampler` subclass under ``cls.name``."""
    name = getattr(cls, "name", None)
    if not name or not getattr(cls, "summary", None):
        raise TypeError(f"{cls.__name__} must define class attributes `name` and `summary`")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"sampler {name!r} is already registered by {_REGISTRY[name].__name__}")
    _REGISTRY[name] = cls
    return cls


def sampler_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_sampler_class(name: str) -> type[Sampler]:
    _load_builtin()
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown sampler {name!r}; valid samplers: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def get_sampler(name: str, **params: Any) -> Sampler:
    return get_sampler_class(name)(**params)


def _load_builtin() -> None:
    import albench.samplers.builtin  # noqa: F401  (registration side effect)
