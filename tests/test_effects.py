"""Estimands against closed forms: every reference below is algebra on the fitted coefficients.

For a Gaussian mediator M = X_m a + e and an outcome model with linear predictor eta(t, m), the
estimands are ACME(t) = mean_i E[g(eta(t, M_i(1)))] - E[g(eta(t, M_i(0)))] and ADE(t) likewise with the
treatment switched (Imai, Keele & Tingley 2010). With identity g and eta linear in m these reduce to
products of coefficients, which is what the tests compute by hand.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mediationhte import mediate


def _sim(n=400, seed=3, binary_m=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    sex = rng.integers(0, 2, size=n)
    treat = rng.integers(0, 2, size=n)
    if binary_m:
        m = (rng.random(n) < norm.cdf(-0.2 + 0.8 * treat + 0.3 * x)).astype(int)
    else:
        m = 1.0 + 0.5 * treat + 0.3 * x + 0.2 * treat * sex + rng.normal(size=n)
    y = 0.3 + 0.4 * treat + 0.7 * m + 0.25 * treat * m + 0.5 * x + rng.normal(size=n)
    return pd.DataFrame({"y": y, "m": m, "treat": treat, "x": x, "sex": sex,
                         "ybin": (y > np.median(y)).astype(int)})


def _coef(fit, model, term):
    m = fit.mediator_model if model == "mediator" else fit.outcome_model
    return m.params[list(m.column_names).index(term)]


def test_interaction_closed_form():
    df = _sim()
    fit = mediate("y ~ treat * m + x", "m ~ treat + x", df, sims=50, random_state=1)
    a = _coef(fit, "mediator", "treat")
    b, g, c = (_coef(fit, "outcome", t) for t in ("m", "treat:m", "treat"))
    X = fit.fit_data.X_mediator.copy()
    X[:, 1] = 0.0
    mean_m0 = (X @ fit.mediator_model.params).mean()
    est = fit.estimates
    assert est["acme_control"] == pytest.approx(a * b, abs=1e-12)
    assert est["acme_treated"] == pytest.approx(a * (b + g), abs=1e-12)
    assert est["ade_control"] == pytest.approx(c + g * mean_m0, abs=1e-12)
    assert est["ade_treated"] == pytest.approx(c + g * (mean_m0 + a), abs=1e-12)
    assert est["total"] == pytest.approx(c + a * b + g * (mean_m0 + a), abs=1e-12)
    assert fit.interaction and not fit.short_form


# Heterogeneous linear-Gaussian design for the unit-level effects (made for the next test):
#   M = 1 + a(x) t + 0.3 x + e_M with a(x) = 0.5 + 0.4 x;  Y = 0.3 + 0.4 t + 0.7 M + 0.25 t M + 0.5 x + e_Y.
# With c = 0.4, b = 0.7, g = 0.25 and mu_t(x) = E[M | t, x], the unit effects are, in closed form,
#   cie_treated(x) = (b + g) a(x), cie_control(x) = b a(x), cde_control(x) = c + g mu_0(x), cde_treated(x) = c + g mu_1(x)
# and te(x) = cie_treated(x) + cde_control(x). Every column is a line in x whose intercept and slope are functions of
# theta = (a0, a_t, a_x, a_tx, c, b, g) (the mediator coefficients Intercept, treat, x, treat:x and the outcome
# coefficients treat, m, treat:m): at the DGP's theta they are the truth, at the fitted theta the estimate.
HET_THETA = np.array([1.0, 0.5, 0.3, 0.4, 0.4, 0.7, 0.25])
UNIT_COLUMNS = ("cie_treated", "cie_control", "cde_control", "cde_treated", "te")


def _het_sim(n=3000, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.integers(0, 2, size=n)
    m = 1.0 + (0.5 + 0.4 * x) * t + 0.3 * x + rng.normal(size=n)
    y = 0.3 + 0.4 * t + 0.7 * m + 0.25 * t * m + 0.5 * x + rng.normal(size=n)
    return pd.DataFrame({"y": y, "m": m, "treat": t, "x": x})


def _unit_lines(theta):
    """(intercept, slope) in x of each unit-effect column, stacked in UNIT_COLUMNS order: shape (5, 2)."""
    a0, a_t, a_x, a_tx, c, b, g = theta
    a = np.array([a_t, a_tx])
    mu0, mu1 = np.array([a0, a_x]), np.array([a0 + a_t, a_x + a_tx])
    cie1, cie0 = (b + g) * a, b * a
    cde0, cde1 = np.array([c, 0.0]) + g * mu0, np.array([c, 0.0]) + g * mu1
    return np.array([cie1, cie0, cde0, cde1, cie1 + cde0])


def _ols(y, X):
    """OLS coefficients and their classical covariance, by numpy least squares (independent of the package)."""
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ beta
    return beta, resid @ resid / (len(y) - X.shape[1]) * np.linalg.inv(X.T @ X)


def test_unit_effects_against_closed_form_and_simulated_truth():
    df = _het_sim()
    fit = mediate("y ~ treat * m + x", "m ~ treat * x", df, sims=20, random_state=1)
    u = fit.effects
    assert list(u.columns) == list(UNIT_COLUMNS) and u.index.equals(df.index)
    # (1) Algebra: the unit effects are the closed-form lines at coefficients refitted here by least squares.
    n, t, x, m = len(df), df["treat"].to_numpy(), df["x"].to_numpy(), df["m"].to_numpy()
    alpha, cov_a = _ols(m, np.column_stack([np.ones(n), t, x, t * x]))
    beta, cov_b = _ols(df["y"].to_numpy(), np.column_stack([np.ones(n), t, m, t * m, x]))
    theta = np.r_[alpha, beta[1:4]]
    lines = _unit_lines(theta)
    expected = lines[:, :1] + lines[:, 1:] * x  # (5, n)
    np.testing.assert_allclose(u[list(UNIT_COLUMNS)].to_numpy().T, expected, rtol=0, atol=1e-9)
    assert u["cie_treated"].mean() == pytest.approx(fit.estimates["acme_treated"], abs=1e-12)
    # (2) Truth: each line's intercept and slope within 4 delta-method SEs of the DGP's. The two regressions'
    # estimates are uncorrelated (the outcome errors are independent of the mediator's), so cov(theta) is
    # block-diagonal; the Jacobian of _unit_lines is taken by central differences (it is polynomial, so exact).
    cov = np.zeros((7, 7))
    cov[:4, :4], cov[4:, 4:] = cov_a, cov_b[1:4, 1:4]
    h = 1e-6
    jac = np.stack([(_unit_lines(theta + h * e) - _unit_lines(theta - h * e)) / (2 * h) for e in np.eye(7)], axis=-1)
    se = np.sqrt(np.einsum("cpi,ij,cpj->cp", jac, cov, jac))
    truth = _unit_lines(HET_THETA)
    assert np.all(np.abs(lines - truth) < 4 * se), (lines, truth, se)
    # a constant (no heterogeneity) would be far off: the true slopes of cie_treated and cie_control are 0.38, 0.28
    assert truth[0, 1] / se[0, 1] > 8 and truth[1, 1] / se[1, 1] > 8
    # Guard: the identities te = cie(1) + cde(0) = cie(0) + cde(1) hold per unit.
    np.testing.assert_allclose(u["te"], u["cie_treated"] + u["cde_control"], atol=1e-12)
    np.testing.assert_allclose(u["te"], u["cie_control"] + u["cde_treated"], atol=1e-12)


def test_binary_mediator_two_point_sum():
    df = _sim(binary_m=True)
    fit = mediate("y ~ treat * m + x", "m ~ treat + x", df, mediator_family="probit", sims=50, random_state=1)
    X = fit.fit_data.X_mediator
    p = [norm.cdf(np.column_stack([np.ones(len(df)), np.full(len(df), t), X[:, 2]]) @ fit.mediator_model.params)
         for t in (0, 1)]
    b, g = _coef(fit, "outcome", "m"), _coef(fit, "outcome", "treat:m")
    assert fit.estimates["acme_control"] == pytest.approx(b * np.mean(p[1] - p[0]), abs=1e-12)
    assert fit.estimates["acme_treated"] == pytest.approx((b + g) * np.mean(p[1] - p[0]), abs=1e-12)


def test_probit_outcome_gaussian_mediator_quadrature():
    # E[Phi(u + v M)] with M ~ N(mu, s^2) equals Phi((u + v mu) / sqrt(1 + v^2 s^2)) exactly.
    df = _sim()
    fit = mediate("ybin ~ treat + m + x", "m ~ treat + x", df, outcome_family="probit", sims=50, random_state=1)
    n = len(df)
    alpha, s = fit.mediator_model.params, fit.mediator_model.sigma
    beta = fit.outcome_model.params
    mu = {t: np.column_stack([np.ones(n), np.full(n, t), df["x"]]) @ alpha for t in (0, 1)}

    def mean_y(t, tp):
        u = beta[0] + beta[1] * t + beta[3] * df["x"].to_numpy()
        return norm.cdf((u + beta[2] * mu[tp]) / np.sqrt(1 + beta[2] ** 2 * s**2))

    expected = {
        "acme_control": np.mean(mean_y(0, 1) - mean_y(0, 0)),
        "acme_treated": np.mean(mean_y(1, 1) - mean_y(1, 0)),
        "ade_control": np.mean(mean_y(1, 0) - mean_y(0, 0)),
        "ade_treated": np.mean(mean_y(1, 1) - mean_y(0, 1)),
    }
    for key, value in expected.items():
        assert fit.estimates[key] == pytest.approx(value, abs=1e-10), key
    assert not fit.short_form  # nonlinear outcome: R prints the long form


def test_nonaffine_mediator_term_closed_form():
    # y = ... + b m + c m^2: E[M^2] = mu^2 + s^2, so ACME(t) = mean(b (mu1 - mu0) + c (mu1^2 - mu0^2)).
    df = _sim()
    fit = mediate("y ~ treat + m + I(m**2) + x", "m ~ treat + x", df, sims=20, random_state=1)
    assert not fit.counterfactual.affine
    n = len(df)
    alpha = fit.mediator_model.params
    mu = {t: np.column_stack([np.ones(n), np.full(n, t), df["x"]]) @ alpha for t in (0, 1)}
    b, c = _coef(fit, "outcome", "m"), _coef(fit, "outcome", "I(m ** 2)")
    expected = np.mean(b * (mu[1] - mu[0]) + c * (mu[1] ** 2 - mu[0] ** 2))
    assert fit.estimates["acme_control"] == pytest.approx(expected, abs=1e-9)
    assert fit.estimates["acme_treated"] == pytest.approx(expected, abs=1e-9)


def test_covariates_condition_the_effect():
    # Mediator model with treat:sex: at sex = 1 the treatment shifts M by a + a_s, so ACME = (a + a_s) b.
    df = _sim()
    fit = mediate("y ~ treat + m + x + sex", "m ~ treat * sex + x", df, covariates={"sex": 1}, sims=20,
                  random_state=1)
    a, a_s = _coef(fit, "mediator", "treat"), _coef(fit, "mediator", "treat:sex")
    b = _coef(fit, "outcome", "m")
    assert fit.estimates["acme_average"] == pytest.approx((a + a_s) * b, abs=1e-12)
    assert "Inference Conditional" in str(fit.summary())


def test_continuous_treatment_contrast():
    df = _sim()
    df["dose"] = df["treat"] * 2.0 + np.random.default_rng(0).normal(size=len(df)) * 0.1
    fit = mediate("y ~ dose + m + x", "m ~ dose + x", df, treat_value=2.0, control_value=0.5, sims=20,
                  random_state=1)
    a, b = _coef(fit, "mediator", "dose"), _coef(fit, "outcome", "m")
    assert fit.estimates["acme_average"] == pytest.approx(a * 1.5 * b, abs=1e-12)


@pytest.mark.filterwarnings("ignore::mediationhte.errors.ContrastWarning")  # text labels on purpose
@pytest.mark.parametrize("recode", ["bool", "string", "categorical", "C()"])
def test_treatment_codings_agree(recode):
    df = _sim()
    ref = mediate("y ~ treat + m + x", "m ~ treat + x", df, sims=20, random_state=1).estimates
    df2 = df.copy()
    formula_t = "treat"
    if recode == "bool":
        df2["treat"] = df2["treat"].astype(bool)
    elif recode == "string":
        df2["treat"] = np.where(df2["treat"] == 1, "workshop", "booklet")  # sorted: booklet = control
    elif recode == "categorical":
        df2["treat"] = pd.Categorical(np.where(df2["treat"] == 1, "b", "a"), categories=["a", "b"])
    else:
        formula_t = "C(treat)"
    fit = mediate(f"y ~ {formula_t} + m + x", f"m ~ {formula_t} + x", df2, sims=20, random_state=1)
    np.testing.assert_allclose(fit.estimates.to_numpy(), ref.to_numpy(), atol=1e-12)


def test_recovers_simulated_truth():
    # Truth from the data-generating process: ACME = a * b = 0.5 * 0.7 = 0.35; ADE = 0.4 (no interaction).
    rng = np.random.default_rng(2024)
    n = 5000
    x = rng.normal(size=n)
    t = rng.integers(0, 2, size=n)
    m = 0.5 * t + 0.3 * x + rng.normal(size=n)
    y = 0.4 * t + 0.7 * m + 0.5 * x + rng.normal(size=n)
    fit = mediate("y ~ t + m + x", "m ~ t + x", pd.DataFrame({"y": y, "m": m, "t": t, "x": x}), sims=500,
                  random_state=5)
    table = fit.to_frame()
    for key, truth in (("acme_average", 0.35), ("ade_average", 0.4), ("total", 0.75)):
        est, se = table.loc[key, "estimate"], table.loc[key, "std_error"]
        assert abs(est - truth) < 4 * se, (key, est, se)
