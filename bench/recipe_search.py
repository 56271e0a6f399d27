"""Choose the default CPU training recipe on a validation split carved from the training data.

The test set is never read. From FashionMNIST's 60,000 training images a seeded,
class-stratified 10,000 are held out as the validation set; the remaining 50,000
are the search pool, from which a balanced (IR 1) and a long-tailed (IR 10, the
default run's ``exp`` profile) pool are cut exactly as ``albench.pools`` does. For
every recipe, imbalance ratio, seed and labeled-set size, a random labeled set of
that size (one image per class reserved, like the default initial set) trains a
freshly initialised model with :func:`albench.training.train`, and the script
records validation accuracy and balanced accuracy, the eval-mode fit on the
labeled set (``fit_accuracy``), steps and CPU seconds.

Recipes are named (``--recipes``); each is a model plus a partial ``train:``
mapping over :data:`BASE`. The built-in set answers the question "which of model,
augmentation strength or schedule explains the gap to the independent
implementation" one factor at a time, and ends with the chosen default:

==================  =====================================================================
``old``             the previous default: small_cnn, 10 epochs, batch 64, lr 0.05, pad 4, flip
``old_pad2``        ``old`` with crop padding 2 (the independent implementation's)
``old_convpool``    ``old`` with the conv + max-pool CNN (32/64 channels)
``old_steps``       ``old`` trained for at least 400 steps (``min_steps``)
``independent``     conv + max-pool CNN and padding 2 (the independent implementation)
``default``         the chosen default (``config/config.yaml``)
``reference10``     the all-data reference of the default config (whole search pool)
``reference20``     the same trained twice as long (is 10 epochs converged?); these two
                    run only when named, e.g. ``--recipes reference10 reference20 --seeds 0``
==================  =====================================================================

Usage::

    python bench/recipe_search.py                         # every built-in recipe, 3 seeds
    python bench/recipe_search.py --recipes old default --seeds 0 1 2 --sizes 200 1000
    python bench/recipe_search.py --recipe-json '{"name": "x", "model": "conv_pool_cnn_8_16",
        "train": {"epochs": 20, "min_steps": 300}}'

Prints one line per training (to stderr) and a summary table (mean ± sd over seeds);
``--out file.csv`` keeps every row. About 3 CPU seconds per training at 1 thread for
the default recipe; the full built-in search is ~15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time

import numpy as np
import torch

from albench.config import TrainConfig
from albench.data import prepare_dataset
from albench.data.cache import channel_stats
from albench.models.registry import build_model
from albench.pools import long_tailed_counts
from albench.training import BatchAugment, Normalization
from albench.training.evaluate import predict
from albench.training.trainer import TrainHooks, train

BASE = {"epochs": 10, "batch_size": 64, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}
RECIPES: dict[str, dict] = {
    "old": {"model": "small_cnn", "train": {"milestones": [8], "crop_padding": 4, "hflip": True}},
    "old_pad2": {
        "model": "small_cnn",
        "train": {"milestones": [8], "crop_padding": 2, "hflip": True},
    },
    "old_convpool": {
        "model": "conv_pool_cnn",
        "train": {"milestones": [8], "crop_padding": 4, "hflip": True},
    },
    "old_steps": {
        "model": "small_cnn",
        "train": {"milestones": [8], "crop_padding": 4, "hflip": True, "min_steps": 400},
    },
    "independent": {
        "model": "conv_pool_cnn",
        "train": {"milestones": [8], "crop_padding": 2, "hflip": True},
    },
    "default": {
        "model": "conv_pool_cnn_8_16",
        "train": {
            "epochs": 50,
            "min_steps": 400,
            "lr": 0.02,
            "milestones": [40],
            "crop_padding": 1,
            "hflip": False,
        },
    },
}
# The all-data reference: the whole search pool (``full_pool``), not a labeled subset.
REFERENCE = {"model": "conv_pool_cnn_8_16", "full_pool": True}
REFERENCE_TRAIN = {"batch_size": 128, "lr": 0.05, "crop_padding": 1, "hflip": False}
RECIPES["reference10"] = {
    **REFERENCE,
    "train": {**REFERENCE_TRAIN, "epochs": 10, "milestones": [8]},
}
RECIPES["reference20"] = {
    **REFERENCE,
    "train": {**REFERENCE_TRAIN, "epochs": 20, "milestones": [16]},
}
SEARCH = [name for name in RECIPES if not RECIPES[name].get("full_pool")]
VALIDATION_SIZE = 10_000


def split_validation(labels: np.ndarray, size: int, seed: int = 12345):
    """Class-stratified, seeded split of the training indices: (search pool, validation)."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = size // len(classes)
    pool, val = [], []
    for c in classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        val.append(idx[:per_class])
        pool.append(idx[per_class:])
    return np.sort(np.concatenate(pool)), np.sort(np.concatenate(val))


