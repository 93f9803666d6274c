"""Fitted nuisances of dynamic mediation: behaviour propensity b, mediator law p_m and reward regression r.

As in Ge et al. (2023), with two fragile points of their reference code fixed:

* ``"tabular"`` (discrete states and mediators): empirical cell frequencies and means.
* a learner name or scikit-learn estimator (``"linear_boosting"`` by default for
  continuous data: a linear fit plus boosting of its residuals for the regressions,
  the boosting classifier for classes): b is a classifier of A on S; r a regressor
  on (S, A, M); a discrete mediator
  gets a classifier of its value on (S, A); a continuous one a *multivariate*
  Gaussian law: one regression per coordinate on (S, A) and the full residual
  covariance, estimated from out-of-fold residuals (in-sample residuals of a
  flexible learner understate the spread, which would bias every density ratio).
  Its log density is exact (no clipping), and its integration nodes are mean +
  Cholesky factor times standard-normal nodes that the caller fixes once: a
  Gauss-Hermite product rule (:class:`NormalQuadrature`) for a mediator of one or
  two coordinates, Monte Carlo draws beyond.
* A known propensity (a constant, a column or a callable) replaces b entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import is_classifier
from sklearn.model_selection import KFold

from mediationhte.core.learners import LEARNER_NAMES as SHARED_LEARNER_NAMES, registry_learner, seeded_clone
from mediationhte.core.parallel import worker_threads
from mediationhte.dynamic.bases import is_discrete, joint_codes
from mediationhte.dynamic.effects import PROPENSITY_FLOOR, DiscreteMediatorLaw, Nuisances
from mediationhte.errors import ParameterError

ROLES = ("behaviour", "mediator", "reward")
#: Learner names a role may take; "linear_boosting" (the default for continuous data) is
#: :class:`~mediationhte.core.learners.LinearPlusBoosting` for regressions, the boosting classifier for classes.
LEARNER_NAMES = SHARED_LEARNER_NAMES + ("linear_boosting",)
DEFAULT_LEARNER = "linear_boosting"
#: What ``crossfit`` may name: the three roles, and "mediator_density" (the mediator law's density at the observed
#: mediator cross-fitted, its integration nodes from the model fitted on all rows).
CROSSFIT_ROLES = ("behaviour", "mediator", "mediator_density", "reward")
#: Estimated propensities are kept inside [PROPENSITY_CLIP, 1 - PROPENSITY_CLIP].
PROPENSITY_CLIP = PROPENSITY_FLOOR


@dataclass(frozen=True)
class SplitMediatorLaw:
    """A mediator law whose density and integration nodes come from two fits of the same model.

    The density ratio kappa is evaluated at each step's own mediator, where a model fitted
    on that step overstates the density (its mean follows the step's noise), so it comes
    from the cross-fitted law; the integrals over m use the law fitted on all rows.
    """

    density: object
    integration: object

    @property
    def estimated(self) -> bool:
        """Whether the mean was fitted on the rows (both fits are, or neither)."""
        return bool(getattr(self.density, "estimated", False))

    def log_density(self, m, s, a):
        """Log density (or pmf) of the cross-fitted law."""
        return self.density.log_density(m, s, a)

    def mean_score(self, m, s, a):
        """Derivative of the cross-fitted log density in its mean (a Gaussian law)."""
        return self.density.mean_score(m, s, a)

    def residual(self, m, s, a):
        """The residual m - mean(s, a) of the cross-fitted mean (out of fold)."""
        return self.density.residual(m, s, a)

    def nodes(self, s, a, draws=None):
        """Integration nodes of the law fitted on all rows."""
        return self.integration.nodes(s, a, draws)

    def score_nodes(self, s, a, draws=None):
        """Integration nodes with their scores, of the law fitted on all rows."""
        return self.integration.score_nodes(s, a, draws)


#: Largest mediator dimension integrated by a Gauss-Hermite product rule (its node count grows as K^d).
MAX_QUADRATURE_DIM = 2


@dataclass(frozen=True)
class NormalQuadrature:
    """A product Gauss-Hermite rule for E[f(Z)], Z ~ N(0, I_d): nodes (K^d, d) and weights (K^d,) summing to 1.

    Deterministic, so the integrals over the mediator add no Monte Carlo noise to the
    estimates (50 random draws per row moved DDE by SD 0.027 on one semi-synthetic data
    set at N = 200, about a quarter of its standard error's shortfall).

    Examples
    --------
    >>> rule = NormalQuadrature.build(7, 2)
    >>> rule.nodes.shape, round(float(rule.weights @ rule.nodes[:, 0] ** 2), 12)
    ((49, 2), 1.0)
    """

    nodes: np.ndarray
    weights: np.ndarray

    @classmethod
    def build(cls, per_dim: int, dim: int) -> NormalQuadrature:
        """``per_dim`` points per coordinate (exact for polynomials of degree < 2 per_dim in each)."""
        x, w = np.polynomial.hermite_e.hermegauss(per_dim)   # weight exp(-x^2 / 2)
        w = w / w.sum()
        grids = np.meshgrid(*([x] * dim), indexing="ij")
        weights = np.prod(np.meshgrid(*([w] * dim), indexing="ij"), axis=0).ravel()
        return cls(nodes=np.column_stack([g.ravel() for g in grids]), weights=weights)

    @classmethod
    def for_budget(cls, n_nodes: int, dim: int) -> NormalQuadrature:
        """The product rule with at most ``n_nodes`` nodes (at least 2 per coordinate)."""
        per_dim = max(2, int(np.floor(n_nodes ** (1.0 / dim) + 1e-9)))
        return cls.build(per_dim, dim)


@dataclass(frozen=True)
class GaussianMediatorLaw:
    """M | S = s, A = a ~ N(mean(s, a), cov).

    ``estimated=True`` says the mean was fitted on the rows being analysed, so the MR
    standard error counts its estimation error (:mod:`mediationhte.dynamic.variance`);
    a known law (an oracle check) leaves it False.
    """

    mean: Callable
    cov: np.ndarray
    estimated: bool = False

    def _factor(self):
        return np.linalg.cholesky(self.cov)

    def residual(self, m, s, a):
        """The residual m - mean(s, a), (n, d)."""
        return np.asarray(m, dtype=float).reshape(len(m), -1) - self.mean(s, a)

    def mean_score(self, m, s, a):
        """Derivative of the log density at m in the mean: cov^{-1} (m - mean(s, a)), (n, d)."""
        return np.linalg.solve(self.cov, self.residual(m, s, a).T).T

    def score_nodes(self, s, a, draws):
        """:meth:`nodes` with each node's score cov^{-1} (m_k - mean(s, a)): [(m_k, weight_k, score_k)].

        sum_k weight_k f(m_k) score_k is the derivative of E f(M) in the mean (Stein's identity),
        for any f, smooth or not (a boosted reward is a step function).
        """
        mu, L = self.mean(s, a), self._factor()
        inverse = np.linalg.inv(L)   # m_k - mean = L z_k, so cov^{-1} (m_k - mean) = L^{-T} z_k
        return [(mu + z @ L.T, w, np.broadcast_to(z @ inverse, mu.shape))
                for z, w in self._standard_nodes(draws, len(mu))]

    def log_density(self, m, s, a):
        """Exact multivariate normal log density at each row."""
        resid = np.asarray(m, dtype=float).reshape(len(m), -1) - self.mean(s, a)
        L = self._factor()
        z = np.linalg.solve(L, resid.T).T
        return -0.5 * np.sum(z ** 2, axis=1) - np.sum(np.log(np.diag(L))) - 0.5 * len(L) * np.log(2 * np.pi)

    def nodes(self, s, a, draws):
        """Nodes mean(s, a) + L z_k with their weights.

        ``draws`` is a :class:`NormalQuadrature` (its nodes and weights) or standard-normal
        draws (K, n, d), each with weight 1/K.
        """
        mu, L = self.mean(s, a), self._factor()
        return [(mu + z @ L.T, w) for z, w in self._standard_nodes(draws, len(mu))]

    @staticmethod
    def _standard_nodes(draws, n: int):
        """Standard-normal nodes z_k with their weights (n,): a quadrature rule's, or draws' 1/K each."""
        if isinstance(draws, NormalQuadrature):
            return [(z, np.full(n, w)) for z, w in zip(draws.nodes, draws.weights)]
        weight = np.full(n, 1.0 / len(draws))
        return [(z, weight) for z in draws]


def _templates(learner) -> dict:
    if isinstance(learner, dict):
        unknown = set(learner) - set(ROLES)
        if unknown:
            raise ParameterError(f"Parameter learner: unknown roles {sorted(unknown)}; use {list(ROLES)}.",
                                 parameter="learner")
        choice = {role: learner.get(role, DEFAULT_LEARNER) for role in ROLES}
    else:
        choice = {role: learner for role in ROLES}
    out = {}
    for role, value in choice.items():
        if isinstance(value, str):
            if value not in LEARNER_NAMES:
                raise ParameterError(f"Parameter learner ({role}) must be 'auto', 'tabular', "
                                     f"{', '.join(map(repr, LEARNER_NAMES))} or a scikit-learn estimator; got "
                                     f"{value!r}.", parameter="learner")
            out[role] = {"classification": registry_learner(value, "classification"),
                         "regression": registry_learner(value, "regression")}
        elif hasattr(value, "fit") and hasattr(value, "get_params"):
            out[role] = {"classification": value, "regression": value}
        else:
            raise ParameterError(f"Parameter learner ({role}) must be a learner name or a scikit-learn estimator; "
                                 f"got {type(value).__name__}.", parameter="learner")
    return out


def _classifier_proba(template, seed, X, y):
    model = seeded_clone(template, seed)
    if not is_classifier(model):
        raise ParameterError(f"Parameter learner: {type(model).__name__} is not a classifier, but the behaviour "
                             "propensity and a discrete mediator need class probabilities.", parameter="learner")
    model.fit(X, y)
    return model


class FoldRouted:
    """Predictions of per-fold models: row i (of any stack of whole copies of the n rows) uses its fold's model.

    With cross-fitting every nuisance value at a row comes from models fitted without
    that row's trajectory. The estimators evaluate nuisances on the n rows or on
    stacks of k copies of them (Monte Carlo nodes), so the fold of stacked row j is
    ``folds[j % n]``.
    """

    def __init__(self, predictors, folds):
        self.predictors, self.folds = predictors, folds

    def __call__(self, X):
        """Predictions for the rows of X, each from its fold's model."""
        n = len(self.folds)
        if len(X) % n:
            raise RuntimeError(f"cross-fitted nuisance called on {len(X)} rows, not a multiple of {n}")
        routed = np.tile(self.folds, len(X) // n)
        out = None
        for fold, predict in enumerate(self.predictors):
            idx = np.flatnonzero(routed == fold)
            values = predict(X[idx])
            if out is None:
                out = np.empty((len(X),) + np.shape(values)[1:])
            out[idx] = values
        return out


def _fitted(fit, X, y, folds, n_jobs: int = 1):
    """fit(X_train, y_train) -> predictor: one model on all rows, or one per fold (threads) routed by FoldRouted.

    Every fold's model has the same seed and its own rows, so the predictions do
    not depend on ``n_jobs``.
    """
    if folds is None:
        return fit(X, y)
    with worker_threads(n_jobs):
        models = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(fit)(X[folds != f], y[folds != f]) for f in range(int(folds.max()) + 1))
    return FoldRouted(list(models), folds)


def fit_nuisances(S, A, M, R, *, target: Callable, propensity_rows, learner, seed: int, folds=None,
                  crossfit=ROLES, n_folds: int = 3, n_jobs: int = 1) -> tuple[Nuisances, bool]:
    """Fit b, p_m and r; returns the Nuisances and whether the mediator law is continuous (needs Monte Carlo draws).

    Parameters
    ----------
    S, M : ndarray (n, d)
    A, R : ndarray (n,)
    target : callable (n, d_S) array -> P(A = 1 | s)
    propensity_rows : ndarray (n,) or None
        Known P(A = 1 | S_i) at the rows; None estimates b.
    learner : "tabular", a learner name, an estimator, or a dict by role
    seed : int
    folds : ndarray (n,) of fold ids, optional
        Cross-fitting: each row's nuisances come from models fitted on the other folds.
    crossfit : tuple of CROSSFIT_ROLES, default all three roles
        The roles that ``folds`` applies to; the others are fitted on all rows.
        "mediator_density" (without "mediator"): a :class:`SplitMediatorLaw`.
    n_folds : int, default 3
        Folds of the out-of-fold residuals behind the Gaussian mediator covariance
        (when not cross-fitting).
    n_jobs : int, default 1
        Threads over the cross-fitting folds' models.
    """
    if learner == "tabular":
        return _tabular(S, A, M, R, target, propensity_rows), False
    templates = _templates(learner)
    fold_of = {role: folds if role in crossfit else None for role in ROLES}
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, size=8)
    if propensity_rows is None:
        def fit_b(X, y):
            model = _classifier_proba(templates["behaviour"]["classification"], seeds[0], X, y)
            column = list(model.classes_).index(1) if 1 in model.classes_ else None
            return lambda Z: model.predict_proba(Z)[:, column] if column is not None else np.zeros(len(Z))
        b_model = _fitted(fit_b, S, A.astype(int), fold_of["behaviour"], n_jobs)
        b1 = np.clip(b_model(S), PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
    else:
        b1 = propensity_rows

    def fit_r(X, y):
        return seeded_clone(templates["reward"]["regression"], seeds[1]).fit(X, y).predict

    reward_model = _fitted(fit_r, np.column_stack([S, A, M]), R, fold_of["reward"], n_jobs)

    def reward(s, a, m):
        s, m = np.asarray(s, dtype=float).reshape(len(s), -1), np.asarray(m, dtype=float).reshape(len(m), -1)
        return np.asarray(reward_model(np.column_stack([s, a, m])), dtype=float)

    SA = np.column_stack([S, A])
    continuous = not is_discrete(M)

    def mediator_law(mediator_folds):
        if continuous:
            return _gaussian_mediator(templates["mediator"]["regression"], seeds[2:], SA, M, n_folds, mediator_folds,
                                      n_jobs)
        return _classified_mediator(templates["mediator"]["classification"], seeds[2], SA, M, mediator_folds, n_jobs)

    law = mediator_law(fold_of["mediator"])
    if folds is not None and "mediator_density" in crossfit and "mediator" not in crossfit:
        law = SplitMediatorLaw(density=mediator_law(folds), integration=law)
    return Nuisances(behaviour=b1, target=target, mediator=law, reward=reward), continuous


def _classified_mediator(template, seed, SA, M, folds, n_jobs: int = 1) -> DiscreteMediatorLaw:
    levels = [np.unique(M[:, j]) for j in range(M.shape[1])]
    codes = joint_codes(M, levels)
    observed, first = np.unique(codes, return_index=True)
    position = {int(c): i for i, c in enumerate(observed)}

    def fit(X, y):
        model = _classifier_proba(template, seed, X, y)
        cols = np.array([position[int(c)] for c in model.classes_])

        def proba(Z):  # probabilities over every observed level (a fold may miss some)
            out = np.zeros((len(Z), len(observed)))
            out[:, cols] = model.predict_proba(Z)
            return out
        return proba

    predict = _fitted(fit, SA, codes, folds, n_jobs)

    def pmf(m, s, a):
        m = np.asarray(m, dtype=float).reshape(len(m), -1)
        proba = predict(np.column_stack([np.asarray(s, dtype=float).reshape(len(s), -1), a]))
        cols = np.array([position.get(int(c), -1) for c in joint_codes(m, levels)])
        out = np.where(cols >= 0, proba[np.arange(len(m)), np.maximum(cols, 0)], 0.0)
        return np.maximum(out, 1e-6)

    support = tuple(tuple(M[i]) if M.shape[1] > 1 else float(M[i, 0]) for i in first)
    return DiscreteMediatorLaw(pmf, support)


def _gaussian_mediator(template, seeds, SA, M, n_folds, folds, n_jobs: int = 1) -> GaussianMediatorLaw:
    d = M.shape[1]

    def fit(j):
        return lambda X, y: seeded_clone(template, seeds[j]).fit(X, y).predict

    models = [_fitted(fit(j), SA, M[:, j], folds, n_jobs) for j in range(d)]
    if folds is not None:   # cross-fitted means are out-of-fold already
        resid = M - np.column_stack([mdl(SA) for mdl in models])
    else:
        resid = np.empty_like(M)
        for train, test in KFold(n_splits=n_folds, shuffle=True, random_state=int(seeds[-1])).split(SA):
            for j in range(d):
                resid[test, j] = M[test, j] - fit(j)(SA[train], M[train, j])(SA[test])
    cov = np.atleast_2d(np.cov(resid, rowvar=False, ddof=0))
    cov = cov + 1e-9 * np.trace(cov) / d * np.eye(d)

    def mean(s, a):
        X = np.column_stack([np.asarray(s, dtype=float).reshape(len(s), -1), a])
        return np.column_stack([mdl(X) for mdl in models])

    return GaussianMediatorLaw(mean, cov, estimated=True)


def _tabular(S, A, M, R, target, propensity_rows) -> Nuisances:
    s_levels = [np.unique(S[:, j]) for j in range(S.shape[1])]
    m_levels = [np.unique(M[:, j]) for j in range(M.shape[1])]
    ns, nm = int(np.prod([len(v) for v in s_levels])), int(np.prod([len(v) for v in m_levels]))
    si, mi = joint_codes(S, s_levels), joint_codes(M, m_levels)
    Ai = A.astype(int)
    count_s = np.bincount(si, minlength=ns).astype(float)
    b_cell = np.bincount(si, weights=A, minlength=ns) / np.maximum(count_s, 1)
    cell_sa = si * 2 + Ai
    count_sa = np.bincount(cell_sa, minlength=2 * ns).astype(float)
    cell_sam = cell_sa * nm + mi
    count_sam = np.bincount(cell_sam, minlength=2 * ns * nm)
    pm = (count_sam / np.repeat(np.maximum(count_sa, 1), nm)).reshape(ns, 2, nm)
    r_cell = np.bincount(cell_sam, weights=R, minlength=2 * ns * nm) / np.maximum(count_sam, 1)
    r_cell = np.where(count_sam > 0, r_cell, R.mean()).reshape(ns, 2, nm)
    b1 = np.clip(b_cell[si], 1e-6, 1 - 1e-6) if propensity_rows is None else propensity_rows

    def s_code(s):
        return joint_codes(np.asarray(s, dtype=float).reshape(len(s), -1), s_levels)

    def m_code(m):
        return joint_codes(np.asarray(m, dtype=float).reshape(len(m), -1), m_levels)

    _, first = np.unique(mi, return_index=True)
    support = tuple(tuple(M[i]) if M.shape[1] > 1 else float(M[i, 0]) for i in first)
    law = DiscreteMediatorLaw(lambda m, s, a: np.clip(pm[s_code(s), np.asarray(a, dtype=int), m_code(m)], 1e-6, 1),
                              support)
    return Nuisances(behaviour=b1, target=target, mediator=law,
                     reward=lambda s, a, m: r_cell[s_code(s), np.asarray(a, dtype=int), m_code(m)])
