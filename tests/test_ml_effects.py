"""M-learner step 1: ML nuisances, unit effects and efficient-influence-function averages.

Truths come from simulate() (exact unit-level effects of the paper's designs, spec section 6) or from a linear
data-generating process whose ACME is a * b.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mediationhte import ParameterError, mediate, simulate
from mediationhte.mlearner.results import MLMediationResults

COVS = " + ".join(f"x{i}" for i in range(1, 11))
OUT = f"y ~ treat + m + {COVS}"
MED = f"m ~ treat + {COVS}"
LINEAR = {"mediator": LinearRegression(), "outcome": LinearRegression(), "treatment": LogisticRegression()}


def _linear_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    t = rng.permutation(np.repeat([0, 1], n // 2))
    m = 0.5 * t + 0.4 * x1 + rng.normal(size=n)
    y = 0.3 * t + 0.7 * m + 0.5 * x2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "m": m, "treat": t, "x1": x1, "x2": x2})


@pytest.fixture(scope="module")
def linear_fit():
    return mediate("y ~ treat + m + x1 + x2", "m ~ treat + x1 + x2", _linear_data(), learner=LINEAR, random_state=3)


def test_eif_recovers_linear_truth(linear_fit):
    # Truth: ACME = 0.5 * 0.7 = 0.35, ADE = 0.3, total = 0.65 (no interaction, so control = treated).
    assert isinstance(linear_fit, MLMediationResults)
    table = linear_fit.to_frame()
    for key, truth in (("acme_treated", 0.35), ("acme_control", 0.35), ("ade_control", 0.3), ("total", 0.65)):
        est, se = table.loc[key, ["estimate", "std_error"]]
        assert abs(est - truth) < 4 * se, (key, est, se)
    # The IF standard error of the total effect is close to the difference-in-means SE (randomised design).
    d = _linear_data()
    dim_se = np.sqrt(d.y[d.treat == 1].var() / 1000 + d.y[d.treat == 0].var() / 1000)
    assert table.loc["total", "std_error"] == pytest.approx(dim_se, rel=0.25)


def _heterogeneous_data(n, seed):
    """Linear DGP with a unit-level indirect effect: M = a(x1) T + 0.4 x1 + e, a(x1) = 0.5 + 0.4 x1; Y as above."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    t = rng.permutation(np.repeat([0, 1], n // 2))
    m = (0.5 + 0.4 * x1) * t + 0.4 * x1 + rng.normal(size=n)
    y = 0.3 * t + 0.7 * m + 0.5 * x2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "m": m, "treat": t, "x1": x1, "x2": x2})


def test_unit_effects_recover_heterogeneous_linear_truth():
    # Truth (closed form for _heterogeneous_data): cie_treated(x) = cie_control(x) = 0.7 a(x1) = 0.35 + 0.28 x1,
    # cde_control(x) = cde_treated(x) = 0.3, te(x) = 0.65 + 0.28 x1. Linear learners are correctly specified per arm,
    # and the cross-fitted unit effects are unbiased for these lines (the outcome slope on M is conditionally
    # unbiased given the mediator fit). Monte Carlo study: 24 replicates of n = 2000; per column, the least-squares
    # line of the unit effects on (1, x1, x2), averaged over replicates, is within 4 Monte Carlo SEs (SD / sqrt(24)
    # of the replicate lines; 4 keeps the family-wise false alarm rate of these 15 checks below 0.1%) of the true
    # line. A constant CIE (slope 0) is many SEs away from 0.28.
    truth = {"cie_treated": (0.35, 0.28, 0.0), "cie_control": (0.35, 0.28, 0.0), "cde_control": (0.3, 0.0, 0.0),
             "cde_treated": (0.3, 0.0, 0.0), "te": (0.65, 0.28, 0.0)}
    reps = 24
    lines = np.empty((reps, 5, 3))
    for r in range(reps):
        d = _heterogeneous_data(2000, 100 + r)
        u = mediate("y ~ treat + m + x1 + x2", "m ~ treat + x1 + x2", d, learner=LINEAR, random_state=r).effects
        assert list(u.columns) == ["cie_treated", "cie_control", "cde_control", "cde_treated", "te"]
        # Guard: per unit, te = cie(1) + cde(0) = cie(0) + cde(1).
        np.testing.assert_allclose(u["te"], u["cie_treated"] + u["cde_control"], atol=1e-12)
        np.testing.assert_allclose(u["te"], u["cie_control"] + u["cde_treated"], atol=1e-12)
        X = np.column_stack([np.ones(len(d)), d.x1, d.x2])
        lines[r] = np.linalg.lstsq(X, u.to_numpy(), rcond=None)[0].T
    mean, mc_se = lines.mean(axis=0), lines.std(axis=0, ddof=1) / np.sqrt(reps)
    expected = np.array([truth[c] for c in u.columns])
    assert np.all(np.abs(mean - expected) < 4 * mc_se), (mean, expected, mc_se)
    assert 0.28 / mc_se[0, 1] > 20


