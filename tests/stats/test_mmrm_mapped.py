"""The covariate-map REML engine (``stats/mmrm/mapped.py``) equals the regular engine's Newton pieces.

The expected values come from :mod:`alstrial.stats.mmrm.newton` fed with sums over explicit design
matrices, written out here column by column from the primary model's coding (1, arm, visit
dummies, arm:visit, baseline, baseline:visit, stratum), not from the map ``PrimaryDesign`` uses.
Both are exact algebra on the same data and differ only in the order of floating-point sums of a
few hundred terms, hence the relative tolerance 1e-9 (entries near zero: 1e-9 of the largest).
"""

from __future__ import annotations

import numpy as np
import pytest

from alstrial.stats.mmrm import mapped
from alstrial.stats.mmrm.batch import PrimaryDesign
from alstrial.stats.mmrm.newton import Layout, PatternData, average_information, evaluate, observed_hessian

M, N_STRATA = 5, 2


def _trial(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.normal(38, 5, n).round()
    active = rng.random(n) < 0.5
    strata = (base < 35).astype(int)
    y = -np.arange(1, M + 1)[None] * (1.0 - 0.3 * active[:, None]) + 0.05 * (base[:, None] - 38)
    y = y + rng.normal(0, 2, (n, M)) + rng.normal(0, 2, (n, 1))
    y[np.arange(M)[None] >= rng.geometric(0.08, n)[:, None]] = np.nan
    y[rng.random((n, M)) < 0.05] = np.nan  # intermittent: each trial has patterns the others lack
    return y, base, active, strata


def _x(base: float, active: bool, stratum: int, visit: int) -> np.ndarray:
    """One row of the primary model's design, column by column."""
    dummies = np.eye(M)[visit][1:]
    strata = [float(stratum == j) for j in range(1, N_STRATA)]
    return np.concatenate([[1.0, float(active)], dummies, float(active) * dummies, [base], base * dummies, strata])


def _pattern_data(y: np.ndarray, base: np.ndarray, active: np.ndarray, strata: np.ndarray) -> PatternData:
    """newton.py's sufficient statistics, summed subject by subject over explicit design matrices."""
    mask = ~np.isnan(y)
    keep = mask.any(axis=1)
    x = np.array([[_x(b, a, s, v) for v in range(M)] for b, a, s in zip(base, active, strata, strict=True)])
    x, yz, mask = x[keep] * mask[keep][:, :, None], np.where(mask, y, 0.0)[keep], mask[keep]
    patterns, which = np.unique(mask, axis=0, return_inverse=True)
    k = x.shape[2]
    xx = np.zeros((len(patterns), M, M, k, k))
    xy = np.zeros((len(patterns), M, M, k))
    yy = np.zeros((len(patterns), M, M))
    for s in range(x.shape[0]):
        p = which.ravel()[s]
        xx[p] += np.einsum("ak,bl->abkl", x[s], x[s])
        xy[p] += np.einsum("ak,b->abk", x[s], yz[s])
        yy[p] += np.outer(yz[s], yz[s])
    count = np.bincount(which.ravel()).astype(float)
    n_obs = int(mask.sum())
    return PatternData(patterns, count, xx.reshape(-1, k * k), xy.reshape(-1, k), yy, n_obs)


def _block_stats(design: PrimaryDesign, trials: list[tuple[np.ndarray, ...]]) -> mapped.MappedStats:
    """The block's covariate sums of ``trials`` (of any sizes: shorter trials padded with missing rows)."""
    n_max = max(t[0].shape[0] for t in trials)
    y = np.full((len(trials), n_max, M), np.nan)
    z = np.zeros((len(trials), n_max, design.d))
    for r, (yr, base, active, strata) in enumerate(trials):
        n = yr.shape[0]
        y[r, :n] = yr
        z[r, :n] = np.column_stack([np.ones(n), active, base, strata == 1])
    mask = ~np.isnan(y)
    return mapped.mapped_stats(np.where(mask, y, 0.0), z, mask)


def _close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * float(np.abs(want).max()))


