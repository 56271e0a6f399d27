"""GPU slots for local runs: how many GPU jobs may run at once, and which GPU each one uses.

On one machine Snakemake enforces the ``gpu`` resource of the training rules only under a
global limit, and it never assigns devices: ``snakemake --cores all`` on a GPU workstation
would start one job per core, all on ``cuda:0``. Two halves fix that:

- **The limit**, computed when the workflow is parsed (torch-free: the workflow must parse
  in a second and on hosts without PyTorch): :func:`visible_gpu_count` counts the GPUs
  from ``CUDA_VISIBLE_DEVICES`` and ``nvidia-smi -L``, and :func:`local_gpu_limit` turns
  the config into ``GPUs × gpu_slots_per_device``, or None when the jobs will not use a GPU
  (no GPU found, ``device: cpu``), so a CPU-only machine keeps running one job per core.
- **The slots**, taken by each job (:func:`assign_device`): N = visible devices ×
  slots per device lock files in a run-local folder; a job takes one with ``flock`` and
  holds it until its process ends. The kernel drops a dead process's ``flock``, so a job
  killed with SIGKILL frees its slot without any cleanup; a job that finds every slot taken
  waits (with a log line now and then) instead of crowding a GPU. Slot ``k`` runs on
  ``cuda:<k // slots_per_device>`` (an ordinal among the visible devices; its physical id
  is that entry of ``CUDA_VISIBLE_DEVICES``). Free slots are tried one device after the
  other (slot 0 of every device before slot 1 of any), so two jobs on two GPUs get one each.

Jobs take slots only when the workflow asked for them (:data:`SLOTS_DIR_ENV`, set for
local runs that have a GPU limit) and only when the device resolved to bare ``cuda`` and
there is more than one slot. A CPU run, an explicit ``cuda:N``, a SLURM job (its
allocation chooses the GPU) and a hand-run ``albench cycle`` are left as they were.
"""

from __future__ import annotations

import fcntl
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

SLOTS_DIR_ENV = "ALBENCH_GPU_SLOTS_DIR"  # the lock folder; set by the workflow for its jobs
DEVICE_ENV = "ALBENCH_DEVICE"  # = albench.device.ENV_DEVICE (that module imports torch)
SLOTS_DIR = Path(".snakemake") / "albench" / "gpu-slots"  # + /<hostname>, under the workdir
POLL_S = 5.0
LOG_EVERY_POLLS = 12  # one "waiting" line per minute at the default poll interval


# ----------------------------------------------------------------------------- the limit


def visible_devices(env: Mapping[str, str]) -> list[str] | None:
    """The entries of ``CUDA_VISIBLE_DEVICES`` that CUDA uses, or None when it is unset.

    CUDA reads the comma-separated list up to the first entry that is neither a device
    index nor a ``GPU-``/``MIG-`` UUID, so ``"0,1,-1,2"`` shows two devices and ``""`` or
    ``"-1"`` none.
    """
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    entries = []
    for entry in (part.strip() for part in value.split(",")):
        if not (entry.isdigit() or entry.startswith(("GPU-", "MIG-"))):
            break
        entries.append(entry)
    return entries


