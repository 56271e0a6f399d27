"""Tiny on-disk fixtures in the exact formats torchvision's dataset classes read.

Every image has a known pixel pattern, so tests can assert exact values:

* CIFAR / SVHN: ``pixel(i, h, w, c) = (i + 2h + 3w + 50c) mod 256`` for image
  *i* of a split (numbered from 0 across the whole split, train batches in
  order). Reading channel-major bytes as NHWC by mistake, or not transposing
  SVHN's H×W×C×N, gives different values.
* iNaturalist / image folders: solid colours per class or per image.

Each writer returns what the prepared cache must contain.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CIFAR10_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def pattern(n: int, start: int = 0) -> np.ndarray:
    """(n, 32, 32, 3) uint8 with pixel (i, h, w, c) = (start + i + 2h + 3w + 50c) mod 256."""
    i = np.arange(start, start + n)[:, None, None, None]
    h = np.arange(32)[None, :, None, None]
    w = np.arange(32)[None, None, :, None]
    c = np.arange(3)[None, None, None, :]
    return ((i + 2 * h + 3 * w + 50 * c) % 256).astype(np.uint8)


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    """NHWC → the python batches' N×3072 rows (1,024 R bytes, then G, then B)."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), 3072)


def _pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=2)


@dataclass(frozen=True)
class Expected:
    """What a prepared cache must hold."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: list[str]
    files: list[Path]


def write_cifar10(root: Path, per_batch: int = 2, n_test: int = 4) -> Expected:
    """``root/cifar-10-batches-py/`` with 5 train batches, ``test_batch`` and ``batches.meta``.

    Train image *i* has label ``(3 i + 1) mod 10``, test image *j* label ``(9 − j) mod 10``.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    n_train = 5 * per_batch
    train = pattern(n_train)
    train_labels = (3 * np.arange(n_train) + 1) % 10
    files = []
    for b in range(5):
        part = slice(b * per_batch, (b + 1) * per_batch)
        path = folder / f"data_batch_{b + 1}"
        _pickle(
            path,
            {
                "batch_label": f"training batch {b + 1} of 5",
                "labels": train_labels[part].tolist(),
                "data": _cifar_rows(train[part]),
                "filenames": [f"img_{i}.png" for i in range(part.start, part.stop)],
            },
        )
        files.append(path)
    test = pattern(n_test, start=100)
    test_labels = (9 - np.arange(n_test)) % 10
    _pickle(
        folder / "test_batch",
        {
            "batch_label": "testing batch 1 of 1",
            "labels": test_labels.tolist(),
            "data": _cifar_rows(test),
            "filenames": [f"test_{j}.png" for j in range(n_test)],
        },
    )
    _pickle(
        folder / "batches.meta",
        {"num_cases_per_batch": per_batch, "label_names": CIFAR10_NAMES, "num_vis": 3072},
    )
    files += [folder / "test_batch", folder / "batches.meta"]
    return Expected(train, train_labels, test, test_labels, list(CIFAR10_NAMES), files)


