"""single_blas_thread limits every BLAS the process has loaded, without importing scipy.linalg itself."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

pytest.importorskip("threadpoolctl")

# threadpool_info() rescans the loaded libraries each time, so it lists every BLAS in the process
CODE = """
import sys
from threadpoolctl import threadpool_info
from alstrial.stats.mmrm.threads import single_blas_thread

def blas():
    return sorted((i["filepath"].rsplit("/", 1)[-1], i["num_threads"]) for i in threadpool_info()
                  if i["user_api"] == "blas")

print(blas())
with single_blas_thread():
    print(blas())
print("scipy.linalg" in sys.modules)
import scipy.linalg
with single_blas_thread():
    print(blas())
"""


def test_every_loaded_blas_is_limited_and_scipy_linalg_is_not_imported_for_it() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True, env=env)
    before, inside, linalg_imported, after = out.stdout.splitlines()
    assert [n for _, n in ast.literal_eval(before)] and all(n == 2 for _, n in ast.literal_eval(before))
    assert [n for _, n in ast.literal_eval(inside)] == [1] * len(ast.literal_eval(before))
    assert linalg_imported == "False"
    assert {lib for lib, _ in ast.literal_eval(after)} >= {lib for lib, _ in ast.literal_eval(inside)}
    assert all(n == 1 for _, n in ast.literal_eval(after))
