"""iNaturalist 2018 (Van Horn et al., CVPR 2018): 437,513 train / 24,426 val photos of 8,142 species.

The official validation set is the test split (the competition's test labels
were never released). Layout under ``opts.raw_root()`` (``--data-dir``, else
``$ALBENCH_DATA_DIR``, else ``resources/raw``) — torchvision's for
``INaturalist(root, version="2018")`` plus the official annotation files::

    <root>/2018/<super category>/<category id>/<image>.jpg   all train + val images
    <root>/train2018.json                                    train annotations
    <root>/val2018.json                                      val annotations (→ test split)
    <root>/categories.json                                   optional: un-obfuscated names

``2018/`` is the official ``train_val2018/`` folder renamed, which is what
torchvision's download does; after unpacking the archive by hand, rename it
(``mv train_val2018 2018``) or symlink it.

**What torchvision does and does not do for 2018.** ``INaturalist`` with
``version="2018"`` downloads and unpacks ``train_val2018.tar.gz`` (checking the
archive's MD5), then indexes *every* image below ``2018/`` with the numeric
directory name as the target. It reads no annotation file, so it has no train/val
split, and it checks no per-file checksums. albench therefore uses it to
download, index and load the images, and reads the official COCO-style
``train2018.json`` / ``val2018.json`` itself (``images``: ``id``,
``file_name`` = ``train_val2018/<super>/<id>/<file>``; ``annotations``:
``image_id``, ``category_id``; ``categories``: ``id``, ``name``, …) to decide
which image goes to which split and with which label. Each annotated category
must equal the image's directory id, every listed file must exist, and images
keep the JSON's ``images`` order. With ``--download`` the two annotation
archives are fetched too (torchvision's ``download_and_extract_archive``,
checked against the MD5s published in the visipedia/inat_comp README unless
``verify_md5`` is off).

**Labels.** Category ids are mapped to 0..C−1 in sorted id order (the 2018 ids
are 0..8141 already, so this is the identity there, but nothing relies on it);
``extra.category_ids[k]`` is the iNaturalist id of class *k*. Class names come
from ``categories.json`` when present (the names un-obfuscated in June 2018,
same ``categories`` list format), else from ``train2018.json``'s own
(obfuscated) ``categories``; ``extra.class_names_from`` says which.

**Images** are centre-cropped to a square and resized to ``image_size``
(default 64) with PIL's antialiased bilinear filter, via
:class:`albench.data.sources.imagefolder.SquareResize` (its docstring has the
details; ``extra.resize`` records them). They are decoded by ``num_workers``
processes (default ``min(4, CPUs)``; results do not depend on it) and written
chunk by chunk into memory-mapped ``.npy`` files, so memory stays at a few
chunks; a progress bar shows on terminals.

**Provenance.** meta.json records the sha256 of the annotation JSONs (and of
``categories.json`` when used). Hashing ~462k JPEGs (≈120 GB) would take as
long as the conversion, so the images are not hashed; the cache's array hashes
cover the decoded, resized content.

Augmentation: horizontal flips, and random crops with 8 px padding (CIFAR's
4 px at 32 px, scaled to the default 64 px).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from albench.data.base import DatasetSpec, DataSourceError, PrepareContext, SourceOptions
from albench.data.registry import register_dataset
from albench.data.sources.imagefolder import (
    SquareResize,
    check_params,
    default_num_workers,
    image_size_of,
    int_param,
    stream_split,
)

NAME = "inat2018"
VERSION = "2018"
DEFAULT_IMAGE_SIZE = 64
ANNOTATION_FILES = {"train": "train2018.json", "test": "val2018.json"}
CATEGORIES_FILE = "categories.json"
_S3 = "https://ml-inat-competition-datasets.s3.amazonaws.com/2018"
ANNOTATION_ARCHIVES = {  # file → (url, md5 of the .tar.gz, from the visipedia/inat_comp README)
    "train2018.json": (f"{_S3}/train2018.json.tar.gz", "bfa29d89d629cbf04d826a720c0a68b0"),
    "val2018.json": (f"{_S3}/val2018.json.tar.gz", "f2ed8bfe3e9901cdefceb4e53cd3775d"),
}
PARAMS = ("image_size", "num_workers")
LAYOUT = (
    "<root>/2018/<super category>/<category id>/<image>.jpg (the official train_val2018/ "
    "folder, renamed), <root>/train2018.json, <root>/val2018.json"
)


@dataclass(frozen=True)
class Annotations:
    """One split's COCO-style annotation file, reduced to what albench needs.

    Attributes:
        path: the JSON file.
        keys: per image, in the JSON's ``images`` order, ``(directory category
            id, file name)``: the key of torchvision's ``INaturalist.index``.
        category_ids: (n,) int64, the annotated category of each image.
        categories: the file's ``categories`` list.
    """

    path: Path
    keys: list[tuple[int, str]]
    category_ids: np.ndarray
    categories: list[dict[str, Any]]


def read_annotations(path: Path) -> Annotations:
    """Parse ``train2018.json`` / ``val2018.json`` (iNat's COCO-style format)."""
    try:
        with open(path, encoding="utf-8") as handle:
            content = json.load(handle)
        by_image: dict[int, int] = {}
        for annotation in content["annotations"]:
            image_id, category = int(annotation["image_id"]), int(annotation["category_id"])
            if by_image.setdefault(image_id, category) != category:
                raise ValueError(f"image {image_id} has two categories")
        keys: list[tuple[int, str]] = []
        category_ids = np.empty(len(content["images"]), dtype=np.int64)  # (n,)
        for i, image in enumerate(content["images"]):
            parts = PurePosixPath(image["file_name"]).parts
            if len(parts) < 3:
                raise ValueError(f"file_name {image['file_name']!r} is not <super>/<id>/<file>")
            keys.append((int(parts[-2]), parts[-1]))
            if int(image["id"]) not in by_image:
                raise ValueError(f"image {image['id']} ({image['file_name']}) has no annotation")
            category_ids[i] = by_image[int(image["id"])]
            if category_ids[i] != keys[-1][0]:
                raise ValueError(
                    f"image {image['file_name']} is annotated as category {category_ids[i]} "
                    f"but lies in the folder of category {keys[-1][0]}"
                )
        categories = list(content["categories"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataSourceError(
            f"dataset {NAME!r}: cannot use {path} ({type(exc).__name__}: {exc}); it must be the "
            f"official COCO-style iNaturalist 2018 annotation file. Replace it (or delete it and "
            "re-run with --download)."
        ) from exc
    return Annotations(path, keys, category_ids, categories)


def category_mapping(categories: Sequence[Mapping[str, Any]]) -> tuple[list[int], dict[int, int]]:
    """Sorted category ids and the map id → contiguous label 0..C−1 in that order."""
    ids = sorted({int(c["id"]) for c in categories})
    return ids, {cid: k for k, cid in enumerate(ids)}


def class_names(ids: Sequence[int], categories: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ``name`` of each id (the id itself where a category has no name)."""
    names = {int(c["id"]): str(c.get("name", c["id"])) for c in categories}
    return [names.get(cid, str(cid)) for cid in ids]


def _read_categories_file(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            content = json.load(handle)
        categories = content["categories"] if isinstance(content, dict) else content
        for category in categories:
            int(category["id"])
        return list(categories)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataSourceError(
            f"dataset {NAME!r}: cannot use {path} ({type(exc).__name__}: {exc}); it must be the "
            "list of categories released with un-obfuscated names (or remove it to use the "
            "names in train2018.json)."
        ) from exc


class INatSplit:
    """One split of torchvision's ``INaturalist``: index → (resized uint8 image, label)."""

    def __init__(self, base: Any, indices: np.ndarray, labels: np.ndarray) -> None:
        self.base = base
        self.indices = indices  # (n,) positions in base.index
        self.labels = labels  # (n,) contiguous labels

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        from PIL import Image

        index = int(self.indices[i])
        try:
            image, _ = self.base[index]  # base.transform is the SquareResize
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            category, file_name = self.base.index[index]
            path = os.path.join(self.base.root, self.base.all_categories[category], file_name)
            raise DataSourceError(f"dataset {NAME!r}: cannot read image {path}: {exc}") from exc
        return image, int(self.labels[i])


def _missing(root: Path) -> list[str]:
    images = root / VERSION
    missing = []
    if not images.is_dir() or not any(images.iterdir()):
        hint = (
            " (found train_val2018/: rename it to 2018/)"
            if (root / "train_val2018").is_dir()
            else ""
        )
        missing.append(f"{images}/ (images){hint}")
    missing += [str(root / f) for f in ANNOTATION_FILES.values() if not (root / f).is_file()]
    return missing


def _download_annotations(root: Path, verify_md5: bool) -> None:
    from torchvision.datasets.utils import download_and_extract_archive

    for file, (url, md5) in ANNOTATION_ARCHIVES.items():
        if (root / file).is_file():
            continue
        try:
            download_and_extract_archive(url, str(root), md5=md5 if verify_md5 else None)
        except Exception as exc:  # network and archive errors come in many types
            raise DataSourceError(
                f"dataset {NAME!r}: downloading {url} into {root} failed "
                f"({type(exc).__name__}: {exc}). Download and unpack it by hand (layout: {LAYOUT})."
            ) from exc


def open_torchvision(root: Path, download: bool, transform: SquareResize) -> Any:
    """torchvision's ``INaturalist(root, version="2018")``, errors made clear."""
    from torchvision.datasets import INaturalist

    try:
        return INaturalist(str(root), version=VERSION, transform=transform, download=download)
    except Exception as exc:  # torchvision: RuntimeError; download and listing: many types
        action = "download or index" if download else "index"
        raise DataSourceError(
            f"dataset {NAME!r}: torchvision's INaturalist could not {action} {root / VERSION} "
            f"({type(exc).__name__}: {exc}). Expected layout: {LAYOUT}; nothing else may sit "
            f"in {root / VERSION}. Fix the folder, or delete it and pass --download."
        ) from exc


def prepare(context: PrepareContext, opts: SourceOptions) -> None:
    """Source of ``inat2018``: train2018 → train, val2018 → test, resized squares."""
    check_params(opts.params, PARAMS, f"dataset {NAME!r}")
    size = image_size_of(opts, DEFAULT_IMAGE_SIZE, f"dataset {NAME!r}")
    workers = int_param(
        opts.params.get("num_workers", default_num_workers()), "num_workers", f"dataset {NAME!r}"
    )
    root = opts.raw_root()
    if not opts.download and (missing := _missing(root)):
        raise DataSourceError(
            f"dataset {NAME!r}: raw files not found in {root} (missing: {', '.join(missing)}). "
            f"Provide them with one of: put the layout {LAYOUT} under $ALBENCH_DATA_DIR or "
            f"--data-dir, or pass --download (`albench data prepare {NAME} --download`, ≈120 GB) "
            "to let torchvision fetch them."
        )
    transform = SquareResize(size, 3)
    base = open_torchvision(root, opts.download, transform)
    if opts.download:
        _download_annotations(root, opts.verify_md5)
    annotations = {split: read_annotations(root / f) for split, f in ANNOTATION_FILES.items()}
    categories = annotations["train"].categories
    ids, label_of = category_mapping(categories)
    names_file = root / CATEGORIES_FILE
    if names_file.is_file():
        names = class_names(ids, _read_categories_file(names_file))
        names_from = CATEGORIES_FILE
    else:
        names = class_names(ids, categories)
        names_from = ANNOTATION_FILES["train"]
    position = {key: i for i, key in enumerate(base.index)}  # (category id, file) → base index
    for split, ann in annotations.items():
        unknown = sorted(set(ann.category_ids.tolist()) - set(label_of))
        if unknown:
            raise DataSourceError(
                f"dataset {NAME!r}: {ann.path} uses category ids {unknown[:10]} that "
                f"{annotations['train'].path} does not list"
            )
        absent = [key for key in ann.keys if key not in position]
        if absent:
            shown = ", ".join(f"{base.root}/<super>/{c}/{f}" for c, f in absent[:5])
            raise DataSourceError(
                f"dataset {NAME!r}: {len(absent)} image(s) listed in {ann.path} are not under "
                f"{base.root} (e.g. {shown}). The image folder is incomplete: unpack the whole "
                "train_val2018 archive there, or delete it and pass --download."
            )
        indices = np.fromiter((position[key] for key in ann.keys), np.int64, len(ann.keys))  # (n,)
        labels = np.fromiter((label_of[c] for c in ann.category_ids.tolist()), np.int64)  # (n,)
        stream_split(
            context,
            split,
            INatSplit(base, indices, labels),
            (size, size, 3),
            num_workers=workers,
            desc=f"{NAME} {split}",
        )
    del position
    context.class_names = names
    context.origin = (
        f"iNaturalist 2018 images in {base.root} (indexed and loaded with "
        f"torchvision.datasets.INaturalist, version '2018'); splits and labels from "
        f"{ANNOTATION_FILES['train']} (train) and {ANNOTATION_FILES['test']} (test); "
        f"centre-cropped and resized to {size}x{size}"
    )
    context.extra_meta.update(
        {
            "resize": transform.describe(),
            "category_ids": ids,
            "class_names_from": names_from,
            "split_files": dict(ANNOTATION_FILES),
            "order": "the annotation file's images order",
            "images_hashed": False,
        }
    )
    for ann in annotations.values():
        context.add_source_file(ann.path)
    if names_from == CATEGORIES_FILE:
        context.add_source_file(names_file)


register_dataset(
    DatasetSpec(
        name=NAME,
        image_shape=(DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE, 3),
        summary="iNaturalist 2018: 437k train / 24k val (as test) species photos, 8,142 classes, "
        "resized to 64x64 (torchvision layout + annotation JSONs, or --download: ~120 GB)",
        prepare=prepare,
        hflip=True,
        crop_padding=8,
        options={"image_size": DEFAULT_IMAGE_SIZE},
        published_size=(437_513, 8_142),
    )
)
