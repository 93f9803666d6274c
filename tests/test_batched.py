"""Tests for mediationhte.mediation.batched: batched WLS / binary GLM fits and bootstrap resampling.

Reference values come from statsmodels (OLS, WLS, GLM with freq_weights / var_weights)
fitted to each replicate separately, or from the definitions (np.outer, np.bincount).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from mediationhte.mediation.batched import (
    GLMResult,
    WLSResult,
    batched_glm_binary,
    batched_wls,
    row_crossproducts,
)
from mediationhte.inference.bootstrap import resample_counts, resample_indices
from mediationhte.errors import ParameterError

N_REP = 5  # replicates compared one by one with statsmodels


def _design(rng, n=120, with_factor=True):
    """Intercept, two continuous covariates and a 3-level factor (2 dummies)."""
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    cols = [np.ones(n), x1, x2]
    cat = rng.integers(0, 3, size=n)
    if with_factor:
        cols += [(cat == 1).astype(float), (cat == 2).astype(float)]
    return np.column_stack(cols), cat


def _probit_link():
    return sm.families.Binomial(link=sm.families.links.Probit())


# --------------------------------------------------------------------------------------
# row_crossproducts
# --------------------------------------------------------------------------------------
def test_row_crossproducts_are_flattened_outer_products():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, 3))
    P = row_crossproducts(X)
    assert P.shape == (7, 9)
    for i in range(7):  # source: definition, np.outer(x_i, x_i)
        np.testing.assert_array_equal(P[i], np.outer(X[i], X[i]).ravel())
    w = rng.uniform(size=7)
    np.testing.assert_allclose((w @ P).reshape(3, 3), X.T @ (w[:, None] * X), rtol=1e-13)


# --------------------------------------------------------------------------------------
# batched_wls
# --------------------------------------------------------------------------------------
def test_batched_wls_counts_match_ols_on_resampled_rows():
    rng = np.random.default_rng(11)
    X, _ = _design(rng)
    n, p = X.shape
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    W = resample_counts(rng, n, N_REP)
    res = batched_wls(X, y, W)
    assert isinstance(res, WLSResult)
    beta, sigma, ok = res
    assert beta.shape == (N_REP, p) and sigma.shape == (N_REP,) and ok.all()
    for b in range(N_REP):
        # source: statsmodels OLS on the physically resampled rows (= R's lm on them)
        rows = np.repeat(np.arange(n), W[b])
        fit = sm.OLS(y[rows], X[rows]).fit()
        np.testing.assert_allclose(beta[b], fit.params, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(sigma[b], np.sqrt(fit.scale), rtol=1e-8)


def test_batched_wls_float_weights_match_wls_and_glm_freq_weights():
    rng = np.random.default_rng(12)
    X, _ = _design(rng)
    n, p = X.shape
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    W = rng.uniform(0.2, 3.0, size=(N_REP, n))
    beta, sigma, ok = batched_wls(X, y, W)
    assert ok.all()
    for b in range(N_REP):
        # source: statsmodels WLS (coefficients) ...
        wls = sm.WLS(y, X, weights=W[b]).fit()
        np.testing.assert_allclose(beta[b], wls.params, rtol=1e-8, atol=1e-12)
        # ... and Gaussian GLM with freq_weights, whose scale is sum(w r^2) / (sum(w) - p)
        glm = sm.GLM(y, X, family=sm.families.Gaussian(), freq_weights=W[b]).fit()
        np.testing.assert_allclose(sigma[b], np.sqrt(glm.scale), rtol=1e-8)


def test_batched_wls_chunking_and_precomputed_P_do_not_change_results():
    rng = np.random.default_rng(13)
    X, _ = _design(rng, n=60)
    y = rng.normal(size=60)
    W = resample_counts(rng, 60, 11)
    ref = batched_wls(X, y, W)
    for kwargs in ({"P": row_crossproducts(X)}, {"chunk_size": 3}, {"chunk_size": 1}):
        out = batched_wls(X, y, W, **kwargs)
        np.testing.assert_allclose(out.beta, ref.beta, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(out.sigma, ref.sigma, rtol=1e-12)
        np.testing.assert_array_equal(out.ok, ref.ok)


def test_batched_wls_singular_replicate_is_flagged_not_raised():
    rng = np.random.default_rng(14)
    X, cat = _design(rng)
    n, p = X.shape
    y = rng.normal(size=n)
    W = resample_counts(rng, n, 4).astype(float)
    W[1, cat == 2] = 0.0  # every row of category 2 gets weight 0: its dummy column vanishes
    W[2, cat == 1] = 0.0
    W[3, :] = 0.0
    W[3, :p] = 1.0  # sum(w) = p: no residual degrees of freedom
    beta, sigma, ok = batched_wls(X, y, W)
    np.testing.assert_array_equal(ok, [True, False, False, False])
    assert np.isnan(sigma[3])
    assert np.all(np.isfinite(beta[:3]))
    # the flagged replicates do not disturb the good one
    rows = np.repeat(np.arange(n), W[0].astype(int))
    ref = sm.OLS(y[rows], X[rows]).fit()
    np.testing.assert_allclose(beta[0], ref.params, rtol=1e-8, atol=1e-12)


def test_batched_wls_collinear_design_is_flagged():
    rng = np.random.default_rng(15)
    X, _ = _design(rng)
    X = np.column_stack([X, 2.0 * X[:, 1] - X[:, 2]])  # exact linear combination
    y = rng.normal(size=X.shape[0])
    _, _, ok = batched_wls(X, y, resample_counts(rng, X.shape[0], 3))
    assert not ok.any()


def test_batched_wls_rejects_bad_shapes():
    X = np.ones((5, 2))
    with pytest.raises(ParameterError, match="W"):
        batched_wls(X, np.ones(5), np.ones(5))
    with pytest.raises(ParameterError, match="y"):
        batched_wls(X, np.ones(4), np.ones((2, 5)))
    with pytest.raises(ParameterError, match="P"):
        batched_wls(X, np.ones(5), np.ones((2, 5)), P=np.ones((5, 3)))


# --------------------------------------------------------------------------------------
# batched_glm_binary
# --------------------------------------------------------------------------------------
def _binary_data(rng, link, n=300):
    X, _ = _design(rng, n=n)
    eta = X @ np.array([-0.3, 0.8, -0.6, 0.4, -0.5])
    mu = 1.0 / (1.0 + np.exp(-eta)) if link == "logit" else sm.families.links.Probit().inverse(eta)
    y = (rng.uniform(size=n) < mu).astype(float)
    return X, y


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_batched_glm_counts_match_statsmodels_freq_weights(link):
    rng = np.random.default_rng(21 if link == "logit" else 22)
    X, y = _binary_data(rng, link)
    n = X.shape[0]
    family = sm.families.Binomial() if link == "logit" else _probit_link()
    full = sm.GLM(y, X, family=family).fit(tol=1e-13, maxiter=500)
    W = resample_counts(rng, n, N_REP)
    res = batched_glm_binary(X, y, W, link=link, beta_start=full.params)
    assert isinstance(res, GLMResult)
    beta, ok = res
    assert ok.all()
    for b in range(N_REP):
        # source: statsmodels GLM(binomial) with freq_weights = resampling counts
        ref = sm.GLM(y, X, family=family, freq_weights=W[b]).fit(tol=1e-13, maxiter=500)
        np.testing.assert_allclose(beta[b], ref.params, rtol=1e-6, atol=1e-9)
    # a cold start (zeros) reaches the same maximum
    cold = batched_glm_binary(X, y, W, link=link)
    assert cold.ok.all()
    np.testing.assert_allclose(cold.beta, beta, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_batched_glm_float_weights_match_statsmodels_var_weights(link):
    rng = np.random.default_rng(23 if link == "logit" else 24)
    X, y = _binary_data(rng, link)
    n = X.shape[0]
    family = sm.families.Binomial() if link == "logit" else _probit_link()
    W = rng.uniform(0.1, 2.0, size=(N_REP, n))
    beta, ok = batched_glm_binary(X, y, W, link=link, chunk_size=2)
    assert ok.all()
    for b in range(N_REP):
        # source: statsmodels GLM(binomial) with var_weights (prior weights, as R's glm weights)
        ref = sm.GLM(y, X, family=family, var_weights=W[b]).fit(tol=1e-13, maxiter=500)
        np.testing.assert_allclose(beta[b], ref.params, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_batched_glm_separation_is_flagged_not_raised(link):
    rng = np.random.default_rng(25)
    n = 80
    x = np.sort(rng.normal(size=n))
    X = np.column_stack([np.ones(n), x])
    y = (x > 0).astype(float)
    overlap = np.array([n // 2 - 3, n // 2 + 2])  # flip one on each side: not separated
    y[overlap] = 1.0 - y[overlap]
    W = np.ones((3, n))
    W[1, overlap] = 0.0  # without the two overlapping rows: complete separation
    W[2, overlap[0]] = 0.0  # one overlapping row left: still overlapping
    beta, ok = batched_glm_binary(X, y, W, link=link)
    np.testing.assert_array_equal(ok, [True, False, True])
    assert np.all(np.isfinite(beta))
    # replicates 0 and 2 are steep (fitted probabilities numerically 0/1, where R's glm
    # warns) but their MLE exists: source statsmodels GLM with var_weights
    family = sm.families.Binomial() if link == "logit" else _probit_link()
    for b in (0, 2):
        ref = sm.GLM(y, X, family=family, var_weights=W[b]).fit(tol=1e-13, maxiter=1000)
        np.testing.assert_allclose(beta[b], ref.params, rtol=1e-6)


@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize("max_iter", [50, 500])
def test_batched_glm_quasi_complete_separation_is_flagged(link, max_iter):
    rng = np.random.default_rng(28)
    x = np.concatenate([np.sort(rng.normal(size=60)), np.zeros(4)])
    y = np.concatenate([(x[:60] > 0).astype(float), [0.0, 1.0, 0.0, 1.0]])  # overlap only at x = 0
    X = np.column_stack([np.ones(64), x])
    _, ok = batched_glm_binary(X, y, np.ones((1, 64)), link=link, max_iter=max_iter)
    assert not ok.any()


def test_batched_glm_singular_replicate_is_flagged():
    rng = np.random.default_rng(26)
    X, y = _binary_data(rng, "logit")
    cat = np.where(X[:, 3] == 1, 1, np.where(X[:, 4] == 1, 2, 0))
    W = np.ones((2, X.shape[0]))
    W[1, cat == 2] = 0.0
    _, ok = batched_glm_binary(X, y, W)
    np.testing.assert_array_equal(ok, [True, False])


def test_batched_glm_nonconvergence_is_flagged():
    rng = np.random.default_rng(27)
    X, y = _binary_data(rng, "probit")
    _, ok = batched_glm_binary(X, y, np.ones((2, X.shape[0])), link="probit", max_iter=1)
    assert not ok.any()


def test_batched_glm_rejects_bad_arguments():
    X = np.column_stack([np.ones(4), np.arange(4.0)])
    W = np.ones((1, 4))
    with pytest.raises(ParameterError, match="link"):
        batched_glm_binary(X, np.array([0, 1, 0, 1.0]), W, link="cloglog")
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        batched_glm_binary(X, np.array([0, 2, 0, 1.0]), W)
    with pytest.raises(ParameterError, match="beta_start"):
        batched_glm_binary(X, np.array([0, 1, 0, 1.0]), W, beta_start=np.zeros(3))


# --------------------------------------------------------------------------------------
# resampling
# --------------------------------------------------------------------------------------
def test_resample_counts_rows_sum_to_n_and_are_reproducible():
    c1 = resample_counts(np.random.default_rng(5), 37, 200)
    c2 = resample_counts(np.random.default_rng(5), 37, 200)
    c3 = resample_counts(np.random.default_rng(6), 37, 200)
    assert c1.shape == (200, 37) and c1.dtype == np.int32
    np.testing.assert_array_equal(c1.sum(axis=1), 37)
    assert (c1 >= 0).all()
    np.testing.assert_array_equal(c1, c2)
    assert not np.array_equal(c1, c3)


@pytest.mark.parametrize("strata", [None, "labels"])
def test_resample_counts_equal_bincount_of_indices(strata):
    n, B = 23, 50
    labels = np.array(["a", "b", "c"])[np.random.default_rng(0).integers(0, 3, size=n)]
    s = labels if strata == "labels" else None
    counts = resample_counts(np.random.default_rng(9), n, B, strata=s)
    idx = resample_indices(np.random.default_rng(9), n, B, strata=s)
    assert idx.shape == (B, n)
    for b in range(B):  # source: definition, bincount of the drawn indices
        np.testing.assert_array_equal(counts[b], np.bincount(idx[b], minlength=n))


def test_resample_indices_are_drawn_replicate_by_replicate():
    # row-major draw order: B = 4 + 6 from one generator equals B = 10 in one call
    whole = resample_indices(np.random.default_rng(3), 31, 10)
    g = np.random.default_rng(3)
    parts = np.vstack([resample_indices(g, 31, 4), resample_indices(g, 31, 6)])
    np.testing.assert_array_equal(whole, parts)


def test_resample_counts_strata_preserve_sizes():
    rng = np.random.default_rng(8)
    n, B = 41, 300
    treat = (rng.uniform(size=n) < 0.3).astype(int)
    counts = resample_counts(np.random.default_rng(4), n, B, strata=treat)
    for arm in (0, 1):
        np.testing.assert_array_equal(counts[:, treat == arm].sum(axis=1), np.sum(treat == arm))
    idx = resample_indices(np.random.default_rng(4), n, B, strata=treat)
    np.testing.assert_array_equal(treat[idx], np.broadcast_to(treat, (B, n)))
    # every row of a stratum can be drawn (uniform within the stratum)
    assert (counts.sum(axis=0) > 0).all()
