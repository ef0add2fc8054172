"""Minimise -2 log-likelihood over theta: L-BFGS-B, Newton polishing, then fallbacks.

Convergence is judged like SAS PROC MIXED's relative Hessian criterion g'H⁻¹g / |f| with a
positive-definite Hessian, so a flat surface stopped early is reported, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

_PENALTY = 1e25
CONVERGENCE_TOL = 1e-8


@dataclass(frozen=True)
class OptimResult:
    theta: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray | None
    converged: bool
    criterion: float
    optimizer: str
    message: str
    n_evaluations: int


def fd_hessian(objective: Objective, theta: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised."""
    q = len(theta)
    out = np.zeros((q, q))
    h = step * np.maximum(np.abs(theta), 1.0)
    for j in range(q):
        e = np.zeros(q)
        e[j] = h[j]
        out[:, j] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * h[j])
    return 0.5 * (out + out.T)


def _criterion(value: float, grad: np.ndarray, hess: np.ndarray) -> float:
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return float("inf")
    z = np.linalg.solve(chol, grad)
    return float(z @ z) / max(abs(value), 1.0)


def minimize(objective: Objective, theta0: np.ndarray, *, max_iter: int = 2000) -> OptimResult:
    """Run the optimizer chain; never raises for non-convergence (the caller warns)."""
    count = 0

    def safe(theta: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal count
        count += 1
        value, grad = objective(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return _PENALTY, np.zeros_like(theta)
        return value, grad

    best_theta = np.asarray(theta0, dtype=float)
    best_value, _ = safe(best_theta)
    used: list[str] = []
    message = ""
    attempts: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        ("L-BFGS-B", lambda t: _scipy(safe, t, "L-BFGS-B", max_iter)),
        ("BFGS", lambda t: _scipy(safe, t, "BFGS", max_iter)),
        ("Nelder-Mead", lambda t: _nelder_mead(safe, t, max_iter)),
    ]
    hess: np.ndarray | None = None
    crit = float("inf")
    grad = np.zeros_like(best_theta)
    for name, run in attempts:
        used.append(name)
        try:
            candidate = run(best_theta)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:  # pragma: no cover
            message = f"{name} failed: {exc}"
            continue
        value, _ = safe(candidate)
        if value <= best_value:
            best_theta, best_value = candidate, value
        best_theta, best_value, hess = _newton_polish(safe, best_theta, best_value)
        best_value, grad = safe(best_theta)
        crit = _criterion(best_value, grad, hess)
        if crit < CONVERGENCE_TOL:
            return OptimResult(best_theta, best_value, grad, hess, True, crit, "+".join(used), "converged", count)
        message = f"relative Hessian criterion {crit:.3g} > {CONVERGENCE_TOL:g} after {name}"
    return OptimResult(best_theta, best_value, grad, hess, False, crit, "+".join(used), message, count)


def _scipy(f: Objective, theta: np.ndarray, method: str, max_iter: int) -> np.ndarray:
    from scipy import optimize  # imported when needed: it is a large import

    options: dict[str, float | int] = {"maxiter": max_iter}
    if method == "L-BFGS-B":
        options.update(ftol=1e-15, gtol=1e-10, maxcor=20)
    else:
        options.update(gtol=1e-8)
    res = optimize.minimize(f, theta, jac=True, method=method, options=options)
    return np.asarray(res.x, dtype=float)


def _nelder_mead(f: Objective, theta: np.ndarray, max_iter: int) -> np.ndarray:
    from scipy import optimize

    res = optimize.minimize(
        lambda t: f(t)[0],
        theta,
        method="Nelder-Mead",
        options={"maxiter": max_iter * 10, "xatol": 1e-10, "fatol": 1e-12, "adaptive": True},
    )
    return np.asarray(res.x, dtype=float)


def _newton_polish(
    f: Objective, theta: np.ndarray, value: float, steps: int = 8
) -> tuple[np.ndarray, float, np.ndarray]:
    """A few damped Newton steps with the finite-difference Hessian: cheap tight convergence."""
    hess = fd_hessian(f, theta)
    for _ in range(steps):
        _, grad = f(theta)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or float(step @ grad) <= 0:
            break  # not a descent direction: Hessian not PD here
        improved = False
        for scale in (1.0, 0.5, 0.25, 0.1):
            trial = theta - scale * step
            trial_value, _ = f(trial)
            if trial_value <= value:
                theta, value, improved = trial, trial_value, True
                break
        if not improved or float(np.max(np.abs(step))) < 1e-10:
            break
        hess = fd_hessian(f, theta)
    return theta, value, hess
