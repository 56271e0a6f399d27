"""Seeds: one experiment seed fans out into independent, named random streams.

The initial labeled set, the imbalance draw, the model initialisation, the
scored subset and the sampler each get their own stream (Ji et al., 2023
recommend separating at least the initial-set seed from the model seed), so
changing one source of randomness never shifts another.
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = ("pool", "initial", "model", "subset", "sampler", "train")


def derive_seed(seed: int, stream: str, *extra: int) -> int:
    """A 63-bit seed for ``stream`` derived from the experiment ``seed``.

    Stable across Python versions and platforms (CRC32 of the stream name, then
    NumPy's SeedSequence), so the same config gives the same draws everywhere.
    """
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; valid streams: {', '.join(STREAMS)}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    entropy = [int(seed), zlib.crc32(stream.encode()), *map(int, extra)]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)
