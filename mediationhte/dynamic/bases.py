"""Feature maps of dynamic mediation: the linear sieve of the Q-functions and the features of the state ratios.

As in Ge et al. (2023), with fragile points of their reference code fixed:

* Q basis ``"spline"``: per coordinate of (S, M), cubic B-splines on knots at
  equally spaced empirical quantiles, with the knot vector padded beyond the ends
  (so the splines are a partition of unity on the data range) and continued linearly
  outside it (the reference's unpadded knots make every "spline" a global cubic with
  huge tails); the first function of each coordinate is dropped (the
  splines sum to one), coordinates combine additively, one block per action with an
  intercept only in the A = 1 block (Q is defined up to a constant). A coordinate
  with at most ``MAX_LEVELS`` distinct values enters as indicators instead. When
  every coordinate is discrete the basis is the saturated table of (s, a, m) cells.
  The number of knot intervals is L = max(7, floor(sqrt(n^(3/7))) + 3), as the reference.
* ``"polynomial"``: additive cubic polynomials of the standardised coordinates (what
  the reference's basis effectively is); ``"tabular"``: the saturated cells.
* Ratio features ``"rff"``: a constant and random Fourier features of the
  *standardised* state (gamma 1, 15 components); ``"tabular"``: state-level
  indicators; ``"linear"``: [1, s].
"""

from __future__ import annotations

import numpy as np

from mediationhte.errors import DataError, ParameterError

#: Coordinates with at most this many distinct values are treated as discrete.
MAX_LEVELS = 20
#: Largest saturated table of (s, a, m) cells built.
MAX_CELLS = 4000


