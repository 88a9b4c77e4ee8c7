"""Blocks: the unit of seeding, and the chunk schedule built from them.

Paths are drawn in fixed *blocks* (:func:`block_paths` paths, a function of the horizon and
asset count only; block 0 is a quarter block so the first partial result comes sooner).
Block ``b`` draws from ``Generator(SFC64(SeedSequence(seed).spawn(n_blocks)[b]))``
(:func:`block_rng`). A chunk is a whole number of blocks, so no result depends on the chunk
size or on the number of worker threads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK_CELLS = 1 << 22          # price cells (paths x (steps + 1) x assets) per block
MAX_BLOCK_PATHS = 4096
MIN_BLOCK_PATHS = 16
FIRST_CHUNK_BLOCKS = 1
MAX_AUTO_CHUNK_BLOCKS = 8


def block_paths(n_steps: int, n_assets: int) -> int:
    """Paths per block (the unit of seeding): a function of the shape only, even (whole
    antithetic pairs)."""
    n = int(max(MIN_BLOCK_PATHS, min(MAX_BLOCK_PATHS, BLOCK_CELLS // ((n_steps + 1) * max(1, n_assets)))))
    return n - n % 2


class BlockSeeds:
    """``SeedSequence(seed).spawn(n)[b]`` for any block ``b``, built on demand (a spawned
    child is ``SeedSequence(seed, spawn_key=(b,))``), so setup is O(1) in the path count."""

    def __init__(self, seed: int):
        self.seed = seed

    def __getitem__(self, b: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(int(b),))


def block_rng(seeds: BlockSeeds, b: int) -> np.random.Generator:
    """The random generator of block ``b``."""
    return np.random.Generator(np.random.SFC64(seeds[b]))


@dataclass(frozen=True)
class BlockLayout:
    """How ``n_paths`` paths split into blocks: block 0 has ``first`` paths (a quarter block,
    at least 16), the others ``block`` paths (the last one what is left). Every block but
    the last has an even size, so antithetic pairs never straddle blocks and, stored
    interleaved, sit at ``(2i, 2i + 1)`` of the run."""

    n_paths: int
    block: int
    first: int
    n_blocks: int

    @classmethod
    def of(cls, n_paths: int, n_steps: int, n_assets: int) -> "BlockLayout":
        block = block_paths(n_steps, n_assets)
        first = max(MIN_BLOCK_PATHS, (block // 4) & ~1)       # even: whole pairs
        n_blocks = 1 + max(0, -(-(n_paths - first) // block))
        return cls(int(n_paths), block, first, n_blocks)

    def start(self, b: int) -> int:
        """First path of block ``b``."""
        return 0 if b == 0 else self.first + (b - 1) * self.block

    def size(self, b: int) -> int:
        """Number of paths in block ``b``."""
        return min(self.first if b == 0 else self.block, self.n_paths - self.start(b))

    def schedule(self, chunk_paths: int) -> list[int]:
        """Number of blocks in each chunk: ``chunk_paths`` rounded up to whole blocks, or with
        0 one block first and then doubling up to :data:`MAX_AUTO_CHUNK_BLOCKS`."""
        out = []
        left = self.n_blocks
        if chunk_paths > 0:
            per = max(1, -(-chunk_paths // self.block))
            while left > 0:
                out.append(min(per, left))
                left -= out[-1]
            return out
        size = FIRST_CHUNK_BLOCKS
        while left > 0:
            out.append(min(size, left))
            left -= out[-1]
            size = min(size * 2, MAX_AUTO_CHUNK_BLOCKS)
        return out
