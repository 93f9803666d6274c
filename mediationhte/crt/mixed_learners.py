"""A random-intercept EM wrapper around any scikit-learn regressor (MERF / MEGB), built for cluster-randomised trials.

Model: y = offset + f(x) + b_cluster + e, b ~ N(0, sigma_b^2), e ~ N(0, sigma^2).
EM (Hajjem, Bellavance & Larocque 2014, random intercept only):

1. fit f to y - offset - b_hat;
2. take *out-of-sample* fits of f (the forest's out-of-bag predictions, or
   cluster-fold cross-fitted ones): in-sample fits of a flexible learner nearly
   interpolate, and sigma^2 then collapses (the Python ``merf`` package's flaw);
3. b_hat_j = kappa_j mean_j(r), kappa_j = sigma_b^2 / (sigma_b^2 + sigma^2 / n_j), with
   r = y - offset - f_oos, and conditional variance v_j = (1/sigma_b^2 + n_j/sigma^2)^-1;
4. sigma^2 = [sum (r - b_hat)^2 + sum_j n_j v_j] / N, sigma_b^2 = mean_j (b_hat_j^2 + v_j).

In a CRT the random intercept is aliased with the cluster-level treatment and
with cluster-level covariates; started from zero, the loop lets b_hat soak up
that signal and stalls there. The remedy is the warm
start: ``offset`` is the fixed part of a REML LMM with treatment x modifier terms
and b_hat, sigma_b^2, sigma^2 start from that LMM, so the learner only models the
nonlinear remainder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mediationhte.core.immutable import readonly
from mediationhte.core.random_state import spawn_seeds
from mediationhte.core.learners import seeded_clone


@dataclass(frozen=True, eq=False)
class RandomInterceptFit:
    """A fitted EM wrapper (one arm in T mode, or everyone in S mode)."""

    model: object = field(repr=False)
    sigma_b2: float
    sigma2: float
    blups: np.ndarray = field(repr=False)
    cluster_ids: np.ndarray = field(repr=False)
    n_iter: int
    converged: bool
    history: tuple = field(repr=False)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """f(x): the learner part of the fixed effect (the offset is added by the caller)."""
        return np.asarray(self.model.predict(X), dtype=float)


def cluster_folds(codes: np.ndarray, n_clusters: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of every row, whole clusters per fold (a cluster's rows never predict each other)."""
    fold_of_cluster = rng.permutation(np.arange(n_clusters) % max(2, min(n_folds, n_clusters)))
    return fold_of_cluster[codes]


def _out_of_sample(model, template, X, target, folds, seeds) -> np.ndarray:
    oob = getattr(model, "oob_prediction_", None)
    if oob is not None and np.all(np.isfinite(oob)):
        return np.asarray(oob, dtype=float).ravel()
    out = np.empty(len(target))
    for k in range(int(folds.max()) + 1):
        test = folds == k
        out[test] = seeded_clone(template, seeds[k]).fit(X[~test], target[~test]).predict(X[test])
    return out


def fit_random_intercept_em(X: np.ndarray, y: np.ndarray, groups: np.ndarray, template, *, offset: np.ndarray,
                            init_blups: np.ndarray, init_sigma_b2: float, init_sigma2: float,
                            rng: np.random.Generator, max_iter: int = 30, tol: float = 1e-4,
                            n_folds: int = 5) -> RandomInterceptFit:
    """Run the EM loop of the module docstring; ``init_blups`` holds one value per row's cluster (0 for a cold start).

    All randomness (learner seeds, the cluster folds) comes from ``rng``.
    """
    ids, codes = np.unique(groups, return_inverse=True)
    m, N = len(ids), len(y)
    n_j = np.bincount(codes, minlength=m).astype(float)
    b = np.bincount(codes, weights=init_blups, minlength=m) / n_j
    sb2, s2 = max(float(init_sigma_b2), 0.0), max(float(init_sigma2), 1e-12)
    folds = cluster_folds(codes, m, n_folds, rng)
    seeds = spawn_seeds(rng, 1 + n_folds)
    history, converged, it = [], False, 0
    model = None
    for it in range(1, max_iter + 1):
        target = y - offset - b[codes]
        model = seeded_clone(template, seeds[0]).fit(X, target)
        f_oos = _out_of_sample(model, template, X, target, folds, seeds[1:])
        r = y - offset - f_oos
        r_bar = np.bincount(codes, weights=r, minlength=m) / n_j
        if sb2 > 1e-12:
            kappa = sb2 / (sb2 + s2 / n_j)
            v = 1.0 / (1.0 / sb2 + n_j / s2)
        else:
            kappa, v = np.zeros(m), np.zeros(m)
        b = kappa * r_bar
        s2_new = max((np.sum((r - b[codes]) ** 2) + np.sum(n_j * v)) / N, 1e-12)
        sb2_new = float(np.mean(b ** 2 + v))
        history.append((s2_new, sb2_new))
        change = max(abs(s2_new - s2) / s2, abs(sb2_new - sb2) / max(sb2, 1e-8))
        s2, sb2 = s2_new, sb2_new
        if change < tol:
            converged = True
            break
    # the learner of the last iteration saw the previous b_hat; refit once on the final one
    model = seeded_clone(template, seeds[0]).fit(X, y - offset - b[codes])
    return RandomInterceptFit(model=model, sigma_b2=sb2, sigma2=s2, blups=readonly(b), cluster_ids=readonly(ids),
                              n_iter=it, converged=converged, history=tuple(history))
