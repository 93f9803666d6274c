"""Our numbers against R mediation 4.5.1 on Jobs II.

Reference values: ../shared/specs/mediation_r_parity.md, section 4.2 (deterministic OLS quantities,
"identical in R and statsmodels to 8 decimals") and section 3.1 (R 4.5.1, mediation 4.5.1,
set.seed(2014), boot = TRUE, sims = 1000, percentile intervals). R itself is not needed at test time.
"""

import numpy as np
import pytest

from mediationhte import load_jobs, mediate

COVARIATES = "depress1 + econ_hard + sex + age + occp + marital + nonwhite + educ + income"
OUTCOME = f"depress2 ~ treat + job_seek + {COVARIATES}"
MEDIATOR = f"job_seek ~ treat + {COVARIATES}"

# spec section 4.2: R lm() on the canonical specification.
R_CANONICAL = {"acme_average": -0.01373345, "ade_average": -0.03678859, "total": -0.05052204,
               "prop_mediated_average": 0.27183094}
R_A, R_A_SE, R_A_SE_HC3 = 0.07742381, 0.04929392, 0.048951
R_B, R_B_SE, R_B_SE_HC3 = -0.17738024, 0.02795345, 0.030013
# spec section 3.1: R's printed bootstrap percentile intervals (sims = 1000, set.seed(2014)).
R_BOOT_CI = {"acme_treated": (-0.0333289, 0.0020837), "ade_control": (-0.1212614, 0.0448608),
             "total": (-0.1349434, 0.0307851)}


@pytest.fixture(scope="module")
def canonical():
    return mediate(OUTCOME, MEDIATOR, load_jobs(), sims=1000, random_state=2014)


def test_canonical_point_estimates_equal_r(canonical):
    est = canonical.estimates
    for key, value in R_CANONICAL.items():
        assert est[key] == pytest.approx(value, abs=1e-6 * max(1, abs(value))), key
    # No interaction and a linear outcome: control and treated versions coincide, as in R.
    assert est["acme_control"] == pytest.approx(est["acme_treated"], abs=1e-12)


def test_canonical_model_fits_equal_r(canonical):
    med, out = canonical.mediator_model, canonical.outcome_model
    a_idx, b_idx = med.column_names.index("treat"), out.column_names.index("job_seek")
    assert med.params[a_idx] == pytest.approx(R_A, abs=1e-8)
    assert med.std_errors[a_idx] == pytest.approx(R_A_SE, abs=1e-8)
    assert out.params[b_idx] == pytest.approx(R_B, abs=1e-8)
    assert out.std_errors[b_idx] == pytest.approx(R_B_SE, abs=1e-8)
    assert len(med.params) == 25 and len(out.params) == 26
    assert med.df_resid == 874 and out.df_resid == 873
    assert med.result.rsquared == pytest.approx(0.124290, abs=1e-6)
    assert out.result.rsquared == pytest.approx(0.253745, abs=1e-6)
    assert med.sigma == pytest.approx(0.690957, abs=1e-6)


def test_hc3_standard_errors_equal_r():
    fit = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=20, cov_type="HC3", random_state=1)
    med, out = fit.mediator_model, fit.outcome_model
    assert med.std_errors[med.column_names.index("treat")] == pytest.approx(R_A_SE_HC3, abs=1e-6)
    assert out.std_errors[out.column_names.index("job_seek")] == pytest.approx(R_B_SE_HC3, abs=1e-6)


def test_small_specification_equals_r():
    fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age", "job_seek ~ treat + econ_hard + sex + age",
                  load_jobs(), sims=20, random_state=1)
    assert fit.estimates["acme_average"] == pytest.approx(-0.015745, abs=5e-7)
    assert fit.estimates["ade_average"] == pytest.approx(-0.040265, abs=5e-7)


def test_short_form_rows_like_r(canonical):
    text = str(canonical.summary())
    for label in ("ACME ", "ADE ", "Total Effect", "Prop. Mediated "):
        assert label in text
    assert "ACME (control)" not in text
    assert "Sample Size Used: 899" in text and "Simulations: 1000" in text
    assert "-0.0137335" in text


def _quantile_mc_se(draws, q):
    """Monte Carlo SE of a sample quantile: sqrt(q (1-q) / B) / f(x_q), density from a normal fit to the draws."""
    from scipy.stats import norm

    B = len(draws)
    x_q = np.quantile(draws, q)
    density = norm.pdf(x_q, loc=np.mean(draws), scale=np.std(draws))
    return np.sqrt(q * (1 - q) / B) / density


def test_bootstrap_intervals_agree_with_r_within_mc_error(canonical):
    boot = canonical.bootstrap_ci(n_boot=1000, random_state=2014)
    table = boot.to_frame()
    draws = boot.draws
    for key, (r_lo, r_hi) in R_BOOT_CI.items():
        for q, ours, theirs in ((0.025, table.loc[key, "ci_lower"], r_lo), (0.975, table.loc[key, "ci_upper"], r_hi)):
            # Both ours and R's are 1000-resample estimates: the SE of their difference is sqrt(2) x one MC SE.
            tolerance = 4 * np.sqrt(2) * _quantile_mc_se(draws[key].to_numpy(), q)
            assert abs(ours - theirs) < tolerance, (key, q, ours, theirs, tolerance)
    # Bootstrap point estimates are the original-sample values (R mediation >= 4.5).
    assert table.loc["acme_treated", "estimate"] == pytest.approx(R_CANONICAL["acme_average"], abs=1e-6)


def test_quasi_bayesian_mean_of_draws_matches_point_estimate_within_mc_error(canonical):
    # R's QB point estimate is the mean of draws; with independent a and b draws E[a b] = a b, so the mean of
    # draws must be within a few MC standard errors of the deterministic value.
    draws = canonical.draws["acme_average"]
    mc_se = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - R_CANONICAL["acme_average"]) < 4 * mc_se
    r_style = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=1000, random_state=2014, point="mean_of_draws")
    assert r_style.estimates["acme_average"] == pytest.approx(draws.mean(), abs=1e-15)
    assert r_style.estimates["prop_mediated_control"] == pytest.approx(
        np.median(canonical.draws["prop_mediated_control"]), abs=1e-15)