def write_cifar100(root: Path, n_train: int = 6, n_test: int = 3) -> Expected:
    """``root/cifar-100-python/{train,test,meta}``; fine label of train image *i* is ``99 − 7i``."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    fine_names = [f"fine_{k:02d}" for k in range(100)]
    coarse_names = [f"coarse_{k:02d}" for k in range(20)]
    train = pattern(n_train, start=7)
    train_labels = 99 - 7 * np.arange(n_train)
    test = pattern(n_test, start=200)
    test_labels = 5 * np.arange(n_test)
    for name, images, labels in (("train", train, train_labels), ("test", test, test_labels)):
        _pickle(
            folder / name,
            {
                "filenames": [f"{name}_{i}.png" for i in range(len(images))],
                "batch_label": f"{name} batch",
                "fine_labels": labels.tolist(),
                "coarse_labels": (labels // 5).tolist(),
                "data": _cifar_rows(images),
            },
        )
    _pickle(folder / "meta", {"fine_label_names": fine_names, "coarse_label_names": coarse_names})
    files = [folder / "train", folder / "test", folder / "meta"]
    return Expected(train, train_labels, test, test_labels, fine_names, files)


def write_svhn(root: Path, n_train: int = 12, n_test: int = 5) -> Expected:
    """``root/train_32x32.mat`` and ``test_32x32.mat``: X is 32×32×3×N, y is N×1 with 10 for 0.

    Train image *i* shows digit ``i mod 10``, test image *j* digit ``(j + 5) mod 10``.
    """
    import scipy.io

    root.mkdir(parents=True, exist_ok=True)
    train, test = pattern(n_train, start=3), pattern(n_test, start=60)
    train_digits = np.arange(n_train) % 10
    test_digits = (np.arange(n_test) + 5) % 10
    files = []
    for name, images, digits in (("train", train, train_digits), ("test", test, test_digits)):
        raw = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]  # (N, 1)
        path = root / f"{name}_32x32.mat"
        scipy.io.savemat(path, {"X": np.ascontiguousarray(images.transpose(1, 2, 3, 0)), "y": raw})
        files.append(path)
    return Expected(train, train_digits, test, test_digits, [str(d) for d in range(10)], files)


# iNaturalist 2018 --------------------------------------------------------------------------
# Category id → (super category, name, colour of its images). Id 1 has a folder but no
# images and is not in the annotation files' categories list, so ids {0, 2, 3} must map to
# labels {0, 1, 2}. The categories are listed out of id order.
INAT_CATEGORIES = {
    3: ("Aves", "Parus major", (20, 200, 40)),
    0: ("Plantae", "Bellis perennis", (250, 10, 10)),
    2: ("Aves", "Pica pica", (10, 10, 250)),
}
INAT_EMPTY_CATEGORY = (1, "Plantae")
INAT_TRAIN_PER_CATEGORY = {0: 3, 2: 2, 3: 4}
INAT_VAL_PER_CATEGORY = {0: 1, 2: 1, 3: 2}
INAT_IMAGE_SIZE = (48, 32)  # width, height of the JPEGs


def write_inat2018(root: Path, with_categories_file: bool = False) -> Expected:
    """``root/2018/<super>/<id>/<file>.jpg`` plus ``train2018.json`` and ``val2018.json``.

    Images are solid-colour JPEGs (one colour per category, so decoding error is
    at most a few grey levels); ``file_name`` uses the official
    ``train_val2018/`` prefix. With ``with_categories_file``, a
    ``categories.json`` with different (un-obfuscated) names is written too.
    """
    from PIL import Image

    images_dir = root / "2018"
    empty_id, empty_super = INAT_EMPTY_CATEGORY
    (images_dir / empty_super / str(empty_id)).mkdir(parents=True)
    label_of = {cid: k for k, cid in enumerate(sorted(INAT_CATEGORIES))}
    categories = [
        {
            "id": cid,
            "name": f"obfuscated_{cid}",
            "supercategory": sup,
            "kingdom": "k",
            "phylum": "p",
            "class": "c",
            "order": "o",
            "family": "f",
            "genus": "g",
        }
        for cid, (sup, _, _) in INAT_CATEGORIES.items()
    ]
    expected: dict[str, tuple[list[tuple[int, int, int]], list[int]]] = {}
    files = []
    image_id = 1000
    for split, counts, json_name in (
        ("train", INAT_TRAIN_PER_CATEGORY, "train2018.json"),
        ("val", INAT_VAL_PER_CATEGORY, "val2018.json"),
    ):
        images, annotations, colours, labels = [], [], [], []
        # Interleave categories so the JSON order differs from the folder order.
        order = [(cid, n) for cid in (3, 0, 2) for n in range(counts[cid])]
        order.sort(key=lambda item: (item[1], item[0]))
        for cid, n in order:
            sup, _, colour = INAT_CATEGORIES[cid]
            folder = images_dir / sup / str(cid)
            folder.mkdir(parents=True, exist_ok=True)
            file = f"{split}_{cid}_{n}.jpg"
            Image.new("RGB", INAT_IMAGE_SIZE, colour).save(folder / file, quality=95)
            images.append(
                {
                    "id": image_id,
                    "file_name": f"train_val2018/{sup}/{cid}/{file}",
                    "width": INAT_IMAGE_SIZE[0],
                    "height": INAT_IMAGE_SIZE[1],
                    "license": 1,
                    "rights_holder": "fixture",
                }
            )
            annotations.append({"id": image_id + 5, "image_id": image_id, "category_id": cid})
            colours.append(colour)
            labels.append(label_of[cid])
            image_id += 1
        content = {
            "info": {"year": 2018, "version": "fixture", "description": "albench test fixture"},
            "images": images,
            "categories": categories,
            "annotations": annotations,
            "licenses": [{"id": 1, "name": "fixture", "url": ""}],
        }
        (root / json_name).write_text(json.dumps(content))
        files.append(root / json_name)
        expected[split] = (colours, labels)
    names = [f"obfuscated_{cid}" for cid in sorted(INAT_CATEGORIES)]
    if with_categories_file:
        real = [{"id": cid, "name": INAT_CATEGORIES[cid][1]} for cid in INAT_CATEGORIES]
        (root / "categories.json").write_text(json.dumps(real))
        files.append(root / "categories.json")
        names = [INAT_CATEGORIES[cid][1] for cid in sorted(INAT_CATEGORIES)]

    def solid(colours: list[tuple[int, int, int]]) -> np.ndarray:
        return np.asarray(colours, dtype=np.uint8)  # (n, 3): the colour of each image

    return Expected(
        solid(expected["train"][0]),
        np.asarray(expected["train"][1]),
        solid(expected["val"][0]),
        np.asarray(expected["val"][1]),
        names,
        files,
    )


# Image folders -----------------------------------------------------------------------------
FOLDER_COLOURS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "emu": (30, 30, 200)}


def write_image_folder(
    root: Path,
    per_class: int = 5,
    size: tuple[int, int] = (40, 20),
    classes: tuple[str, ...] = ("cat", "dog", "emu"),
) -> dict[str, list[tuple[int, int, int]]]:
    """``root/<class>/img_<k>.png`` (PIL PNGs, lossless): image *k* of a class is split in three.

    Each image is ``size`` = (width, height) with width > height: the left and
    right quarters are black and white, the centre half is the class colour with
    its red channel raised by 4·k. A centre crop to a square keeps only the
    class-coloured middle, so after resizing every pixel equals that colour.

    Returns:
        class → list of the centre colours of its images, in file order.
    """
    from PIL import Image

    width, height = size
    centre: dict[str, list[tuple[int, int, int]]] = {}
    for name in classes:
        colour = FOLDER_COLOURS[name]
        (root / name).mkdir(parents=True)
        centre[name] = []
        for k in range(per_class):
            rgb = (colour[0] + 4 * k, colour[1], colour[2])
            pixels = np.zeros((height, width, 3), dtype=np.uint8)  # (H, W, 3)
            pixels[:, : width // 4] = 0
            pixels[:, 3 * width // 4 :] = 255
            pixels[:, width // 4 : 3 * width // 4] = rgb
            Image.fromarray(pixels).save(root / name / f"img_{k}.png")
            centre[name].append(rgb)
    (root / classes[0] / "notes.txt").write_text("not an image")
    return centre
