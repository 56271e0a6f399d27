"""SVHN (Netzer et al., NIPS-W 2011): Street View House Numbers, cropped 32×32 digits.

73,257 train and 26,032 test images, 10 classes; the 531,131-image ``extra``
set is not used. Read through :class:`torchvision.datasets.SVHN` with
``root = opts.raw_root()`` (``--data-dir``, else ``$ALBENCH_DATA_DIR``, else
``resources/raw``), i.e. torchvision's layout, the two MATLAB files directly in
the root::

    <root>/train_32x32.mat   <root>/test_32x32.mat

``--download`` lets torchvision fetch them. With ``verify_md5=False`` albench
uses a subclass whose ``split_list`` carries ``md5=None`` (torchvision then
only checks that the file exists).

The ``.mat`` files hold ``X`` as H×W×C×N uint8 and ``y`` as N×1 with the label
10 for the digit 0. torchvision maps 10 → 0 (so label *k* is digit *k*) and
transposes ``X`` to N×C×H×W; albench transposes that to the cache's N×H×W×C.
Class names are the digits "0".."9". Horizontal flips are off: a mirrored
house number is not the same digit.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from albench.data.base import DatasetSpec, DataSourceError, PrepareContext, SourceOptions
from albench.data.registry import register_dataset
from albench.data.sources.cifar import missing_error, open_with_torchvision

CLASS_NAMES = [str(d) for d in range(10)]
SPLITS = ("train", "test")


@functools.cache
def torchvision_class(verify_md5: bool) -> type:
    """torchvision's SVHN, or its subclass whose ``split_list`` carries no MD5s."""
    from torchvision.datasets import SVHN

    if verify_md5:
        return SVHN
    return type(
        "SVHNWithoutMD5",
        (SVHN,),
        {
            "__doc__": "torchvision's SVHN with its MD5 checks turned off.",
            "split_list": {k: [url, file, None] for k, (url, file, _) in SVHN.split_list.items()},
        },
    )


def _probe_mat(path: Path) -> None:
    import scipy.io

    content = scipy.io.loadmat(path)
    if "X" not in content or "y" not in content:
        raise KeyError(f"{path} has no 'X'/'y' arrays")


def load_svhn(opts: SourceOptions) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[Path]]:
    """Read the train and test splits through torchvision.

    Returns:
        ``{split: (images (N, 32, 32, 3) uint8, labels (N,) int64 in 0..9)}`` and
        the raw files read.
    """
    base = torchvision_class(True)
    cls = torchvision_class(opts.verify_md5)
    root = opts.raw_root()
    expected = {root / base.split_list[s][1]: base.split_list[s][2] for s in SPLITS}
    layout = "train_32x32.mat and test_32x32.mat directly in the data directory"
    missing = [path for path in expected if not path.is_file()]
    if missing and not opts.download:
        raise missing_error("svhn", root, missing, layout)
    splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split in SPLITS:
        path = root / base.split_list[split][1]
        ds = open_with_torchvision(
            "svhn",
            functools.partial(cls, str(root), split=split, download=opts.download),
            {path: expected[path]},
            opts,
            layout,
            _probe_mat,
        )
        # torchvision transposed the .mat's (32, 32, 3, N) to (N, 3, 32, 32).
        data = np.asarray(ds.data)  # (N, 3, 32, 32)
        if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1] != 3:
            raise DataSourceError(
                f"dataset 'svhn': {path} holds {data.dtype} images of shape {data.shape}, "
                "expected uint8 N×3×32×32 after torchvision's transpose"
            )
        images = np.ascontiguousarray(data.transpose(0, 2, 3, 1))  # (N, 32, 32, 3)
        labels = np.asarray(ds.labels, dtype=np.int64).reshape(-1)  # (N,), 10 already mapped to 0
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            raise DataSourceError(
                f"dataset 'svhn': {path} has labels {labels.min()}..{labels.max()} after "
                "torchvision's 10 → 0 mapping; valid raw labels are 1..10"
            )
        splits[split] = (images, labels)
    return splits, list(expected)


def prepare(context: PrepareContext, opts: SourceOptions) -> None:
    """Source of ``svhn``: train and test splits, digits 0–9."""
    splits, files = load_svhn(opts)
    for split, (images, labels) in splits.items():
        context.write_split(split, images, labels)
    context.class_names = list(CLASS_NAMES)
    check = "checked against torchvision's MD5 list" if opts.verify_md5 else "MD5 check off"
    context.origin = (
        f"SVHN cropped-digit .mat files in {files[0].parent}, read with "
        f"torchvision.datasets.SVHN ({check}; label 10 mapped to digit 0)"
    )
    context.extra_meta["md5_verified"] = opts.verify_md5
    for path in files:
        context.add_source_file(path)


register_dataset(
    DatasetSpec(
        name="svhn",
        image_shape=(32, 32, 3),
        train_class_counts=(4_948, 13_861, 10_585, 8_497, 7_458, 6_882, 5_727, 5_595, 5_045, 4_659),
        summary="SVHN: 73k/26k colour 32x32 house-number digits, 10 classes, no flips "
        "(torchvision layout in $ALBENCH_DATA_DIR, or --download)",
        prepare=prepare,
        hflip=False,
        crop_padding=4,
    )
)
