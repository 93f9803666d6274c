"""Fitted nuisances of dynamic mediation: behaviour propensity b, mediator law p_m and reward regression r.

Spec dynamic_mediation.md section 2.6, with fragile points 2 and 4 of section 4 fixed:

* ``"tabular"`` (discrete states and mediators): empirical cell frequencies and means.
* a learner name or scikit-learn estimator (``"boosting"`` by default for continuous
  data): b is a classifier of A on S; r a regressor on (S, A, M); a discrete mediator
  gets a classifier of its value on (S, A); a continuous one a *multivariate*
  Gaussian law: one regression per coordinate on (S, A) and the full residual
  covariance, estimated from out-of-fold residuals (in-sample residuals of a
  flexible learner understate the spread, which would bias every density ratio).
  Its log density is exact (no clipping), and its integration nodes are mean +
  Cholesky factor times standard-normal draws that the caller fixes once.
* A known propensity (a constant, a column or a callable) replaces b entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.base import is_classifier

from .dynamic_bases import _joint_codes, is_discrete
from .dynamic_effects import DiscreteMediatorLaw, Nuisances
from .errors import ParameterError
from .learners import _registry, seeded_clone

ROLES = ("behaviour", "mediator", "reward")
#: Estimated propensities are kept inside [PROPENSITY_CLIP, 1 - PROPENSITY_CLIP].
PROPENSITY_CLIP = 1e-3


@dataclass(frozen=True)
class GaussianMediatorLaw:
    """M | S = s, A = a ~ N(mean(s, a), cov)."""

    mean: Callable
    cov: np.ndarray

    def _factor(self):
        return np.linalg.cholesky(self.cov)

    def log_density(self, m, s, a):
        resid = np.asarray(m, dtype=float).reshape(len(m), -1) - self.mean(s, a)
        L = self._factor()
        z = np.linalg.solve(L, resid.T).T
        return -0.5 * np.sum(z ** 2, axis=1) - np.sum(np.log(np.diag(L))) - 0.5 * len(L) * np.log(2 * np.pi)

    def nodes(self, s, a, draws):
        mu = self.mean(s, a)
        L = self._factor()
        weight = np.full(len(mu), 1.0 / len(draws))
        return [(mu + z @ L.T, weight) for z in draws]


def _templates(learner) -> dict:
    if isinstance(learner, dict):
        unknown = set(learner) - set(ROLES)
        if unknown:
            raise ParameterError(f"Parameter learner: unknown roles {sorted(unknown)}; use {list(ROLES)}.",
                                 parameter="learner")
        choice = {role: learner.get(role, "boosting") for role in ROLES}
    else:
        choice = {role: learner for role in ROLES}
    out = {}
    for role, value in choice.items():
        if isinstance(value, str):
            if value not in ("linear", "forest", "boosting"):
                raise ParameterError(f"Parameter learner ({role}) must be 'auto', 'tabular', 'linear', 'forest', "
                                     f"'boosting' or a scikit-learn estimator; got {value!r}.", parameter="learner")
            out[role] = {"classification": _registry(value, "classification"),
                         "regression": _registry(value, "regression")}
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


def fit_nuisances(S, A, M, R, *, target: Callable, propensity_rows, learner, seed: int,
                  n_folds: int = 3) -> tuple[Nuisances, bool]:
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
    """
    if learner == "tabular":
        return _tabular(S, A, M, R, target, propensity_rows), False
    templates = _templates(learner)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, size=8)
    if propensity_rows is None:
        model = _classifier_proba(templates["behaviour"]["classification"], seeds[0], S, A.astype(int))
        column = list(model.classes_).index(1)
        b1 = np.clip(model.predict_proba(S)[:, column], PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
    else:
        b1 = propensity_rows
    reward_model = seeded_clone(templates["reward"]["regression"], seeds[1]).fit(np.column_stack([S, A, M]), R)

    def reward(s, a, m):
        s, m = np.asarray(s, dtype=float).reshape(len(s), -1), np.asarray(m, dtype=float).reshape(len(m), -1)
        return np.asarray(reward_model.predict(np.column_stack([s, a, m])), dtype=float)

    SA = np.column_stack([S, A])
    if is_discrete(M):
        law = _classified_mediator(templates["mediator"]["classification"], seeds[2], SA, M)
        continuous = False
    else:
        law = _gaussian_mediator(templates["mediator"]["regression"], seeds[2:], SA, M, n_folds)
        continuous = True
    return Nuisances(behaviour=b1, target=target, mediator=law, reward=reward), continuous


def _classified_mediator(template, seed, SA, M) -> DiscreteMediatorLaw:
    levels = [np.unique(M[:, j]) for j in range(M.shape[1])]
    codes = _joint_codes(M, levels)
    observed, first = np.unique(codes, return_index=True)
    model = _classifier_proba(template, seed, SA, codes)
    index = {int(c): i for i, c in enumerate(model.classes_)}

    def pmf(m, s, a):
        m = np.asarray(m, dtype=float).reshape(len(m), -1)
        proba = model.predict_proba(np.column_stack([np.asarray(s, dtype=float).reshape(len(s), -1), a]))
        cols = np.array([index.get(int(c), -1) for c in _joint_codes(m, levels)])
        out = np.where(cols >= 0, proba[np.arange(len(m)), np.maximum(cols, 0)], 0.0)
        return np.maximum(out, 1e-6)

    support = tuple(tuple(M[i]) if M.shape[1] > 1 else float(M[i, 0]) for i in first)
    return DiscreteMediatorLaw(pmf, support)


def _gaussian_mediator(template, seeds, SA, M, n_folds) -> GaussianMediatorLaw:
    from sklearn.model_selection import KFold

    d = M.shape[1]
    models, resid = [], np.empty_like(M)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=int(seeds[-1])).split(SA)
    for train, test in folds:  # out-of-fold residuals for the covariance
        for j in range(d):
            resid[test, j] = M[test, j] - seeded_clone(template, seeds[j]).fit(SA[train], M[train, j]).predict(SA[test])
    for j in range(d):
        models.append(seeded_clone(template, seeds[j]).fit(SA, M[:, j]))
    cov = np.atleast_2d(np.cov(resid, rowvar=False, ddof=0))
    cov = cov + 1e-9 * np.trace(cov) / d * np.eye(d)

    def mean(s, a):
        X = np.column_stack([np.asarray(s, dtype=float).reshape(len(s), -1), a])
        return np.column_stack([mdl.predict(X) for mdl in models])

    return GaussianMediatorLaw(mean, cov)


def _tabular(S, A, M, R, target, propensity_rows) -> Nuisances:
    s_levels = [np.unique(S[:, j]) for j in range(S.shape[1])]
    m_levels = [np.unique(M[:, j]) for j in range(M.shape[1])]
    ns, nm = int(np.prod([len(v) for v in s_levels])), int(np.prod([len(v) for v in m_levels]))
    si, mi = _joint_codes(S, s_levels), _joint_codes(M, m_levels)
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
        return _joint_codes(np.asarray(s, dtype=float).reshape(len(s), -1), s_levels)

    def m_code(m):
        return _joint_codes(np.asarray(m, dtype=float).reshape(len(m), -1), m_levels)

    _, first = np.unique(mi, return_index=True)
    support = tuple(tuple(M[i]) if M.shape[1] > 1 else float(M[i, 0]) for i in first)
    law = DiscreteMediatorLaw(lambda m, s, a: np.clip(pm[s_code(s), np.asarray(a, dtype=int), m_code(m)], 1e-6, 1),
                              support)
    return Nuisances(behaviour=b1, target=target, mediator=law,
                     reward=lambda s, a, m: r_cell[s_code(s), np.asarray(a, dtype=int), m_code(m)])
