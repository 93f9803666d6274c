"""The dynamic-mediation pipeline on validated transitions: nuisances, bases, then every estimator.

Data flow: long trajectories -> validated transitions (:mod:`~mediationhte.dynamic.data`)
-> fitted b, p_m, r (:mod:`~mediationhte.dynamic.nuisances`) -> Q basis and ratio
features (:mod:`~mediationhte.dynamic.bases`) -> DM, MIS, MR and baseline estimates
(:mod:`~mediationhte.dynamic.effects`). The fit (:mod:`~mediationhte.dynamic.fit`)
and the trajectory bootstrap (:mod:`~mediationhte.dynamic.bootstrap`) both run
:func:`point_estimates`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mediationhte.dynamic.bases import q_basis as make_q_basis, ratio_basis
from mediationhte.dynamic.data import Transitions
from mediationhte.dynamic.effects import estimate_effects
from mediationhte.dynamic.nuisances import MAX_QUADRATURE_DIM, NormalQuadrature, fit_nuisances


@dataclass(frozen=True)
class DynamicConfig:
    """Everything a refit needs besides the rows (used by the fit and every bootstrap replicate)."""

    target: object
    known_propensity: object
    learner: object
    q_basis: str
    ratio_features: str
    n_mc: int
    ridge: float
    clip: float
    decomposition: str
    n_folds: int | None = None
    n_jobs: int = 1
    crossfit: tuple = ("behaviour", "mediator", "reward")


def point_estimates(rows: Transitions, config: DynamicConfig, seed) -> dict:
    """Fit the nuisances and the bases on ``rows``, then every estimator (estimate_effects).

    ``seed`` is an int (seeding ``numpy.random.default_rng``) or a Generator, used as is.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    nuisance_seed, draw_seed, feature_seed = (int(v) for v in rng.integers(0, 2**31 - 1, size=3))
    if config.known_propensity is not None:
        prop = config.known_propensity(rows.S)
    else:
        prop = rows.propensity
    folds = None
    if config.n_folds:  # whole trajectories per fold
        n_traj = int(rows.traj.max()) + 1
        folds = (rng.permutation(n_traj) % config.n_folds)[rows.traj]
    nuisances, continuous = fit_nuisances(rows.S, rows.A, rows.M, rows.R, target=config.target,
                                          propensity_rows=prop, learner=config.learner, seed=nuisance_seed,
                                          folds=folds, crossfit=config.crossfit, n_jobs=config.n_jobs)
    both = np.vstack([rows.S, rows.S_next])
    features = make_q_basis(both, rows.M, config.q_basis)
    ratio = ratio_basis(both, config.ratio_features, seed=feature_seed)
    draws = None
    mediator_dim = rows.M.reshape(len(rows.M), -1).shape[1]
    if continuous and mediator_dim <= MAX_QUADRATURE_DIM:
        rule = NormalQuadrature.for_budget(config.n_mc, mediator_dim)
        draws = {"cur": rule, "next": rule}
    elif continuous:
        z = np.random.default_rng(draw_seed).standard_normal((2, config.n_mc) + rows.M.shape)
        draws = {"cur": z[0], "next": z[1]}
    return estimate_effects(rows.S, rows.A, rows.M, rows.R, rows.S_next, nuisances, features, ratio,
                            decomposition=config.decomposition, ridge=config.ridge, clip=config.clip, draws=draws)


def flat_estimates(out: dict, names) -> dict:
    """(estimator, component) -> estimate, in the table's keys."""
    return {(est, comp): value for est in names for comp, value in out["effects"][est].items()}