def test_linear_learner_unit_cie_near_constant_truth(linear_fit):
    # A linear DGP has the same CIE (0.35) for every unit; linear nuisances recover it closely.
    u = linear_fit.effects["cie_treated"]
    assert abs(u.mean() - 0.35) < 0.05 and u.std() < 0.05


def test_plugin_is_the_authors_formula():
    d = simulate("simple_all", n=600, random_state=2)
    fit = mediate(OUT, MED, d, learner=LINEAR, estimator="plugin", random_state=1)
    X = d[[f"x{i}" for i in range(1, 11)]].to_numpy()
    arm = {a: d.treat.to_numpy() == a for a in (0, 1)}
    g1m = LinearRegression().fit(X[arm[1]], d.m[arm[1]]).predict(X)
    g0m = LinearRegression().fit(X[arm[0]], d.m[arm[0]]).predict(X)
    g1y = LinearRegression().fit(np.column_stack([X, d.m])[arm[1]], d.y[arm[1]])
    expected = g1y.predict(np.column_stack([X, g1m])) - g1y.predict(np.column_stack([X, g0m]))
    np.testing.assert_allclose(fit.effects["cie_treated"], expected, atol=1e-10)
    assert "Plug-in" in str(fit.summary())


def test_nonlinear_outcome_integrates_the_mediator():
    # Complex-All at noise 0.5: the sigmoid outcome makes the plug-in-at-the-mean biased; the residual
    # integration is not. Truth: mean of the exact unit CIEs from simulate(); estimate within 4 IF SEs.
    d = simulate("complex_all", n=2000, noise_sd=0.5, random_state=4)
    fit = mediate(OUT, MED, d, learner="boosting", random_state=2, n_jobs=2)
    est, se = fit.to_frame().loc["acme_treated", ["estimate", "std_error"]]
    assert abs(est - d.cie.mean()) < 4 * se
    rmse = np.sqrt(np.mean((fit.effects["cie_treated"] - d.cie) ** 2))
    assert rmse < d.cie.std()  # better than predicting the mean for everyone


def test_reproducible_for_any_n_jobs():
    d = simulate("simple_part", n=400, random_state=5)
    a = mediate(OUT, MED, d, learner=LINEAR, random_state=9, n_jobs=1)
    b = mediate(OUT, MED, d, learner=LINEAR, random_state=9, n_jobs=2)
    pd.testing.assert_frame_equal(a.effects, b.effects)
    assert a.point_estimates == b.point_estimates


def test_binary_mediator_uses_classifier():
    d = simulate("simple_all", n=600, random_state=6)
    d["mb"] = (d.m > d.m.median()).astype(int)
    fit = mediate(f"y ~ treat + mb + {COVS}", f"mb ~ treat + {COVS}", d, learner="forest",
                  mediator_family="logit", random_state=1, n_folds=3)
    assert fit.nuisance.mediator_mean.min() >= 0 and fit.nuisance.mediator_mean.max() <= 1
    assert np.isfinite(fit.to_frame()["estimate"]).all()


