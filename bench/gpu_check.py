"""Device check: what a GPU machine should run once before trusting albench on it.

No GPU was available to the project, so the CUDA paths were checked by reading and by
CPU probes only. This script measures, on the device given, what those probes could not:

1. provenance: the hardware fields every ``metrics.json`` records;
2. host synchronisations per training batch: ``aten._local_scalar_dense`` calls (every
   ``.item()``, ``bool(tensor)``, ``.tolist()``) counted by a dispatch mode over a real
   :func:`albench.training.train` call of 2 and of 4 epochs, so the per-batch figure is the
   difference; on CUDA, ``torch.cuda.set_sync_debug_mode("warn")`` also reports the syncs
   that are not scalar reads (e.g. pageable copies);
3. determinism: the same training twice with the same seed, byte-compared weights;
4. peak memory of ``BatchAugment.prepare`` for ``--prepare-n`` CIFAR-sized images (CUDA:
   the allocator's peak; CPU: the growth of the process's peak RSS), against the bytes of
   its output;
5. one ``run_cycle`` on the offline digits set for every registered sampler;
6. trainer throughput against a bare loop, ResNet-18 at 32×32 (the trainer's figure
   includes what a cycle's training includes: uploading and padding the labeled set,
   augmentation and the fit pass after the last epoch).

Usage::

    python bench/gpu_check.py --device cuda            # on a GPU node, a few minutes
    python bench/gpu_check.py --device cpu --quick     # CI: keeps the script working

Prints one section per check and exits non-zero if a check fails (a sampler's cycle, the
determinism comparison, or syncs that grow with the number of batches).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from albench.config import Config, TrainConfig
from albench.cycle import CycleRequest, run_cycle
from albench.data import prepare_dataset
from albench.models.registry import build_model
from albench.pools import build_pool, initial_labeled_set
from albench.provenance import hardware
from albench.samplers import get_sampler_class, sampler_names
from albench.sync_count import HostSyncCounter
from albench.training import BatchAugment, Normalization
from albench.training import trainer as trainer_module
from albench.training.trainer import TrainHooks, train


def _images(n: int, size: int, channels: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _train(
    device, epochs: int, n: int, record: bool, amp_dtype: str = "auto"
) -> tuple[int, int, bytes, str]:
    torch.manual_seed(0)
    model = build_model("small_cnn", 3, 10, 32).to(device)
    images, labels = _images(n, 32, 3), np.arange(n) % 10
    norm = Normalization((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    config = TrainConfig(
        epochs=epochs, batch_size=32, lr=0.05, milestones=(epochs,), amp_dtype=amp_dtype
    )
    with HostSyncCounter() as counter:
        result = train(
            model,
            images,
            labels,
            config,
            augment=BatchAugment(norm),
            seed=1,
            hooks=TrainHooks(record_dynamics=record, progress=False),
        )
    weights = b"".join(p.detach().cpu().numpy().tobytes() for p in model.state_dict().values())
    return counter.count, result.steps, weights, result.amp_dtype


def check_syncs(device) -> bool:
    print("\n[2] host syncs per training batch (albench.sync_count.HostSyncCounter)")
    ok = True
    # The final-epoch progress line's reads are counted; the timed ones (every
    # LOG_EVERY_S seconds) would make the counts depend on the machine's speed.
    trainer_module.LOG_EVERY_S = float("inf")
    # auto = what a run uses on this device; fp16 = the GradScaler path; bf16 = no scaler.
    # On a CPU, forced fp16/bf16 convolutions are slow: one batch per epoch there.
    for amp_dtype in ("auto", "fp16", "bf16"):
        n = 256 if device.type == "cuda" or amp_dtype == "auto" else 32
        for record in (False, True):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if device.type == "cuda":
                    torch.cuda.set_sync_debug_mode("warn")
                try:
                    short, steps_short, _, used = _train(device, 2, n, record, amp_dtype)
                    long, steps_long, _, _ = _train(device, 4, n, record, amp_dtype)
                finally:
                    if device.type == "cuda":
                        torch.cuda.set_sync_debug_mode("default")
            per_batch = (long - short) / (steps_long - steps_short)
            label = f"{amp_dtype} ({used}), " + ("TiDAL recorder" if record else "plain")
            print(
                f"  {label:<28} {short} syncs in {steps_short} steps, {long} in {steps_long}: "
                f"{per_batch:.2f} per extra batch; sync-debug warnings: {len(caught)}"
            )
            ok &= per_batch == 0  # a per-batch (or per-epoch) read would stall the GPU
    return ok


def check_determinism(device) -> bool:
    print("\n[3] determinism: the same training twice")
    _, _, first, _ = _train(device, 2, 128, True)
    _, _, second, _ = _train(device, 2, 128, True)
    same = first == second
    print(f"  weights byte-identical: {same} ({len(first):,} bytes)")
    return same


def check_prepare_memory(device, n: int) -> None:
    print(f"\n[4] peak memory of BatchAugment.prepare, {n:,} images of 32x32x3")
    images = _images(n, 32, 3)
    augment = BatchAugment(Normalization((0.5,) * 3, (0.25,) * 3), crop_padding=4)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = augment.prepare(images, device, channels_last=True)
    output_bytes = out.numel() * out.element_size()
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) - base
        kind = "allocator peak"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
        kind = "peak-RSS growth (coarse: 0 when an earlier step peaked higher)"
    print(f"  output {output_bytes / 2**20:,.1f} MiB; {kind} {peak / 2**20:,.1f} MiB")
    print(f"  ratio peak / output: {peak / output_bytes:.2f}")


def check_samplers(device, work: Path) -> bool:
    print("\n[5] one run_cycle on digits per sampler")
    cache = work / "cache"
    data = prepare_dataset("digits", root=cache)
    pool = build_pool(
        data.train_labels,
        num_classes=10,
        imbalance_ratio=10,
        seed=0,
        dataset="digits",
        data_hash=data.data_hash,
    )
    pool.save(work / "pool.json")
    initial_labeled_set(pool, data.train_labels, size=30, seed=0).save(work / "initial.json")
    params = {n: get_sampler_class(n).quick_params for n in sampler_names()}
    config = Config.from_dict(
        {
            "experiment": "gpu-check",
            "cache_dir": str(cache),
            "device": str(device),
            "datasets": {
                "digits": {
                    "imbalance_ratios": [10],
                    "initial": {"size": 30},
                    "model": "small_cnn",
                    "cycles": 2,
                    "budget": 10,
                    "subset": 200,
                    "train": {"epochs": 2, "batch_size": 16, "lr": 0.05, "milestones": [1]},
                }
            },
            "sampler_params": {n: p for n, p in params.items() if p},
        }
    )
    ok = True
    for name in sampler_names():
        start = time.perf_counter()
        try:
            metrics = run_cycle(
                CycleRequest(
                    config=config,
                    dataset="digits",
                    imbalance_ratio=10.0,
                    sampler=name,
                    seed=0,
                    cycle=0,
                    pool_path=work / "pool.json",
                    labeled_path=work / "initial.json",
                    out_dir=work / name,
                    progress=False,
                )
            )
            status = f"ok, test accuracy {metrics['test']['accuracy']:.3f}"
        except Exception as exc:  # report every sampler, then fail
            status, ok = f"FAILED: {type(exc).__name__}: {exc}", False
        print(f"  {name:<20} {time.perf_counter() - start:5.1f} s  {status}")
    return ok


def check_throughput(device, n: int, epochs: int) -> None:
    print(f"\n[6] trainer vs bare loop, resnet18 at 32x32, n={n}, {epochs} epoch(s)")
    images, labels = _images(n, 32, 3), np.arange(n) % 10
    norm = Normalization((0.5,) * 3, (0.25,) * 3)
    config = TrainConfig(epochs=epochs, batch_size=128, lr=0.1, milestones=(epochs,), amp=False)

    def albench_run() -> None:
        torch.manual_seed(0)
        model = build_model("resnet18", 3, 10, 32).to(device)
        augment = BatchAugment(norm)
        train(
            model, images, labels, config, augment=augment, seed=1, hooks=TrainHooks(progress=False)
        )

    def bare_run() -> None:
        torch.manual_seed(0)
        model = build_model("resnet18", 3, 10, 32).to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        x = norm.apply(torch.from_numpy(images).to(device))
        y = torch.from_numpy(labels).to(device)
        for _ in range(epochs):
            for begin in range(0, n, 128):
                loss = F.cross_entropy(model(x[begin : begin + 128]).logits, y[begin : begin + 128])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    times = {}
    for name, fn in (("albench", albench_run), ("bare", bare_run)):
        fn()  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times[name] = time.perf_counter() - start
        print(f"  {name:<8} {n * epochs / times[name]:,.0f} images/s")
    print(f"  albench / bare: {times['bare'] / times['albench']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="small sizes (CI on a CPU)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"gpu_check: --device {args.device} but torch sees no CUDA device", file=sys.stderr)
        return 2
    print(f"gpu_check on {device}, torch {torch.__version__} (CUDA {torch.version.cuda})")
    print("\n[1] provenance hardware fields")
    print("  " + json.dumps(hardware(device), sort_keys=True))
    ok = check_syncs(device)
    ok &= check_determinism(device)
    check_prepare_memory(device, 2_000 if args.quick else 50_000)
    with tempfile.TemporaryDirectory() as work:
        ok &= check_samplers(device, Path(work))
    # --quick keeps the script working on a CPU: ResNet-18 there runs ~30 images/s.
    check_throughput(device, 64 if args.quick else 10_000, 1 if args.quick else 2)
    print("\ngpu_check:", "all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
