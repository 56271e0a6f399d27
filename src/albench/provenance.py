"""Provenance of a result: code version, library versions, host, memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from functools import cache
from pathlib import Path

from albench import __version__

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


def peak_memory_mb(device) -> dict[str, float]:
    """Peak resident memory of this process (and peak CUDA allocation on a GPU), in MiB."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = {"host_rss_mb": round(rss_kb / 1024, 1)}
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        peak["cuda_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return peak


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
            "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        }
    return info


def run_environment() -> dict[str, str | None]:
    return {
        "hostname": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "argv": " ".join(sys.argv),
    }
