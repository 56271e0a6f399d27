"""Count the host synchronisations a block of torch code performs, on any device.

On CUDA a host sync stalls the CPU until the GPU has caught up, so a loop with one per
batch can no longer queue work ahead of the GPU. No GPU is needed to find them: the ops
that force one are visible to a :class:`~torch.utils._python_dispatch.TorchDispatchMode`
on the CPU too. :class:`HostSyncCounter` counts

* ``aten._local_scalar_dense``: every ``.item()``, ``int()``, ``float()``, ``bool()`` and
  ``.tolist()`` of a tensor (a device-to-host read of its value), and
* ops whose output shape depends on tensor values (``nonzero``, ``masked_select``,
  ``unique``, indexing with a boolean mask, ...), which read a count back from the
  device, and
* copies from an accelerator to the CPU (``.cpu()``, ``.to("cpu")``; under CUDA or a
  fake-tensor device only: a CPU tensor's copy is not a sync).

Not seen: ``.tolist()`` and ``.numpy()`` of a CPU tensor read its memory directly (on
CUDA they start with a device-to-host copy, which is counted). The tests use the counter with autocast forced on the CPU, which runs the
same Python code (GradScaler, the optimizer) as CUDA; ``bench/gpu_check.py`` uses it with
``torch.cuda.set_sync_debug_mode`` on a real GPU.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["SYNC_OPS", "HostSyncCounter"]

_aten = torch.ops.aten
# Overload packets whose every call makes the host wait for (and read) a device value.
SYNC_OPS = frozenset(
    {
        _aten._local_scalar_dense,
        _aten.item,
        _aten.is_nonzero,
        _aten.nonzero,
        _aten.masked_select,
        _aten.equal,
        _aten._unique2,
        _aten.unique_dim,
        _aten.unique_consecutive,
        _aten.repeat_interleave,
    }
)


class HostSyncCounter(TorchDispatchMode):
    """A dispatch mode that counts host-sync ops (see the module docstring).

    Use as ``with HostSyncCounter() as counter: ...``; then ``counter.count`` is the
    total and ``counter.by_op`` the count per op name (e.g. ``"_local_scalar_dense"``).
    ``repeat_interleave`` counts only its one-tensor form (the output size is unknown).
    """

    def __init__(self) -> None:
        super().__init__()
        self.by_op: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return sum(self.by_op.values())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _sync_name(func.overloadpacket, args, kwargs)
        if name is not None:
            self.by_op[name] += 1
        return func(*args, **kwargs)


def _sync_name(packet, args, kwargs) -> str | None:
    """The name a call is counted under, or None if it does not sync the host."""
    if packet in SYNC_OPS:
        if packet is _aten.repeat_interleave and "output_size" in kwargs:
            return None
        return packet.__name__
    if packet is _aten.index and any(
        isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1]
    ):
        return "index(bool mask)"
    if packet is _aten._to_copy:
        target = kwargs.get("device")
        source = args[0].device
        if target is not None and torch.device(target).type == "cpu" and source.type != "cpu":
            return "copy to host"
    return None
