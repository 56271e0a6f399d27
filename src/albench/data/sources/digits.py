"""scikit-learn's bundled 8×8 handwritten digits (UCI optdigits test set): fully offline.

1,797 images with 17 grey levels (0–16), rescaled to uint8 (v·255/16, rounded).
There is no official split: albench holds out a fixed, stratified 30% as the
test set (``sklearn.model_selection.train_test_split``, ``random_state=0``), so
the split never depends on any experiment seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albench.data.base import DatasetSpec, PrepareContext, SourceOptions
from albench.data.registry import register_dataset

TEST_FRACTION = 0.3


def prepare(context: PrepareContext, opts: SourceOptions) -> None:
    import sklearn.datasets
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    index = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        index, test_size=TEST_FRACTION, random_state=0, stratify=labels
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    context.write_split("train", images[train_idx], labels[train_idx])
    context.write_split("test", images[test_idx], labels[test_idx])
    context.class_names = [str(d) for d in range(10)]
    source = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    context.origin = f"scikit-learn bundled data ({source})"
    if source.exists():
        context.add_source_file(source)


register_dataset(
    DatasetSpec(
        name="digits",
        image_shape=(8, 8, 1),
        train_class_counts=(124, 127, 124, 128, 127, 127, 127, 125, 122, 126),
        summary="Digits: scikit-learn's bundled 8x8 handwritten digits, 1,257/540 split, "
        "10 classes (offline; for tests and smoke runs)",
        prepare=prepare,
        hflip=False,
        crop_padding=1,
    )
)
