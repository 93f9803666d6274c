"""Cross-cutting behaviour of mediate() and its results: options, summaries, plots, progress, docstrings."""

import doctest
import importlib

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import norm

from mediationhte import BootstrapResults, MediationResults, Summary, load_jobs, mediate

OUTCOME = "depress2 ~ treat + job_seek + econ_hard + sex + age"
MEDIATOR = "job_seek ~ treat + econ_hard + sex + age"


@pytest.fixture(scope="module")
def fit():
    return mediate(OUTCOME, MEDIATOR, load_jobs(), sims=200, random_state=4)


def test_results_types_and_repr(fit):
    assert isinstance(fit, MediationResults)
    assert isinstance(fit.summary(), Summary)
    assert "mediate('depress2 ~ treat" in repr(fit) and "random_state=4" in fit.call
    assert fit.n_obs == 899 and len(fit.dropped_index) == 0
    assert fit.rows_used.equals(load_jobs().index)


def test_summary_alpha_recomputes_from_stored_draws(fit):
    narrow = fit.to_frame(alpha=0.2)
    wide = fit.to_frame()
    assert (narrow["ci_upper"] - narrow["ci_lower"] < wide["ci_upper"] - wide["ci_lower"]).all()
    draws = fit.draws["acme_average"]
    assert narrow.loc["acme_average", "ci_lower"] == pytest.approx(np.quantile(draws, 0.1), abs=1e-15)
    assert "80% CI Lower" in str(fit.summary(alpha=0.2))


def test_to_frame_styles(fit):
    tidy = fit.to_frame()
    assert list(tidy.columns) == ["estimate", "std_error", "ci_lower", "ci_upper", "p_value", "ratio_unstable"]
    assert tidy.index[0] == "acme_control" and len(tidy) == 10
    # Jobs II: the total effect's interval covers 0, so exactly the three proportion rows are flagged
    assert tidy.loc["total", "ci_lower"] < 0 < tidy.loc["total", "ci_upper"]
    assert list(tidy.index[tidy["ratio_unstable"]]) == ["prop_mediated_control", "prop_mediated_treated",
                                                       "prop_mediated_average"]
    r_style = fit.to_frame(style="r")
    assert list(r_style.index) == ["ACME", "ADE", "Total Effect", "Prop. Mediated"]
    assert len(fit.to_frame(style="statsmodels")) == 10


def test_pvalue_rule_matches_r(fit):
    draws = fit.draws["total"].to_numpy()
    expected = min(1.0, 2 * min((draws > 0).sum(), (draws < 0).sum()) / len(draws))
    assert fit.to_frame().loc["total", "p_value"] == pytest.approx(expected, abs=1e-15)


def test_cluster_covariance_by_name_and_by_array():
    data = load_jobs().assign(site=np.arange(899) % 30)
    by_name = mediate(OUTCOME, MEDIATOR, data, sims=50, cov_type="cluster", cluster="site", random_state=1)
    by_array = mediate(OUTCOME, MEDIATOR, data, sims=50, cov_type="cluster", cluster=data["site"].to_numpy(),
                       random_state=1)
    pd.testing.assert_frame_equal(by_name.draws, by_array.draws)
    assert by_name.mediator_model.cov_type == "cluster"
    assert "Coefficient covariance: cluster" in str(by_name.summary())


def _jobs_design(data, columns, t):
    """[1, treat = t, columns...] built by hand from the data (not the package's design matrices)."""
    return np.column_stack([np.ones(len(data)), np.full(len(data), float(t))] + [data[c].to_numpy(float)
                                                                                for c in columns])


COVARIATES = ("econ_hard", "sex", "age")


def _params(model):
    """The statsmodels result's coefficients, by name (the package hands the fitted statsmodels result out)."""
    return dict(zip(model.column_names, np.asarray(model.result.params)))


def _effects_from_means(mean_y):
    """The four estimands from mean_y(t, t') = mean over units of E[Y(t, M(t'))] (Imai, Keele & Tingley 2010)."""
    d0, d1 = mean_y(0, 1) - mean_y(0, 0), mean_y(1, 1) - mean_y(1, 0)
    z0, z1 = mean_y(1, 0) - mean_y(0, 0), mean_y(1, 1) - mean_y(0, 1)
    return {"acme_control": d0, "acme_treated": d1, "ade_control": z0, "ade_treated": z1,
            "total": (d0 + d1 + z0 + z1) / 2}


@pytest.mark.parametrize("case", ["logit_outcome_probit_mediator", "probit_outcome_gaussian_mediator",
                                  "gaussian_outcome_logit_mediator"])
