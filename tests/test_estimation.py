"""Batched bootstrap refits equal a plain refit of mediate() on the resampled rows.

Reference: for resampling counts c, a bootstrap replicate is by definition the estimator applied to the data
set that repeats row i c_i times; mediate() on that data set (statsmodels OLS/GLM fits, exact integration)
is computed without any batching, so the two must agree to numerical precision.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mediationhte import mediate
from mediationhte.inference.bootstrap import resample_counts
from mediationhte.mediation.estimation import prepare_refits, weighted_replicates
from mediationhte.report.summary import EFFECT_KEYS


def _data(seed=7, n=300):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.integers(0, 2, size=n)
    m = 0.4 * t + 0.5 * x + rng.normal(size=n)
    mb = (rng.random(n) < norm.cdf(0.6 * t + 0.3 * x)).astype(int)
    y = 0.3 * t + 0.6 * m + 0.2 * t * m + 0.4 * x + rng.normal(size=n)
    yb = (rng.random(n) < norm.cdf(-0.2 + 0.5 * t + 0.4 * mb + 0.3 * x)).astype(int)
    return pd.DataFrame({"y": y, "yb": yb, "m": m, "mb": mb, "t": t, "x": x})


CASES = [
    ("y ~ t * m + x", "m ~ t + x", "gaussian", "gaussian"),
    ("yb ~ t + m + x", "m ~ t + x", "logit", "gaussian"),
    ("y ~ t * mb + x", "mb ~ t + x", "gaussian", "logit"),
    ("yb ~ t + mb + x", "mb ~ t + x", "probit", "probit"),
]


@pytest.mark.parametrize("outcome, mediator, y_family, m_family", CASES)
def test_replicate_equals_refit_on_resampled_rows(outcome, mediator, y_family, m_family):
    data = _data()
    fit = mediate(outcome, mediator, data, outcome_family=y_family, mediator_family=m_family, sims=20,
                  random_state=1)
    counts = resample_counts(np.random.default_rng(3), len(data), 3)
    inputs = prepare_refits(fit.fit_data, fit.mediator_model, fit.outcome_model)
    batched = weighted_replicates(fit.counterfactual, inputs, counts.astype(float), None)
    for b in range(3):
        resampled = data.iloc[np.repeat(np.arange(len(data)), counts[b])].reset_index(drop=True)
        ref = mediate(outcome, mediator, resampled, outcome_family=y_family, mediator_family=m_family, sims=2,
                      random_state=1).point_estimates
        np.testing.assert_allclose(batched[b], [ref[k] for k in EFFECT_KEYS], rtol=1e-6, atol=1e-9)


def test_failed_replicate_is_dropped_and_counted():
    data = _data()
    fit = mediate("y ~ t + m + x", "m ~ t + x", data, sims=20, random_state=1)
    inputs = prepare_refits(fit.fit_data, fit.mediator_model, fit.outcome_model)
    W = np.ones((2, len(data)))
    W[1, data["t"].to_numpy() == 1] = 0.0  # no treated rows: the treatment column is all zero -> singular
    out = weighted_replicates(fit.counterfactual, inputs, W, None)
    assert np.all(np.isfinite(out[0])) and np.all(np.isnan(out[1]))


@pytest.mark.parametrize("method", ["percentile", "bca", "bca_r"])
def test_bootstrap_methods_run_and_bracket_estimate(method):
    fit = mediate("y ~ t + m + x", "m ~ t + x", _data(), sims=50, random_state=1)
    boot = fit.bootstrap_ci(n_boot=400, method=method, random_state=2)
    table = boot.to_frame()
    assert (table["ci_lower"] <= table["estimate"]).all() and (table["estimate"] <= table["ci_upper"]).all()
    assert "BCa" in str(boot.summary()) if method != "percentile" else "Percentile" in str(boot.summary())
    assert boot.n_failed == 0 and len(boot.draws) == 400


def test_bootstrap_se_matches_delta_method():
    # For a linear-linear model the bootstrap SD of a*b should be close to the first-order delta-method (Sobel)
    # SE sqrt(b^2 se_a^2 + a^2 se_b^2); with n = 3000 and B = 1000 they agree within 15%
    # (MC relative error of an SD with B = 1000 is about 1/sqrt(2B) = 2.2%; the rest is second-order terms).
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=n)
    t = rng.integers(0, 2, size=n)
    m = 0.5 * t + 0.5 * x + rng.normal(size=n)
    y = 0.3 * t + 0.6 * m + 0.4 * x + rng.normal(size=n)
    fit = mediate("y ~ t + m + x", "m ~ t + x", pd.DataFrame({"y": y, "m": m, "t": t, "x": x}), sims=50,
                  random_state=1)
    a, se_a = fit.mediator_model.params[1], fit.mediator_model.std_errors[1]
    b, se_b = fit.outcome_model.params[2], fit.outcome_model.std_errors[2]
    sobel = np.sqrt(b**2 * se_a**2 + a**2 * se_b**2)
    boot = fit.bootstrap_ci(n_boot=1000, random_state=9)
    assert boot.to_frame().loc["acme_average", "std_error"] == pytest.approx(sobel, rel=0.15)
