"""GPU slots: the local GPU-job limit found at parse time, and the lock-file slot allocator.

No GPU here: the device count is faked (a fake ``nvidia-smi`` on PATH, a monkeypatched
``torch.cuda.device_count``), the locks are real ``flock`` locks on files in tmp_path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from albench import gpu_slots
from albench.config import Config, ConfigError

SRC = Path(gpu_slots.__file__).resolve().parents[1]
GPU_LINES = "\n".join(f"GPU {i}: Fake A100 (UUID: GPU-{i:04d})" for i in range(4))
MIG_LINE = "  MIG 1g.10gb     Device  0: (UUID: MIG-0000)"


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """Put an ``nvidia-smi`` that lists ``lines`` for ``-L`` first on PATH."""

    def install(lines: str | None) -> None:
        folder = tmp_path / "bin"
        folder.mkdir(exist_ok=True)
        script = folder / "nvidia-smi"
        body = "exit 9" if lines is None else f"cat <<'EOF'\n{lines}\nEOF"
        script.write_text(f'#!/bin/sh\n[ "$1" = "-L" ] || exit 1\n{body}\n')
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")

    return install


@pytest.fixture
def no_nvidia_smi(tmp_path, monkeypatch):
    """A PATH without any nvidia-smi (only the interpreter's folder and /bin)."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}/bin")


# ----------------------------------------------------------------------------- parse time


def test_cuda_visible_devices_is_read_up_to_the_first_invalid_entry():
    assert gpu_slots.visible_devices({}) is None
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "2,5"}) == ["2", "5"]
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "0,1,-1,2"}) == ["0", "1"]
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    uuids = "GPU-8f2a, MIG-77"
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": uuids}) == ["GPU-8f2a", "MIG-77"]


def test_the_gpu_count_comes_from_a_fake_nvidia_smi_on_path(fake_nvidia_smi):
    fake_nvidia_smi(GPU_LINES + "\n" + MIG_LINE)  # a MIG line is not a GPU of its own
    assert gpu_slots.nvidia_smi_gpus() == 4
    assert gpu_slots.visible_gpu_count({}) == 4
    # CUDA_VISIBLE_DEVICES narrows the host's GPUs, and cannot show more than there are
    assert gpu_slots.visible_gpu_count({"CUDA_VISIBLE_DEVICES": "2,5"}) == 2
    assert gpu_slots.visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5"}) == 4
    assert gpu_slots.visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}) == 0


def test_without_a_working_nvidia_smi_only_cuda_visible_devices_counts(
    fake_nvidia_smi, no_nvidia_smi
):
    assert gpu_slots.nvidia_smi_gpus() is None
    assert gpu_slots.visible_gpu_count({}) == 0
    assert gpu_slots.visible_gpu_count({"CUDA_VISIBLE_DEVICES": "3"}) == 1
    fake_nvidia_smi(None)  # present but failing (no driver loaded): exit status 9
    assert gpu_slots.nvidia_smi_gpus() is None
    assert gpu_slots.visible_gpu_count({}) == 0


def test_the_local_limit_is_gpus_times_slots_and_none_without_a_gpu_job(fake_nvidia_smi):
    fake_nvidia_smi(GPU_LINES)
    assert gpu_slots.local_gpu_limit("auto", 1, {}) == 4
    assert gpu_slots.local_gpu_limit("cuda", 3, {}) == 12
    assert gpu_slots.local_gpu_limit("auto", 2, {"CUDA_VISIBLE_DEVICES": "2,5"}) == 4
    assert gpu_slots.local_gpu_limit("cuda:1", 2, {}) == 2  # every job on that one GPU
    assert gpu_slots.local_gpu_limit("cpu", 1, {}) is None  # CPU jobs are never serialised
    assert gpu_slots.local_gpu_limit("auto", 1, {"ALBENCH_DEVICE": "cpu"}) is None
    assert gpu_slots.local_gpu_limit("auto", 1, {"ALBENCH_DEVICE": "cuda:0"}) == 1
    assert gpu_slots.local_gpu_limit("auto", 1, {"CUDA_VISIBLE_DEVICES": ""}) is None