def test_summary_and_bootstrap(linear_fit):
    text = str(linear_fit.summary())
    assert "Efficient Influence Function" in text and "Distribution of the unit-level effects" in text
    assert "Simulations" not in text
    boot = linear_fit.bootstrap_ci(n_boot=30, random_state=1, n_jobs=2)
    again = linear_fit.bootstrap_ci(n_boot=30, random_state=1, n_jobs=1)
    np.testing.assert_array_equal(boot.draws.to_numpy(), again.draws.to_numpy())
    table = boot.to_frame()
    assert (table["ci_lower"] <= table["estimate"]).all() and (table["estimate"] <= table["ci_upper"]).all()


@pytest.mark.parametrize("kwargs, parameter", [
    ({"learner": "svm"}, "learner"),
    ({"learner": "forest", "n_folds": 1}, "n_folds"),
    ({"learner": "forest", "estimator": "dml"}, "estimator"),
    ({"learner": "forest", "covariates": {"x1": 0.0}}, "covariates"),
    ({"learner": "forest", "cov_type": "HC3"}, "cov_type"),
])
def test_ml_parameter_errors(kwargs, parameter):
    with pytest.raises(ParameterError) as info:
        mediate("y ~ treat + m + x1 + x2", "m ~ treat + x1 + x2", _linear_data(n=200), **kwargs)
    assert info.value.parameter == parameter


def test_continuous_treatment_rejected_for_ml():
    d = _linear_data(n=200).assign(dose=lambda f: f.treat + np.linspace(0, 1, len(f)))
    with pytest.raises(ParameterError, match="binary treatment"):
        mediate("y ~ dose + m + x1", "m ~ dose + x1", d, learner="forest", treat_value=1.5, control_value=0.5)


@pytest.fixture(scope="module")
def boosting_step_one():
    """A boosting fit and the full step-1 rerun the partial reruns are compared with (fitted once).

    The property is learner-agnostic (each model keeps its own child seed); boosting keeps it quick.
    """
    from mediationhte.mlearner.effects import step_one

    d = simulate("complex_all", n=300, noise_sd=0.5, random_state=8)
    fit = mediate(OUT, MED, d, learner="boosting", n_folds=3, random_state=4)
    data, s = fit.data, dict(fit.settings, n_jobs=1)
    full = step_one(data.X, data.t, data.m, data.y, fit.learners, s, np.random.default_rng(11))[3]
    return fit, s, full


@pytest.mark.parametrize("columns", [("cie_treated",), ("cie_control",), ("cde_control",), ("te",),
                                     ("cie_treated", "te")])
def test_reruns_fit_only_the_models_their_columns_need(boosting_step_one, columns):
    # The subgroup search's reruns ask for one or two columns; skipping the other arm models (and the
    # treatment models) must leave those columns identical to a full run with the same seed.
    from mediationhte.mlearner.effects import step_one

    fit, s, full = boosting_step_one
    data = fit.data
    part = step_one(data.X, data.t, data.m, data.y, fit.learners, s, np.random.default_rng(11), effects_only=True,
                    columns=columns)[3]
    for column in columns:
        np.testing.assert_array_equal(part[column].to_numpy(), full[column].to_numpy())


def test_needed_models():
    from mediationhte.mlearner.effects import needed_models

    assert needed_models(("cie_treated",)) == ((1,), (0, 1))
    assert needed_models(("cie_control",)) == ((0,), (0, 1))
    assert needed_models(("cde_control",)) == ((0, 1), (0,))
    assert needed_models(("te",)) == ((0, 1), (0, 1))
    assert needed_models(("cde_treated",)) == ((0, 1), (0, 1))
