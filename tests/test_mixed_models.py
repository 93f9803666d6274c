"""Random-intercept REML LMM and cluster-robust OLS (mediationhte.crt.mixed_models).

Every test names its reference: a hand-rolled REML fit (tests/reml_reference.py: a dense profile likelihood maximised
with scipy, independent of the statsmodels MixedLM the package calls), the balanced-design ANOVA closed form,
statsmodels OLS cluster/HC covariances, a dense brute-force computation written out in the test, or a closed form
derived in the comment.
"""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM

from mediationhte.crt import mixed_models as mm
from mediationhte.errors import ParameterError
from mediationhte.inference import cluster_robust
from mediationhte.inference.cluster_robust import cluster_robust_ols
from mediationhte.crt.mixed_models import fit_random_intercept_lmm
from reml_reference import reml_random_intercept


def _crt_data(seed, n_clusters=40, icc=0.5, sizes=(20, 41), tau=0.5, cluster_effect=True):
    """Random-intercept CRT data: arm and v constant within clusters, x1 individual-level."""
    rng = np.random.default_rng(seed)
    n_j = rng.integers(*sizes, size=n_clusters)
    g = np.repeat(np.arange(n_clusters), n_j)
    n = len(g)
    arm = rng.permutation(np.repeat([0, 1], n_clusters // 2))[g]
    v = rng.normal(size=n_clusters)[g]
    x1 = rng.normal(size=n)
    b = rng.normal(scale=np.sqrt(icc), size=n_clusters)[g] if cluster_effect else 0.0
    y = 1.0 + tau * arm + 0.8 * x1 - 0.4 * v + 0.3 * arm * x1 + b + rng.normal(scale=np.sqrt(1 - icc), size=n)
    df = pd.DataFrame({"y": y, "arm": arm, "x1": x1, "v": v, "cluster": [f"clinic{j:02d}" for j in g]})
    X = np.column_stack([np.ones(n), arm, x1, v, arm * x1])
    return df, X, ("Intercept", "arm", "x1", "v", "arm:x1")


def _dense_gls_cov(X, groups, sigma_b2, sigma2):
    """sigma2-scaled (X' V^-1 X)^-1 with V built cluster by cluster as dense matrices."""
    xtvx = np.zeros((X.shape[1], X.shape[1]))
    for lab in np.unique(groups):
        Xj = X[groups == lab]
        V = sigma2 * np.eye(len(Xj)) + sigma_b2
        xtvx += Xj.T @ np.linalg.solve(V, Xj)
    return np.linalg.inv(xtvx)


@pytest.fixture(scope="module")
def lmm_case():
    df, X, names = _crt_data(2024)
    ref = smf.mixedlm("y ~ arm + x1 + v + arm:x1", df, groups=df["cluster"]).fit(reml=True)
    return df, X, names, ref


# --------------------------------------------------------------------------- LMM


def test_lmm_matches_hand_rolled_reml(lmm_case):
    # Reference: reml_reference.reml_random_intercept, a dense REML profile likelihood maximised with scipy (no
    # statsmodels), on an unbalanced design (40 clusters of 20-40 rows, ICC 0.5). statsmodels' bfgs, which the
    # package calls, stops at its default gradient tolerance where the REML surface is flat in sigma_b2 (about 3e-5
    # relative, see tight_reference): so the sharp checks are the log-likelihood (within 1e-7 of the maximum, never
    # above it) and beta (1e-6); sigma2 is checked to 1e-5 and sigma_b2 to 1e-4 relative.
    df, X, names, ref = lmm_case
    fit = fit_random_intercept_lmm(df["y"], X, df["cluster"], names=names)
    assert fit.converged and fit.optimizer == "bfgs" and not fit.boundary
    exact = reml_random_intercept(df["y"], X, df["cluster"])
    assert exact["llf"] - 1e-7 <= fit.llf <= exact["llf"] + 1e-9
    np.testing.assert_allclose(fit.beta, exact["beta"], rtol=1e-6)
    np.testing.assert_allclose(fit.sigma2, exact["sigma2"], rtol=1e-5)
    np.testing.assert_allclose(fit.sigma_b2, exact["sigma_b2"], rtol=1e-4)
    assert fit.icc == pytest.approx(fit.sigma_b2 / (fit.sigma_b2 + fit.sigma2))
    assert 0.3 < fit.icc < 0.7
    # statsmodels' cov_params() inverts the observed Hessian including the beta/variance cross terms, which
    # differ from the conditional (lme4-style) sigma2 (X'WX)^-1 by O(1/N): agreement to 1e-5 of the largest entry.
    ref_cov = ref.cov_params().loc[list(names), list(names)].to_numpy()
    np.testing.assert_allclose(fit.cov_beta, ref_cov, rtol=0, atol=1e-5 * np.abs(ref_cov).max())
    # The exact definition, evaluated densely at the fitted variance components.
    dense = _dense_gls_cov(X, df["cluster"].to_numpy(), fit.sigma_b2, fit.sigma2)
    np.testing.assert_allclose(fit.cov_beta, dense, rtol=1e-10, atol=1e-14)
    # BLUPs: the closed form lam n_g / (1 + lam n_g) * mean residual at the fitted values (exact), and the
    # reference's BLUPs at its optimum (to the optimiser's 1e-5).
    assert list(fit.group_ids) == sorted(df["cluster"].unique())
    groups, lam = df["cluster"].to_numpy(), fit.sigma_b2 / fit.sigma2
    resid = df["y"].to_numpy() - X @ fit.beta
    closed = [lam * (groups == g).sum() / (1 + lam * (groups == g).sum()) * resid[groups == g].mean()
              for g in fit.group_ids]
    np.testing.assert_allclose(fit.blups, closed, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fit.blups, exact["blups"], rtol=0, atol=1e-5)
    assert fit.n_groups == 40 and fit.n_obs == len(df)


def test_lmm_balanced_design_equals_the_anova_estimators():
    # Reference: closed form. In a balanced design (m clusters of n) with cluster-level covariates only, REML equals
    # the ANOVA estimators whenever the latter is positive (Searle, Casella & McCulloch 1992, ch. 3-4): sigma2 =
    # within-cluster mean square SSW / (N - m); beta = OLS of the cluster means on the cluster-level design Z;
    # sigma_b2 = RSS_means / (m - p) - sigma2 / n. Checked to 1e-5 relative (the optimiser's tolerance; see above).
    rng = np.random.default_rng(3)
    m, n = 30, 12
    g = np.repeat(np.arange(m), n)
    arm = rng.permutation(np.repeat([0, 1], m // 2))
    v = rng.normal(size=m)
    y = 1 + 0.5 * arm[g] - 0.3 * v[g] + rng.normal(scale=0.8, size=m)[g] + rng.normal(size=m * n)
    Z = np.column_stack([np.ones(m), arm, v])
    ybar = np.bincount(g, weights=y) / n
    sigma2 = np.sum((y - ybar[g]) ** 2) / (m * n - m)
    beta = np.linalg.lstsq(Z, ybar, rcond=None)[0]
    sigma_b2 = np.sum((ybar - Z @ beta) ** 2) / (m - Z.shape[1]) - sigma2 / n
    assert sigma_b2 > 0.3
    fit = fit_random_intercept_lmm(y, Z[g], g)
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-8)
    np.testing.assert_allclose(fit.sigma2, sigma2, rtol=1e-5)
    np.testing.assert_allclose(fit.sigma_b2, sigma_b2, rtol=1e-5)
    exact = reml_random_intercept(y, Z[g], g)  # the hand-rolled reference agrees with the closed form too
    np.testing.assert_allclose([exact["sigma2"], exact["sigma_b2"]], [sigma2, sigma_b2], rtol=1e-6)


def test_lmm_prediction_helpers_and_row_order(lmm_case):
    # Reference: the definitions X @ beta and "0 for an unseen cluster"; a row permutation must not matter.
    df, X, names, _ = lmm_case
    fit = fit_random_intercept_lmm(df["y"], X, df["cluster"], names=names)
    np.testing.assert_allclose(fit.fixed_part(X[:7]), X[:7] @ fit.beta)
    got = fit.blup_for(["clinic03", "new-clinic", "clinic00"])
    np.testing.assert_array_equal(got, [fit.blups[3], 0.0, fit.blups[0]])
    perm = np.random.default_rng(5).permutation(len(df))
    shuffled = fit_random_intercept_lmm(df["y"].to_numpy()[perm], X[perm], df["cluster"].to_numpy()[perm])
    np.testing.assert_allclose(shuffled.beta, fit.beta, rtol=1e-6)
    np.testing.assert_allclose(shuffled.blups, fit.blups, rtol=0, atol=1e-6)


def test_lmm_offset_is_subtracted_from_y(lmm_case):
    # Reference: the definition -- fitting y with an offset o is fitting y - o.
    df, X, _, _ = lmm_case
    o = 0.7 * df["x1"].to_numpy() ** 2
    a = fit_random_intercept_lmm(df["y"], X, df["cluster"], offset=o)
    b = fit_random_intercept_lmm(df["y"] - o, X, df["cluster"])
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-12)
    assert a.sigma_b2 == pytest.approx(b.sigma_b2, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_lmm_boundary_without_cluster_effect(seed):
    # Spec check 5d: sigma_b^2 = 0 data -> sigma_b2 >= 0 and small, no exception, no warning of any kind.
    df, X, _ = _crt_data(100 + seed, icc=0.0, cluster_effect=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_random_intercept_lmm(df["y"], X, df["cluster"])
    assert caught == []
    assert fit.converged
    assert 0.0 <= fit.sigma_b2 < 0.05
    if fit.boundary:  # Reference at the boundary: plain OLS and RSS / (N - p).
        ols = sm.OLS(df["y"].to_numpy(), X).fit()
        np.testing.assert_allclose(fit.beta, ols.params, rtol=1e-10)
        assert fit.sigma_b2 == 0.0 and fit.sigma2 == pytest.approx(ols.scale, rel=1e-10)
        np.testing.assert_allclose(fit.blups, 0.0)


def test_lmm_exact_boundary_when_cluster_means_vanish():
    # Derivation: if every cluster mean of the OLS residual is 0, the REML score at sigma_b2 = 0 is
    # 0.5 * (0 - N + sum_j 1'H_jj 1) < 0, so the REML maximum is the boundary and the fit is OLS.
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(30), 15)
    e = rng.normal(size=len(g))
    e -= (np.bincount(g, weights=e) / 15)[g]
    x = rng.normal(size=len(g))
    x -= (np.bincount(g, weights=x) / 15)[g]  # within-cluster covariate keeps the OLS residual = e
    X = np.column_stack([np.ones(len(g)), x])
    y = 2.0 + 0.5 * x + e
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_random_intercept_lmm(y, X, g)
    assert caught == []
    assert fit.boundary and fit.converged and fit.sigma_b2 == 0.0 and fit.icc == 0.0
    np.testing.assert_allclose(fit.beta, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)


def _crippled(methods, **override):
    """A MixedLM whose fit() misbehaves for the listed optimisers (to exercise the retry chain)."""

    class Crippled(MixedLM):
        def fit(self, *args, method=None, **kwargs):
            if method in methods:
                kwargs.update(override)
            return super().fit(*args, method=method, **kwargs)

    return Crippled


@pytest.fixture(scope="module")
def tight_reference(lmm_case):
    """The exact REML optimum of the lmm_case design, from the hand-rolled reference (not statsmodels)."""
    df, X, _, _ = lmm_case
    return reml_random_intercept(df["y"], X, df["cluster"])


def _assert_near_optimum(fit, ref):
    # Optimisers stop at different points of a flat likelihood, so the check is on the log-likelihood first.
    assert ref["llf"] - 1e-6 <= fit.llf <= ref["llf"] + 1e-9
    assert fit.sigma_b2 == pytest.approx(ref["sigma_b2"], rel=1e-3)
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-4)


@pytest.mark.parametrize("broken, expected", [(("bfgs",), {"lbfgs", "powell"}),
                                              (("bfgs", "lbfgs", "powell", "nm"), {"profile-brent"})])
def test_lmm_retries_after_convergence_failure(lmm_case, tight_reference, monkeypatch, broken, expected):
    # Reference: the tightly converged statsmodels REML fit.
    df, X, _, _ = lmm_case
    monkeypatch.setattr(mm, "MixedLM", _crippled(broken, maxiter=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_random_intercept_lmm(df["y"], X, df["cluster"])
    assert caught == []  # statsmodels' ConvergenceWarnings are captured into .attempts
    assert fit.optimizer in expected and fit.converged and not fit.boundary
    assert fit.attempts[0].startswith("bfgs: not clean")
    _assert_near_optimum(fit, tight_reference)
    if expected == {"profile-brent"}:  # the 1-D profile search is accurate to the bounded-Brent tolerance
        assert fit.sigma_b2 == pytest.approx(tight_reference["sigma_b2"], rel=1e-6)


def test_lmm_rejects_spurious_boundary_stationary_point(lmm_case, tight_reference, monkeypatch):
    # statsmodels optimises over sqrt(sigma_b2 / sigma2); started at exactly 0 the gradient vanishes and it
    # "converges" at the boundary. The positive REML score at 0 must expose this and trigger a retry.
    df, X, _, _ = lmm_case
    monkeypatch.setattr(mm, "MixedLM", _crippled(("bfgs",), start_params=np.zeros(1)))
    fit = fit_random_intercept_lmm(df["y"], X, df["cluster"])
    assert fit.attempts[0].startswith("bfgs: not clean"), fit.attempts[0]
    assert fit.optimizer != "bfgs" and not fit.boundary and fit.converged
    _assert_near_optimum(fit, tight_reference)


def test_lmm_boundary_answer_needs_a_nonpositive_score(lmm_case, tight_reference, monkeypatch):
    # A "clean" statsmodels answer at sigma_b2 = 0 is rejected when the REML score there is positive.
    df, X, _, _ = lmm_case
    real = mm._statsmodels_attempt

    def fake(y, X_, codes, method):
        return mm._Attempt(method, 0.0, True, "fake") if method == "bfgs" else real(y, X_, codes, method)

    monkeypatch.setattr(mm, "_statsmodels_attempt", fake)
    fit = fit_random_intercept_lmm(df["y"], X, df["cluster"])
    assert "spurious stationary point" in fit.attempts[0]
    assert fit.optimizer != "bfgs" and not fit.boundary and fit.converged
    _assert_near_optimum(fit, tight_reference)


@pytest.mark.parametrize("cluster_effect", [True, False])
def test_lmm_score_at_zero_is_the_reml_derivative(cluster_effect):
    # Reference: a forward finite difference of the profiled REML log-likelihood at sigma_b2 / sigma2 = 0.
    df, X, _ = _crt_data(101, icc=0.3 if cluster_effect else 0.0, cluster_effect=cluster_effect)
    codes = np.unique(df["cluster"], return_inverse=True)[1]
    problem = mm._RandomIntercept(df["y"].to_numpy(), X, codes, 40)
    h = 1e-7
    assert problem.score_at_zero() == pytest.approx((problem.llf(h) - problem.llf(0.0)) / h, rel=1e-4, abs=1e-3)


def test_lmm_fit_is_immutable(lmm_case):
    df, X, _, _ = lmm_case
    fit = fit_random_intercept_lmm(df["y"], X, df["cluster"])
    for arr in (fit.beta, fit.cov_beta, fit.blups, fit.group_ids, fit.group_sizes):
        assert not arr.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.sigma_b2 = 1.0


def test_lmm_validation_errors_name_the_parameter():
    df, X, _ = _crt_data(3, n_clusters=6, sizes=(5, 8))
    y, g = df["y"].to_numpy(), df["cluster"].to_numpy()
    cases = [
        (dict(y=y[:-1], X=X, groups=g), "y"),
        (dict(y=y, X=X, groups=g[:-1]), "groups"),
        (dict(y=y, X=X, groups=np.zeros(len(y))), "groups"),
        (dict(y=np.where(np.arange(len(y)) == 3, np.nan, y), X=X, groups=g), "y"),
        (dict(y=y, X=np.column_stack([X, X[:, 1]]), groups=g), "X"),
        (dict(y=y, X=X, groups=g, names=["a"]), "names"),
        (dict(y=y, X=X, groups=g, offset=np.ones(3)), "offset"),
    ]
    for kwargs, parameter in cases:
        with pytest.raises(ParameterError) as info:
            fit_random_intercept_lmm(kwargs.pop("y"), kwargs.pop("X"), kwargs.pop("groups"), **kwargs)
        assert info.value.parameter == parameter, str(info.value)
    fit = fit_random_intercept_lmm(y, X, g)
    with pytest.raises(ParameterError) as info:
        fit.fixed_part(X[:, :2])
    assert info.value.parameter == "X_new"


# --------------------------------------------------------------------------- cluster-robust OLS


@pytest.fixture(scope="module")
def ols_case():
    df, X, names = _crt_data(77, n_clusters=26, sizes=(5, 30), icc=0.3)
    codes = pd.factorize(df["cluster"], sort=True)[0]
    return df["y"].to_numpy(), X, codes, names


@pytest.mark.parametrize("kind, use_correction", [("CR0", False), ("CR1", True)])
def test_cr0_cr1_match_statsmodels_cluster(ols_case, kind, use_correction):
    # Reference: statsmodels OLS(...).fit(cov_type="cluster"); use_correction=True multiplies by
    # G/(G-1) * (N-1)/(N-k) (statsmodels.stats.sandwich_covariance.cov_cluster), i.e. Stata's CR1.
    y, X, g, names = ols_case
    ref = sm.OLS(y, X).fit(cov_type="cluster", use_t=True,
                           cov_kwds={"groups": g, "use_correction": use_correction})
    fit = cluster_robust_ols(y, X, g, names=names, kind=kind)
    np.testing.assert_allclose(fit.beta, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.cov_beta, ref.cov_params(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(fit.se, ref.bse, rtol=1e-10)
    # statsmodels' df_correction=True (default) also uses t with G - 1 degrees of freedom.
    assert fit.df == ref.df_resid_inference == 25
    np.testing.assert_allclose(fit.p_values, ref.pvalues, rtol=1e-8)
    R = np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 1.0]])
    wt, ref_wt = fit.wald_test(R, [0.4, 0.0]), ref.wald_test((R, [0.4, 0.0]), use_f=True, scalar=True)
    assert wt.f_statistic == pytest.approx(float(ref_wt.statistic), rel=1e-10)
    assert wt.p_value == pytest.approx(float(ref_wt.pvalue), rel=1e-8)
    assert wt.df_denom == 25 and wt.p_value_chi2 == pytest.approx(stats.chi2.sf(wt.statistic, 2))


def test_cr1_is_cr0_times_stata_factor(ols_case):
    y, X, g, _ = ols_case
    n, k, G = len(y), X.shape[1], len(np.unique(g))
    cr0, cr1 = cluster_robust_ols(y, X, g, kind="CR0"), cluster_robust_ols(y, X, g, kind="CR1")
    np.testing.assert_allclose(cr1.cov_beta, cr0.cov_beta * G / (G - 1) * (n - 1) / (n - k), rtol=1e-12)


def _dense_cr2(y, X, g, pinv_tol=1e-10):
    """Brute force: full hat matrix, per-cluster (I - H_gg)^(-1/2) by eigh (pseudo-inverse of zero eigenvalues),
    the sandwich, and the Satterthwaite Omega = P'(I - H)P for each unit contrast (Pustejovsky & Tipton 2018)."""
    n, p = X.shape
    B = np.linalg.inv(X.T @ X)
    H = X @ B @ X.T
    e = y - H @ y
    labels = np.unique(g)
    A = {}
    for lab in labels:
        idx = np.flatnonzero(g == lab)
        w, U = np.linalg.eigh(np.eye(len(idx)) - H[np.ix_(idx, idx)])
        inv_root = np.where(w > pinv_tol, 1.0 / np.sqrt(np.clip(w, pinv_tol, None)), 0.0)
        A[lab] = (idx, (U * inv_root) @ U.T)
    meat = sum(np.outer(X[i].T @ a @ e[i], X[i].T @ a @ e[i]) for i, a in A.values())
    cov = B @ meat @ B

    def satt(c):
        P = np.zeros((n, len(labels)))
        for col, (i, a) in enumerate(A.values()):
            P[i, col] = a @ X[i] @ B @ c
        omega = P.T @ (np.eye(n) - H) @ P
        return np.trace(omega) ** 2 / np.trace(omega @ omega)

    return cov, satt


@pytest.fixture(scope="module")
def small_case():
    rng = np.random.default_rng(12)
    sizes = np.array([2, 3, 4, 5, 6, 7, 8, 3, 5, 6, 7, 4])  # 12 clusters, 60 rows, unbalanced
    g = np.repeat(np.arange(12), sizes)
    arm = (np.arange(12) % 2)[g]
    x = rng.normal(size=60)
    X = np.column_stack([np.ones(60), arm, x, arm * x])
    y = 0.3 + 0.5 * arm + x + rng.normal(size=12)[g] + rng.normal(size=60) * (1 + 0.5 * np.abs(x))
    return y, X, g


def test_cr2_matches_dense_brute_force(small_case):
    y, X, g = small_case
    cov, satt = _dense_cr2(y, X, g)
    fit = cluster_robust_ols(y, X, g, kind="CR2")
    np.testing.assert_allclose(fit.cov_beta, cov, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(fit.df_satterthwaite, [satt(c) for c in np.eye(4)], rtol=1e-10)
    c = np.array([0.0, 1.0, 0.0, 0.5])
    assert fit.satterthwaite_df(c) == pytest.approx(satt(c), rel=1e-10)
    np.testing.assert_allclose(fit.p_values_satterthwaite, 2 * stats.t.sf(np.abs(fit.t_values), fit.df_satterthwaite))
    assert fit.df == 11
    np.testing.assert_allclose(fit.p_values, 2 * stats.t.sf(np.abs(fit.beta / np.sqrt(np.diag(cov))), 11), rtol=1e-9)


def test_cr2_pseudo_inverse_when_a_cluster_has_its_own_dummy(small_case):
    # A dummy for cluster 0 makes I - H_00 singular; the dense reference pseudo-inverts its zero eigenvalue.
    y, X, g = small_case
    Xd = np.column_stack([X, (g == 0).astype(float)])
    cov, satt = _dense_cr2(y, Xd, g)
    fit = cluster_robust_ols(y, Xd, g, kind="CR2")
    np.testing.assert_allclose(fit.cov_beta, cov, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fit.df_satterthwaite[:4], [satt(c) for c in np.eye(5)[:4]], rtol=1e-8)


def test_cr2_chunked_gram_equals_one_pass(small_case, monkeypatch):
    # Reference: the same estimator with the per-cluster Gram matrices formed in one pass.
    y, X, g = small_case
    one = cluster_robust_ols(y, X, g, kind="CR2")
    monkeypatch.setattr(cluster_robust, "GRAM_CHUNK", 40)  # 40 // 16 = 2 rows per chunk: every cluster alone
    many = cluster_robust_ols(y, X, g, kind="CR2")
    np.testing.assert_allclose(many.cov_beta, one.cov_beta, rtol=1e-13)
    np.testing.assert_allclose(many.df_satterthwaite, one.df_satterthwaite, rtol=1e-13)


@pytest.mark.parametrize("kind, hc", [("CR0", "HC0"), ("CR2", "HC2")])
def test_singleton_clusters_reduce_to_hc(ols_case, kind, hc):
    # Derivation: with one row per cluster, H_gg = h_ii, so CR0 = HC0 and CR2 = sum x_i x_i' e_i^2 / (1 - h_ii) = HC2.
    # Reference: statsmodels OLS(...).fit(cov_type="HC0"/"HC2").
    y, X, _, _ = ols_case
    fit = cluster_robust_ols(y, X, np.arange(len(y)), kind=kind)
    np.testing.assert_allclose(fit.cov_beta, sm.OLS(y, X).fit(cov_type=hc).cov_params(), rtol=1e-10, atol=1e-15)


def test_cr2_intercept_only_balanced_is_variance_of_cluster_means():
    # Derivation: X = 1, G clusters of n rows. H_gg = 11'/N has eigenvalue 1/G on 1/sqrt(n), so
    # A_g 1 = (1 - 1/G)^(-1/2) 1 and V_CR2 = G/(G-1) * sum_g (n (ybar_g - ybar) / N)^2 = s^2(ybar_g) / G,
    # the textbook unbiased variance of the mean of cluster means. Omega = (G/(G-1)) n/N^2 (I - J/G) is a
    # rank G-1 projection times a constant, so the Satterthwaite df is exactly G - 1.
    rng = np.random.default_rng(3)
    G, n = 9, 6
    g = np.repeat(np.arange(G), n)
    y = rng.normal(size=G)[g] + rng.normal(size=G * n)
    fit = cluster_robust_ols(y, np.ones((G * n, 1)), g, kind="CR2")
    means = y.reshape(G, n).mean(axis=1)
    assert fit.cov_beta[0, 0] == pytest.approx(np.var(means, ddof=1) / G, rel=1e-12)
    assert fit.df_satterthwaite[0] == pytest.approx(G - 1, rel=1e-12)


def test_wald_single_restriction_equals_squared_t(small_case):
    y, X, g = small_case
    fit = cluster_robust_ols(y, X, g, kind="CR2")
    wt = fit.wald_test([0, 1, 0, 0])
    assert wt.statistic == pytest.approx(fit.t_values[1] ** 2, rel=1e-12)
    assert wt.p_value == pytest.approx(fit.p_values[1], rel=1e-10)  # F(1, G-1) = t(G-1)^2
    ci = fit.conf_int(0.9)
    np.testing.assert_allclose(ci[:, 1] - fit.beta, stats.t.ppf(0.95, 11) * fit.se)


def test_cr2_coverage_in_cluster_randomised_design():
    # Monte Carlo (spec check 4): 300 replicates, 20 clusters of 10-30 rows, treatment constant within clusters,
    # ICC 0.3. The CR2 / t(G-1) 95% interval must cover tau in [0.92, 0.98]; iid OLS intervals clearly less
    # (design effect about 1 + 19 * 0.3, so theory gives about 0.55).
    tau, G = 0.5, 20
    cover_cr2 = cover_satt = cover_iid = 0
    for r in range(300):
        rng = np.random.default_rng(1000 + r)
        n_j = rng.integers(10, 31, size=G)
        g = np.repeat(np.arange(G), n_j)
        arm = rng.permutation(np.repeat([0, 1], G // 2))[g]
        y = tau * arm + rng.normal(scale=np.sqrt(0.3), size=G)[g] + rng.normal(scale=np.sqrt(0.7), size=len(g))
        fit = cluster_robust_ols(y, np.column_stack([np.ones(len(g)), arm]), g, kind="CR2")
        lo, hi = fit.conf_int()[1]
        cover_cr2 += lo <= tau <= hi
        lo, hi = fit.conf_int(df="satterthwaite")[1]
        cover_satt += lo <= tau <= hi
        half = stats.t.ppf(0.975, len(g) - 2) * np.sqrt(fit.cov_iid[1, 1])
        cover_iid += abs(fit.beta[1] - tau) <= half
    assert 0.92 <= cover_cr2 / 300 <= 0.98, cover_cr2
    assert 0.92 <= cover_satt / 300 <= 0.98, cover_satt
    assert cover_iid / 300 < 0.85, cover_iid


def test_ols_fit_is_immutable(small_case):
    y, X, g = small_case
    fit = cluster_robust_ols(y, X, g)
    for arr in (fit.beta, fit.cov_beta, fit.se, fit.t_values, fit.p_values, fit.df_satterthwaite, fit.cov_iid):
        assert not arr.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.kind = "CR0"


def test_ols_validation_errors_name_the_parameter(small_case):
    y, X, g = small_case
    for kwargs, parameter in [
        (dict(y=y, X=X, groups=g, kind="HC1"), "kind"),
        (dict(y=y, X=X, groups=g, kind=2), "kind"),
        (dict(y=y[:-2], X=X, groups=g), "y"),
        (dict(y=y, X=X, groups=g[:-2]), "groups"),
        (dict(y=y, X=X, groups=np.full(len(y), "only")), "groups"),
        (dict(y=y, X=X[:, 1:2] * np.ones((1, 2)), groups=g), "X"),
    ]:
        with pytest.raises(ParameterError) as info:
            cluster_robust_ols(kwargs.pop("y"), kwargs.pop("X"), kwargs.pop("groups"), **kwargs)
        assert info.value.parameter == parameter, str(info.value)
    cr2, cr1 = cluster_robust_ols(y, X, g), cluster_robust_ols(y, X, g, kind="CR1")
    for call, parameter in [
        (lambda: cr2.wald_test(np.ones((2, 3))), "R"),
        (lambda: cr2.wald_test(np.ones((2, 4)), [0.0]), "r"),
        (lambda: cr2.wald_test(np.array([[0, 1, 0, 0], [0, 2, 0, 0.0]])), "R"),
        (lambda: cr1.satterthwaite_df([0, 1, 0, 0]), "kind"),
        (lambda: cr1.conf_int(df="satterthwaite"), "df"),
        (lambda: cr2.conf_int(level=95), "level"),
    ]:
        with pytest.raises(ParameterError) as info:
            call()
        assert info.value.parameter == parameter, str(info.value)
