"""S, T, X and DR meta-learners: closed forms with linear base learners, truth recovery, seed independence.

References: with LinearRegression base learners each learner has a closed form computed here by hand
(numpy least squares), following the definitions of Kuenzel et al. (2019) for S/T/X and Kennedy (2023) for DR;
the heterogeneous design's true tau(x) = 1 + x1 is known by construction.
"""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from mediationhte import ParameterError
from mediationhte.cate.metalearners import (
    base_template,
    check_learners,
    crossfit_outcomes,
    draw_seeds,
    fit_meta_learners,
)


def _design(n=1000, seed=0, treated_share=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = (rng.uniform(size=n) < treated_share).astype(int)
    y = X[:, 0] + 0.5 * X[:, 1] + t * (1 + X[:, 0]) + rng.normal(scale=0.5, size=n)
    return X, t, y


def _ols(X, y):
    D = np.column_stack([np.ones(len(y)), X])
    return np.linalg.lstsq(D, y, rcond=None)[0]


def _predict(beta, X):
    return np.column_stack([np.ones(len(X)), X]) @ beta


def _fit(names, X, t, y, e=None, pseudo=None):
    e = np.full(len(y), t.mean()) if e is None else e
    return fit_meta_learners(X, t, y, LinearRegression(), names, seeds=draw_seeds(np.random.default_rng(0), 5),
                             propensity=e, clip=(0.01, 0.99), pseudo_outcome=pseudo)


def test_s_learner_linear_is_the_treatment_coefficient():
    X, t, y = _design()
    tau = _fit(("s",), X, t, y)["s"]
    beta = _ols(np.column_stack([X, t]), y)
    np.testing.assert_allclose(tau, beta[-1], atol=1e-10)  # no interaction in an additive model: constant tau


def test_t_learner_linear_is_the_difference_of_arm_regressions():
    X, t, y = _design()
    tau = _fit(("t",), X, t, y)["t"]
    expected = _predict(_ols(X[t == 1], y[t == 1]), X) - _predict(_ols(X[t == 0], y[t == 0]), X)
    np.testing.assert_allclose(tau, expected, atol=1e-10)
    # the linear T-learner is correct here: tau(x) = 1 + x1
    assert np.sqrt(np.mean((tau - (1 + X[:, 0])) ** 2)) < 0.1


def test_x_learner_blends_the_imputed_effect_models():
    X, t, y = _design(treated_share=0.3)
    e = np.clip(np.random.default_rng(1).uniform(0.2, 0.4, size=len(y)), 0.01, 0.99)
    tau = _fit(("x",), X, t, y, e=e)["x"]
    mu0 = _predict(_ols(X[t == 0], y[t == 0]), X)
    mu1 = _predict(_ols(X[t == 1], y[t == 1]), X)
    d1 = (y - mu0)[t == 1]
    d0 = (mu1 - y)[t == 0]
    tau1 = _predict(_ols(X[t == 1], d1), X)
    tau0 = _predict(_ols(X[t == 0], d0), X)
    np.testing.assert_allclose(tau, e * tau0 + (1 - e) * tau1, atol=1e-10)


def test_dr_learner_regresses_the_pseudo_outcome():
    X, t, y = _design()
    pseudo = np.random.default_rng(2).normal(size=len(y))
    tau = _fit(("dr",), X, t, y, pseudo=pseudo)["dr"]
    np.testing.assert_allclose(tau, _predict(_ols(X, pseudo), X), atol=1e-10)


def test_crossfit_outcomes_are_out_of_fold():
    X, t, y = _design(200)
    folds = np.arange(200) % 4
    nuis = crossfit_outcomes(X, t, y, LinearRegression(), folds, np.zeros(8, dtype=int))
    for k in range(4):
        test = folds == k
        train1 = ~test & (t == 1)
        np.testing.assert_allclose(nuis.mu1[test], _predict(_ols(X[train1], y[train1]), X[test]), atol=1e-10)


def test_boosting_learners_recover_heterogeneity():
    # Truth tau(x) = 1 + x1 (sd 1). Each learner's PEHE must be well below sd(tau) (predicting the mean).
    from mediationhte.cate.average_effects import aipw
    from mediationhte.core.learners import crossfit_folds

    X, t, y = _design(3000, seed=4)
    template = base_template(None)
    seeds = draw_seeds(np.random.default_rng(3), 5)
    folds = crossfit_folds(t, 5, np.random.default_rng(5))
    nuis = crossfit_outcomes(X, t, y, template, folds, seeds[6:])
    _, pseudo = aipw(y, t, nuis.mu0, nuis.mu1, np.full(len(y), 0.5), (0.01, 0.99))
    out = fit_meta_learners(X, t, y, template, ("s", "t", "x", "dr"), seeds=seeds, propensity=np.full(len(y), 0.5),
                            clip=(0.01, 0.99), pseudo_outcome=pseudo)
    truth = 1 + X[:, 0]
    for name, tau in out.items():
        pehe = np.sqrt(np.mean((tau - truth) ** 2))
        assert pehe < 0.5 * truth.std(), (name, pehe)


def test_a_learner_does_not_depend_on_the_others_requested():
    X, t, y = _design(400)
    template = base_template("forest").set_params(n_estimators=20)
    pseudo = np.random.default_rng(2).normal(size=len(y))
    kwargs = dict(propensity=np.full(len(y), 0.5), clip=(0.01, 0.99), pseudo_outcome=pseudo)
    alone = fit_meta_learners(X, t, y, template, ("x",), seeds=draw_seeds(np.random.default_rng(9), 5), **kwargs)
    every = fit_meta_learners(X, t, y, template, ("s", "t", "x", "dr"), seeds=draw_seeds(np.random.default_rng(9), 5),
                              **kwargs)
    np.testing.assert_array_equal(alone["x"], every["x"])
    assert list(every) == ["s", "t", "x", "dr"]


@pytest.mark.parametrize("learner", ["q", ["s", "s"], [], 3, ["s", 1]])
def test_learner_errors(learner):
    with pytest.raises(ParameterError) as err:
        check_learners(learner)
    assert err.value.parameter == "learner"


@pytest.mark.parametrize("base", ["gbm", 3, object()])
def test_base_learner_errors(base):
    with pytest.raises(ParameterError) as err:
        base_template(base)
    assert err.value.parameter == "base_learner"
