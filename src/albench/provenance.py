"""Provenance of a result: code version, library versions, host, memory."""

from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from albench import __version__, gpu_slots

REPO_ROOT = Path(__file__).resolve().parents[2]


@cache
def code_version() -> str:
    """``albench <version>+git<sha>[-dirty]`` when run from a git checkout, else the version."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+git{sha}{'-dirty' if dirty else ''}"


def _torchvision_version() -> str:
    """torchvision's ``__version__`` (with its local build tag, e.g. ``+cu130``), read from
    its ``version.py``: importing torchvision costs ~2 s (it loads ``torch._inductor``)."""
    import importlib.metadata
    import importlib.util
    import re

    spec = importlib.util.find_spec("torchvision")
    if spec is not None and spec.origin:
        version_file = Path(spec.origin).parent / "version.py"
        if version_file.exists():
            found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)", version_file.read_text(), re.M)
            if found:
                return found.group(1)
    return importlib.metadata.version("torchvision")


def library_versions() -> dict[str, str]:
    import numpy
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": _torchvision_version(),
        "numpy": numpy.__version__,
        "cuda": str(torch.version.cuda),
        "cudnn": str(torch.backends.cudnn.version()),
    }


def _host_peak_kb() -> int | None:
    """The process's peak resident set since start or the last reset (Linux ``VmHWM``)."""
    try:
        found = re.search(r"^VmHWM:\s+(\d+)\s+kB", Path("/proc/self/status").read_text(), re.M)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _reset_host_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ``clear_refs`` 5); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """Peak memory of one job, overall and per phase (training, then the query).

    Host: the resident set's high-water mark, reset at the start of each phase (Linux;
    elsewhere only the overall ``ru_maxrss`` is known and phases record None). CUDA: the
    caching allocator's peak allocated and reserved bytes, reset per phase. The overall
    figures are the maxima over the whole job, phases included.
    """

    def __init__(self, device) -> None:
        self.cuda = getattr(device, "type", "cpu") == "cuda"
        self.device = device
        self.phases: dict[str, dict[str, float | None]] = {}
        self._host_kb = _host_peak_kb() or 0
        self._cuda = {"cuda_allocated_mb": 0.0, "cuda_reserved_mb": 0.0}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._host_kb = max(self._host_kb, _host_peak_kb() or 0)
        resettable = _reset_host_peak()
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        try:
            yield
        finally:
            host_kb = _host_peak_kb() if resettable else None
            record: dict[str, float | None] = {
                "host_rss_mb": None if host_kb is None else round(host_kb / 1024, 1)
            }
            if host_kb is not None:
                self._host_kb = max(self._host_kb, host_kb)
            if self.cuda:
                import torch

                torch.cuda.synchronize(self.device)
                record["cuda_allocated_mb"] = _mb(torch.cuda.max_memory_allocated(self.device))
                record["cuda_reserved_mb"] = _mb(torch.cuda.max_memory_reserved(self.device))
                for key in self._cuda:
                    self._cuda[key] = max(self._cuda[key], record[key])
            self.phases[name] = record

    def record(self) -> dict[str, object]:
        """``host_rss_mb`` (and on CUDA the allocator peaks) for the job, and ``phases``."""
        rusage_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        overall: dict[str, object] = {
            "host_rss_mb": round(max(self._host_kb, _host_peak_kb() or 0, rusage_kb) / 1024, 1)
        }
        if self.cuda:
            import torch

            overall["cuda_allocated_mb"] = max(
                self._cuda["cuda_allocated_mb"], _mb(torch.cuda.max_memory_allocated(self.device))
            )
            overall["cuda_reserved_mb"] = max(
                self._cuda["cuda_reserved_mb"], _mb(torch.cuda.max_memory_reserved(self.device))
            )
        overall["phases"] = dict(self.phases)
        return overall


def _mb(num_bytes: int) -> float:
    return round(num_bytes / 2**20, 1)


def nvidia_driver_version() -> str | None:
    """The NVIDIA driver version via ``nvidia-smi`` (one per host), or None without it."""
    command = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if lines else None


def hardware(device) -> dict[str, object]:
    """What the run ran on: the CPU's vector unit and threads, and on CUDA the GPU's name,
    compute capability, memory, the driver-visible devices and the TF32 switches (which
    change matmul/convolution numerics on Ampere and later)."""
    import torch

    info: dict[str, object] = {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    if getattr(device, "type", "cpu") == "cuda":
        props = torch.cuda.get_device_properties(device)
        info |= {
            "gpu_name": props.name,
            "gpu_compute_capability": f"{props.major}.{props.minor}",
            "gpu_memory_mb": round(props.total_memory / 2**20),
            "gpu_count": torch.cuda.device_count(),
            "gpu_driver": nvidia_driver_version(),
            "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        }
    return info


def run_environment() -> dict[str, str | None]:
    return {
        "hostname": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "argv": " ".join(sys.argv),
        # "warm fork": forked by the local warm-start server (albench.warm), which changes
        # nothing in the results; its peak RSS then omits server pages the job never touched.
        "process": "warm fork" if os.environ.get("ALBENCH_WARM_STARTED") == "1" else "own",
        # The GPU slot a local job held (albench.gpu_slots); absent when it took none.
        **({"gpu_slot": slot} if (slot := gpu_slots.held()) is not None else {}),
    }
