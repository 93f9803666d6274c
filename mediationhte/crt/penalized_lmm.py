"""REML for linear mixed models with several independent variance-component blocks, via Henderson's equations.

Model: y = X beta + sum_k Z_k u_k + e, u_k ~ N(0, sigma^2 lambda_k I), e ~ N(0, sigma^2 I).
With Lambda = blockdiag(lambda_k I) and the mixed-model matrix

    C = [[X'X, X'Z], [Z'X, Z'Z + Lambda^-1]],

the profiled REML log-likelihood is, up to a constant (Harville 1977; Henderson),

    l(lambda) = -1/2 [ sum_k q_k log lambda_k + log|C| + (N - p) log(y'Py / (N - p)) ],
    y'Py = y'y - s'r,  s = C^-1 r,  r = (X'y, Z'y),

because log|H| + log|X'H^-1 X| = log|Lambda| + log|C| for H = I + Z Lambda Z'. C has
p + sum q_k rows (tens to a few hundred in a cluster-randomised trial), so no
N x N matrix is ever formed. The blocks used here are the cluster intercepts and
the treatment x modifier interactions: REML then chooses how far the interaction
coefficients shrink towards a common effect (ridge with a REML-chosen penalty,
the mixed-model form of a penalised smooth, as in Wood's GAMMs).
"""

# Why not statsmodels' MixedLM with variance components (one group holding every row, exog_vc = the cluster
# indicators and each block)? Measured by benchmarks/bench_reml_engines.py on the 18 "lmm_shrink" and "gamm" fits of
# simulate_crt scenarios A, B, N (seeds 1-3): statsmodels took 65 s against 4.6 s here (35 s with gtol=1e-9), and in
# 10 of the 18 it stopped below the REML optimum found here, by up to 11.3 log-likelihood units (13.7 with
# gtol=1e-9; 5 fits also reported non-convergence). In the other 8 the variances agree to 8.3e-4 (relative).
# The plain random-intercept model keeps statsmodels (crt/mixed_models.py says why).

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from mediationhte.core.immutable import readonly
from mediationhte.errors import ParameterError

#: Bounds of log(lambda_k) in the search; the lower one is the boundary "no variance".
LOG_LAMBDA_BOUNDS = (-18.0, 12.0)


@dataclass(frozen=True, eq=False)
class VarianceComponentsFit:
    """A REML fit of :func:`fit_variance_components` (arrays read-only).

    Attributes
    ----------
    beta : ndarray (p,)
        Fixed effects (GLS at the REML variance ratios).
    u : tuple of ndarray
        BLUPs of each block's random effects.
    sigma2 : float
        Residual variance.
    variances : ndarray (K,)
        sigma^2 lambda_k, each block's variance.
    precision_inverse : ndarray (p + q, p + q)
        C^-1: sigma2 * C^-1 is the joint covariance of (beta - beta, u_hat - u), the
        prediction-error covariance used for intervals of X beta + Z u.
    llf : float
        The maximised profiled REML log-likelihood (up to the constant).
    converged : bool
    """

    beta: np.ndarray = field(repr=False)
    u: tuple = field(repr=False)
    sigma2: float
    variances: np.ndarray = field(repr=False)
    precision_inverse: np.ndarray = field(repr=False)
    llf: float
    converged: bool

    def coefficients(self) -> np.ndarray:
        """The fixed effects followed by every block's BLUPs, in the order of ``precision_inverse``."""
        return np.concatenate([self.beta, *self.u])


def _pieces(y, X, codes, n_groups, Z):
    """X'X-type cross products in the order [X, cluster intercepts, Z] without forming the indicator matrix."""
    A = np.column_stack([X, Z])
    p_x = X.shape[1]
    gram_a, rhs_a = A.T @ A, A.T @ y
    if codes is None:
        return gram_a, rhs_a, float(y @ y)
    sums = np.zeros((n_groups, A.shape[1]))
    np.add.at(sums, codes, A)
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    k = A.shape[1] + n_groups
    order = np.r_[np.arange(p_x), A.shape[1] + np.arange(n_groups), p_x + np.arange(Z.shape[1])]
    gram = np.empty((k, k))
    gram[:A.shape[1], :A.shape[1]] = gram_a
    gram[:A.shape[1], A.shape[1]:] = sums.T
    gram[A.shape[1]:, :A.shape[1]] = sums
    gram[A.shape[1]:, A.shape[1]:] = np.diag(counts)
    rhs = np.r_[rhs_a, np.bincount(codes, weights=y, minlength=n_groups)]
    return gram[np.ix_(order, order)], rhs[order], float(y @ y)