def test_binary_families_against_closed_forms(case):
    # References computed from the fitted coefficients (the statsmodels results in .result) and design matrices
    # built here, independently of the package's effect code; all deterministic, to 1e-10:
    # * binary mediator: E[Y(t, M(t'))] = sum over m in {0, 1} of P(M = m | t', x) E[Y | t, m, x] (exact two-point sum);
    # * probit outcome, Gaussian mediator M ~ N(mu, s^2) with s the residual SD: E[Phi(u + v M)] =
    #   Phi((u + v mu) / sqrt(1 + v^2 s^2)) (exact).
    data = load_jobs().assign(employed=lambda d: (d["work1"] == "psyemp").astype(int))
    covs = " + ".join(COVARIATES)
    if case == "logit_outcome_probit_mediator":
        fit = mediate(f"employed ~ treat + job_dich + {covs}", f"job_dich ~ treat + {covs}", data,
                      outcome_family="logit", mediator_family="probit", sims=100, random_state=2)
        a, b = _params(fit.mediator_model), _params(fit.outcome_model)
        p1 = {tp: norm.cdf(_jobs_design(data, COVARIATES, tp) @ [a[k] for k in ("Intercept", "treat") + COVARIATES])
              for tp in (0, 1)}

        def mean_y(t, tp):
            X = _jobs_design(data, COVARIATES, t)
            lin = X @ [b[k] for k in ("Intercept", "treat") + COVARIATES]
            return np.mean(p1[tp] * expit(lin + b["job_dich"]) + (1 - p1[tp]) * expit(lin))
    elif case == "probit_outcome_gaussian_mediator":
        fit = mediate(f"employed ~ treat + job_seek + {covs}", f"job_seek ~ treat + {covs}", data,
                      outcome_family="probit", sims=100, random_state=2)
        a, b = _params(fit.mediator_model), _params(fit.outcome_model)
        s = np.sqrt(fit.mediator_model.result.scale)  # residual SD, sqrt(RSS / (n - p)), as R's sigma()

        def mean_y(t, tp):
            mu = _jobs_design(data, COVARIATES, tp) @ [a[k] for k in ("Intercept", "treat") + COVARIATES]
            u = _jobs_design(data, COVARIATES, t) @ [b[k] for k in ("Intercept", "treat") + COVARIATES]
            v = b["job_seek"]
            return np.mean(norm.cdf((u + v * mu) / np.sqrt(1 + v**2 * s**2)))
    else:
        fit = mediate(f"depress2 ~ treat * job_dich + {covs}", f"job_dich ~ treat + {covs}", data,
                      mediator_family="logit", sims=100, random_state=2)
        a, b = _params(fit.mediator_model), _params(fit.outcome_model)
        p1 = {tp: expit(_jobs_design(data, COVARIATES, tp) @ [a[k] for k in ("Intercept", "treat") + COVARIATES])
              for tp in (0, 1)}

        def mean_y(t, tp):
            lin = _jobs_design(data, COVARIATES, t) @ [b[k] for k in ("Intercept", "treat") + COVARIATES]
            return np.mean(lin + p1[tp] * (b["job_dich"] + b["treat:job_dich"] * t))
    for key, value in _effects_from_means(mean_y).items():
        assert fit.estimates[key] == pytest.approx(value, abs=1e-10), key
    text = str(fit.summary())
    assert "ACME (control)" in text  # nonlinear parts or an interaction: R's long form
    if case != "gaussian_outcome_logit_mediator":
        assert "z value" in text


def test_bootstrap_summary_names_method(fit):
    boot = fit.bootstrap_ci(n_boot=100, method="bca", random_state=3)
    assert isinstance(boot, BootstrapResults)
    assert "Nonparametric Bootstrap Confidence Intervals with the BCa Method" in str(boot.summary())
    assert "Simulations: 100" in str(boot.summary())


def test_progress_bar(fit, capsys):
    fit.bootstrap_ci(n_boot=300, random_state=3, progress=True)
    assert "bootstrap" in capsys.readouterr().err


def test_plot_returns_axes(fit):
    import matplotlib.pyplot as plt

    ax = fit.plot()
    assert ax.get_yticklabels()[0].get_text() == "ACME"
    assert len(ax.lines) >= 2
    ax2 = fit.bootstrap_ci(n_boot=50, random_state=1).plot(treatment="average")
    assert ax2 is not ax
    plt.close("all")


def test_bad_bootstrap_arguments(fit):
    from mediationhte import ParameterError

    with pytest.raises(ParameterError, match="method"):
        fit.bootstrap_ci(method="basic")
    with pytest.raises(ParameterError, match="n_boot"):
        fit.bootstrap_ci(n_boot=1)
    with pytest.raises(ParameterError, match="n_jobs"):
        fit.bootstrap_ci(n_jobs=0)


@pytest.mark.parametrize("module", ["mediationhte.api.mediate", "mediationhte.mediation.results", "mediationhte.datasets.loaders",
                                    "mediationhte.report.summary"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("covariates, match", [({"occp": "pilots"}, "not one of its levels"),
                                               ({"sex": "male"}, "give a number")])
def test_covariates_values_are_checked(covariates, match):
    from mediationhte import ParameterError

    with pytest.raises(ParameterError, match=match) as info:
        mediate(OUTCOME.replace("age", "age + occp"), MEDIATOR, load_jobs(), sims=20, random_state=1,
                covariates=covariates)
    assert info.value.parameter == "covariates"


def test_string_covariate_level_checked():
    from mediationhte import ParameterError

    data = load_jobs().assign(region=lambda d: np.where(d["age"] > 40, "north", "south"))
    with pytest.raises(ParameterError, match="'east'"):
        mediate(OUTCOME + " + region", MEDIATOR + " + region", data, sims=20, covariates={"region": "east"})
    fit = mediate(OUTCOME + " + region", MEDIATOR + " + region", data, sims=20, covariates={"region": "north"},
                  random_state=1)
    assert np.isfinite(fit.estimates).all()
