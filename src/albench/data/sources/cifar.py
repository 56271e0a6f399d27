"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009): 50,000 + 10,000 colour 32×32 images.

Both are read through torchvision's dataset classes
(:class:`torchvision.datasets.CIFAR10` / :class:`~torchvision.datasets.CIFAR100`)
with ``root = opts.raw_root()`` (``--data-dir``, else ``$ALBENCH_DATA_DIR``,
else ``resources/raw``), i.e. torchvision's layout::

    <root>/cifar-10-batches-py/data_batch_1 … data_batch_5, test_batch, batches.meta
    <root>/cifar-100-python/train, test, meta

``--download`` lets torchvision fetch and unpack the publisher's archive there.
torchvision checks every file against the publisher's MD5 list; with
``verify_md5=False`` (re-packaged or synthetic files) albench uses a subclass
whose file lists carry ``md5=None``, which torchvision's ``check_integrity``
treats as "the file exists" — nothing else about reading changes. Either way
the cache records the sha256 of every file read.

The python batches store each image as 3,072 channel-major bytes (1,024 red,
then green, then blue, rows top to bottom); torchvision reshapes them to
N×3×32×32 and transposes to N×32×32×3, which is the cache's NHWC layout.
Labels keep the publisher's order (``labels`` for CIFAR-10, ``fine_labels``
for CIFAR-100, whose 20 coarse labels are not used); class names come from
``batches.meta`` (``label_names``) and ``meta`` (``fine_label_names``).

This module also holds the torchvision error handling shared with
:mod:`albench.data.sources.svhn`: :func:`open_with_torchvision` turns
torchvision's one ``RuntimeError("Dataset not found or corrupted…")`` into a
:class:`DataSourceError` that says whether files are missing, fail their MD5,
or cannot be parsed, and what to do about it.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from albench.data.base import DatasetSpec, DataSourceError, PrepareContext, SourceOptions
from albench.data.registry import register_dataset

T = TypeVar("T")

NO_MD5_HINT = "SourceOptions(verify_md5=False), the CLI's --no-verify-md5"


def missing_error(
    dataset: str,
    directory: Path,
    missing: list[Path],
    layout: str,
    download_error: BaseException | None = None,
) -> DataSourceError:
    """The error for raw files that are not on disk (or still not there after a download)."""
    names = ", ".join(p.name for p in missing)
    if download_error is not None:
        return DataSourceError(
            f"dataset {dataset!r}: torchvision's download into {directory} did not produce {names} "
            f"({type(download_error).__name__}: {download_error}). Check the network connection "
            f"and free space, or put the files there by hand (layout: {layout})."
        )
    return DataSourceError(
        f"dataset {dataset!r}: raw files not found in {directory} (missing: {names}). "
        f"Provide them with one of: put torchvision's layout ({layout}) under $ALBENCH_DATA_DIR "
        f"or --data-dir, or pass --download (`albench data prepare {dataset} --download`) "
        "to let torchvision fetch them."
    )


def md5_error(
    dataset: str, bad: list[Path], download_error: BaseException | None = None
) -> DataSourceError:
    """The error for raw files whose MD5 differs from torchvision's list."""
    names = ", ".join(p.name for p in bad) + f" in {bad[0].parent}"
    retried = (
        f" torchvision's attempt to download a fresh copy failed too "
        f"({type(download_error).__name__}: {download_error})."
        if download_error is not None
        else ""
    )
    return DataSourceError(
        f"dataset {dataset!r}: MD5 mismatch for {names} (checked against torchvision's list of "
        f"the publisher's checksums): the file is truncated, corrupt, or not the original release."
        f"{retried} Delete it and re-run with --download, or, for re-packaged files you trust, "
        f"turn the check off ({NO_MD5_HINT}); the cache records the sha256 of the files it reads "
        "either way."
    )


def corrupt_error(dataset: str, paths: list[Path], exc: BaseException) -> DataSourceError:
    """The error for raw files that exist but cannot be parsed."""
    names = ", ".join(str(p) for p in paths)
    return DataSourceError(
        f"dataset {dataset!r}: cannot read {names} ({type(exc).__name__}: {exc}); the file is "
        "truncated or not in the expected format. Delete it and re-run with --download, or "
        "replace it with an intact copy."
    )


def open_with_torchvision(
    dataset: str,
    factory: Callable[[], T],
    expected: Mapping[Path, str | None],
    opts: SourceOptions,
    layout: str,
    probe: Callable[[Path], Any],
) -> T:
    """Build a torchvision dataset object, translating its failures into :class:`DataSourceError`.

    Args:
        dataset: albench dataset name (for messages).
        factory: constructs the torchvision dataset (and downloads, if asked).
        expected: every raw file torchvision will read → its publisher MD5.
        opts: the source options (``download``, ``verify_md5``).
        layout: a short description of the expected on-disk layout.
        probe: reads one raw file, raising if it is unreadable; used only to
            name the culprit after a parse failure.

    Returns:
        Whatever ``factory`` returns.
    """
    directory = Path(next(iter(expected))).parent
    missing = [path for path in expected if not path.is_file()]
    if missing and not opts.download:
        raise missing_error(dataset, directory, missing, layout)
    try:
        return factory()
    except DataSourceError:
        raise
    except Exception as exc:  # torchvision: RuntimeError; downloads and parsers: many types
        missing = [path for path in expected if not path.is_file()]
        if missing:
            raise missing_error(dataset, directory, missing, layout, exc) from exc
        if opts.verify_md5:
            from torchvision.datasets.utils import check_md5

            bad = [path for path, md5 in expected.items() if md5 and not check_md5(path, md5)]
            if bad:
                raise md5_error(dataset, bad, exc if opts.download else None) from exc
        raise corrupt_error(dataset, _unreadable(expected, probe), exc) from exc


