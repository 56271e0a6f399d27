"""Peak live tensor bytes of a block of code, on any device (``meta`` included).

:class:`LiveBytes` is a ``TorchDispatchMode``: every tensor an operator returns
whose storage is new (not one of the operator's inputs, so views are free) is
counted until its storage is freed (a ``weakref.finalize`` on the storage). It
sees only what ATen allocates inside the block: tensors created before it are
the baseline, and host NumPy arrays are not counted. On the ``meta`` device the
shapes and sizes are real but nothing is allocated, so preset-like ratios cost
nothing to measure.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveBytes(TorchDispatchMode):
    """``with LiveBytes() as m: ...``, then ``m.peak`` (bytes) and ``m.live`` (still held)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._sizes: dict[int, int] = {}

    def _free(self, key: int) -> None:
        self.live -= self._sizes.pop(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {
            t.untyped_storage()._cdata
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        }
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = storage._cdata
            if key in self._sizes or key in inputs:
                continue
            self._sizes[key] = storage.nbytes()
            self.live += storage.nbytes()
            weakref.finalize(storage, self._free, key)
        self.peak = max(self.peak, self.live)
        return out
