"""Throughput of albench's trainer against a bare PyTorch loop and a DataLoader pipeline.

Real FashionMNIST (``albench.data.prepare_dataset("fashion_mnist")``), a backbone
(``--model``), CPU. Five measurements, each the median of ``--repeats`` timed runs after
one warm-up run, interleaved so that machine load drifts hit all of them alike:

(a) ``albench.training.train``: on-device tensors, batched crop + flip, seeded
    randperm batches; the training-dynamics recorder off.
(b) A bare loop on the same normalised in-memory tensors with the same model
    and optimizer and *no* augmentation: the limit for (a). Its input is the
    uint8 N×H×W×C array permuted to N×C×H×W, so it carries NHWC strides and
    PyTorch runs the whole network channels-last, as (a) does on purpose
    (``TrainConfig.channels_last``); without that, (a) trains ~15 % slower.
(c) The usual torchvision pipeline, as in the official TiDAL code: a
    ``Dataset`` returning PIL images → RandomCrop(28, padding=4) →
    RandomHorizontalFlip → ToTensor → Normalize, through a ``DataLoader``.
(d) (a) with the recorder on versus off, as an overhead in %: the median of
    per-pair ratios over ``--pairs`` adjacent on/off runs in ABBA order (so
    drifting machine load cancels; a difference of two medians is too noisy
    for a 3 % target on a shared machine), plus the recorder's own cost (softmax
    and update) timed in isolation over the same batches.
(e) (a) with a candidate tracker recording ``--candidates`` unlabeled images
    ``--track-records`` times per run, as label dispersion and the actual-TD
    samplers do, against (b') the bare loop with the same tracking passes written
    by hand (candidates normalised once, eval-mode forward in batches, softmax,
    argmax and running mean). At n = 200 the tracking passes are most of the work
    (2,000 candidates × 20 passes against 200 × 10 training images), so (e) is
    compared with (b'), not with (b).

(a) and (e) include what a cycle's training includes beyond the bare loop: the
upload and padding of the labeled set and the fit pass over it after training.

Targets: (a) ≥ 0.85 × (b), (e) ≥ 0.85 × (b'), (a) ≥ 2 × (c), recorder overhead ≤ 3 %.

Usage: ``python bench/trainer.py [--n 2000 --epochs 3 --repeats 5 --model conv_pool_cnn_8_16]``
and ``--n 200 --epochs 10`` for a first-cycle-sized labeled set.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

from albench.config import TrainConfig
from albench.data import prepare_dataset
from albench.device import configure_determinism
from albench.models.registry import build_model
from albench.training import BatchAugment, CandidateTracker, DynamicsRecorder, Normalization
from albench.training.trainer import TrainHooks, train

MODEL = "conv_pool_cnn_8_16"  # set from --model


def build(seed: int):
    torch.manual_seed(seed)
    return build_model(MODEL, in_channels=1, num_classes=10, image_size=28)


def make_optimizer(model, config: TrainConfig):
    """The bare loop's optimizer: torch.optim.SGD and MultiStepLR, as plain PyTorch code has."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    milestones = list(config.milestones)
    return optimizer, torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, config.gamma)


def run_albench(images, labels, config, augment, record: bool, tracked=None) -> None:
    trackers = []
    if tracked is not None:  # label dispersion / actual TD: record the candidates as it trains
        trackers = [CandidateTracker(tracked, 10, augment, config)]
    hooks = TrainHooks(record_dynamics=record, trackers=trackers, progress=False)
    train(build(0), images, labels, config, augment=augment, seed=1, hooks=hooks)


