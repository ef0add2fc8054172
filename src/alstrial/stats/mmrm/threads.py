"""Run small dense algebra on one BLAS thread.

An MMRM fit is thousands of tiny matrix operations; multithreaded BLAS spends more time waking
threads than computing (10× slower on a busy 2-core machine). ``threadpoolctl`` is optional.

The BLAS libraries are looked up once and the controller is reused: ``threadpool_limits``
rescans the process' shared libraries on every call, about 0.7 ms, which was 5-10 % of a small
fit that enters this context twice. Every BLAS already loaded is limited; the lookup is redone
once ``scipy.linalg`` (which calls scipy's BLAS: the fits call numpy's) has been imported, but it
is no longer imported for the purpose: that was 7 % of the instructions of ``alstrial stats mmrm``
on fev_data.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import Any


@functools.cache
def _controller(scipy_blas_loaded: bool) -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional dependency
        return None
    import numpy  # noqa: F401  - load the BLAS library the fits use before looking for it

    return ThreadpoolController()


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    controller = _controller("scipy.linalg" in sys.modules)
    if controller is None:  # pragma: no cover - optional dependency
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
