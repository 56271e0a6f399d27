"""Model checkpoints: safetensors (no pickle, no code executed on load) with JSON metadata.

Keys are ``model.<state-dict key>`` for the backbone and ``aux.<key>`` for the
auxiliary objective, if the run trained one. The metadata is one safetensors
metadata entry, ``albench``, holding canonical JSON (safetensors keeps metadata
in a hash map whose order varies between processes, which would break
byte-identity).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save as save_safetensors
from torch import nn

FORMAT = "albench-checkpoint-1"


def save_checkpoint_bytes(
    model: nn.Module, objectives: Sequence[nn.Module], metadata: dict[str, str]
) -> bytes:
    """The checkpoint of ``model`` (and its objective) as bytes, tensors copied to the CPU."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for objective in objectives:
        tensors |= {
            f"aux.{k}": v.detach().cpu().contiguous() for k, v in objective.state_dict().items()
        }
    return save_safetensors(tensors, metadata={"albench": json.dumps(metadata, sort_keys=True)})


def load_checkpoint(
    path: Path,
    model: nn.Module,
    objectives: Sequence[nn.Module] = (),
    expected: dict[str, str] | None = None,
) -> dict[str, str]:
    """Load weights saved by :func:`save_checkpoint_bytes` into ``model`` (and the objective).

    ``expected`` metadata (e.g. ``{"dataset": ..., "model": ..., "cycle": ...}``) is
    compared with the checkpoint's before anything is loaded. Every problem (not a
    checkpoint, truncated, another dataset or model, tensors that do not fit) is a
    ``ValueError`` naming the file.
    """
    try:
        with safe_open(str(path), framework="pt") as handle:  # one read: tensors and metadata
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
            metadata = json.loads((handle.metadata() or {}).get("albench", "{}"))
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ValueError(
            f"{path}: not a readable albench checkpoint ({type(exc).__name__}: {exc}); "
            "delete it and rerun the cycle that wrote it"
        ) from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {metadata.get('format')!r}, expected {FORMAT}")
    for key, value in (expected or {}).items():
        if metadata.get(key) != value:
            raise ValueError(
                f"{path}: checkpoint {key} is {metadata.get(key)!r}, expected {value!r}; "
                "is this the right run's model.safetensors?"
            )
    aux_state = {k[4:]: v for k, v in tensors.items() if k.startswith("aux.")}
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        for objective in objectives:
            if aux_state:
                objective.load_state_dict(aux_state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(
            f"{path}: the checkpoint's tensors do not fit this model ({first})"
        ) from None
    return metadata
