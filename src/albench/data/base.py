"""What a dataset source is: the contract between raw data on disk and the canonical cache.

A *source* knows where one dataset's raw files live and how to read them; it
writes uint8 images (N×H×W×C) and int64 labels for a ``train`` and a ``test``
split into a :class:`PrepareContext`. The cache (:mod:`albench.data.cache`)
turns that into ``.npy`` files plus ``meta.json`` and verifies them on load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SPLITS = ("train", "test")


class DataSourceError(RuntimeError):
    """The raw data of a dataset is missing, unreadable or corrupt.

    The message names the dataset, where albench looked, and how to provide the
    data (environment variable, Debian package, ``--download``).
    """


class CacheError(RuntimeError):
    """A prepared cache is missing, incomplete, or fails its checksum."""


def env_data_dir() -> Path | None:
    """``$ALBENCH_DATA_DIR``: where raw sources are looked for (and downloaded to)."""
    value = os.environ.get("ALBENCH_DATA_DIR")
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class SourceOptions:
    """How to obtain one dataset's raw files.

    Attributes:
        data_dir: directory holding raw sources (``--data-dir`` or
            ``$ALBENCH_DATA_DIR``); downloads go here too. ``None`` means the
            source's own default.
        download: allow torchvision to download missing files.
        image_size: target side length for sources that resize (iNaturalist,
            image folders); ``None`` keeps the source's default.
        verify_md5: check raw files against the publisher's MD5 list where one
            exists (torchvision's lists). Turn off only for re-packaged or
            synthetic files; the cache still records their sha256.
        params: extra keys from the dataset's config entry (e.g. ``root`` of an
            image folder).
    """

    data_dir: Path | None = None
    download: bool = False
    image_size: int | None = None
    verify_md5: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)

    def raw_root(self, default: str | os.PathLike[str] = "resources/raw") -> Path:
        if self.data_dir is not None:
            return Path(self.data_dir).expanduser()
        return env_data_dir() or Path(default)


class PrepareContext:
    """Collects what a source produces; the cache writes it atomically afterwards.

    Small sources call :meth:`write_split` with whole arrays. Large ones
    (iNaturalist) call :meth:`open_split` and fill the returned memory maps in
    chunks, so the full image array is never held in memory.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.source_files: list[Path] = []
        self.class_names: list[str] | None = None
        self.origin: str = ""
        self.extra_meta: dict[str, Any] = {}
        self.splits: dict[str, tuple[Path, Path]] = {}

    def _paths(self, split: str) -> tuple[Path, Path]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        return self.workdir / f"{split}_images.npy", self.workdir / f"{split}_labels.npy"

    def write_split(self, split: str, images: np.ndarray, labels: np.ndarray) -> None:
        images = _check_images(images, split)
        labels = _check_labels(labels, len(images), split)
        image_path, label_path = self._paths(split)
        np.save(image_path, images, allow_pickle=False)
        np.save(label_path, labels, allow_pickle=False)
        self.splits[split] = (image_path, label_path)

    def open_split(
        self, split: str, n: int, shape: tuple[int, int, int]
    ) -> tuple[np.memmap, np.memmap]:
        """Preallocate ``n`` images of ``shape`` (H, W, C) as writable memory maps."""
        image_path, label_path = self._paths(split)
        images = np.lib.format.open_memmap(image_path, mode="w+", dtype=np.uint8, shape=(n, *shape))
        labels = np.lib.format.open_memmap(label_path, mode="w+", dtype=np.int64, shape=(n,))
        self.splits[split] = (image_path, label_path)
        return images, labels

    def add_source_file(self, path: str | os.PathLike[str]) -> None:
        self.source_files.append(Path(path))


def _check_images(images: np.ndarray, split: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"{split} images must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"{split} images must be N×H×W×C, got shape {images.shape}")
    return np.ascontiguousarray(images)


def _check_labels(labels: np.ndarray, n: int, split: str) -> np.ndarray:
    labels = np.asarray(labels).astype(np.int64, copy=False).reshape(-1)
    if len(labels) != n:
        raise ValueError(f"{split}: {n} images but {len(labels)} labels")
    return np.ascontiguousarray(labels)


PrepareFn = Callable[[PrepareContext, SourceOptions], None]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset.

    Attributes:
        name: registry key (``fashion_mnist``).
        summary: one line for ``albench datasets``.
        prepare: reads the raw source into a :class:`PrepareContext`.
        hflip: horizontal flips are a valid augmentation (False for digits,
            where a flipped 2 is not a 2, and for SVHN house numbers).
        crop_padding: pixels of zero padding for random-crop augmentation
            (0 disables cropping).
        options: default :class:`SourceOptions` fields for this dataset.
        train_class_counts: published per-class sizes of the train split, so
            budgets can be checked against pool sizes before any data is
            prepared; None when unknown until preparation (image folders).
        image_shape: (H, W, C) of the cached images, for the resource estimates
            made before preparation (``albench.estimate``); None when it depends
            on the options (image folders).
        published_size: (train images, classes) as published, for the resource
            estimates of datasets whose ``train_class_counts`` are only known
            after preparation (iNaturalist); None if unknown.
    """

    name: str
    summary: str
    prepare: PrepareFn
    hflip: bool = True
    crop_padding: int = 4
    options: Mapping[str, Any] = field(default_factory=dict)
    train_class_counts: tuple[int, ...] | None = None
    image_shape: tuple[int, int, int] | None = None
    published_size: tuple[int, int] | None = None
