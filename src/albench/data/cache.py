"""The canonical dataset cache: prepared once, memory-mapped and checksum-verified on load.

Layout of ``<cache_root>/<name>/``::

    train_images.npy  uint8 N×H×W×C     train_labels.npy  int64 N
    test_images.npy   uint8 M×H×W×C     test_labels.npy   int64 M
    meta.json         class names, shapes, class counts, sha256 of every
                      source file and every array, and the dataset hash

The directory is built under a temporary name and renamed into place, and
``meta.json`` is written last, so a killed ``prepare`` never leaves a cache that
looks complete.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from albench import __version__
from albench.data.base import SPLITS, CacheError, DataSourceError, PrepareContext, SourceOptions
from albench.data.registry import get_dataset_spec
from albench.io import atomic_dir, read_json, write_json

FORMAT_VERSION = 1
DEFAULT_CACHE_ROOT = "resources/datasets"
FULL_VERIFY_LIMIT = 1 << 30  # arrays above 1 GiB get the quick check unless verify="full"
Verify = Literal["auto", "full", "quick", "none"]


def cache_root(path: str | os.PathLike[str] | None = None) -> Path:
    """``path``, else ``$ALBENCH_CACHE_DIR``, else ``resources/datasets`` (relative to the CWD)."""
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get("ALBENCH_CACHE_DIR") or DEFAULT_CACHE_ROOT).expanduser()


def sha256_file(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _quick_digest(path: Path) -> str:
    """sha256 of the size and of 64 KiB blocks at 64 evenly spaced offsets."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    block = 1 << 16
    with open(path, "rb") as handle:
        for offset in np.linspace(0, max(size - block, 0), 64).astype(np.int64):
            handle.seek(int(offset))
            digest.update(handle.read(block))
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparedDataset:
    """A verified cache entry. Arrays are read-only memory maps (zero-copy)."""

    name: str
    directory: Path
    meta: dict[str, Any]

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    @property
    def num_classes(self) -> int:
        return len(self.meta["class_names"])

    @property
    def data_hash(self) -> str:
        return str(self.meta["data_hash"])

    @property
    def hflip(self) -> bool:
        return bool(self.meta["augmentation"]["hflip"])

    @property
    def crop_padding(self) -> int:
        return int(self.meta["augmentation"]["crop_padding"])

    def _array(self, split: str, kind: str) -> np.ndarray:
        return np.load(self.directory / f"{split}_{kind}.npy", mmap_mode="r", allow_pickle=False)

    @cached_property
    def train_images(self) -> np.ndarray:
        return self._array("train", "images")

    @cached_property
    def train_labels(self) -> np.ndarray:
        return self._array("train", "labels")

    @cached_property
    def test_images(self) -> np.ndarray:
        return self._array("test", "images")

    @cached_property
    def test_labels(self) -> np.ndarray:
        return self._array("test", "labels")


def prepare_dataset(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    options: SourceOptions | None = None,
    custom: dict[str, Any] | None = None,
    force: bool = False,
) -> PreparedDataset:
    """Build the cache for ``name`` unless a valid one exists; return it verified."""
    spec = get_dataset_spec(name, custom)
    directory = cache_root(root) / name
    if not force and (directory / "meta.json").exists():
        return load_dataset(name, root=root)
    opts = options or SourceOptions()
    merged = {**spec.options, **opts.params}
    image_size = opts.image_size if opts.image_size is not None else merged.get("image_size")
    opts = SourceOptions(
        data_dir=opts.data_dir,
        download=opts.download,
        image_size=image_size,
        verify_md5=opts.verify_md5,
        params=merged,
    )
    with atomic_dir(directory) as workdir:
        context = PrepareContext(workdir)
        spec.prepare(context, opts)
        missing = [split for split in SPLITS if split not in context.splits]
        if missing:
            raise DataSourceError(f"dataset {name!r}: the source produced no {missing} split")
        meta = _build_meta(name, spec, context, opts)
        write_json(workdir / "meta.json", meta)
    return load_dataset(name, root=root, verify="none")


