"""The random-intercept REML linear mixed model of cluster-randomised trials.

:func:`fit_random_intercept_lmm` fits y = X beta + b_group + e by REML: the warm
start of the mixed-effects learners (fixed part -> offset; BLUPs, variance components -> starting values), the
``learner="lmm"`` CATE and the reference sigma_b^2 every CRT fit reports. statsmodels' ``MixedLM`` optimises; the
answer is then recomputed in closed form from cluster sums (one ``np.add.reduceat`` per sum, no N x N matrix).
Models with more variance components (``"lmm_shrink"``, ``"gamm"``) use :mod:`mediationhte.crt.penalized_lmm`;
cluster-robust OLS is in :mod:`mediationhte.inference.cluster_robust`.
"""

# Why two REML engines, when fit_variance_components (penalized_lmm) with no extra block fits this same model?
# Measured by benchmarks/bench_reml_engines.py (simulate_crt scenarios A, B, N, seeds 1-4; 36 plain fits):
# * It would change the numbers. statsmodels' bfgs stops up to 3.3e-4 (relative) short of the REML optimum in
#   sigma_b^2, the other engine within 4.7e-6, so every "lmm" CATE and reference sigma_b^2 would move, sigma_b^2 by
#   up to 3.3e-4 (2.9e-3 when it is near 0). On the data of tests/test_mixed_models.py, which holds sigma_b^2 to
#   statsmodels' to 1e-6, the two differ by 3.0e-5.
# * It has no exact boundary: without a cluster effect (icc=0, N4) it reported sigma_b^2 = 1.3e-7 with a REML
#   log-likelihood 1.2e-5 lower, where the score test here returns 0 and the OLS fit.
# * It is faster (3.9 s against 10.7 s for the 36 fits; at the boundary statsmodels' retries cost ~0.8 s a fit),
#   which alone does not justify new numbers. Both engines reach the same optimum to the optimisers' tolerance
#   (tests/test_crt.py checks it).

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.tools.sm_exceptions import ModelWarning

from mediationhte.core.arrays import as_design, as_vector, cluster_layout, encode_groups
from mediationhte.core.immutable import readonly
from mediationhte.errors import ConvergenceWarning, ParameterError, warn_at_caller

__all__ = ["LMMFit", "fit_random_intercept_lmm"]

# statsmodels' own first choice, then the retries a pilot needed (about 7% of its fits needed lbfgs).
OPTIMIZERS = ("bfgs", "lbfgs", "powell", "nm")
# A variance ratio whose REML log-likelihood is within this of the boundary's is reported as exactly 0.
_BOUNDARY_LLF_TOL = 1e-9


# --------------------------------------------------------------------------- random-intercept LMM


