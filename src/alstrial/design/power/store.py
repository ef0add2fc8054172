"""Per-chunk result files in the output folder: what lets an interrupted study resume.

Each finished chunk is one Parquet file named by its run key (scenario digest, root seed,
analyses) and replicate range, written to a temporary name and renamed into place, so a file
either holds a whole chunk or does not exist. A rerun with the same key reads what is there and
computes only the replicates no file covers, whatever chunk size either run used.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

_NAME = re.compile(r"^(?P<key>[0-9a-f]{16})-(?P<start>\d{7})-(?P<stop>\d{7})\.parquet$")


def run_key(scenario_key: str, seed: int, analyses: Sequence[str], alpha: float) -> str:
    """Digest naming one scenario's chunks under one seed and analysis list."""
    blob = f"{scenario_key}|{seed}|{','.join(analyses)}|{alpha!r}"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ChunkStore:
    """The ``chunks/`` folder of a power study's output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.folder = Path(out_dir) / "chunks"
        self.folder.mkdir(parents=True, exist_ok=True)

    def _ranges(self, key: str) -> list[tuple[int, int, Path]]:
        out = []
        for path in self.folder.iterdir():
            m = _NAME.match(path.name)
            if m and m["key"] == key:
                out.append((int(m["start"]), int(m["stop"]), path))
        return sorted(out)

    def missing(self, key: str, reps: int, chunk_size: int) -> list[tuple[int, int]]:
        """Replicate ranges (start, stop) below ``reps`` that no chunk file holds, at most ``chunk_size`` each."""
        done = [False] * reps
        for start, stop, _ in self._ranges(key):
            for r in range(start, min(stop, reps)):
                done[r] = True
        out: list[tuple[int, int]] = []
        r = 0
        while r < reps:
            if done[r]:
                r += 1
                continue
            start = r
            while r < reps and not done[r] and r - start < chunk_size:
                r += 1
            out.append((start, r))
        return out

    def write(self, key: str, start: int, stop: int, frame: pd.DataFrame) -> None:
        final = self.folder / f"{key}-{start:07d}-{stop:07d}.parquet"
        tmp = final.with_suffix(f".tmp{os.getpid()}")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, final)

    def read(self, key: str, reps: int) -> Iterator[pd.DataFrame]:
        """The stored rows of replicates below ``reps``, one chunk at a time (memory stays bounded)."""
        for start, stop, path in self._ranges(key):
            if start >= reps:
                continue
            frame = pd.read_parquet(path)
            yield frame[frame["replicate"] < reps] if stop > reps else frame