def _reml(log_lambda, gram, rhs, yy, sizes, n, p):
    lam = np.exp(log_lambda)
    diag = np.concatenate([np.zeros(p)] + [np.full(int(q), 1.0 / lk) for q, lk in zip(sizes, lam)])
    C = gram + np.diag(diag)
    try:
        chol = linalg.cho_factor(C, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return np.inf, None
    s = linalg.cho_solve(chol, rhs, check_finite=False)
    quad = max(yy - float(s @ rhs), 1e-300)
    logdet = 2.0 * np.sum(np.log(np.diag(chol[0])))
    value = 0.5 * (float(np.dot(sizes, log_lambda)) + logdet + (n - p) * np.log(quad / (n - p)))
    return value, (chol, s, quad)


def fit_variance_components(y, X, blocks=(), groups=None) -> VarianceComponentsFit:
    """REML fit of y = X beta + sum_k Z_k u_k + e; see the module docstring.

    Parameters
    ----------
    y : array_like (N,)
    X : array_like (N, p)
        Fixed-effect design (full column rank, intercept included).
    blocks : sequence of array_like (N, q_k)
        Dense random-effect designs (e.g. standardised treatment x modifier columns).
    groups : array_like (N,), optional
        Cluster ids: a random-intercept block, placed first, built from sums per
        cluster (its indicator matrix is never formed).

    Returns
    -------
    VarianceComponentsFit
        ``u`` and ``variances`` in the order: cluster intercepts (if ``groups``), then ``blocks``.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    Zs = [np.asarray(Z, dtype=float) for Z in blocks]
    n, p = X.shape
    codes, n_groups = None, 0
    if groups is not None:
        _, codes = np.unique(np.asarray(groups), return_inverse=True)
        n_groups = int(codes.max()) + 1
    if y.shape != (n,) or any(Z.shape[0] != n for Z in Zs) or (not Zs and groups is None):
        raise ParameterError("Parameters y, X and blocks must have one row per observation and at least one "
                             "random-effect block (or groups).", parameter="blocks")
    if n - p < 2:
        raise ParameterError(f"Parameter X has {p} columns for {n} rows; REML needs n - p >= 2.", parameter="X")
    sizes = np.array(([n_groups] if groups is not None else []) + [Z.shape[1] for Z in Zs], dtype=float)
    Z_all = np.column_stack(Zs) if Zs else np.empty((n, 0))
    gram, rhs, yy = _pieces(y, X, codes, n_groups, Z_all)
    k = len(sizes)

    def objective(theta):
        return _reml(theta, gram, rhs, yy, sizes, n, p)[0]

    best = None
    for start in (0.0, -3.0, 3.0):  # a few starts: the surface can have a boundary optimum
        res = optimize.minimize(objective, np.full(k, start), method="L-BFGS-B", bounds=[LOG_LAMBDA_BOUNDS] * k)
        if best is None or res.fun < best.fun:
            best = res
    value, (chol, s, quad) = _reml(best.x, gram, rhs, yy, sizes, n, p)
    sigma2 = quad / (n - p)
    lam = np.exp(best.x)
    lam = np.where(best.x <= LOG_LAMBDA_BOUNDS[0] + 1e-6, 0.0, lam)
    inv = linalg.cho_solve(chol, np.eye(len(rhs)), check_finite=False)
    cuts = np.cumsum([p, *sizes.astype(int)])
    u = tuple(readonly(s[a:b]) for a, b in zip(cuts[:-1], cuts[1:]))
    return VarianceComponentsFit(beta=readonly(s[:p]), u=u, sigma2=float(sigma2), variances=readonly(sigma2 * lam),
                                 precision_inverse=readonly(inv), llf=float(-value), converged=bool(best.success))
