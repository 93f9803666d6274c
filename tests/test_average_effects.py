"""Average-effect estimators of cate(): difference in means, regression adjustment, IPTW, AIPW, Crump trimming.

References: statsmodels' TreatmentEffect (GMM estimation of IPW, RA and AIPW with the propensity and outcome
models estimated jointly; statsmodels 0.14) for point estimates and standard errors, closed forms for the
difference in means, and a Monte Carlo study (true ATE known by construction) for the Horvitz-Thompson SE.
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mediationhte.cate.average_effects import (
    aipw,
    difference_in_means,
    iptw_hajek,
    iptw_horvitz_thompson,
    regression_adjustment,
    wald_rows,
    weights_summary,
)
from mediationhte.cate.propensity import crump_bounds, fit_propensity, trim_rows

NO_CLIP = (1e-9, 1 - 1e-9)
UNPENALISED = make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=5000, tol=1e-12))


def _confounded(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-(0.5 * x[:, 0] - 0.7 * x[:, 1])))
    t = (rng.uniform(size=n) < e).astype(int)
    y = 1 + x[:, 0] + x[:, 1] + t * (1 + 0.5 * x[:, 0]) + rng.normal(size=n)
    return x, t, y


@pytest.fixture(scope="module")
def statsmodels_reference():
    from statsmodels.treatment.treatment_effects import TreatmentEffect

    x, t, y = _confounded()
    X = sm.add_constant(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        te = TreatmentEffect(sm.OLS(y, X), t, results_select=sm.Logit(t, X).fit(disp=0))
        out = {m: getattr(te, m)(return_results=True, disp=False).summary_frame().iloc[0] for m in ("ipw", "ra",
                                                                                                 "aipw")}
    return x, t, y, out


def test_difference_in_means_closed_form():
    x, t, y = _confounded(500, seed=3)
    est = difference_in_means(y, t)
    assert est.estimate == pytest.approx(y[t == 1].mean() - y[t == 0].mean(), abs=1e-12)
    n = len(y)
    # se^2 = n/(n-1) [sum_1 (y - m1)^2 / n1^2 + sum_0 (y - m0)^2 / n0^2]  (IF with ddof = 1)
    r1, r0 = y[t == 1] - y[t == 1].mean(), y[t == 0] - y[t == 0].mean()
    expected = np.sqrt(n / (n - 1) * ((r1**2).sum() / len(r1) ** 2 + (r0**2).sum() / len(r0) ** 2))
    assert est.se() == pytest.approx(expected, rel=1e-10)


def test_hajek_iptw_matches_statsmodels(statsmodels_reference):
    # statsmodels' ipw() is the normalised (Hajek) estimator with the logit score estimated jointly (GMM); its
    # variance divides by n, ours (sd with ddof = 1) by n - 1, hence the sqrt(n / (n - 1)) factor.
    x, t, y, ref = statsmodels_reference
    ps = fit_propensity(x, t, UNPENALISED, n_folds=5, rng=np.random.default_rng(1))
    est = iptw_hajek(y, t, ps, NO_CLIP)
    n = len(y)
    assert est.estimate == pytest.approx(ref["ipw"]["coef"], abs=1e-6)
    assert est.se() * np.sqrt((n - 1) / n) == pytest.approx(ref["ipw"]["std err"], rel=1e-4)


def test_regression_adjustment_matches_statsmodels(statsmodels_reference):
    x, t, y, ref = statsmodels_reference
    est = regression_adjustment(y, t, x)
    n = len(y)
    assert est.estimate == pytest.approx(ref["ra"]["coef"], abs=1e-8)
    assert est.se() * np.sqrt((n - 1) / n) == pytest.approx(ref["ra"]["std err"], rel=1e-6)


def test_regression_adjustment_is_the_interacted_ols_coefficient():
    # Lin (2013): the ATE is the coefficient of T in y ~ T + Xc + T:Xc with Xc centred at the sample mean.
    x, t, y = _confounded(800, seed=5)
    xc = x - x.mean(axis=0)
    D = np.column_stack([np.ones(len(y)), t, xc, t[:, None] * xc])
    coef = np.linalg.lstsq(D, y, rcond=None)[0]
    assert regression_adjustment(y, t, x).estimate == pytest.approx(coef[1], abs=1e-10)


def test_regression_adjustment_drops_aliased_dummies():
    # One-hot dummies of every level are collinear with the intercept; the estimate must not change.
    x, t, y = _confounded(600, seed=6)
    level = (x[:, 0] > 0).astype(float)
    with_dummies = np.column_stack([x, level, 1 - level])
    without = np.column_stack([x, level])
    assert regression_adjustment(y, t, with_dummies).estimate == pytest.approx(
        regression_adjustment(y, t, without).estimate, abs=1e-10)


def test_aipw_matches_statsmodels_with_the_same_nuisances(statsmodels_reference):
    # With in-sample OLS outcome models and the logit score, AIPW's point estimate equals statsmodels' aipw().
    x, t, y, ref = statsmodels_reference
    ps = fit_propensity(x, t, UNPENALISED, n_folds=5, rng=np.random.default_rng(1))
    X = np.column_stack([np.ones(len(y)), x])
    mu = [X @ np.linalg.lstsq(X[t == a], y[t == a], rcond=None)[0] for a in (0, 1)]
    est, pseudo = aipw(y, t, mu[0], mu[1], ps.scores, NO_CLIP)
    assert est.estimate == pytest.approx(ref["aipw"]["coef"], abs=1e-6)
    assert pseudo.mean() == pytest.approx(est.estimate, abs=1e-12)
    # statsmodels' GMM SE also accounts for the nuisances; asymptotically the same (within 2% here)
    assert est.se() == pytest.approx(ref["aipw"]["std err"], rel=0.02)


def test_horvitz_thompson_point_estimate_and_monte_carlo_se():
    # Truth: ATE = 1 (E[x0] = 0). Over 200 replicates at n = 1000 the mean SE (with the estimated-score
    # correction) is within 15% of the Monte Carlo SD of the estimates, and the mean estimate is within 4 MC SEs.
    estimates, ses = [], []
    for r in range(200):
        x, t, y = _confounded(1000, seed=100 + r)
        ps = fit_propensity(x, t, UNPENALISED, n_folds=2, rng=np.random.default_rng(r))
        est = iptw_horvitz_thompson(y, t, ps, NO_CLIP)
        e = ps.scores
        assert est.estimate == pytest.approx(np.mean(t * y / e - (1 - t) * y / (1 - e)), abs=1e-12)
        estimates.append(est.estimate)
        ses.append(est.se())
    estimates = np.array(estimates)
    mc_sd = estimates.std(ddof=1)
    assert abs(estimates.mean() - 1.0) < 4 * mc_sd / np.sqrt(len(estimates))
    assert np.mean(ses) == pytest.approx(mc_sd, rel=0.15)


def test_custom_propensity_model_treats_score_as_known():
    from sklearn.ensemble import RandomForestClassifier

    x, t, y = _confounded(400, seed=8)
    ps = fit_propensity(x, t, RandomForestClassifier(n_estimators=20, min_samples_leaf=20), n_folds=2,
                        rng=np.random.default_rng(0))
    assert ps.design is None and ps.coefficient_influence(t) is None
    est = iptw_hajek(y, t, ps, (0.01, 0.99))
    assert np.isfinite(est.se())


def test_clipping_bounds_the_weights():
    x, t, y = _confounded(1000, seed=9)
    ps = fit_propensity(x, t, UNPENALISED, n_folds=2, rng=np.random.default_rng(0))
    table = weights_summary(t, ps.scores, (0.2, 0.8))
    assert table.loc[("1/e", "treated"), "max"] <= 1 / 0.2 + 1e-12
    assert table.loc[("1/e", "control"), "max"] <= 1 / 0.2 + 1e-12


def test_wald_rows_order_and_columns():
    x, t, y = _confounded(300, seed=10)
    rows = wald_rows({"regression_adjustment": regression_adjustment(y, t, x),
                      "difference_in_means": difference_in_means(y, t)}, 0.05)
    assert list(rows.index) == ["difference_in_means", "regression_adjustment"]
    assert list(rows.columns) == ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
    r = rows.loc["difference_in_means"]
    assert r.ci_upper - r.estimate == pytest.approx(1.959963984540054 * r.std_error, rel=1e-12)


def test_crump_bounds_solve_their_equation():
    # Crump et al. (2009): lambda = 1/(a(1-a)) solves lambda = 2 E[gamma | gamma <= lambda]; check by brute force.
    rng = np.random.default_rng(0)
    e = 1 / (1 + np.exp(-rng.normal(scale=2.5, size=5000)))
    a, b = crump_bounds(e)
    assert b == pytest.approx(1 - a)
    gamma = 1 / (e * (1 - e))
    lam = 1 / (a * (1 - a))
    assert lam == pytest.approx(2 * gamma[gamma <= lam].mean(), rel=1e-3)
    keep, bounds = trim_rows(e, "crump")
    assert bounds == (a, b) and keep.sum() == ((e >= a) & (e <= b)).sum()
    # good overlap: no trimming
    assert crump_bounds(np.full(100, 0.5)) == (0.0, 1.0)


@pytest.mark.parametrize("trim", ["nope", (0.5, 0.2), (0.1,), 3])
def test_trim_errors_name_the_parameter(trim):
    from mediationhte import ParameterError

    with pytest.raises(ParameterError) as err:
        trim_rows(np.array([0.2, 0.5]), trim)
    assert err.value.parameter == "trim"


def test_aipw_se_accounts_for_the_estimated_score_when_outcome_models_are_off():
    # Outcome models misspecified on purpose (arm means only), score correct: the estimated score removes part of
    # the outcome models' error, so the efficient-IF SE that treats e as known overstates the spread (Lunceford &
    # Davidian 2004). Over 200 replicates the corrected mean SE is within 15% of the Monte Carlo SD of the
    # estimates, and the uncorrected one is at least 15% larger than the corrected one.
    estimates, corrected, plain = [], [], []
    for r in range(200):
        x, t, y = _confounded(1000, seed=400 + r)
        ps = fit_propensity(x, t, UNPENALISED, n_folds=2, rng=np.random.default_rng(r))
        mu0, mu1 = np.full(len(y), y[t == 0].mean()), np.full(len(y), y[t == 1].mean())
        est, _ = aipw(y, t, mu0, mu1, ps.scores, NO_CLIP, ps)
        estimates.append(est.estimate)
        corrected.append(est.se())
        plain.append(aipw(y, t, mu0, mu1, ps.scores, NO_CLIP)[0].se())
    mc_sd = np.std(estimates, ddof=1)
    assert np.mean(corrected) == pytest.approx(mc_sd, rel=0.15)
    assert np.mean(plain) > 1.15 * np.mean(corrected)
