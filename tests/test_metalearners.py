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
    crossfit_joint_outcomes,
    crossfit_outcomes,
    draw_seeds,
    fit_first_stage,
    fit_meta_learners,
)
from mediationhte.core.learners import crossfit_folds


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


def _fit(names, X, t, y, e=None, template=None, folds=None, seed=0, n_jobs=1):
    from mediationhte.cate.average_effects import aipw

    e = np.full(len(y), t.mean()) if e is None else e
    template = LinearRegression() if template is None else template
    folds = np.arange(len(y)) % 5 if folds is None else folds
    seeds = draw_seeds(np.random.default_rng(seed), 5)
    first = fit_first_stage(X, t, y, template, names, folds=folds, seeds=seeds, averages=False, n_jobs=n_jobs)
    pseudo = aipw(y, t, first.joint.mu0, first.joint.mu1, e, (0.01, 0.99))[1] if "dr" in names else None
    return fit_meta_learners(X, t, y, template, names, seeds=seeds, first=first, propensity=e, clip=(0.01, 0.99),
                             dr_pseudo_outcome=pseudo, n_jobs=n_jobs)


def test_s_learner_linear_is_the_out_of_fold_treatment_coefficient():
    X, t, y = _design()
    folds = np.arange(len(y)) % 5
    tau = _fit(("s",), X, t, y, folds=folds)["s"]
    for k in range(5):
        beta = _ols(np.column_stack([X, t])[folds != k], y[folds != k])
        # no interaction in an additive model: constant tau within a fold, the coefficient of t fitted without it
        np.testing.assert_allclose(tau[folds == k], beta[-1], atol=1e-10)


def test_t_learner_linear_is_the_out_of_fold_difference_of_arm_regressions():
    X, t, y = _design()
    folds = np.arange(len(y)) % 5
    tau = _fit(("t",), X, t, y, folds=folds)["t"]
    for k in range(5):
        train, test = folds != k, folds == k
        fits = [_ols(X[train & (t == arm)], y[train & (t == arm)]) for arm in (0, 1)]
        np.testing.assert_allclose(tau[test], _predict(fits[1], X[test]) - _predict(fits[0], X[test]), atol=1e-10)
    # the linear T-learner is correct here: tau(x) = 1 + x1
    assert np.sqrt(np.mean((tau - (1 + X[:, 0])) ** 2)) < 0.1


def test_x_learner_blends_the_imputed_effect_models():
    X, t, y = _design(treated_share=0.3)
    folds = np.arange(len(y)) % 5
    e = np.clip(np.random.default_rng(1).uniform(0.2, 0.4, size=len(y)), 0.01, 0.99)
    tau = _fit(("x",), X, t, y, e=e, folds=folds)["x"]
    mu0, mu1 = np.empty(len(y)), np.empty(len(y))
    for k in range(5):   # first stage: the out-of-fold per-arm regressions
        train, test = folds != k, folds == k
        mu0[test] = _predict(_ols(X[train & (t == 0)], y[train & (t == 0)]), X[test])
        mu1[test] = _predict(_ols(X[train & (t == 1)], y[train & (t == 1)]), X[test])
    d1 = (y - mu0)[t == 1]
    d0 = (mu1 - y)[t == 0]
    tau1 = _predict(_ols(X[t == 1], d1), X)
    tau0 = _predict(_ols(X[t == 0], d0), X)
    np.testing.assert_allclose(tau, e * tau0 + (1 - e) * tau1, atol=1e-10)


def test_dr_learner_regresses_the_joint_models_pseudo_outcome():
    X, t, y = _design()
    folds = np.arange(len(y)) % 5
    e = np.full(len(y), t.mean())
    tau = _fit(("dr",), X, t, y, folds=folds)["dr"]
    mu = np.empty((len(y), 2))
    for k in range(5):   # Kennedy's pseudo-outcome from the out-of-fold model of Y on (X, T)
        beta = _ols(np.column_stack([X, t])[folds != k], y[folds != k])
        for arm in (0, 1):
            mu[folds == k, arm] = _predict(beta, np.column_stack([X[folds == k], np.full((folds == k).sum(), arm)]))
    pseudo = mu[:, 1] - mu[:, 0] + t * (y - mu[:, 1]) / e - (1 - t) * (y - mu[:, 0]) / (1 - e)
    np.testing.assert_allclose(tau, _predict(_ols(X, pseudo), X), atol=1e-10)


def test_crossfit_outcomes_are_out_of_fold():
    X, t, y = _design(200)
    folds = np.arange(200) % 4
    arms = crossfit_outcomes(X, t, y, LinearRegression(), folds, np.zeros(8, dtype=int))
    joint = crossfit_joint_outcomes(X, t, y, LinearRegression(), folds, np.zeros(4, dtype=int))
    for k in range(4):
        test, train = folds == k, folds != k
        train1 = train & (t == 1)
        np.testing.assert_allclose(arms.mu1[test], _predict(_ols(X[train1], y[train1]), X[test]), atol=1e-10)
        beta = _ols(np.column_stack([X, t])[train], y[train])
        for arm, mu in ((0, joint.mu0), (1, joint.mu1)):
            expected = _predict(beta, np.column_stack([X[test], np.full(test.sum(), arm)]))
            np.testing.assert_allclose(mu[test], expected, atol=1e-10)


def test_boosting_learners_recover_heterogeneity():
    # Truth tau(x) = 1 + x1 (sd 1). Each learner's PEHE must be well below sd(tau) (predicting the mean).
    X, t, y = _design(3000, seed=4)
    folds = crossfit_folds(t, 5, np.random.default_rng(5))
    out = _fit(("s", "t", "x", "dr"), X, t, y, e=np.full(len(y), 0.5), template=base_template(None), folds=folds,
               seed=3)
    truth = 1 + X[:, 0]
    for name, tau in out.items():
        pehe = np.sqrt(np.mean((tau - truth) ** 2))
        assert pehe < 0.5 * truth.std(), (name, pehe)


def test_a_learner_does_not_depend_on_the_others_requested_nor_on_n_jobs():
    X, t, y = _design(400)
    template = base_template("forest").set_params(n_estimators=20)
    kwargs = dict(e=np.full(len(y), 0.5), template=template, seed=9)
    every = _fit(("s", "t", "x", "dr"), X, t, y, **kwargs)
    for name in ("s", "t", "x", "dr"):
        np.testing.assert_array_equal(_fit((name,), X, t, y, **kwargs)[name], every[name])
    parallel = _fit(("s", "t", "x", "dr"), X, t, y, n_jobs=2, **kwargs)
    for name in every:
        np.testing.assert_array_equal(parallel[name], every[name])
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
