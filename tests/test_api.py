"""Cross-cutting behaviour of mediate() and its results: options, summaries, plots, progress, docstrings."""

import doctest
import importlib

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

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


def test_binary_families_run_and_use_long_form():
    data = load_jobs().assign(employed=lambda d: (d["work1"] == "psyemp").astype(int))
    fit = mediate("employed ~ treat + job_dich + econ_hard + sex + age", "job_dich ~ treat + econ_hard + sex + age",
                  data, outcome_family="logit", mediator_family="probit", sims=100, random_state=2)
    text = str(fit.summary())
    assert "ACME (control)" in text and "z value" in text
    assert np.isfinite(fit.to_frame()["estimate"]).all()


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