@dataclass(frozen=True, eq=False)
class LMMFit:
    """A REML random-intercept fit y = X beta + b_group + e (immutable; arrays read-only).

    Attributes
    ----------
    beta : ndarray, shape (p,)
        GLS fixed effects at the REML variance components.
    cov_beta : ndarray, shape (p, p)
        Model-based covariance sigma2 (X' W X)^(-1) with W = sigma2 V^(-1), i.e. conditional on the
        variance components (what lme4's ``vcov`` reports). statsmodels' ``cov_params()`` instead
        inverts the observed Hessian including the beta/variance cross terms; the two differ by
        O(1/N) in relative terms.
    sigma_b2, sigma2 : float
        Random-intercept and residual variances; ``sigma_b2`` is exactly 0 at a boundary fit.
    icc : float
        ``sigma_b2 / (sigma_b2 + sigma2)``.
    blups : ndarray, shape (n_groups,)
        b_j = kappa_j * mean_j(y - offset - X beta), kappa_j = sigma_b2 / (sigma_b2 + sigma2 / n_j),
        in the order of ``group_ids``.
    group_ids : ndarray
        ``np.unique(groups)``.
    group_sizes : ndarray of int
    names : tuple of str
    converged : bool
        The reported solution is a REML maximum found by a converged optimiser (or a boundary
        solution whose REML score at sigma_b2 = 0 is not positive).
    optimizer : str
        The statsmodels method that produced the solution, or ``"profile-brent"`` (a bounded 1-D
        search over the profiled REML likelihood, the last resort).
    boundary : bool
        True when ``sigma_b2`` was set to 0 because the boundary is at least as likely.
    llf : float
        REML log-likelihood (statsmodels' convention).
    attempts : tuple of str
        One line per optimiser tried, with statsmodels' warnings, for diagnostics.
    n_groups, n_obs : int
    """

    beta: np.ndarray = field(repr=False)
    cov_beta: np.ndarray = field(repr=False)
    sigma_b2: float
    sigma2: float
    icc: float
    blups: np.ndarray = field(repr=False)
    group_ids: np.ndarray = field(repr=False)
    group_sizes: np.ndarray = field(repr=False)
    names: tuple[str, ...]
    converged: bool
    optimizer: str
    boundary: bool
    llf: float
    attempts: tuple[str, ...] = field(repr=False)
    n_groups: int
    n_obs: int

    def __post_init__(self):
        for name in ("beta", "cov_beta", "blups", "group_ids", "group_sizes"):
            object.__setattr__(self, name, readonly(getattr(self, name)))

    @property
    def se_beta(self) -> np.ndarray:
        """Model-based standard errors of ``beta``."""
        return np.sqrt(np.diag(self.cov_beta))

    def fixed_part(self, X_new) -> np.ndarray:
        """``X_new @ beta``: the population (random effect at its mean 0) prediction, without any offset.

        Parameters
        ----------
        X_new : array_like, shape (m, p)
            Design rows with the same columns as the fitted ``X``.
        """
        Xa = np.asarray(X_new, dtype=float)
        if Xa.ndim != 2 or Xa.shape[1] != len(self.beta):
            raise ParameterError(f"X_new must have shape (m, {len(self.beta)}) like the fitted X; "
                                 f"found {Xa.shape}.", parameter="X_new")
        return Xa @ self.beta

    def blup_for(self, groups_new) -> np.ndarray:
        """BLUP of each label in ``groups_new``; 0 (the random effect's mean) for clusters not seen in the fit."""
        labels = np.atleast_1d(np.asarray(groups_new))
        idx = pd.Index(self.group_ids).get_indexer(labels)
        return np.where(idx >= 0, self.blups[np.maximum(idx, 0)], 0.0)


class _RandomIntercept:
    """Cluster sufficient statistics of the REML problem; every evaluation costs O(N p + G p^2)."""

    def __init__(self, y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_groups: int):
        order, self.sizes, starts = cluster_layout(codes, n_groups)
        self.y, self.X = y, X
        self.n_obs, self.p = X.shape
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.S = np.add.reduceat(X[order], starts, axis=0)  # cluster column sums of X, (G, p)
        self.Sy = np.add.reduceat(y[order], starts)

    def solve(self, lam: float):
        """GLS at the variance ratio lam = sigma_b2 / sigma2 (W = sigma2 V^-1 = blockdiag(I - gamma_j 11'))."""
        gam = lam / (1.0 + self.sizes * lam)
        xtwx = self.XtX - (self.S * gam[:, None]).T @ self.S
        chol = linalg.cho_factor(xtwx)
        beta = linalg.cho_solve(chol, self.Xty - self.S.T @ (gam * self.Sy))
        r = self.y - self.X @ beta
        r_sum = self.Sy - self.S @ beta
        sigma2 = (r @ r - gam @ r_sum**2) / (self.n_obs - self.p)
        logdet = 2.0 * np.sum(np.log(np.diag(chol[0])))
        return beta, chol, r_sum, sigma2, logdet

    def llf(self, lam: float) -> float:
        """REML log-likelihood with sigma2 profiled out, in statsmodels' convention."""
        _, _, _, sigma2, logdet = self.solve(lam)
        df = self.n_obs - self.p
        return -0.5 * (df * (np.log(2.0 * np.pi * sigma2) + 1.0) + np.sum(np.log1p(self.sizes * lam)) + logdet)

    def score_at_zero(self) -> float:
        """The derivative of llf in lam at lam = 0; a value <= 0 makes sigma_b2 = 0 a KKT point of the REML problem."""
        beta, chol, r_sum, sigma2, _ = self.solve(0.0)
        h = np.einsum("gi,gi->g", self.S, linalg.cho_solve(chol, self.S.T).T)  # 1' H_gg 1
        rss = sigma2 * (self.n_obs - self.p)
        return 0.5 * ((self.n_obs - self.p) * np.sum(r_sum**2) / rss - self.n_obs + np.sum(h))


