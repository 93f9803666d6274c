"""Feature maps of dynamic mediation (mediationhte.dynamic.bases): Q sieves and ratio features.

References are exact properties: cubic B-splines on padded knots span the linear functions on the data range and,
continued linearly, outside it (spec section 4, fragile point 1: no cubic blow-up in the tails); the knot rule
L = max(7, floor(sqrt(n^(3/7))) + 3) is the reference's (spec section 2.6).
"""

import numpy as np
import pytest

from mediationhte import DataError, ParameterError
from mediationhte.dynamic.bases import AdditiveBasis, default_intervals, q_basis, ratio_basis

RNG = np.random.default_rng(0)
S = RNG.normal(size=800)
M = np.column_stack([RNG.normal(size=800), RNG.exponential(size=800)])


def test_knot_rule():
    assert default_intervals(100) == 7
    assert default_intervals(36_000) == 12   # sqrt(36000^(3/7)) = 9.5 -> 9 + 3


@pytest.mark.parametrize("kind", ["spline", "polynomial"])
def test_additive_basis_spans_linear_functions_inside_and_outside_the_data(kind):
    f = q_basis(S, M, kind)
    assert isinstance(f, AdditiveBasis)
    for a in (0, 1):
        # the A = 0 block has no intercept: it holds Q's free constant, so it represents y up to a constant
        X = np.column_stack([f(S, np.full(len(S), a), M), np.ones(len(S)) * (a == 0)])
        y = 1.0 + 2.0 * S - 0.5 * M[:, 0] + 0.25 * M[:, 1] if a == 1 else 3.0 * S + M[:, 0]
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        assert np.max(np.abs(X @ coef - y)) < 1e-8
        # far outside the data the fitted function is still the same linear function (linear extrapolation)
        s_far = np.array([-20.0, 15.0])
        m_far = np.array([[25.0, 30.0], [-10.0, -5.0]])
        y_far = (1.0 + 2.0 * s_far - 0.5 * m_far[:, 0] + 0.25 * m_far[:, 1] if a == 1
                 else 3.0 * s_far + m_far[:, 0])
        if kind == "spline":
            far = np.column_stack([f(s_far, np.full(2, a), m_far), np.ones(2) * (a == 0)])
            assert np.allclose(far @ coef, y_far, atol=1e-6)


def test_action_blocks_and_mixed_rows():
    f = q_basis(S, M, "spline")
    a = (RNG.uniform(size=len(S)) < 0.5).astype(float)
    X = f(S, a, M)
    q = (X.shape[1] - 1) // 2
    assert np.all(X[a == 0, q:] == 0) and np.all(X[a == 1, :q] == 0) and np.all(X[a == 1, q] == 1)
    one = f(S, np.ones(len(S)), M)
    assert np.array_equal(X[a == 1], one[a == 1])


def test_discrete_inputs_give_the_saturated_table_and_tabular_refuses_continuous():
    s = RNG.integers(0, 3, size=300).astype(float)
    m = RNG.integers(0, 2, size=300).astype(float)
    f = q_basis(s, m, "spline")
    X = f(s, np.zeros(300), m)
    assert X.shape[1] == 3 * 2 * 2 - 1 and set(np.unique(X)) <= {0.0, 1.0}
    with pytest.raises(DataError, match="discrete"):
        q_basis(S, M, "tabular")


def test_ratio_features():
    psi = ratio_basis(S, "rff", n_components=15, seed=4)
    out = psi(S)
    assert out.shape == (len(S), 16) and np.all(out[:, 0] == 1)
    # the states are standardised first: an affine change of units leaves the features unchanged
    assert np.allclose(ratio_basis(3.0 * S + 7.0, "rff", n_components=15, seed=4)(3.0 * S + 7.0), out)
    cells = ratio_basis(np.array([0.0, 1.0, 1.0, 0.0]), "auto")(np.array([1.0, 0.0]))
    assert np.array_equal(cells, [[0.0, 1.0], [1.0, 0.0]])
    assert ratio_basis(S, "linear")(S).shape == (len(S), 2)


def test_rbf_ratio_features_are_deterministic_bumps_at_the_quantiles():
    s = np.random.default_rng(3).normal(size=(400, 1))
    psi = ratio_basis(s, "rbf", n_components=15)
    out = psi(s)
    assert out.shape == (400, 16) and np.all(out[:, 0] == 1)
    z = (s[:, 0] - s[:, 0].mean()) / s[:, 0].std()
    c = np.quantile(z, 7.5 / 15)   # the middle centre: the median of the standardised state
    assert np.allclose(out[:, 8], np.exp(-(z - c) ** 2), atol=1e-12)
    assert np.array_equal(psi(s), ratio_basis(s, "rbf", n_components=15, seed=99)(s))   # no randomness
    assert ratio_basis(s, "auto", n_components=15, seed=4)(s).shape == (400, 16)       # "auto": random features
    with pytest.raises(ParameterError, match="one coordinate"):
        ratio_basis(np.column_stack([s, s ** 2]), "rbf")
