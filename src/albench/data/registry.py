"""Name → :class:`DatasetSpec`. Built-in sources register themselves on import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from albench.data.base import DatasetSpec

_REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def dataset_names() -> list[str]:
    _load_builtin_sources()
    return sorted(_REGISTRY)


def list_datasets() -> list[DatasetSpec]:
    return [_REGISTRY[name] for name in dataset_names()]


def get_dataset_spec(
    name: str, custom: Mapping[str, Mapping[str, Any]] | None = None
) -> DatasetSpec:
    """Look a dataset up by name.

    ``custom`` holds user datasets from the config's ``custom_datasets`` section
    (``{name: {source: imagefolder, root: ..., ...}}``); they derive from a
    registered source and override its options.
    """
    _load_builtin_sources()
    custom = custom or {}
    if name in custom:
        entry = dict(custom[name])
        source = entry.pop("source", None)
        if source not in _REGISTRY:
            raise ValueError(
                f"custom dataset {name!r}: unknown source {source!r}; "
                f"valid sources: {', '.join(sorted(_REGISTRY))}"
            )
        base = _REGISTRY[source]
        return DatasetSpec(
            name=name,
            summary=f"{base.summary} (custom: {entry.get('root', '?')})",
            prepare=base.prepare,
            hflip=bool(entry.pop("hflip", base.hflip)),
            crop_padding=int(entry.pop("crop_padding", base.crop_padding)),
            options={**base.options, **entry},
            image_shape=_folder_shape({**base.options, **entry}),
        )
    if name not in _REGISTRY:
        valid = sorted({*_REGISTRY, *custom})
        raise ValueError(f"unknown dataset {name!r}; valid datasets: {', '.join(valid)}")
    return _REGISTRY[name]


def _load_builtin_sources() -> None:
    # Imported for their registration side effect.
    from albench.data import sources  # noqa: F401


def _folder_shape(entry: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """The cached image shape of an image folder, when its options fix it."""
    size = entry.get("image_size")
    if not isinstance(size, int):
        return None
    channels = entry.get("channels", 3)
    return (size, size, channels) if channels in (1, 3) else None