def run_bare(images, labels, config, norm, tracked=None) -> None:
    """The bare loop; with ``tracked``, plus the hand-written tracking passes (b')."""
    model = build(0).train()
    optimizer, scheduler = make_optimizer(model, config)
    x = norm.apply(torch.from_numpy(images))  # (n, 1, 28, 28)
    y = torch.from_numpy(labels)  # (n,)
    generator = torch.Generator().manual_seed(1)
    schedule = config.schedule(len(x))
    if tracked is not None:
        x_tracked = norm.apply(torch.from_numpy(tracked))  # (n_c, 1, 28, 28), once
        mean_probs, predicted = torch.zeros(len(x_tracked), 10), []
    for epoch in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        for begin in range(0, len(x), config.batch_size):
            idx = order[begin : begin + config.batch_size]
            loss = F.cross_entropy(model(x[idx]).logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        if tracked is not None and schedule.records_after(epoch, config):
            model.eval()
            with torch.no_grad():
                probs = torch.cat(
                    [
                        model(x_tracked[b : b + config.eval_batch_size]).logits.softmax(1)
                        for b in range(0, len(x_tracked), config.eval_batch_size)
                    ]
                )
            model.train()
            mean_probs.add_(probs)
            predicted.append(probs.argmax(1))


class PILDataset(torch.utils.data.Dataset):
    """What torchvision-style AL code does: one PIL image per ``__getitem__``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i, :, :, 0])), int(self.labels[i])


def run_dataloader(images, labels, config, norm, workers: int) -> None:
    model = build(0).train()
    optimizer, scheduler = make_optimizer(model, config)
    transform = transforms.Compose(
        [
            transforms.RandomCrop(28, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(norm.mean, norm.std),
        ]
    )
    loader = torch.utils.data.DataLoader(
        PILDataset(images, labels, transform),
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=workers,
        generator=torch.Generator().manual_seed(1),
    )
    for _ in range(config.epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x).logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()


def recorder_update_seconds(n: int, config: TrainConfig) -> float:
    """Time of the recorder's work alone (softmax + update), for the batches of one full run."""
    recorder = DynamicsRecorder(n, 10)
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(config.batch_size, 10)
    start = time.perf_counter()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, config.batch_size):
            idx = order[begin : begin + config.batch_size]
            recorder.update(idx, logits[: len(idx)].softmax(dim=1), epoch)
    return time.perf_counter() - start


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="training images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method (median)")
    parser.add_argument("--pairs", type=int, default=12, help="recorder on/off pairs for (d)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for (c)")
    parser.add_argument(
        "--model", default="conv_pool_cnn_8_16", help="backbone (albench.models.registry)"
    )
    parser.add_argument(
        "--track-records", type=int, default=20, help="candidate-tracking passes per run in (e)"
    )
    parser.add_argument("--candidates", type=int, default=2000, help="tracked candidates in (e)")
    parser.add_argument(
        "--cache-dir", default=None, help="dataset cache (default resources/datasets)"
    )
    args = parser.parse_args()
    global MODEL
    MODEL = args.model

    dataset = prepare_dataset("fashion_mnist", root=args.cache_dir)
    images = np.array(dataset.train_images[: args.n])  # (n, 28, 28, 1) uint8
    labels = np.array(dataset.train_labels[: args.n])  # (n,)
    norm = Normalization.from_images(images)
    augment = BatchAugment(norm, crop_padding=dataset.crop_padding, hflip=dataset.hflip)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=0.05, track_records=args.track_records
    )
    tracked = np.array(dataset.train_images[args.n : args.n + args.candidates])
    configure_determinism(True, 0)  # what train() sets on CPU; the same flags for every method

    methods = {
        "albench": lambda: run_albench(images, labels, config, augment, record=False),
        "albench+recorder": lambda: run_albench(images, labels, config, augment, record=True),
        "albench+tracker": lambda: run_albench(images, labels, config, augment, False, tracked),
        "bare": lambda: run_bare(images, labels, config, norm),
        "bare+tracking": lambda: run_bare(images, labels, config, norm, tracked),
        "dataloader": lambda: run_dataloader(images, labels, config, norm, args.workers),
    }
    for fn in methods.values():  # warm-up
        fn()
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            seconds[name].append(timed(fn))
    work = args.n * args.epochs
    rate = {name: work / statistics.median(times) for name, times in seconds.items()}
    recorder_s = statistics.median(recorder_update_seconds(args.n, config) for _ in range(5))
    off = statistics.median(seconds["albench"])
    ratios = []
    for pair in range(args.pairs):  # ABBA: on, off, off, on, ...
        order = (
            ("albench+recorder", "albench") if pair % 2 == 0 else ("albench", "albench+recorder")
        )
        times = {name: timed(methods[name]) for name in order}
        ratios.append(times["albench+recorder"] / times["albench"])

    print(
        f"FashionMNIST n={args.n}, epochs={args.epochs}, batch={args.batch_size}, {args.model}, "
        f"CPU threads={torch.get_num_threads()}, median of {args.repeats}, torch {torch.__version__}"
    )
    for name in methods:
        spread = ", ".join(f"{work / t:,.0f}" for t in seconds[name])
        print(f"  {name:<17} {rate[name]:>9,.0f} images/s   (runs: {spread})")
    checks = [
        ("(a) albench / (b) bare loop", rate["albench"] / rate["bare"], ">= 0.85", 0.85),
        (
            "(e) albench+tracker / (b') bare+tracking",
            rate["albench+tracker"] / rate["bare+tracking"],
            ">= 0.85",
            0.85,
        ),
        ("(a) albench / (c) DataLoader", rate["albench"] / rate["dataloader"], ">= 2.00", 2.0),
    ]
    for label, value, target, threshold in checks:
        verdict = "ok" if value >= threshold else "MISSED"
        print(f"  {label:<33} {value:6.2f}x   target {target}  {verdict}")
    overhead = 100 * (statistics.median(ratios) - 1)
    isolated = 100 * recorder_s / off
    spread = ", ".join(f"{100 * (r - 1):+.1f}" for r in sorted(ratios))
    verdict = "ok" if max(overhead, isolated) <= 3 else "MISSED"
    print(f"  (d) recorder overhead             {overhead:+6.2f}%   target <= 3%  {verdict}")
    print(
        f"      median of {args.pairs} on/off pairs (sorted: {spread} %); "
        f"isolated softmax + updates: {isolated:.2f}% of a run"
    )


if __name__ == "__main__":
    main()
