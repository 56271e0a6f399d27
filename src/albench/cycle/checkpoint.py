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
    path: Path, model: nn.Module, objectives: Sequence[nn.Module] = ()
) -> dict[str, str]:
    """Load weights saved by :func:`save_checkpoint_bytes` into ``model`` (and the objective)."""
    with safe_open(str(path), framework="pt") as handle:  # one read: tensors and metadata
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = json.loads((handle.metadata() or {}).get("albench", "{}"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    aux_state = {k[4:]: v for k, v in tensors.items() if k.startswith("aux.")}
    for objective in objectives:
        if aux_state:
            objective.load_state_dict(aux_state)
    return metadata