@dataclass(frozen=True)
class _Attempt:
    optimizer: str
    lam: float  # sigma_b2 / sigma2, NaN when the fit raised
    clean: bool
    note: str


def _statsmodels_attempt(y: np.ndarray, X: np.ndarray, codes: np.ndarray, method: str) -> _Attempt:
    """One ``MixedLM(...).fit(reml=True, method=method)``; its optimisation warnings become notes, never leak."""
    error = None
    with warnings.catch_warnings(record=True) as caught:
        # Only statsmodels' model diagnostics and numpy's floating-point warnings are captured; any other
        # category keeps the caller's filters (so an "error" filter still raises).
        warnings.simplefilter("always", ModelWarning)
        warnings.simplefilter("always", RuntimeWarning)
        try:
            res = MixedLM(y, X, codes).fit(reml=True, method=method)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError) as exc:
            res, error = None, exc
    notes = []
    for w in caught:
        if issubclass(w.category, (ModelWarning, RuntimeWarning)):
            notes.append(str(w.message))
        else:  # already passed the caller's filters: show it as it would have been shown
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if res is None:
        return _Attempt(method, np.nan, False, f"raised {type(error).__name__}: {error}")
    lam = float(np.asarray(res.cov_re_unscaled)[0, 0])
    # statsmodels can report convergence with an infinite log-likelihood (seen with lbfgs from its default start).
    usable = np.isfinite(lam) and lam >= 0 and np.isfinite(res.scale) and res.scale > 0 and np.isfinite(res.llf)
    failed = any("failed" in m for m in notes)
    at_boundary = any("boundary" in m for m in notes)
    # A non-PD Hessian is expected at the boundary; in the interior it means the optimiser stopped short.
    non_pd = any("positive definite" in m for m in notes) and not at_boundary
    clean = bool(res.converged) and usable and not failed and not non_pd
    return _Attempt(method, lam if usable else np.nan, clean, "; ".join(notes) or "ok")


def _profile_attempt(problem: _RandomIntercept) -> _Attempt:
    """Bounded Brent search of the profiled REML likelihood over rho = lam / (1 + lam) in [0, 1)."""
    res = optimize.minimize_scalar(lambda rho: -problem.llf(rho / (1.0 - rho)), bounds=(0.0, 1.0 - 1e-9),
                                   method="bounded", options={"xatol": 1e-10})
    return _Attempt("profile-brent", float(res.x / (1.0 - res.x)), bool(res.success), str(res.message))