def _build_meta(name: str, spec: Any, context: PrepareContext, opts: SourceOptions) -> dict:
    splits: dict[str, Any] = {}
    array_hashes: list[str] = []
    class_names = context.class_names
    for split in SPLITS:
        image_path, label_path = context.splits[split]
        images = np.load(image_path, mmap_mode="r")
        labels = np.load(label_path, mmap_mode="r")
        if class_names is None:
            raise DataSourceError(f"dataset {name!r}: the source did not set class names")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise DataSourceError(
                f"dataset {name!r}: {split} labels outside [0, {len(class_names)})"
            )
        hashes = {
            "images_sha256": sha256_file(image_path),
            "labels_sha256": sha256_file(label_path),
        }
        array_hashes += hashes.values()
        for kind, path in (("images", image_path), ("labels", label_path)):
            if path.stat().st_size > FULL_VERIFY_LIMIT:
                hashes[f"{kind}_quick_sha256"] = _quick_digest(path)
        splits[split] = {
            "n": len(labels),
            "image_shape": list(images.shape[1:]),
            "class_counts": np.bincount(labels, minlength=len(class_names)).tolist(),
            **hashes,
        }
    return {
        "name": name,
        "format_version": FORMAT_VERSION,
        "class_names": list(class_names or []),
        "splits": splits,
        "augmentation": {"hflip": spec.hflip, "crop_padding": spec.crop_padding},
        "channel_stats": channel_stats(np.load(context.splits["train"][0], mmap_mode="r")),
        "source": {
            "origin": context.origin,
            "files": [
                {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256_file(path)}
                for path in context.source_files
            ],
            "image_size": opts.image_size,
        },
        "extra": context.extra_meta,
        "data_hash": hashlib.sha256("".join(array_hashes).encode()).hexdigest(),
        "prepared_with": f"albench {__version__}",
        "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def channel_moments(images, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and population std of uint8 N×H×W×C pixels scaled to [0, 1].

    Float64 sums over ``chunk`` images at a time, so a memory-mapped array is
    never loaded whole. The one implementation of these statistics: the cache
    records them (:func:`channel_stats`) and ``Normalization.from_images`` uses them.
    """
    if len(images) == 0:
        raise ValueError("cannot compute normalisation statistics of an empty image set")
    channels = images.shape[-1]
    total, squares, count = np.zeros(channels), np.zeros(channels), 0
    for start in range(0, len(images), chunk):
        block = (
            np.asarray(images[start : start + chunk], dtype=np.float64).reshape(-1, channels) / 255
        )
        total += block.sum(axis=0)
        squares += np.square(block).sum(axis=0)
        count += len(block)
    mean = total / count
    return mean, np.sqrt(np.maximum(squares / count - mean**2, 0.0))


def channel_stats(images: np.ndarray, chunk: int = 4096) -> dict[str, list[float]]:
    """The cache's normalisation record: :func:`channel_moments`, rounded, std floored at 1e-6.

    Used to normalise inputs ("normalisation by train-set channel mean/std"), so
    the statistics never depend on which samples happen to be labeled.
    """
    mean, std = channel_moments(images, chunk)
    return {
        "mean": [round(float(m), 6) for m in mean],
        "std": [round(float(max(s, 1e-6)), 6) for s in std],
    }


def load_dataset(
    name: str, *, root: str | os.PathLike[str] | None = None, verify: Verify = "auto"
) -> PreparedDataset:
    """Open a prepared cache, checking every array against ``meta.json``.

    ``verify="auto"`` (and ``"quick"``) hashes arrays up to 1 GiB in full
    (FashionMNIST: ~0.1 s) and larger ones (iNaturalist) with a sampled digest
    of their size and 64 blocks; ``"full"`` always hashes everything.
    """
    directory = cache_root(root) / name
    meta_path = directory / "meta.json"
    if not meta_path.exists():
        from albench.data.registry import dataset_names

        known = dataset_names()
        if name not in known:
            raise CacheError(
                f"unknown dataset {name!r} (no cache at {directory}); valid datasets: "
                f"{', '.join(known)}, or a custom_datasets entry of your config, prepared "
                f"with `albench data prepare NAME --config your.yaml`"
            )
        raise CacheError(
            f"dataset {name!r} is not prepared: no {meta_path}. "
            f"Run `albench data prepare {name}` (add --download to fetch it)."
        )
    meta = read_json(meta_path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise CacheError(
            f"dataset {name!r}: cache format {meta.get('format_version')} in {directory} is not "
            f"{FORMAT_VERSION}; re-run `albench data prepare {name} --force`."
        )
    dataset = PreparedDataset(name=name, directory=directory, meta=meta)
    if verify != "none":
        _verify(dataset, verify)
    return dataset


def _verify(dataset: PreparedDataset, verify: Verify) -> None:
    for split in SPLITS:
        for kind in ("images", "labels"):
            path = dataset.directory / f"{split}_{kind}.npy"
            expected = dataset.meta["splits"][split][f"{kind}_sha256"]
            if not path.exists():
                raise CacheError(
                    f"dataset {dataset.name!r}: {path} is missing; "
                    f"re-run `albench data prepare {dataset.name} --force`."
                )
            quick = dataset.meta["splits"][split].get(f"{kind}_quick_sha256")
            if verify == "full" or quick is None:
                actual = sha256_file(path)
            else:  # large array: sampled digest on load; `albench data info --verify` does it all
                actual, expected = _quick_digest(path), quick
            if actual != expected:
                raise CacheError(
                    f"dataset {dataset.name!r}: checksum mismatch for {path} "
                    f"(expected sha256 {expected[:12]}…, got {actual[:12]}…); the cache is corrupt. "
                    f"Re-run `albench data prepare {dataset.name} --force`."
                )