def _columns(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x.reshape(len(x), -1)


def is_discrete(values) -> bool:
    """True when every column has at most ``MAX_LEVELS`` distinct values."""
    x = _columns(values)
    return all(len(np.unique(x[:, j])) <= MAX_LEVELS for j in range(x.shape[1]))


def default_intervals(n: int, degree: int = 3) -> int:
    """L = max(7, floor(sqrt(n^(3/7))) + degree): the reference's rule for the number of knot intervals."""
    return max(7, int(np.floor(np.sqrt(float(n) ** (3.0 / 7.0)))) + degree)


def _levels_map(levels: np.ndarray):
    def code(x):
        return np.clip(np.searchsorted(levels, x), 0, len(levels) - 1)
    return code


def _coordinate_map(values: np.ndarray, kind: str, intervals: int):
    """A function column -> (n, q) features of one coordinate (first function dropped)."""
    levels = np.unique(values)
    if len(levels) <= MAX_LEVELS:
        code = _levels_map(levels)
        return lambda x: (code(x)[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    centre, scale = float(np.mean(values)), float(np.std(values)) or 1.0
    if kind == "polynomial":
        return lambda x: np.column_stack([((x - centre) / scale) ** k for k in (1, 2, 3)])
    from sklearn.preprocessing import SplineTransformer

    knots = np.unique(np.quantile(values, np.linspace(0.0, 1.0, intervals + 1)))
    if len(knots) < 4:
        knots = np.linspace(values.min(), values.max(), intervals + 1)
    spline = SplineTransformer(knots=knots[:, None], degree=3, extrapolation="linear")
    spline.fit(values[:, None])
    return lambda x: spline.transform(np.asarray(x, dtype=float)[:, None])[:, 1:]


def q_basis(S, M, kind: str = "spline", intervals: int | None = None):
    """Fit the Q feature map on the observed states (S and S' pooled) and mediators; returns f(s, a, m) -> (n, p).

    Parameters
    ----------
    S : ndarray (n,) or (n, d_S)
        States the basis must cover (pass S and S' stacked).
    M : ndarray (n,) or (n, d_M)
    kind : {"spline", "polynomial", "tabular"}
    intervals : int, optional
        Knot intervals per coordinate (default: :func:`default_intervals`).
    """
    S, M = _columns(S), _columns(M)
    if kind == "tabular" or (kind == "spline" and is_discrete(S) and is_discrete(M)):
        return _tabular_basis(S, M)
    if kind not in ("spline", "polynomial"):
        raise ParameterError(f"Parameter q_basis must be 'spline', 'polynomial' or 'tabular'; got {kind!r}.",
                             parameter="q_basis")
    L = intervals or default_intervals(len(S))
    return AdditiveBasis(tuple(_coordinate_map(S[:, j], kind, L) for j in range(S.shape[1])),
                         tuple(_coordinate_map(M[:, j], kind, L) for j in range(M.shape[1])))


class AdditiveBasis:
    """phi(s, a, m) = [1{a=0} (g(s), h(m)), 1{a=1} (1, g(s), h(m))]: additive over coordinates, one block per action.

    Being additive, its mediator integrals need only E_m h(m) (``mediator_part``), which
    the estimators use instead of integrating the whole feature vector.
    """

    def __init__(self, state_maps, mediator_maps):
        self.state_maps, self.mediator_maps = state_maps, mediator_maps

    def state_part(self, s) -> np.ndarray:
        """g(s): the state coordinates' features, (n, q_S)."""
        s = _columns(s)
        return np.hstack([f(s[:, j]) for j, f in enumerate(self.state_maps)])

    def mediator_part(self, m) -> np.ndarray:
        """h(m): the mediator coordinates' features, (n, q_M)."""
        m = _columns(m)
        return np.hstack([f(m[:, j]) for j, f in enumerate(self.mediator_maps)])

    @staticmethod
    def assemble(g: np.ndarray, h: np.ndarray, a) -> np.ndarray:
        """The action blocks from g(s), h(m) (or E_m h(m)) and the direct action a."""
        n, q = len(g), g.shape[1] + h.shape[1]
        out = np.zeros((n, 2 * q + 1))
        one = np.asarray(a, dtype=float).reshape(-1) == 1
        if np.ndim(a) == 0 or np.all(one == one[0]):   # one action for every row: fill one block
            offset = q + 1 if one[0] else 0
            out[:, offset:offset + g.shape[1]] = g
            out[:, offset + g.shape[1]:offset + q] = h
            out[:, q] = float(one[0])
            return out
        gh = np.hstack([g, h])
        out[~one, :q] = gh[~one]
        out[one, q] = 1.0
        out[one, q + 1:] = gh[one]
        return out

    def __call__(self, s, a, m) -> np.ndarray:
        """phi(s, a, m), (n, 2 q + 1)."""
        return self.assemble(self.state_part(s), self.mediator_part(m), a)


def joint_codes(X: np.ndarray, level_sets):
    """Joint integer code of each row's discrete values (mixed radix over the columns' level sets)."""
    code = np.zeros(len(X), dtype=np.int64)
    for j, levels in enumerate(level_sets):
        code = code * len(levels) + _levels_map(levels)(X[:, j])
    return code


def _tabular_basis(S: np.ndarray, M: np.ndarray):
    if not (is_discrete(S) and is_discrete(M)):
        raise DataError(f"q_basis='tabular' needs discrete states and mediators (at most {MAX_LEVELS} values per "
                        "column); use q_basis='spline' for continuous ones.", column=None)
    s_levels = [np.unique(S[:, j]) for j in range(S.shape[1])]
    m_levels = [np.unique(M[:, j]) for j in range(M.shape[1])]
    ns, nm = int(np.prod([len(v) for v in s_levels])), int(np.prod([len(v) for v in m_levels]))
    if 2 * ns * nm > MAX_CELLS:
        raise DataError(f"The saturated Q basis would have {2 * ns * nm} cells (more than {MAX_CELLS}); use "
                        "q_basis='spline'.", column=None)

    def features(s, a, m):
        code = ((joint_codes(_columns(s), s_levels) * 2 + np.asarray(a, dtype=np.int64)) * nm
                + joint_codes(_columns(m), m_levels))
        out = np.zeros((len(code), 2 * ns * nm))
        out[np.arange(len(code)), code] = 1.0
        return out[:, 1:]  # the first cell fixes each Q-function's free constant

    return features


def ratio_basis(S, kind: str = "auto", n_components: int = 15, gamma: float = 1.0, seed: int = 1):
    """Fit the ratio feature map psi on the observed states (S and S' pooled); returns f(s) -> (n, q), constant first.

    ``"auto"`` is ``"tabular"`` for a discrete state and ``"rff"`` otherwise. ``"rbf"``
    (one state coordinate): Gaussian bumps exp(-gamma (z - c_j)^2) of the standardised
    state z at its ``n_components`` evenly spaced quantiles c_j, the same kernel as
    ``"rff"``'s but deterministic. It is not the default: in the coverage study
    (``benchmarks/bench_dynamic.py --coverage``, R = 100) it narrowed the spread of IDE
    and IME at N = 200 (SD / SE 1.24 and 1.18 against 1.32 and 1.22) but raised the
    bias of IME and DDE at N = 500 to 0.49 and 0.48 SE (0.38 and 0.37 with ``"rff"``).
    """
    S = _columns(S)
    if kind == "auto":
        kind = "tabular" if is_discrete(S) else "rff"
    if kind == "tabular":
        if not is_discrete(S):
            raise DataError(f"ratio_features='tabular' needs a discrete state (at most {MAX_LEVELS} values per "
                            "column); use 'rff'.", column=None)
        levels = [np.unique(S[:, j]) for j in range(S.shape[1])]
        size = int(np.prod([len(v) for v in levels]))

        def cells(s):
            out = np.zeros((len(s), size))
            out[np.arange(len(s)), joint_codes(_columns(s), levels)] = 1.0
            return out  # the indicators of all levels span the constant

        return cells
    centre, scale = S.mean(axis=0), S.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    if kind == "linear":
        return lambda s: np.column_stack([np.ones(len(s)), (_columns(s) - centre) / scale])
    if kind == "rbf":
        if S.shape[1] != 1:
            raise ParameterError(f"Parameter ratio_features='rbf' needs a state of one coordinate; this one has "
                                 f"{S.shape[1]}. Use 'rff'.", parameter="ratio_features")
        z = (S[:, 0] - centre[0]) / scale[0]
        centres = np.quantile(z, (np.arange(n_components) + 0.5) / n_components)
        return lambda s: np.column_stack([np.ones(len(s)), np.exp(
            -gamma * (((_columns(s)[:, 0] - centre[0]) / scale[0])[:, None] - centres) ** 2)])
    if kind != "rff":
        raise ParameterError("Parameter ratio_features must be 'auto', 'rbf', 'rff', 'linear' or 'tabular'; got "
                             f"{kind!r}.", parameter="ratio_features")
    rng = np.random.default_rng(seed)
    # random Fourier features of the Gaussian kernel exp(-gamma |x - y|^2)
    W = rng.normal(scale=np.sqrt(2.0 * gamma), size=(S.shape[1], n_components))
    offset = rng.uniform(0.0, 2.0 * np.pi, size=n_components)
    return lambda s: np.column_stack([np.ones(len(s)), np.sqrt(2.0 / n_components)
                                      * np.cos(((_columns(s) - centre) / scale) @ W + offset)])