def long_tailed_pool(pool: np.ndarray, labels: np.ndarray, ratio: float, seed: int) -> np.ndarray:
    """The first n_c (seeded order) of class c, n_c from albench's ``exp`` profile."""
    rng = np.random.default_rng([seed, 1])
    classes = np.unique(labels[pool])
    n_max = min(int((labels[pool] == c).sum()) for c in classes)
    counts = long_tailed_counts(n_max, len(classes), ratio, "exp")
    kept = [
        rng.permutation(pool[labels[pool] == c])[:n] for c, n in zip(classes, counts, strict=True)
    ]
    return np.sort(np.concatenate(kept))


def labeled_set(pool: np.ndarray, labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """One seeded image per class, the rest uniformly from the pool (nested over sizes)."""
    rng = np.random.default_rng([seed, 2])
    order = rng.permutation(pool)
    reserved = [order[labels[order] == c][0] for c in np.unique(labels[pool])]
    rest = order[~np.isin(order, reserved)]
    return np.concatenate([reserved, rest[: size - len(reserved)]])


def run_one(recipe: dict, data, norm, idx, val_idx, seed: int) -> dict:
    train_cfg = TrainConfig(**{**BASE, **recipe["train"]})
    torch.manual_seed(seed)
    images = data.train_images
    model = build_model(recipe["model"], images.shape[-1], data.num_classes, images.shape[1])
    augment = BatchAugment.for_schedule(norm, train_cfg.crop_padding, train_cfg.hflip, data)
    cpu0 = time.process_time()
    result = train(
        model,
        np.asarray(images[idx]),
        np.asarray(data.train_labels[idx]),
        train_cfg,
        augment=augment,
        seed=seed,
        hooks=TrainHooks(progress=False),
    )
    cpu = time.process_time() - cpu0
    logits, _ = predict(model, np.asarray(images[val_idx]), norm, 1024)
    pred = logits.argmax(1).numpy()
    truth = np.asarray(data.train_labels[val_idx])
    per_class = [np.mean(pred[truth == c] == c) for c in np.unique(truth)]
    return {
        "val_accuracy": float(np.mean(pred == truth)),
        "val_balanced_accuracy": float(np.mean(per_class)),
        "fit_accuracy": result.fit_accuracy,
        "fit_loss": result.fit_loss,
        "steps": result.steps,
        "epochs": result.epochs,
        "cpu_s": cpu,
    }


def summarise(rows: list[dict]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["recipe"], row["ir"], row["size"]), []).append(row)
    lines = [
        f"{'recipe':<14}{'IR':>4}{'labels':>8}{'val acc %':>16}{'min fit':>9}"
        f"{'steps':>7}{'cpu s':>7}{'n':>3}"
    ]
    for (recipe, ir, size), group in groups.items():
        acc = np.array([r["val_accuracy"] for r in group]) * 100
        sd = acc.std(ddof=1) if len(acc) > 1 else 0.0
        lines.append(
            f"{recipe:<14}{ir:>4g}{size:>8}{acc.mean():>10.1f} ± {sd:<4.1f}"
            f"{min(r['fit_accuracy'] for r in group):>9.3f}{group[0]['steps']:>7}"
            f"{np.mean([r['cpu_s'] for r in group]):>7.1f}{len(group):>3}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=SEARCH, choices=list(RECIPES))
    parser.add_argument("--recipe-json", action="append", default=[], help="extra recipe")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--sizes", nargs="+", type=int, default=[200, 600, 1000])
    parser.add_argument("--ratios", nargs="+", type=float, default=[1.0, 10.0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument("--out", help="write every row to this CSV")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    recipes = [{"name": name, **RECIPES[name]} for name in args.recipes]
    recipes += [json.loads(text) for text in args.recipe_json]
    data = prepare_dataset("fashion_mnist")
    labels = np.asarray(data.train_labels)
    search_pool, val_idx = split_validation(labels, VALIDATION_SIZE)
    stats = channel_stats(np.asarray(data.train_images[search_pool]))
    norm = Normalization(stats["mean"], stats["std"])
    rows = []
    for recipe in recipes:
        for ratio in args.ratios:
            for seed in args.seeds:
                pool = long_tailed_pool(search_pool, labels, ratio, seed)
                for size in [len(pool)] if recipe.get("full_pool") else args.sizes:
                    idx = pool if recipe.get("full_pool") else labeled_set(pool, labels, size, seed)
                    row = {"recipe": recipe["name"], "ir": ratio, "seed": seed, "size": size}
                    row |= run_one(recipe, data, norm, idx, val_idx, seed)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    print(summarise(rows))
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
