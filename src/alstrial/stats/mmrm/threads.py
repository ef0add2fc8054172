"""Run small dense algebra on one BLAS thread.

An MMRM fit is thousands of tiny matrix operations; multithreaded BLAS spends more time waking
threads than computing (10× slower on a busy 2-core machine). ``threadpoolctl`` is optional.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
