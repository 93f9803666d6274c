"""Sensitivity analysis (mediationhte.mediation.sensitivity, MediationResults.sensitivity()).

References:
* closed form (Imai, Keele & Yamamoto 2010, Statistical Science, section 5): without a treatment x mediator
  interaction ACME(rho) = beta2 sigma1 / sigma2 (rho~ - rho sqrt((1 - rho~^2) / (1 - rho^2))), where beta2 is the
  treatment coefficient of the mediator model, sigma1 and sigma2 the residual SDs of the total-effect regression
  (outcome on treatment and covariates) and of the mediator model, and rho~ their residual correlation; so the ACME is
  zero exactly at rho = rho~;
* R mediation 4.5.1's medsens on Jobs II (spec mediation_r_parity.md sections 3.2 and 6.3): "Rho at which ACME = 0:
  -0.2", "R^2_M*R^2_Y*: 0.04", "R^2_M~R^2_Y~: 0.0261" on the grid, the exact crossing -0.21;
* simulations whose errors are generated with a known correlation: the rho-adjusted estimate at the true rho
  recovers the true ACME and ADE within 4 standard errors, while the naive (rho = 0) one is biased.
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mediationhte as mh
from mediationhte import ParameterError

X = "depress1 + econ_hard + sex + age + occp + marital + nonwhite + educ + income"


@pytest.fixture(scope="module")
def jobs_fit():
    return mh.mediate(f"depress2 ~ treat + job_seek + {X}", f"job_seek ~ treat + {X}", mh.load_jobs(), sims=100,
                      random_state=1)


def _closed_form(rho):
    jobs = mh.load_jobs()
    total = smf.ols(f"depress2 ~ treat + {X}", jobs).fit()
    med = smf.ols(f"job_seek ~ treat + {X}", jobs).fit()
    rt = np.corrcoef(total.resid, med.resid)[0, 1]
    ratio = total.resid.std() / med.resid.std()
    return med.params["treat"] * ratio * (rt - rho * np.sqrt((1 - rt ** 2) / (1 - rho ** 2))), rt


def test_acme_curve_equals_the_closed_form_and_the_root_is_rho_tilde(jobs_fit):
    sens = jobs_fit.sensitivity(effect="both")
    rho = sens.table.loc["acme_average"].index.to_numpy()
    expected, rho_tilde = _closed_form(rho)
    assert np.allclose(sens.table.loc["acme_average", "estimate"].to_numpy(), expected, atol=1e-9)
    assert sens.rho_at_zero("acme_average") == pytest.approx(rho_tilde, abs=1e-8)
    # rho = 0 is the fit itself (the SUR with uncorrelated errors is equation-by-equation OLS)
    at_zero = sens.table.xs(0.0, level="rho")
    assert at_zero.loc["acme_average", "estimate"] == pytest.approx(jobs_fit.point_estimates["acme_average"], abs=1e-10)
    assert at_zero.loc["ade_average", "estimate"] == pytest.approx(jobs_fit.point_estimates["ade_average"], abs=1e-10)


def test_jobs_matches_r_medsens_on_the_grid(jobs_fit):
    sens = jobs_fit.sensitivity()
    c = sens.crossings.loc["acme_average"]
    assert c["rho_zero_grid"] == pytest.approx(-0.2)
    assert c["r2_star_zero_grid"] == pytest.approx(0.04)
    assert round(c["r2_tilde_zero_grid"], 4) == 0.0261
    assert round(c["rho_zero"], 2) == -0.21
    text = str(sens)   # R's summary.medsens text layout; summary() gives the same numbers as a Summary
    assert "Rho at which ACME = 0: -0.2" in text and "rho at which ACME = 0: -0.209977" in text
    crossing = sens.summary().to_frame().loc["ACME"]
    assert crossing["Rho (grid)"] == pytest.approx(-0.2) and round(crossing["Rho (exact)"], 6) == -0.209977
    assert sens.r_squared[0] == pytest.approx(0.124290, abs=1e-6) and sens.r_squared[1] == pytest.approx(0.253745,
                                                                                                       abs=1e-6)


def _simulated(n, rho, interaction=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = (rng.uniform(size=n) < 0.5).astype(float)
    x = rng.normal(size=n)
    e = rng.multivariate_normal([0, 0], [[1.0, rho], [rho, 1.0]], size=n)
    m = 1.0 + 0.5 * t + 0.3 * x + e[:, 0]
    y = 0.5 + 0.4 * t + 0.6 * m + interaction * t * m + 0.2 * x + e[:, 1]
    return pd.DataFrame({"t": t, "x": x, "m": m, "y": y})


def test_known_confounding_is_undone_at_the_true_rho():
    # errors correlated at 0.5 (an unmeasured confounder); truth ACME = 0.5 * 0.6 = 0.3, ADE = 0.4
    d = _simulated(20_000, 0.5, seed=1)
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", d, sims=50, random_state=1)
    sens = fit.sensitivity(rho=[0.0, 0.5], effect="both").table
    acme, ade = sens.loc[("acme_average", 0.5)], sens.loc[("ade_average", 0.5)]
    assert abs(acme["estimate"] - 0.3) < 4 * acme["std_error"]
    assert abs(ade["estimate"] - 0.4) < 4 * ade["std_error"]
    naive = sens.loc[("acme_average", 0.0)]
    assert abs(naive["estimate"] - 0.3) > 10 * naive["std_error"]


def test_interaction_gives_both_arms_and_recovers_the_truth():
    # with a treatment x mediator interaction 0.4: ACME(0) = 0.5 * 0.6 = 0.30, ACME(1) = 0.5 * 1.0 = 0.50
    d = _simulated(20_000, -0.4, interaction=0.4, seed=2)
    fit = mh.mediate("y ~ t * m + x", "m ~ t + x", d, sims=50, random_state=1)
    sens = fit.sensitivity(rho=[-0.4, 0.0])
    assert set(sens.crossings.index) == {"acme_control", "acme_treated"}
    for key, truth in (("acme_control", 0.3), ("acme_treated", 0.5)):
        row = sens.table.loc[(key, -0.4)]
        assert abs(row["estimate"] - truth) < 4 * row["std_error"], key
        assert sens.table.loc[(key, 0.0), "estimate"] == pytest.approx(fit.point_estimates[key], abs=1e-10)


def test_exact_interval_boundaries_are_roots():
    d = _simulated(3_000, 0.0, seed=3)
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", d, sims=50, random_state=1)
    sens = fit.sensitivity(rho=np.linspace(-0.9, 0.9, 37))
    c = sens.crossings.loc["acme_average"]
    (lo, hi), = c["ci_covers_zero"]
    assert -1 < lo < c["rho_zero"] < hi < 1
    at = fit.sensitivity(rho=[lo, hi]).table.loc["acme_average"]
    bounds = at[["ci_lower", "ci_upper"]].to_numpy()
    assert np.min(np.abs(bounds[0])) < 1e-8 and np.min(np.abs(bounds[1])) < 1e-8
    grid = sens.table.loc["acme_average"]
    inside = (grid.index > lo) & (grid.index < hi)
    assert np.array_equal(grid["covers_zero"].to_numpy(), inside)


def test_errors_and_outputs(jobs_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with pytest.raises(ParameterError) as err:
        jobs_fit.sensitivity(rho=[0.2, 1.0])
    assert err.value.parameter == "rho"
    with pytest.raises(ParameterError) as err:
        jobs_fit.sensitivity(effect="total")
    assert err.value.parameter == "effect"
    jobs = mh.load_jobs().assign(work=lambda f: (f["work1"] == "psyemp").astype(int))
    binary = mh.mediate("work ~ treat + job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs,
                        outcome_family="logit", sims=20, random_state=1)
    with pytest.raises(ParameterError, match="logit outcome"):
        binary.sensitivity()
    sens = jobs_fit.sensitivity()
    frame = sens.to_frame()
    frame["estimate"] = 0.0
    assert not (sens.to_frame()["estimate"] == 0).all()
    assert "\\begin{tabular}" in sens.as_latex() and "<table" in sens.as_html() and "|" in sens.as_markdown()
    assert sens.plot().get_xlabel().startswith("Sensitivity parameter")
    assert sens.plot(sens_par="R2", r_type="total", sign_prod="negative").get_ylabel() == "R^2~_Y"
    plt.close("all")


def test_outcome_not_affine_in_the_mediator_uses_finite_differences():
    # job_seek enters squared: the bilinear shortcut does not apply; at rho = 0 the curve is still the fit itself
    fit = mh.mediate("depress2 ~ treat + job_seek + I(job_seek ** 2) + econ_hard",
                     "job_seek ~ treat + econ_hard", mh.load_jobs(), sims=20, random_state=1)
    assert not fit.counterfactual.affine
    sens = fit.sensitivity(rho=[-0.3, 0.0, 0.3])
    for key in ("acme_average",):   # no treatment x mediator term: one ACME
        assert sens.table.loc[(key, 0.0), "estimate"] == pytest.approx(fit.point_estimates[key], abs=1e-10)
        assert np.isfinite(sens.crossings.loc[key, "rho_zero"])
    assert (sens.table["std_error"] > 0).all()


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("mediationhte.mediation.sensitivity_results", "mediationhte.mediation.effect_tests", "mediationhte.mediation.parallel"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name


def test_per_subgroup_sensitivity_is_each_subgroups_closed_form():
    # Each subgroup's ACME is zero exactly at its own rho~ (closed form above), computed here from the subgroup's
    # linear fit: the total-effect regression uses the mediator model's design (treatment + covariates).
    fit = mh.mediate("depress2 ~ treat * (econ_hard + sex) + job_seek", "job_seek ~ treat * (econ_hard + sex)",
                     mh.load_jobs(), sims=50, random_state=1)
    sub = fit.subgroups(k=[2], calibration="threshold", p_threshold=0.0043, n_boot=20, random_state=1)
    table = sub.sensitivity()
    labels = sub.labels.to_numpy()
    for g in sorted(set(labels)):
        local = sub.subgroup_fitter(labels == g).fit_data
        X = local.X_mediator
        e1 = local.y - X @ np.linalg.lstsq(X, local.y, rcond=None)[0]
        e2 = local.m - X @ np.linalg.lstsq(X, local.m, rcond=None)[0]
        assert table.loc[(g, "acme_average"), "rho_zero"] == pytest.approx(np.corrcoef(e1, e2)[0, 1], abs=1e-8)
        assert table.loc[(g, "acme_average"), "estimate"] == pytest.approx(
            sub.to_frame().loc[g, "acme_average"], abs=1e-10)
    assert set(table.attrs["results"]) == set(range(1, len(sub.to_frame()) + 1))


def _probit_data(n, rho, gamma, sigma=1.0, seed=0):
    from scipy.special import ndtr

    rng = np.random.default_rng(seed)
    t = (rng.uniform(size=n) < 0.5).astype(float)
    x = rng.normal(size=n)
    e = rng.multivariate_normal([0, 0], [[sigma ** 2, rho * sigma], [rho * sigma, 1.0]], size=n)
    m = 0.5 * t + 0.3 * x + e[:, 0]
    y = (-0.2 + 0.3 * t + gamma * m + 0.2 * x + e[:, 1] > 0).astype(int)
    # true sample ACME(t): P(Y(t, M(t')) = 1 | x) = Phi((c(t, x) + gamma mu(t', x)) / sqrt(var)) (module docstring)
    scale = np.sqrt(gamma ** 2 * sigma ** 2 + 2 * gamma * rho * sigma + 1)
    mu = {tp: 0.5 * tp + 0.3 * x for tp in (0, 1)}
    truth = {f"acme_{arm}": float(np.mean(ndtr((-0.2 + 0.3 * tv + 0.2 * x + gamma * mu[1]) / scale)
                                          - ndtr((-0.2 + 0.3 * tv + 0.2 * x + gamma * mu[0]) / scale)))
             for tv, arm in ((0, "control"), (1, "treated"))}
    return pd.DataFrame({"t": t, "x": x, "m": m, "y": y}), truth


def test_probit_outcome_at_zero_is_the_fit_and_the_root_is_exact():
    d, _ = _probit_data(4000, 0.0, 0.5, seed=4)
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", d, outcome_family="probit", sims=200, random_state=1)
    sens = fit.sensitivity(rho=[-0.5, 0.0, 0.5], sims=200)
    for key in ("acme_control", "acme_treated"):
        # the fit integrates the mediator by 40-node Gauss-Hermite quadrature; here it is the exact normal integral
        assert sens.table.loc[(key, 0.0), "estimate"] == pytest.approx(fit.point_estimates[key], abs=1e-8)
        root = sens.crossings.loc[key, "rho_zero"]
        at_root = fit.sensitivity(rho=[root], sims=50).table.loc[(key, root), "estimate"]
        assert abs(at_root) < 1e-12
    with pytest.raises(ParameterError, match="ACME only"):
        fit.sensitivity(effect="both")


def test_probit_outcome_recovers_known_confounding():
    d, truth = _probit_data(10_000, 0.4, 0.5, seed=5)
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", d, outcome_family="probit", sims=200, random_state=1)
    table = fit.sensitivity(rho=[0.0, 0.4], sims=200).table
    for key, value in truth.items():
        row = table.loc[(key, 0.4)]
        assert abs(row["estimate"] - value) < 4 * row["std_error"], key
        naive = table.loc[(key, 0.0)]
        assert abs(naive["estimate"] - value) > 4 * naive["std_error"], key


def test_probit_outcome_zero_crossing_is_the_true_rho_when_gamma_is_zero():
    # No mediator effect (gamma = 0) and errors correlated at 0.5 with sigma_M = 2: the observed probit slope on M is
    # (rho / sigma) / sqrt(1 - rho^2), so the exact crossing sigma g / sqrt(1 + sigma^2 g^2) returns 0.5 (R's
    # medsens reports sigma g / (1 + |sigma g|) = 0.37 here).
    d, _ = _probit_data(20_000, 0.5, 0.0, sigma=2.0, seed=6)
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", d, outcome_family="probit", sims=20, random_state=1)
    assert fit.sensitivity(rho=[0.0], sims=20).rho_at_zero() == pytest.approx(0.5, abs=0.03)


def _binary_mediator_data(n, rho, interaction=0.0, seed=0):
    from scipy.special import ndtr

    rng = np.random.default_rng(seed)
    t = (rng.uniform(size=n) < 0.5).astype(float)
    x = rng.normal(size=n)
    e = rng.multivariate_normal([0, 0], [[1.0, rho], [rho, 1.0]], size=n)
    m = (-0.2 + 0.8 * t + 0.3 * x + e[:, 0] > 0).astype(float)
    y = 0.5 + 0.4 * t + 0.6 * m + interaction * t * m + 0.2 * x + e[:, 1]
    dp = float(np.mean(ndtr(0.6 + 0.3 * x) - ndtr(-0.2 + 0.3 * x)))   # true effect of t on P(M = 1)
    p0 = float(np.mean(ndtr(-0.2 + 0.3 * x)))                          # true P(M(0) = 1)
    return pd.DataFrame({"t": t, "x": x, "m": m, "y": y}), dp, p0


def test_probit_mediator_matches_the_fit_at_zero_and_recovers_known_confounding():
    # R's case 2. Truth: ACME(t) = (0.6 + 0.3 t) * mean(Phi(0.6 + 0.3 x) - Phi(-0.2 + 0.3 x)) and
    # ADE(0) = 0.4 + 0.3 P(M(0) = 1).
    d, dp, p0 = _binary_mediator_data(20_000, 0.4, interaction=0.3, seed=7)
    fit = mh.mediate("y ~ t * m + x", "m ~ t + x", d, mediator_family="probit", sims=300, random_state=1)
    sens = fit.sensitivity(rho=[0.0, 0.4], effect="both")
    table = sens.table
    for key in ("acme_control", "acme_treated", "ade_control", "ade_treated"):
        assert table.loc[(key, 0.0), "estimate"] == pytest.approx(fit.point_estimates[key], abs=1e-10)
    for key, truth in (("acme_control", 0.6 * dp), ("acme_treated", 0.9 * dp), ("ade_control", 0.4 + 0.3 * p0)):
        row = table.loc[(key, 0.4)]
        assert abs(row["estimate"] - truth) < 4 * row["std_error"], key
    naive = table.loc[("acme_control", 0.0)]
    assert abs(naive["estimate"] - 0.6 * dp) > 4 * naive["std_error"]
    # the delta-method SE at rho = 0 agrees with the fit's quasi-Bayesian spread
    assert table.loc[("acme_control", 0.0), "std_error"] == pytest.approx(
        fit.to_frame().loc["acme_control", "std_error"], rel=0.2)
    root = sens.crossings.loc["acme_control", "rho_zero"]
    assert abs(fit.sensitivity(rho=[root]).table.loc[("acme_control", root), "estimate"]) < 1e-9


def test_covering_ranges_in_r2_terms():
    d, _, _ = _binary_mediator_data(3000, 0.0, seed=8)
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", d, mediator_family="probit", sims=50, random_state=1)
    c = fit.sensitivity().crossings.loc["acme_average"]
    (lo, hi), = c["ci_covers_zero"]
    (s_lo, s_hi), = c["ci_covers_zero_r2_star"]
    expected = (0.0, max(lo ** 2, hi ** 2)) if lo <= 0 <= hi else (min(lo ** 2, hi ** 2), max(lo ** 2, hi ** 2))
    assert (s_lo, s_hi) == pytest.approx(expected, abs=1e-12)
    r2m, r2y = fit.sensitivity().r_squared
    assert c["ci_covers_zero_r2_tilde"][0][1] == pytest.approx(s_hi * (1 - r2m) * (1 - r2y), abs=1e-12)