def test_a_cpu_only_machine_gets_no_limit(no_nvidia_smi):
    assert gpu_slots.local_gpu_limit("auto", 1, {}) is None
    assert gpu_slots.local_gpu_limit("cuda", 4, {}) is None


def test_the_device_variable_name_is_the_one_albench_device_reads():
    from albench.device import ENV_DEVICE

    assert gpu_slots.DEVICE_ENV == ENV_DEVICE


# ----------------------------------------------------------------------------- config


def _config(**over):
    data = {"experiment": "t", "datasets": {"digits": {"initial": {"size": 20}, "budget": 10}}}
    return Config.from_dict({**data, **over})


def test_gpu_slots_per_device_defaults_to_one_and_is_validated():
    assert _config().gpu_slots_per_device == 1
    assert _config(gpu_slots_per_device=3).gpu_slots_per_device == 3
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match=r"config\.gpu_slots_per_device: expected an int"):
            _config(gpu_slots_per_device=bad)


# ----------------------------------------------------------------------------- the slots


def test_slots_are_tried_one_device_after_the_other():
    assert gpu_slots.slot_order(4, 2) == [0, 2, 1, 3]  # devices 0, 1, 0, 1
    assert gpu_slots.slot_order(6, 3) == [0, 3, 1, 4, 2, 5]
    assert gpu_slots.slot_order(3, 1) == [0, 1, 2]


def test_device_index_is_mapped_through_cuda_visible_devices():
    env = {"CUDA_VISIBLE_DEVICES": "2,5"}
    got = [gpu_slots.device_of(slot, 2, env) for slot in range(4)]
    assert got == [(0, "2"), (0, "2"), (1, "5"), (1, "5")]
    assert [gpu_slots.device_of(slot, 1, {}) for slot in range(3)] == [(0, "0"), (1, "1"), (2, "2")]


def test_concurrent_holders_in_one_process_get_distinct_slots(tmp_path):
    """Each acquire opens its own file, so flock keeps them apart like separate processes."""
    slots = [gpu_slots.acquire(tmp_path, 4, 2, sleep=_never) for _ in range(4)]
    assert [s.index for s in slots] == [0, 2, 1, 3]
    assert len({s.fd for s in slots}) == 4
    for slot in slots:
        slot.release()


HOLDER = """
import sys
from pathlib import Path
from albench import gpu_slots
slot = gpu_slots.acquire(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), poll_s=0.05)
print(slot.index, flush=True)
sys.stdin.read()  # hold the slot until the test closes stdin (or kills us)
"""


