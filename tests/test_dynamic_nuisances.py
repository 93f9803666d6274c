"""Fitted nuisances of dynamic mediation (mediationhte.dynamic.nuisances).

References: scipy's multivariate normal log density (exact, 1e-10); Monte Carlo moments of the integration nodes
within 4 Monte Carlo SEs of the exact mean and covariance; a linear-Gaussian mediator whose coefficients and
residual covariance are known; cross-fitted predictions equal models refitted without the row's fold.
"""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression

from mediationhte.dynamic.effects import mean_over_nodes
from mediationhte.dynamic.nuisances import FoldRouted, GaussianMediatorLaw, NormalQuadrature, fit_nuisances

COV = np.array([[1.0, 0.6], [0.6, 2.0]])


def _mean(s, a):
    s = np.asarray(s, dtype=float).reshape(len(s), -1)[:, 0]
    return np.column_stack([0.5 + s + a, -s + 0.3 * a])


def test_gaussian_law_density_and_nodes():
    law = GaussianMediatorLaw(_mean, COV)
    rng = np.random.default_rng(1)
    s, a = rng.normal(size=50), (rng.uniform(size=50) < 0.5).astype(float)
    m = _mean(s, a) + rng.normal(size=(50, 2))
    expected = [stats.multivariate_normal(mu, COV).logpdf(x) for mu, x in zip(_mean(s, a), m)]
    assert np.allclose(law.log_density(m, s, a), expected, atol=1e-10)
    K = 4000
    nodes = law.nodes(s, a, rng.standard_normal((K, 50, 2)))
    first = mean_over_nodes(lambda s_, a_, m_: m_, s, 0.0, nodes)
    second = mean_over_nodes(lambda s_, a_, m_: m_[:, 0] * m_[:, 1], s, 0.0, nodes)
    mu = _mean(s, a)
    assert np.all(np.abs(first - mu) <= 4 * np.sqrt(np.diag(COV) / K))
    target = mu[:, 0] * mu[:, 1] + COV[0, 1]
    # Var(m1 m2) for a bivariate normal: mu1^2 s22 + mu2^2 s11 + s11 s22 + s12^2 + 2 mu1 mu2 s12
    var = (mu[:, 0] ** 2 * COV[1, 1] + mu[:, 1] ** 2 * COV[0, 0] + COV[0, 0] * COV[1, 1] + COV[0, 1] ** 2
           + 2 * mu[:, 0] * mu[:, 1] * COV[0, 1])
    assert np.all(np.abs(second - target) <= 4 * np.sqrt(var / K))


def test_quadrature_nodes_integrate_polynomials_exactly():
    # Closed forms for M ~ N(mu, COV): E[M] = mu, E[M1 M2] = mu1 mu2 + s12, E[M1^4] = mu1^4 + 6 mu1^2 s11 + 3 s11^2.
    # A 7-point Gauss-Hermite rule per coordinate is exact for degree < 14 in each, so to rounding.
    law = GaussianMediatorLaw(_mean, COV)
    rng = np.random.default_rng(1)
    s, a = rng.normal(size=50), (rng.uniform(size=50) < 0.5).astype(float)
    rule = NormalQuadrature.for_budget(50, 2)
    assert rule.nodes.shape == (49, 2) and rule.weights.sum() == pytest.approx(1.0, abs=1e-14)
    nodes = law.nodes(s, a, rule)
    mu = _mean(s, a)
    assert np.allclose(mean_over_nodes(lambda s_, a_, m_: m_, s, 0.0, nodes), mu, atol=1e-12)
    assert np.allclose(mean_over_nodes(lambda s_, a_, m_: m_[:, 0] * m_[:, 1], s, 0.0, nodes),
                       mu[:, 0] * mu[:, 1] + COV[0, 1], atol=1e-10)
    assert np.allclose(mean_over_nodes(lambda s_, a_, m_: m_[:, 0] ** 4, s, 0.0, nodes),
                       mu[:, 0] ** 4 + 6 * mu[:, 0] ** 2 * COV[0, 0] + 3 * COV[0, 0] ** 2, atol=1e-9)
    assert NormalQuadrature.for_budget(50, 1).nodes.shape == (50, 1)


def test_linear_gaussian_mediator_is_recovered():
    rng = np.random.default_rng(2)
    n = 20_000
    S = rng.normal(size=(n, 1))
    A = (rng.uniform(size=n) < 0.4).astype(float)
    M = _mean(S, A) + rng.multivariate_normal(np.zeros(2), COV, size=n)
    R = S[:, 0] + A + M.sum(axis=1) + rng.normal(size=n)
    nu, continuous = fit_nuisances(S, A, M, R, target=lambda s: np.full(len(s), 0.5), propensity_rows=None,
                                   learner="linear", seed=0)
    assert continuous
    assert np.allclose(nu.mediator.cov, COV, atol=0.06)
    grid = np.linspace(-2, 2, 5)[:, None]
    assert np.allclose(nu.mediator.mean(grid, np.ones(5)), _mean(grid, np.ones(5)), atol=0.05)
    assert np.allclose(nu.behaviour, 0.4, atol=0.03)
    assert np.allclose(nu.reward(grid, np.zeros(5), np.zeros((5, 2))), grid[:, 0], atol=0.05)


def test_fold_routing():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(90, 2)), rng.normal(size=90)
    folds = np.arange(90) % 3
    preds = [LinearRegression().fit(X[folds != f], y[folds != f]).predict for f in range(3)]
    routed = FoldRouted(preds, folds)
    stacked = np.vstack([X, X + 1.0])     # two copies of the rows, as the Monte Carlo nodes are stacked
    out = routed(stacked)
    for j in (0, 1, 2, 45, 91, 179):
        assert out[j] == pytest.approx(preds[folds[j % 90]](stacked[j:j + 1])[0])
    with pytest.raises(RuntimeError, match="multiple"):
        routed(X[:10])


def test_discrete_mediator_with_a_continuous_state_gets_a_classifier_pmf():
    rng = np.random.default_rng(4)
    n = 3000
    S = rng.normal(size=(n, 1))
    A = (rng.uniform(size=n) < 0.5).astype(float)
    M = (rng.uniform(size=n) < 1 / (1 + np.exp(-(S[:, 0] + A)))).astype(float)[:, None]
    nu, continuous = fit_nuisances(S, A, M, rng.normal(size=n), target=lambda s: np.full(len(s), 0.5),
                                   propensity_rows=np.full(n, 0.5), learner="linear", seed=0)
    assert not continuous
    total = sum(nu.mediator.pmf(np.full((5, 1), v), np.zeros((5, 1)), np.ones(5)) for v in nu.mediator.support)
    assert np.allclose(total, 1.0)
    assert nu.mediator.pmf(np.ones((1, 1)), np.zeros((1, 1)), np.ones(1))[0] == pytest.approx(1 / (1 + np.exp(-1)),
                                                                                             abs=0.05)
