"""Keep freed memory in a power worker instead of handing it back to the system after every replicate.

A simulated trial allocates and frees arrays of a few megabytes. glibc serves such blocks with
``mmap`` (or trims them off the heap) and returns them to the system when they are freed, so the
next replicate page-faults the same memory back in: about 1,200 minor faults and 2.6 ms of system
time per seed-trial replicate, a sixth of its CPU (benchmarks/bench_power.py). Raising glibc's
mmap and trim thresholds keeps that memory in the process; a worker then holds about its peak heap
(tens of megabytes), which it would need again for the next chunk anyway.
"""

from __future__ import annotations

import ctypes
import sys

#: blocks up to this size come from the heap, and the heap keeps this much free memory untrimmed
THRESHOLD_BYTES = 64 << 20
_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_done: bool | None = None


def keep_freed_memory() -> bool:
    """Set the thresholds once per process; True where glibc took them (Linux), False elsewhere."""
    global _done
    if _done is None:
        _done = False
        if sys.platform.startswith("linux"):
            # the running program's own symbols: libc's, without find_library's ldconfig subprocess
            mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
            if mallopt is not None:
                took = mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES) == 1
                _done = took and mallopt(_M_TRIM_THRESHOLD, THRESHOLD_BYTES) == 1
    return _done