@pytest.mark.parametrize("chunk", [8, 2])  # the Hessian's trace term all at once, or 2 trials at a time
def test_likelihood_and_derivatives_equal_newton_pieces(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mapped, "_HESSIAN_CHUNK", chunk)
    trials = [_trial(seed, n) for seed, n in ((1, 90), (2, 120), (3, 75))]  # different sizes
    design = PrimaryDesign(M, N_STRATA, -1)
    st = _block_stats(design, trials)
    lag = np.abs(np.subtract.outer(np.arange(M), np.arange(M)))
    sigmas = np.array([(0.5 + 0.1 * r) ** lag * np.outer(np.linspace(2, 4, M), np.linspace(2, 4, M)) for r in range(3)])
    pt = mapped.evaluate(design, st, sigmas)
    ai = mapped.average_information(design, pt)
    hess = mapped.observed_hessian(design, st, pt, ai)
    assert pt.ok.all()
    layout = Layout(M, design.k)
    for r, trial in enumerate(trials):
        data = _pattern_data(*trial)
        assert len(data.count) < st.mask.shape[0]  # this trial lacks some of the block's patterns
        want = evaluate(layout, data, sigmas[r])
        assert want is not None
        want_ai, f = average_information(layout, want)
        want_hess, _ = observed_hessian(layout, data, want, want_ai, f)
        _close(pt.value[r], want.value)
        _close(pt.beta[r], want.beta)
        _close(pt.phi[r], want.phi)
        _close(pt.grad[r], want.grad)
        _close(ai[r], want_ai)
        _close(hess[r], want_hess)


def test_a_covariance_that_is_not_positive_definite_marks_only_its_trial() -> None:
    trials = [_trial(seed, 80) for seed in (4, 5)]
    design = PrimaryDesign(M, N_STRATA, -1)
    st = _block_stats(design, trials)
    good = 4.0 * np.eye(M) + 1.0
    bad = good.copy()
    bad[0, 1] = bad[1, 0] = 10.0  # |cov| > sd·sd: the pair (visits 1, 2) is not a covariance
    pt = mapped.evaluate(design, st, np.array([good, bad]))
    assert pt.ok.tolist() == [True, False] and np.isinf(pt.value[1])
    alone = mapped.evaluate(design, st.take(np.array([0])), good[None])
    assert pt.value[0] == pytest.approx(alone.value[0], rel=1e-12)  # same sums; a block mate only adds rows


def test_the_trace_term_without_a_cholesky_factor_of_phi_is_the_same() -> None:
    """tr(Φ P̃_i Φ P̃_j) by ⟨C'P̃_iC, C'P̃_jC⟩ (Φ = CC') and, where Φ has no Cholesky factor, by the
    products ΦP̃_j: the same number (the second route is forced here by refusing the factor)."""
    trials = [_trial(seed, 80) for seed in (6, 7)]
    design = PrimaryDesign(M, N_STRATA, -1)
    st = _block_stats(design, trials)
    pt = mapped.evaluate(design, st, np.broadcast_to(4.0 * np.eye(M) + 1.0, (2, M, M)).copy())
    want = mapped._trace_pp_block(design, st, pt)
    chol = mapped._chol

    def refuse_phi(mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        factor, ok = chol(mats)
        if mats.shape[-1] == design.k:
            factor[1], ok[1] = np.eye(design.k), False  # the second trial's Φ "has no factor"
        return factor, ok

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mapped, "_chol", refuse_phi)
        got = mapped._trace_pp_block(design, st, pt)
    _close(got, want)


def test_a_covariance_is_checked_only_on_the_visits_a_trial_observes() -> None:
    """A trial where nobody has both the first and the last visit needs Σ positive definite on its
    patterns only (as newton.py does), even when a block mate completes every visit."""
    short, full = _trial(8, 80), _trial(9, 80)
    short[0][~np.isnan(short[0][:, -1]), 0] = np.nan  # whoever has the last visit misses the first
    design = PrimaryDesign(M, N_STRATA, -1)
    st = _block_stats(design, [short, full])
    sigma = 4.0 * np.eye(M) + 1.0
    sigma[0, -1] = sigma[-1, 0] = -4.5  # not PD, but PD without visit 1 and without visit 5
    assert np.linalg.eigvalsh(sigma).min() < 0 < np.linalg.eigvalsh(sigma[1:, 1:]).min()
    assert np.linalg.eigvalsh(sigma[:-1, :-1]).min() > 0
    pt = mapped.evaluate(design, st, np.array([sigma, sigma]))
    assert pt.ok.tolist() == [True, False]
    want = evaluate(Layout(M, design.k), _pattern_data(*short), sigma)
    assert want is not None
    _close(pt.value[0], want.value)
    _close(pt.grad[0], want.grad)
