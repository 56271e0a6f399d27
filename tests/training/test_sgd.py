"""albench's SGD gives torch.optim.SGD's bits, and its schedule MultiStepLR's learning rates."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from albench.models.small_cnn import SmallCNN
from albench.training.sgd import SGD, step_lr


@pytest.mark.parametrize(
    ("momentum", "weight_decay", "nesterov"),
    [(0.9, 5e-4, False), (0.9, 5e-4, True), (0.0, 0.0, False), (0.5, 1e-3, False)],
)
def test_same_bits_as_torch_sgd_with_multistep_lr(momentum, weight_decay, nesterov):
    torch.manual_seed(0)
    ours_model = SmallCNN(1, 10)
    torch_model = copy.deepcopy(ours_model)
    reference = torch.optim.SGD(
        torch_model.parameters(),
        lr=0.05,
        momentum=momentum,
        weight_decay=weight_decay,
        nesterov=nesterov,
    )
    schedule = torch.optim.lr_scheduler.MultiStepLR(reference, [2, 3], gamma=0.1)
    ours = SGD(
        [ours_model], lr=0.05, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov
    )
    g = torch.Generator().manual_seed(1)
    for epoch in range(5):
        ours.lr = step_lr(0.05, (2, 3), 0.1, epoch)
        assert ours.lr == reference.param_groups[0]["lr"]
        for _ in range(3):
            x, y = torch.randn(8, 1, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)
            for model, optimizer in ((ours_model, ours), (torch_model, reference)):
                optimizer.zero_grad()
                F.cross_entropy(model(x).logits, y).backward()
                optimizer.step()
        schedule.step()
    for key, value in ours_model.state_dict().items():
        assert torch.equal(value, torch_model.state_dict()[key]), key


def test_step_lr_by_hand():
    assert [step_lr(0.1, (2, 4), 0.5, e) for e in range(6)] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    assert step_lr(0.1, (300,), 0.1, 10) == 0.1  # milestones beyond the schedule never fire


def test_training_does_not_import_torch_dynamo():
    code = (
        "import sys, torch\n"
        "from albench.models.small_cnn import SmallCNN\n"
        "from albench.training.sgd import SGD\n"
        "m = SmallCNN(1, 3); o = SGD([m], lr=0.1, momentum=0.9, weight_decay=0, nesterov=False)\n"
        "m(torch.randn(4, 1, 8, 8)).logits.sum().backward(); o.step(); o.zero_grad()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