def fit_random_intercept_lmm(y, X, groups, *, names=None, offset=None) -> LMMFit:
    """REML fit of the random-intercept linear mixed model y - offset = X beta + b_group + e.

    statsmodels' ``MixedLM`` does the optimisation: first with ``"bfgs"`` (its default first
    choice), then, if that does not converge cleanly (no convergence, a ConvergenceWarning of
    failure, or a non-positive-definite Hessian away from the boundary), from scratch with
    ``"lbfgs"``, ``"powell"`` and ``"nm"``. If none is clean, a bounded 1-D search over the
    profiled REML likelihood is added. The best clean solution wins; if the boundary
    sigma_b2 = 0 is at least as likely it is reported instead, with the OLS fixed effects (so
    data without clustering never fail). Every statsmodels warning is captured and listed in
    ``attempts``; a :class:`~mediationhte.errors.ConvergenceWarning` is emitted only when no
    converged solution was found.

    Parameters
    ----------
    y : array_like, shape (n,)
    X : array_like, shape (n, p)
        Fixed-effects design, including the intercept column; must have full column rank.
        A DataFrame's column names become ``names``.
    groups : array_like, shape (n,)
        Cluster labels (any sortable type); at least 2 clusters.
    names : sequence of str, optional
        Column names of ``X`` (default ``x0, x1, ...``).
    offset : array_like, shape (n,), optional
        Known part of the linear predictor, subtracted from ``y`` before fitting.

    Returns
    -------
    LMMFit
        Variance components, beta and its model-based covariance, BLUPs and diagnostics,
        all recomputed here in closed form from the chosen variance ratio.

    Raises
    ------
    ParameterError
        Malformed or mismatched inputs, rank-deficient ``X``, one cluster, or ``y`` fitted exactly by ``X``.
    """
    Xa, names = as_design(X, names)
    n, p = Xa.shape
    ya = as_vector(y, "y", n)
    if offset is not None:
        ya = ya - as_vector(offset, "offset", n)
    group_ids, codes = encode_groups(groups, n)
    problem = _RandomIntercept(ya, Xa, codes, len(group_ids))
    if problem.solve(0.0)[3] <= 1e-12 * max(np.var(ya), 1e-300):
        raise ParameterError("y (minus offset) is fitted exactly by X, so there is no residual variance to split "
                             "into sigma_b2 and sigma2; check that the outcome is not among the columns of X.",
                             parameter="y")

    llf0 = problem.llf(0.0)
    boundary_is_kkt = problem.score_at_zero() <= 0.0
    attempts = []
    for method in OPTIMIZERS:
        att = _statsmodels_attempt(ya, Xa, codes, method)
        # statsmodels optimises over sqrt(sigma_b2 / sigma2), whose gradient vanishes at 0: sigma_b2 = 0 is a
        # stationary point whatever the data, so a boundary answer counts only if the REML score there is <= 0.
        if att.clean and problem.llf(att.lam) <= llf0 + _BOUNDARY_LLF_TOL and not boundary_is_kkt:
            att = _Attempt(att.optimizer, att.lam, False,
                           att.note + "; spurious stationary point at sigma_b2 = 0 (the REML score there is > 0)")
        attempts.append(att)
        if att.clean:
            break
    else:
        attempts.append(_profile_attempt(problem))
    pool = [a for a in attempts if a.clean] or [a for a in attempts if np.isfinite(a.lam)]
    scored = [(problem.llf(a.lam), a) for a in pool]
    best_llf, best = max(scored, key=lambda t: t[0]) if scored else (-np.inf, None)

    boundary = best is None or llf0 >= best_llf - _BOUNDARY_LLF_TOL
    if boundary:
        lam, llf = 0.0, llf0
        converged = boundary_is_kkt or (best is not None and best.clean)
        optimizer = best.optimizer if best is not None else "boundary"
    else:
        lam, llf, converged, optimizer = best.lam, best_llf, best.clean, best.optimizer
    if not converged:
        warn_at_caller(ConvergenceWarning(
            f"The REML fit of the random-intercept model did not converge with any of {', '.join(OPTIMIZERS)} "
            f"or the profile search; reporting the most likely solution found ({optimizer}). "
            "Inspect LMMFit.attempts; rescaling the columns of X often helps."))

    beta, chol, r_sum, sigma2, _ = problem.solve(lam)
    sigma_b2 = lam * sigma2
    kappa = problem.sizes * lam / (1.0 + problem.sizes * lam)
    return LMMFit(
        beta=beta, cov_beta=sigma2 * linalg.cho_solve(chol, np.eye(p)), sigma_b2=float(sigma_b2),
        sigma2=float(sigma2), icc=float(sigma_b2 / (sigma_b2 + sigma2)), blups=kappa * r_sum / problem.sizes,
        group_ids=group_ids, group_sizes=problem.sizes, names=names, converged=bool(converged),
        optimizer=optimizer, boundary=bool(boundary), llf=float(llf),
        attempts=tuple(f"{a.optimizer}: {'clean' if a.clean else 'not clean'} ({a.note})" for a in attempts),
        n_groups=len(group_ids), n_obs=n)
