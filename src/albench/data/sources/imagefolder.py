"""Image folders: a user's own class-per-folder images as an albench dataset.

The images live one folder per class, ``root/<class>/<image>`` (nested
sub-folders of a class folder count too). Users declare such a dataset in their
config; :func:`albench.data.registry.get_dataset_spec` merges the entry into a
spec derived from this source::

    custom_datasets:
      my_flowers:
        source: imagefolder
        root: /data/flowers        # one sub-folder per class
        image_size: 64
        test_fraction: 0.2          # or test_root: /data/flowers-test

Keys (all but ``root`` optional):

* ``root``: the class-per-folder directory (required).
* ``image_size``: side of the square images in the cache (default 32).
* ``channels``: 3 (RGB, the default) or 1 (PIL's "L" luma, ITU-R 601-2).
* ``test_root``: a separate class-per-folder directory used as the test split;
  its class folders must be a subset of ``root``'s. Or instead:
* ``test_fraction``: share of each class held out as the test split (default
  0.2; not allowed together with ``test_root``).
* ``num_workers``: decoding processes (default ``min(4, CPUs)``; 0 decodes in
  the main process). They change the speed only, never the result.
* ``hflip`` / ``crop_padding``: augmentation, read by the registry.

Discovery uses torchvision's own helpers
(:func:`torchvision.datasets.folder.find_classes` /
:func:`~torchvision.datasets.folder.make_dataset`, extensions
``IMG_EXTENSIONS``): classes are the sorted folder names, label *k* is the
*k*-th name, and files are taken in sorted path order.

**Resizing** (shared with :mod:`albench.data.sources.inat`, see
:class:`SquareResize`): each image is converted to RGB (or L), centre-cropped
to a square of side min(width, height) and resized to ``image_size`` with
PIL's bilinear filter, which PIL widens in proportion to the reduction, i.e. it
is antialiased. Centre-cropping keeps the aspect ratio (no squashing) at the
cost of the borders of elongated images. JPEGs are decoded with
``Image.draft`` at the smallest libjpeg scale (1/2, 1/4, 1/8) that keeps
both sides ≥ 2·``image_size``, several times faster for large photos; the
bilinear resize from there is what sets the output. Alpha is dropped (RGBA →
RGB keeps the colour channels), EXIF orientation is not applied.

**Split** (when there is no ``test_root``): stratified and fixed, independent of
every experiment seed. Class *c* with n_c images sends round(f·n_c) of them
(at least 1 and at most n_c − 1 when n_c ≥ 2; a single image stays in train)
to the test split, chosen by a permutation from
``numpy.random.default_rng([0, c])`` — seed 0, one stream per class, so
adding images to one class leaves the other classes' split unchanged.

**Provenance**: with up to 50,000 files, meta.json lists each image file with
its sha256. Above that, hashing every file costs as much as the conversion, so
the files are not hashed one by one; ``extra.file_list_sha256`` (recorded in
all cases) is the sha256 of the sorted ``<split>/<relative path>\\t<bytes>``
lines, and the cache's array hashes cover the decoded content.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from albench.data.base import DatasetSpec, DataSourceError, PrepareContext, SourceOptions
from albench.data.registry import register_dataset

DEFAULT_IMAGE_SIZE = 32
DEFAULT_TEST_FRACTION = 0.2
SPLIT_SEED = 0
HASH_EACH_FILE_LIMIT = 50_000
CHUNK = 512
PARAMS = ("root", "test_root", "test_fraction", "image_size", "channels", "num_workers")
CHANNEL_MODES = {3: "RGB", 1: "L"}


@dataclass(frozen=True)
class SquareResize:
    """Centre-crop a PIL image to a square and resize it to ``size`` × ``size``.

    Attributes:
        size: output side length in pixels.
        channels: 3 (RGB) or 1 (L).
    """

    size: int
    channels: int = 3

    def __call__(self, image: Any) -> np.ndarray:
        """PIL image (not yet loaded, so JPEG draft mode can apply) → uint8 (size, size, channels)."""
        from PIL import Image

        mode = CHANNEL_MODES[self.channels]
        if image.format == "JPEG":
            image.draft(mode, (2 * self.size, 2 * self.size))
        image = image.convert(mode)
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        # Crop first: resize(box=...) would let the filter reach pixels outside the square.
        image = image.crop((left, top, left + side, top + side))
        image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8).reshape(self.size, self.size, self.channels)

    def describe(self) -> dict[str, Any]:
        """The settings, for ``meta.json``."""
        return {
            "image_size": self.size,
            "channels": self.channels,
            "mode": CHANNEL_MODES[self.channels],
            "crop": "centre square of side min(width, height)",
            "resample": "PIL bilinear (antialiased when reducing)",
            "jpeg_draft": "libjpeg DCT scaling to >= 2*image_size before resizing",
        }


class ImageFiles:
    """A map-style dataset of image files: index → (uint8 image, label)."""

    def __init__(self, samples: Sequence[tuple[str, int]], transform: SquareResize) -> None:
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        from PIL import Image

        path, label = self.samples[index]
        try:
            with Image.open(path) as image:
                return self.transform(image), label
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DataSourceError(f"cannot read image {path}: {exc}") from exc


def _collate(batch: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    images = np.stack([image for image, _ in batch])  # (b, s, s, C)
    labels = np.asarray([label for _, label in batch], dtype=np.int64)  # (b,)
    return images, labels


def default_num_workers() -> int:
    return min(4, os.cpu_count() or 1)


def stream_split(
    context: PrepareContext,
    split: str,
    dataset: Any,
    shape: tuple[int, int, int],
    *,
    num_workers: int,
    desc: str,
) -> None:
    """Decode ``dataset`` in chunks straight into the split's memory maps.

    Only one chunk per worker is in memory at a time. ``dataset[i]`` must return
    ``(uint8 image of shape, int label)``; order is preserved.
    """
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    n = len(dataset)
    images, labels = context.open_split(split, n, shape)
    loader = DataLoader(
        dataset, batch_size=CHUNK, shuffle=False, num_workers=num_workers, collate_fn=_collate
    )
    start = 0
    with tqdm(total=n, desc=desc, unit="img", disable=None) as progress:
        try:
            for chunk_images, chunk_labels in loader:
                stop = start + len(chunk_labels)
                images[start:stop] = chunk_images  # (b, s, s, C)
                labels[start:stop] = chunk_labels  # (b,)
                start = stop
                progress.update(len(chunk_labels))
        except DataSourceError as exc:
            raise DataSourceError(_worker_message(str(exc))) from None
    if start != n:
        raise DataSourceError(f"{desc}: decoded {start} images, expected {n}")
    images.flush()
    labels.flush()
    del images, labels


def _worker_message(text: str) -> str:
    """The original message of an error a DataLoader worker re-raised ("Caught
    DataSourceError in DataLoader worker process 0. Original Traceback ...": the file's
    path is on the last line), or ``text`` itself."""
    if not text.startswith("Caught "):
        return text
    last = text.strip().splitlines()[-1]
    return last.split(": ", 1)[1] if last.startswith(("albench.", "DataSourceError")) else last


def check_params(params: Mapping[str, Any], allowed: Sequence[str], what: str) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise DataSourceError(
            f"{what}: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"valid options: {', '.join(allowed)}"
        )


def int_param(value: Any, key: str, what: str, valid: Sequence[int] | None = None) -> int:
    """``value`` as an int ≥ 0 (or one of ``valid``); a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DataSourceError(f"{what}: {key} must be an integer, got {value!r}")
    if valid is not None and value not in valid:
        raise DataSourceError(
            f"{what}: {key}={value!r} is not valid; valid: {', '.join(map(str, valid))}"
        )
    if value < 0:
        raise DataSourceError(f"{what}: {key} must be >= 0, got {value!r}")
    return int(value)