def _unreadable(paths: Mapping[Path, Any], probe: Callable[[Path], Any]) -> list[Path]:
    """The files ``probe`` fails on (all of them if each reads fine on its own)."""
    bad = []
    for path in paths:
        try:
            probe(path)
        except Exception:
            bad.append(path)
    return bad or list(paths)


def _probe_pickle(path: Path) -> None:
    with open(path, "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    if not isinstance(entry, dict):
        raise ValueError(f"{path} holds a {type(entry).__name__}, not a dict")


def strip_md5(entries: list[list[str]]) -> list[list[str | None]]:
    """A torchvision file list ``[[name, md5], …]`` with every MD5 set to ``None``."""
    return [[name, None] for name, _ in entries]


@functools.cache
def torchvision_class(name: str, verify_md5: bool) -> type:
    """torchvision's CIFAR class for ``name``, or its subclass without MD5 checks.

    ``check_integrity(path, None)`` only tests that the file exists, so a
    subclass whose ``train_list``, ``test_list`` and ``meta`` carry ``md5=None``
    reads synthetic or re-packaged files exactly like the original class.
    """
    from torchvision.datasets import CIFAR10, CIFAR100

    base = {"cifar10": CIFAR10, "cifar100": CIFAR100}[name]
    if verify_md5:
        return base
    return type(
        f"{base.__name__}WithoutMD5",
        (base,),
        {
            "__doc__": f"torchvision's {base.__name__} with its MD5 checks turned off.",
            "train_list": strip_md5(base.train_list),
            "test_list": strip_md5(base.test_list),
            "meta": {**base.meta, "md5": None},
        },
    )


def load_cifar(
    name: str, opts: SourceOptions
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str], list[Path]]:
    """Read both splits of ``cifar10`` or ``cifar100`` through torchvision.

    Returns:
        ``{split: (images (N, 32, 32, 3) uint8, labels (N,) int64)}``, the class
        names, and the raw files read.
    """
    cls = torchvision_class(name, opts.verify_md5)
    base = torchvision_class(name, True)
    root = opts.raw_root()
    folder = root / base.base_folder
    expected = {
        folder / file: md5
        for file, md5 in [
            *base.train_list,
            *base.test_list,
            [base.meta["filename"], base.meta["md5"]],
        ]
    }
    layout = f"{base.base_folder}/ holding " + ", ".join(p.name for p in expected)
    splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    classes: list[str] = []
    for split, train in (("train", True), ("test", False)):
        ds = open_with_torchvision(
            name,
            functools.partial(cls, str(root), train=train, download=opts.download),
            expected,
            opts,
            layout,
            _probe_pickle,
        )
        images = np.asarray(ds.data)  # (N, 32, 32, 3): torchvision transposed from (N, 3, 32, 32)
        labels = np.asarray(ds.targets, dtype=np.int64)  # (N,)
        if images.dtype != np.uint8 or images.shape[1:] != (32, 32, 3):
            raise DataSourceError(
                f"dataset {name!r}: {folder} holds {images.dtype} images of shape "
                f"{images.shape[1:]}, expected uint8 32×32×3"
            )
        splits[split] = (images, labels)
        classes = [str(c) for c in ds.classes]
    return splits, classes, list(expected)


def _prepare(name: str, context: PrepareContext, opts: SourceOptions) -> None:
    splits, classes, files = load_cifar(name, opts)
    for split, (images, labels) in splits.items():
        context.write_split(split, images, labels)
    context.class_names = classes
    cls = torchvision_class(name, True)
    check = "checked against torchvision's MD5 list" if opts.verify_md5 else "MD5 check off"
    context.origin = (
        f"{cls.__name__} python batches in {files[0].parent}, read with "
        f"torchvision.datasets.{cls.__name__} ({check})"
    )
    context.extra_meta["md5_verified"] = opts.verify_md5
    for path in files:
        context.add_source_file(path)


def prepare_cifar10(context: PrepareContext, opts: SourceOptions) -> None:
    """Source of ``cifar10``: 50,000/10,000 images, 10 classes."""
    _prepare("cifar10", context, opts)


def prepare_cifar100(context: PrepareContext, opts: SourceOptions) -> None:
    """Source of ``cifar100``: 50,000/10,000 images, 100 fine classes."""
    _prepare("cifar100", context, opts)


register_dataset(
    DatasetSpec(
        name="cifar10",
        image_shape=(32, 32, 3),
        train_class_counts=(5_000,) * 10,
        summary="CIFAR-10: 50k/10k colour 32x32 images, 10 classes "
        "(torchvision layout in $ALBENCH_DATA_DIR, or --download)",
        prepare=prepare_cifar10,
        hflip=True,
        crop_padding=4,
    )
)
register_dataset(
    DatasetSpec(
        name="cifar100",
        image_shape=(32, 32, 3),
        train_class_counts=(500,) * 100,
        summary="CIFAR-100: 50k/10k colour 32x32 images, 100 fine classes "
        "(torchvision layout in $ALBENCH_DATA_DIR, or --download)",
        prepare=prepare_cifar100,
        hflip=True,
        crop_padding=4,
    )
)
