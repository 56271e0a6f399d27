"""SGD with momentum, weight decay and a step learning-rate schedule, in a few tensor ops.

The update is PyTorch's ``torch.optim.SGD`` (dampening 0), written out so that
(i) it runs as a handful of batched ``torch._foreach_*`` ops over every parameter
of the backbone and its auxiliary objectives, with no host synchronisation, and
(ii) a training job does not import ``torch._dynamo``, which every
``torch.optim.Optimizer`` pulls in on construction and on every ``step`` (about
1.5–3 s of a 5–10 s CPU job). On the CPU it gives the same bits as
``torch.optim.SGD`` (tested), for any number of parameter groups: the update
of each parameter only reads that parameter's gradient and momentum buffer.

For one parameter p with gradient g, learning rate η, momentum μ, weight decay λ:

    g ← g + λ·p
    b ← g                 (first step)      b ← μ·b + g      (later steps)
    g ← g + μ·b  (Nesterov)                 g ← b            (otherwise)
    p ← p − η·g

The learning rate follows :func:`step_lr`, PyTorch's ``MultiStepLR`` stepped once
per epoch.

Under fp16 autocast a ``torch.amp.GradScaler`` scales the loss. A plain optimizer
makes ``GradScaler.step`` read its overflow flag on the host (one blocking
``.item()`` per step on CUDA) to decide whether to step. This optimizer declares
``_step_supports_amp_scaling`` instead: the scaler then hands it the scale and the
overflow flag as device tensors (``grad_scale``, ``found_inf``), and the step runs as
PyTorch's fused SGD kernel (``torch._fused_sgd_``, CPU and CUDA), which unscales the
gradients and skips the whole update on the device when ``found_inf`` is set. Without a
scaler (fp32, bf16) the step is the ``_foreach`` update above, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn


def step_lr(base_lr: float, milestones: Sequence[int], gamma: float, epoch: int) -> float:
    """The learning rate of 0-based ``epoch``: ``base_lr`` times ``gamma`` once per milestone
    m ≤ epoch, multiplied in the same order as ``MultiStepLR`` (so the same floats)."""
    lr = base_lr
    for milestone in milestones:
        if milestone <= epoch:
            lr = lr * gamma
    return lr


class SGD:
    """The optimizer of one cycle (see the module docstring for the update).

    Args:
        modules: the modules whose parameters are trained (backbone, objectives).
        lr, momentum, weight_decay, nesterov: as ``torch.optim.SGD``.

    Attributes:
        lr: the current learning rate (set it per epoch with :func:`step_lr`).
        param_groups: ``[{"params": [...]}]``, what ``torch.amp.GradScaler`` reads to
            unscale gradients.
    """

    # GradScaler: pass grad_scale / found_inf as attributes instead of reading found_inf on
    # the host (see the module docstring).
    _step_supports_amp_scaling = True

    def __init__(
        self,
        modules: Iterable[nn.Module],
        *,
        lr: float,
        momentum: float,
        weight_decay: float,
        nesterov: bool,
    ) -> None:
        self.params = [p for module in modules for p in module.parameters() if p.requires_grad]
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.buffers: list[Tensor | None] = [None] * len(self.params)
        self.param_groups = [{"params": self.params}]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        index = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not index:
            return
        params = [self.params[i] for i in index]
        grads = [p.grad for p in params]
        grad_scale = getattr(self, "grad_scale", None)  # set by an enabled GradScaler only
        if grad_scale is not None:
            self._scaled_step(index, params, grads, grad_scale, getattr(self, "found_inf", None))
            return
        if self.weight_decay != 0:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        if self.momentum != 0:
            fresh = [k for k, i in enumerate(index) if self.buffers[i] is None]
            for k in fresh:
                self.buffers[index[k]] = torch.clone(grads[k]).detach()
            old = [k for k in range(len(index)) if k not in set(fresh)]
            if old:
                buffers = [self.buffers[index[k]] for k in old]
                torch._foreach_mul_(buffers, self.momentum)
                torch._foreach_add_(buffers, [grads[k] for k in old])
            buffers = [self.buffers[i] for i in index]
            if self.nesterov:
                grads = torch._foreach_add(grads, buffers, alpha=self.momentum)
            else:
                grads = buffers
        torch._foreach_add_(params, grads, alpha=-self.lr)

    def _scaled_step(
        self,
        index: list[int],
        params: list[Tensor],
        grads: list[Tensor],
        grad_scale: Tensor,
        found_inf: Tensor | None,
    ) -> None:
        """The same update on gradients scaled by ``grad_scale``, skipped on the device when
        ``found_inf`` is nonzero: no host sync. A missing momentum buffer starts at zero
        (μ·0 + g = g, the first step's b ← g), so a skipped first step leaves no
        uninitialised buffer behind."""
        buffers: list[Tensor] = []
        if self.momentum != 0:
            for i, grad in zip(index, grads, strict=True):
                if self.buffers[i] is None:
                    self.buffers[i] = torch.zeros_like(grad)
            buffers = [self.buffers[i] for i in index]
        torch._fused_sgd_(
            params,
            grads,
            buffers,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            lr=self.lr,
            dampening=0.0,
            nesterov=self.nesterov,
            maximize=False,
            is_first_step=False,
            grad_scale=grad_scale.to(params[0].device),
            found_inf=None if found_inf is None else found_inf.to(params[0].device),
        )