def image_size_of(opts: SourceOptions, default: int, what: str) -> int:
    size = int_param(
        opts.image_size if opts.image_size is not None else default, "image_size", what
    )
    if size < 1:
        raise DataSourceError(f"{what}: image_size must be >= 1, got {size}")
    return size


def _directory(value: Any, key: str) -> Path:
    if value is None or value == "":
        raise DataSourceError(
            f"image folder: no {key!r} given. Set it in the dataset's config entry, e.g.\n"
            "  custom_datasets:\n    my_images:\n      source: imagefolder\n"
            "      root: /path/to/images   # one sub-folder per class"
        )
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise DataSourceError(
            f"image folder: {key}={str(path)!r} is not a directory "
            "(expected one sub-folder per class with the images inside)"
        )
    return path


def discover(
    root: Path, class_to_idx: dict[str, int] | None = None
) -> tuple[list[str], list[tuple[str, int]]]:
    """Classes and (path, label) samples of a class-per-folder directory, via torchvision.

    With ``class_to_idx`` (a test folder), its classes must be a subset of those
    keys and classes without images are allowed.
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    is_test = class_to_idx is not None
    try:
        classes, found = find_classes(root)
    except FileNotFoundError as exc:
        raise DataSourceError(
            f"image folder: no class folders in {root} (expected {root}/<class>/<image>)"
        ) from exc
    if class_to_idx is None:
        class_to_idx = found
    else:
        extra = sorted(set(classes) - set(class_to_idx))
        if extra:
            raise DataSourceError(
                f"image folder: test_root {root} has class folders {extra} that the training "
                f"root does not have; valid classes: {', '.join(sorted(class_to_idx))}"
            )
    try:
        samples = make_dataset(
            root,
            {c: class_to_idx[c] for c in classes},
            extensions=IMG_EXTENSIONS,
            allow_empty=is_test,
        )
    except FileNotFoundError as exc:
        raise DataSourceError(f"image folder: {root}: {exc}") from exc
    if not samples:
        raise DataSourceError(
            f"image folder: no images in {root} (extensions: {', '.join(IMG_EXTENSIONS)})"
        )
    return sorted(class_to_idx, key=class_to_idx.__getitem__), samples


def quick_check(root: Any, what: str, *, test_split: bool = False) -> None:
    """Cheap checks of a class-per-folder root before any job runs (the workflow's parse).

    The root exists and is a directory, it has at least two class folders, and the first
    image file of each class (by name) opens as an image (PIL reads only its header).
    The full decode happens in ``prepare``; this catches the common mistakes in
    milliseconds instead of at the first job.

    Raises:
        DataSourceError: naming the folder or file and what was expected.
    """
    from PIL import Image, UnidentifiedImageError

    base = _directory(root, what if test_split else f"{what}.root")
    if test_split:  # a test folder may leave classes out; prepare checks it against root
        return
    classes = sorted(entry.name for entry in os.scandir(base) if entry.is_dir())
    if len(classes) < 2:
        raise DataSourceError(
            f"{what}: {base} has {len(classes)} class folder(s) ({', '.join(classes) or 'none'}); "
            "an image classification dataset needs at least 2 (root/<class>/<image>)"
        )
    for name in classes:
        first = _first_image(base / name)
        if first is None:
            raise DataSourceError(
                f"{what}: class folder {base / name} holds no image file "
                f"(extensions: {', '.join(_EXTENSIONS)})"
            )
        try:
            with Image.open(first) as image:
                image.size  # noqa: B018 - the header is parsed lazily
        except (UnidentifiedImageError, OSError) as exc:
            raise DataSourceError(f"{what}: {first} is not a readable image ({exc})") from None


# torchvision's IMG_EXTENSIONS (what `discover` finds), spelled out because importing
# torchvision.datasets.folder imports torch, which parsing the workflow must not; a test
# keeps the two equal.
_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _first_image(folder: Path) -> Path | None:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for filename in sorted(filenames):
            if filename.lower().endswith(_EXTENSIONS):
                return Path(dirpath) / filename
    return None


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified train/test indices (both sorted); see the module docstring."""
    test: list[np.ndarray] = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = len(members)
        n_test = math.floor(fraction * n + 0.5)
        n_test = min(max(n_test, 1), n - 1) if n >= 2 else 0
        order = np.random.default_rng([seed, int(c)]).permutation(n)
        test.append(members[order[:n_test]])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def file_list_sha256(entries: Sequence[tuple[str, Path, Path]]) -> str:
    """sha256 of sorted ``<split>/<path relative to its root>\\t<bytes>`` lines."""
    lines = sorted(
        f"{split}/{path.relative_to(root).as_posix()}\t{path.stat().st_size}\n"
        for split, root, path in entries
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def prepare(context: PrepareContext, opts: SourceOptions) -> None:
    """Source ``imagefolder``: a user's class-per-folder images, resized to squares."""
    params = opts.params
    check_params(params, PARAMS, "image folder")
    root = _directory(params.get("root"), "root")
    what = f"image folder {root}"
    size = image_size_of(opts, DEFAULT_IMAGE_SIZE, what)
    channels = int_param(params.get("channels", 3), "channels", what, valid=(3, 1))
    workers = int_param(params.get("num_workers", default_num_workers()), "num_workers", what)
    classes, samples = discover(root)
    labels = np.asarray([label for _, label in samples], dtype=np.int64)  # (n,)
    sources: list[tuple[str, Path, Path]] = [("train", root, Path(p)) for p, _ in samples]
    if params.get("test_root") is not None:
        if params.get("test_fraction") is not None:
            raise DataSourceError(f"{what}: give either test_root or test_fraction, not both")
        test_root = _directory(params["test_root"], "test_root")
        _, test_samples = discover(test_root, {c: i for i, c in enumerate(classes)})
        train_samples = samples
        sources += [("test", test_root, Path(p)) for p, _ in test_samples]
        split_note: dict[str, Any] = {"test_root": str(test_root)}
    else:
        fraction = params.get("test_fraction")
        fraction = DEFAULT_TEST_FRACTION if fraction is None else fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise DataSourceError(f"{what}: test_fraction must be a number, got {fraction!r}")
        if not 0 < fraction < 1:
            raise DataSourceError(f"{what}: test_fraction must be in (0, 1), got {fraction}")
        train_idx, test_idx = stratified_split(labels, float(fraction))
        if len(test_idx) == 0:
            raise DataSourceError(
                f"{what}: test_fraction={fraction} leaves no test images (every class needs "
                "at least 2 images); add images or give a test_root"
            )
        train_samples = [samples[i] for i in train_idx]
        test_samples = [samples[i] for i in test_idx]
        split_note = {"test_fraction": float(fraction), "split_seed": SPLIT_SEED}
    transform = SquareResize(size, channels)
    for split, split_samples in (("train", train_samples), ("test", test_samples)):
        stream_split(
            context,
            split,
            ImageFiles(split_samples, transform),
            (size, size, channels),
            num_workers=workers,
            desc=f"{root.name} {split}",
        )
    context.class_names = list(classes)
    context.origin = f"class-per-folder images in {root}" + (
        f" (test split from {split_note['test_root']})" if "test_root" in split_note else ""
    )
    hashed_each = len(sources) <= HASH_EACH_FILE_LIMIT
    context.extra_meta.update(
        {
            "root": str(root),
            "resize": transform.describe(),
            "split": split_note,
            "n_files": len(sources),
            "file_list_sha256": file_list_sha256(sources),
            "files_hashed_individually": hashed_each,
        }
    )
    if hashed_each:
        for _, _, path in sources:
            context.add_source_file(path)


register_dataset(
    DatasetSpec(
        name="imagefolder",
        summary="Image folder: your own root/<class>/<image> files, centre-cropped and resized "
        "(declare under custom_datasets with source: imagefolder)",
        prepare=prepare,
        hflip=True,
        crop_padding=4,
        options={"image_size": DEFAULT_IMAGE_SIZE},
    )
)