def _holder(directory: Path, count: int, per_device: int = 1, stderr=None) -> subprocess.Popen:
    """A process that takes a slot, prints its index and holds it until stdin closes."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(count), str(per_device)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )


def test_concurrent_processes_get_distinct_slots(tmp_path):
    jobs = [_holder(tmp_path, 3) for _ in range(3)]
    try:
        got = sorted(int(job.stdout.readline()) for job in jobs)  # all three hold theirs now
        assert got == [0, 1, 2]
        assert gpu_slots.try_acquire(tmp_path, got[0], 3) is None  # taken while they live
    finally:
        for job in jobs:
            job.stdin.close()
            job.wait()


def test_a_killed_jobs_slot_is_reclaimed(tmp_path):
    job = _holder(tmp_path, 1)
    assert job.stdout.readline().strip() == "0"
    assert gpu_slots.try_acquire(tmp_path, 0, 1) is None
    os.kill(job.pid, signal.SIGKILL)  # no cleanup runs: the kernel drops the lock
    job.wait()
    assert job.returncode == -signal.SIGKILL
    slot = gpu_slots.acquire(tmp_path, 1, sleep=_never)
    assert slot.index == 0
    slot.release()


def test_an_excess_job_waits_until_a_slot_frees(tmp_path):
    """All slots held: acquire polls (logging) and takes the first slot that frees."""
    held = [gpu_slots.acquire(tmp_path, 2, sleep=_never) for _ in range(2)]
    lines, sleeps = [], []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:  # after three fruitless rounds slot 1's holder exits
            held[1].release()

    slot = gpu_slots.acquire(tmp_path, 2, poll_s=7, log_every=2, sleep=sleep, log=lines.append)
    assert slot.index == 1 and sleeps == [7, 7, 7]
    assert lines[0] == (
        f"albench: all 2 GPU slots in {tmp_path} are taken; waiting for one (checking every 7 s)"
    )
    assert len(lines) == 3 and lines[1] == lines[0]  # rounds 0 and 2 log; then the success
    assert lines[2] == "albench: got GPU slot 1 of 2 after waiting"
    held[0].release()
    slot.release()


def test_an_excess_process_blocks_until_a_holder_exits(tmp_path):
    first = _holder(tmp_path, 1)
    assert first.stdout.readline().strip() == "0"
    waiting = _holder(tmp_path, 1, stderr=subprocess.PIPE)
    try:
        # it found the only slot taken (its first line says so) and did not take it anyway
        assert "GPU slots in" in waiting.stderr.readline()
        first.stdin.close()
        first.wait()
        assert waiting.stdout.readline().strip() == "0"  # the freed slot, once first exited
    finally:
        waiting.stdin.close()
        waiting.wait()


def _never(seconds):
    raise AssertionError("acquire waited although a slot was free")


# ----------------------------------------------------------------------------- the job hook


@pytest.fixture
def fake_gpus(monkeypatch, tmp_path):
    """torch sees ``n`` fake CUDA devices; set_device calls are recorded; no slot is held."""
    import torch

    calls = []
    monkeypatch.setattr(gpu_slots, "_held", None)
    monkeypatch.setattr(gpu_slots, "_held_slot", None)
    monkeypatch.setattr(torch.cuda, "set_device", calls.append)

    def install(n: int) -> list:
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        return calls

    yield install
    if gpu_slots._held_slot is not None:
        gpu_slots._held_slot.release()


def test_a_workflow_job_runs_on_its_slots_device(fake_gpus, tmp_path):
    import torch

    calls = fake_gpus(2)
    env = {gpu_slots.SLOTS_DIR_ENV: str(tmp_path), "CUDA_VISIBLE_DEVICES": "2,5"}
    other = gpu_slots.acquire(tmp_path, 4, 2, sleep=_never)  # another job took slot 0
    device = gpu_slots.assign_device(torch.device("cuda"), 2, env)
    assert device == torch.device("cuda", 1) and calls == [1]
    assert gpu_slots.held() == {
        "slot": 2,
        "slots": 4,
        "slots_per_device": 2,
        "device": "cuda:1",
        "visible_device": "5",
    }
    assert gpu_slots.assign_device(torch.device("cuda"), 2, env) == device  # kept, not retaken
    assert gpu_slots.try_acquire(tmp_path, 1, 4) is not None  # only one more slot was taken
    other.release()


def test_cpu_explicit_devices_and_hand_runs_take_no_slot(fake_gpus, tmp_path):
    import torch

    calls = fake_gpus(4)
    workflow = {gpu_slots.SLOTS_DIR_ENV: str(tmp_path / "slots")}
    cpu = torch.device("cpu")
    assert gpu_slots.assign_device(cpu, 2, workflow) is cpu
    explicit = torch.device("cuda", 3)
    assert gpu_slots.assign_device(explicit, 2, workflow) is explicit
    bare = torch.device("cuda")
    assert gpu_slots.assign_device(bare, 2, {}) is bare  # not a workflow job
    fake_gpus(1)
    assert gpu_slots.assign_device(bare, 1, workflow) is bare  # one slot: nothing to choose
    assert not (tmp_path / "slots").exists() and calls == []
    assert gpu_slots.held() is None


def test_the_run_section_records_a_held_slot_and_nothing_otherwise(fake_gpus, tmp_path):
    import torch

    from albench.provenance import run_environment

    assert "gpu_slot" not in run_environment()
    fake_gpus(2)
    gpu_slots.assign_device(torch.device("cuda"), 1, {gpu_slots.SLOTS_DIR_ENV: str(tmp_path)})
    assert run_environment()["gpu_slot"]["device"] == "cuda:0"
