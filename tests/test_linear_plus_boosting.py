"""LinearPlusBoosting, the dynamic-mediation default regression (a linear fit plus boosting of its residuals).

References are closed forms outside the code under test: a noiseless linear target is fitted exactly by least
squares (the boosting stage then sees residuals of 1e-15 and must add nothing), and a linear trend plus a step is
a function whose value off the training support is known by construction.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor

import mediationhte as mh
from mediationhte import ParameterError
from mediationhte.core.learners import LinearPlusBoosting, registry_learner, seeded_clone
from mediationhte.datasets.dynamic import semi_target_policy

ARGS = dict(id="id", time="time", state="state", action="action", mediator=["m1", "m2"], reward="reward",
            target_policy=semi_target_policy)


def test_a_linear_target_is_fitted_and_extrapolated_exactly():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    beta = np.array([3.0, -1.5, 0.25])
    y = 2.0 + X @ beta
    X_new = np.array([[5.0, -4.0, 10.0], [-3.0, 2.0, 0.0]])     # far outside the training cube
    predicted = LinearPlusBoosting(random_state=0).fit(X, y).predict(X_new)
    np.testing.assert_allclose(predicted, 2.0 + X_new @ beta, atol=1e-6)


def test_the_trees_take_the_curvature_and_the_edges_keep_the_trend():
    # y = 2 x + 1{x > 0}, noiseless, x on a grid of [-1, 1]. Off support the trees add their last leaf (a constant)
    # to the least-squares line, so at x = 1.5 the prediction is line(1.5) + (y(1) - line(1)) = 4.375 (line from
    # numpy.polyfit: slope 2.75, intercept 0.5), against the truth 4.0 and about 3.0 for trees alone.
    x = np.linspace(-1, 1, 1001)
    y = 2 * x + (x > 0)
    X = x[:, None]
    model = LinearPlusBoosting(random_state=0).fit(X, y)
    slope, intercept = np.polyfit(x, y, 1)
    expected_beyond = intercept + 1.5 * slope + (3.0 - (intercept + slope))
    at_edge, beyond = model.predict([[0.99], [1.5]])
    assert abs(at_edge - 2.98) < 0.05
    assert abs(beyond - expected_beyond) < 0.05 and abs(expected_beyond - 4.375) < 0.01
    trees = HistGradientBoostingRegressor(random_state=0).fit(X, y).predict([[1.5]])[0]
    assert abs(trees - 4.0) > 0.9                      # the failure the linear start exists for
    error = np.abs(model.predict(X) - y)
    assert error.mean() < 0.01 and np.all(error[np.abs(x) > 0.01] < 0.05)   # the step is learned (up to its bin)


def test_it_is_a_well_behaved_scikit_learn_estimator():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(300, 2)), rng.normal(size=300)
    template = registry_learner("linear_boosting", "regression")
    assert isinstance(template, LinearPlusBoosting) and template.random_state is None
    assert type(registry_learner("linear_boosting", "classification")).__name__ == "HistGradientBoostingClassifier"
    first, second = seeded_clone(template, 7), seeded_clone(template, 7)
    assert first.random_state == 7 and clone(first).get_params() == {"early_stopping": True, "random_state": 7}
    np.testing.assert_array_equal(first.fit(X, y).predict(X), second.fit(X, y).predict(X))
    assert not hasattr(template, "linear_")            # the template itself is never fitted


@pytest.fixture(scope="module")
def small_semi_synthetic():
    return mh.simulate_dynamic("semi_synthetic", n_trajectories=40, horizon=6, random_state=3)


def test_dynamic_auto_is_linear_boosting_for_continuous_data(small_semi_synthetic):
    d = small_semi_synthetic
    auto = mh.dynamic_mediation(d, **ARGS, n_mc=4, random_state=1)
    assert auto.config.learner == "linear_boosting" and "learner='linear_boosting'" in auto.call
    named = mh.dynamic_mediation(d, **ARGS, learner="linear_boosting", n_mc=4, random_state=1)
    by_role = mh.dynamic_mediation(d, **ARGS, learner={"behaviour": "boosting"}, n_mc=4, random_state=1)
    np.testing.assert_array_equal(auto.to_frame().to_numpy(), named.to_frame().to_numpy())
    # a dict's missing roles take the default; the behaviour classifier of "linear_boosting" is "boosting"'s
    np.testing.assert_array_equal(auto.to_frame().to_numpy(), by_role.to_frame().to_numpy())
    boosted = mh.dynamic_mediation(d, **ARGS, learner="boosting", n_mc=4, random_state=1)
    assert not np.allclose(auto.to_frame()["estimate"], boosted.to_frame()["estimate"])


def test_dynamic_names_the_learners_it_accepts(small_semi_synthetic):
    with pytest.raises(ParameterError, match="'linear_boosting' or a scikit-learn estimator; got 'lasso'") as err:
        mh.dynamic_mediation(small_semi_synthetic, **ARGS, learner={"reward": "lasso"}, n_mc=4)
    assert err.value.parameter == "learner"


def test_early_stopping_keeps_the_trees_off_pure_noise():
    # y = 1 + 2 x1 + N(0, 2^2): the truth is the line, so every boosted step fits noise. Reference: the known line.
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, size=(5000, 2))
    truth = 1 + 2 * X[:, 0]
    y = truth + 2 * rng.standard_normal(5000)
    stopped = LinearPlusBoosting(random_state=0).fit(X, y)
    full = LinearPlusBoosting(early_stopping=False, random_state=0).fit(X, y)
    assert stopped.boosting_.n_iter_ < 30 and full.boosting_.n_iter_ == 100
    error_stopped = np.sqrt(np.mean((stopped.predict(X) - truth) ** 2))
    error_full = np.sqrt(np.mean((full.predict(X) - truth) ** 2))
    assert error_stopped < 0.5 * error_full, (error_stopped, error_full)