def nvidia_smi_gpus(command: str = "nvidia-smi") -> int | None:
    """The GPUs ``nvidia-smi -L`` lists (every GPU of the host), or None without a driver."""
    try:
        out = subprocess.run(
            [command, "-L"], capture_output=True, text=True, check=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def visible_gpu_count(env: Mapping[str, str] | None = None) -> int:
    """How many CUDA devices a job started here would see, without importing torch.

    ``nvidia-smi -L`` counts the host's GPUs; ``CUDA_VISIBLE_DEVICES``, when set, narrows
    them (and is trusted alone where ``nvidia-smi`` is missing). 0 means no GPU.
    """
    env = os.environ if env is None else env
    physical = nvidia_smi_gpus()
    visible = visible_devices(env)
    if visible is None:
        return physical or 0
    return len(visible) if physical is None else min(len(visible), physical)


def local_gpu_limit(
    device: str, slots_per_device: int, env: Mapping[str, str] | None = None
) -> int | None:
    """The most GPU jobs a local run should start at once, or None for "no GPU limit".

    Args:
        device: the config's ``device``; ``auto`` defers to ``$ALBENCH_DEVICE`` as the
            jobs do.
        slots_per_device: jobs that may share one GPU (config ``gpu_slots_per_device``).

    Returns:
        None when the jobs will not run on a GPU (no GPU visible, or the device is the CPU),
        so CPU jobs are never serialised; ``slots_per_device`` for an explicit ``cuda:N``
        (every job uses that one GPU); else visible GPUs × ``slots_per_device``.
    """
    env = os.environ if env is None else env
    spec = device
    if spec == "auto":
        spec = env.get(DEVICE_ENV, "").strip() or "auto"
    if spec not in ("auto", "cuda") and not spec.startswith("cuda:"):
        return None  # cpu, mps
    gpus = visible_gpu_count(env)
    if gpus == 0:
        return None
    return slots_per_device if spec.startswith("cuda:") else gpus * slots_per_device


def slots_dir(workdir: Path) -> Path:
    """The lock folder of a run in ``workdir``: one per host (the workdir may be shared)."""
    return workdir / SLOTS_DIR / (platform.node() or "localhost")


# ----------------------------------------------------------------------------- the slots


@dataclass(frozen=True)
class Slot:
    """A slot this process holds: ``index`` of ``count``, and the open locked file."""

    index: int
    count: int
    fd: int

    def release(self) -> None:
        """Unlock early (tests); a job never calls this, its exit releases the lock."""
        os.close(self.fd)


def slot_order(count: int, slots_per_device: int) -> list[int]:
    """The order free slots are tried in: slot 0 of each device, then slot 1 of each, ...

    Slot ``k`` is on device ``k // slots_per_device``; with 2 devices × 2 slots the order
    is 0, 2, 1, 3, so the first two jobs run on different GPUs.
    """
    return sorted(range(count), key=lambda k: (k % slots_per_device, k // slots_per_device))


def try_acquire(directory: Path, index: int, count: int) -> Slot | None:
    """Lock slot ``index`` without waiting; None if another open file holds it."""
    fd = os.open(directory / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)  # who holds it, for a person looking at the folder
    os.write(fd, f"{os.getpid()} {platform.node()}\n".encode())
    return Slot(index, count, fd)


def acquire(
    directory: Path,
    count: int,
    slots_per_device: int = 1,
    *,
    poll_s: float = POLL_S,
    log_every: int = LOG_EVERY_POLLS,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
) -> Slot:
    """Take a free slot of ``count``, waiting (polling every ``poll_s``) while all are taken.

    The lock lives as long as the returned file descriptor: until the process exits (or
    :meth:`Slot.release`). ``flock`` locks belong to the open file, so two calls in one
    process take two different slots, like two processes do.
    """
    if count < 1:
        raise ValueError(f"GPU slots: need at least one slot, got {count}")
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    directory.mkdir(parents=True, exist_ok=True)
    order = slot_order(count, slots_per_device)
    polls = 0
    while True:
        for index in order:
            slot = try_acquire(directory, index, count)
            if slot is not None:
                if polls:
                    log(f"albench: got GPU slot {index} of {count} after waiting")
                return slot
        if polls % log_every == 0:
            log(
                f"albench: all {count} GPU slots in {directory} are taken; waiting for one "
                f"(checking every {poll_s:g} s)"
            )
        polls += 1
        sleep(poll_s)


_held: dict[str, object] | None = None  # this process's slot, for the metrics' run section
_held_slot: Slot | None = None


def device_of(slot: int, slots_per_device: int, env: Mapping[str, str]) -> tuple[int, str]:
    """Slot → (CUDA ordinal for ``cuda:<ordinal>``, the device's id in ``CUDA_VISIBLE_DEVICES``).

    With ``CUDA_VISIBLE_DEVICES="2,5"`` and 2 slots per device, slots 0-1 run on ``cuda:0``
    (GPU "2") and slots 2-3 on ``cuda:1`` (GPU "5"); unset, the id is the ordinal.
    """
    ordinal = slot // slots_per_device
    visible = visible_devices(env)
    return ordinal, visible[ordinal] if visible is not None else str(ordinal)


def assign_device(device, slots_per_device: int, env: Mapping[str, str] | None = None):
    """The device a workflow job runs on: ``device`` itself, or its slot's ``cuda:<i>``.

    Takes a slot (waiting for one) only when the workflow set :data:`SLOTS_DIR_ENV`, the
    device is bare ``cuda`` and there is more than one slot; everything else, the CPU
    above all, is returned unchanged and touches no file. A process that already holds
    a slot keeps it.
    """
    global _held, _held_slot
    env = os.environ if env is None else env
    directory = env.get(SLOTS_DIR_ENV)
    if device.type != "cuda" or device.index is not None or not directory:
        return device
    import torch

    if _held is not None:
        return torch.device(str(_held["device"]))
    count = torch.cuda.device_count() * slots_per_device
    if count <= 1:
        return device
    slot = acquire(Path(directory), count, slots_per_device)
    ordinal, visible_id = device_of(slot.index, slots_per_device, env)
    _held_slot = slot
    _held = {
        "slot": slot.index,
        "slots": count,
        "slots_per_device": slots_per_device,
        "device": f"cuda:{ordinal}",
        "visible_device": visible_id,
    }
    # The current device too: code that says plain "cuda" (and CUDA's own per-process
    # state) then lands on this GPU rather than opening a context on GPU 0.
    torch.cuda.set_device(ordinal)
    return torch.device(f"cuda:{ordinal}")


def held() -> dict[str, object] | None:
    """The slot this process holds (slot, slots, device, visible device id), or None."""
    return None if _held is None else dict(_held)
