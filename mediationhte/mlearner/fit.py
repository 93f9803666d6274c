"""The machine-learning path of :func:`mediationhte.mediate` (M-learner step 1 and average effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.errors import ParameterError
from mediationhte.mediation.estimation import blas_limit
from mediationhte.core.learners import LearnerSpec, feature_matrix, resolve_learners
from mediationhte.mlearner.effects import (
    UNIT_COLUMNS,
    crossfit_nuisances,
    eif_estimates,
    influence_values,
    plugin_nuisances,
    projected_unit_effects,
    unit_effects_frame,
)
from mediationhte.mlearner.results import MLData, MLMediationResults
from mediationhte.core.immutable import readonly

ESTIMATORS = ("crossfit", "plugin")


def step_one(X, t, m, y, learners: LearnerSpec, settings, rng: np.random.Generator, effects_only: bool = False,
             columns=UNIT_COLUMNS):
    """Nuisances, unit effects and average effects for one data set (also used by bootstrap and permutations).

    ``effects_only=True`` (the subgroup search's reruns) skips the treatment
    models and the influence-function averages: ``estimates`` and ``influence``
    are then None, and the unit effects are those of a full run with the same rng.
    ``columns`` names the unit-effect columns needed (the others may be NaN).

    Returns
    -------
    estimates : dict
    influence : ndarray (n, 10) or None
        None for the plug-in (no influence-function correction).
    nuisance : NuisanceFit
    units : pandas.DataFrame
        Unit-level effects (cross-fitted projections, or the plug-in contrasts), default index.
    """
    with blas_limit(*X.shape, parallel=settings["n_jobs"] != 1, user_api=None):
        return _step_one(X, t, m, y, learners, settings, rng, effects_only, columns)


def _step_one(X, t, m, y, learners: LearnerSpec, settings, rng: np.random.Generator, effects_only: bool, columns):
    binary_m = settings["mediator_family"] != "gaussian"
    binary_y = settings["outcome_family"] != "gaussian"
    if settings["estimator"] == "plugin":
        nuisance = plugin_nuisances(X, t, m, y, learners, rng=rng, binary_mediator=binary_m, binary_outcome=binary_y)
        frame = unit_effects_frame(nuisance, None)
        from mediationhte.mediation.effects import compose_estimands

        means = frame.mean()
        estimates = {k: float(v) for k, v in compose_estimands(
            means["cie_control"], means["cie_treated"], means["cde_control"], means["cde_treated"]).items()}
        return estimates, None, nuisance, frame
    nuisance = crossfit_nuisances(X, t, m, y, learners, n_folds=settings["n_folds"], rng=rng,
                                  binary_mediator=binary_m, binary_outcome=binary_y, n_jobs=settings["n_jobs"],
                                  propensity=not effects_only, columns=columns)
    estimates, influence = (None, None) if effects_only else eif_estimates(influence_values(nuisance, t, y))
    units = projected_unit_effects(nuisance, X, learners, rng=rng, index=None, n_jobs=settings["n_jobs"],
                                   columns=columns)
    return estimates, influence, nuisance, units


def mediate_ml(*, roles, frame: pd.DataFrame, dropped, contrast, learner, n_folds, estimator, n_jobs,
               outcome_family, mediator_family, alpha, rng, seed_used, random_state, call) -> MLMediationResults:
    """Fit step 1 with ML learners on the validated rows and package the results."""
    V.check_option("estimator", estimator, ESTIMATORS)
    n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
    n_jobs = V.check_n_jobs(n_jobs)
    if contrast.kind == "continuous":
        raise ParameterError(
            "Parameter learner: machine-learning learners need a binary treatment (two arms); the treatment "
            f"{roles.treatment!r} is continuous here. Use learner='linear' for a continuous contrast.",
            parameter="learner",
        )
    t = (frame[roles.treatment].to_numpy() == contrast.treated).astype(int)
    smallest_arm = min(t.sum(), len(t) - t.sum())
    if smallest_arm < 2 * n_folds:
        raise ParameterError(
            f"Parameter n_folds={n_folds} is too large: the smaller treatment arm has {smallest_arm} rows, and each "
            "fold needs at least two per arm. Lower n_folds.",
            parameter="n_folds",
        )
    m = frame[roles.mediator].to_numpy(dtype=float)
    y = frame[roles.outcome].to_numpy(dtype=float)
    covariates = frame.loc[:, list(roles.covariates)].copy()
    X, names = feature_matrix(covariates, roles.covariates)
    if X.shape[1] == 0:
        raise ParameterError(
            "Parameter learner: machine-learning learners need at least one covariate in the formulas "
            "(heterogeneity is described by covariates).",
            parameter="learner",
        )
    learners = resolve_learners(learner, binary_mediator=mediator_family != "gaussian",
                                binary_outcome=outcome_family != "gaussian")
    settings = {
        "treatment": roles.treatment, "mediator": roles.mediator, "outcome": roles.outcome,
        "treat_value": contrast.treated, "control_value": contrast.control, "outcome_family": outcome_family,
        "mediator_family": mediator_family, "learner": learners.describe(), "n_folds": n_folds,
        "estimator": estimator, "n_jobs": n_jobs, "alpha": alpha,
        "random_state": random_state if not isinstance(random_state, np.random.Generator) else "Generator",
    }
    estimates, influence, nuisance, units = step_one(X, t, m, y, learners, settings, rng)
    units.index = frame.index
    data = MLData(X=readonly(X), feature_names=names, t=readonly(t), m=readonly(m), y=readonly(y),
                  covariates=covariates)
    return MLMediationResults(
        roles=roles, learners=learners, nuisance=nuisance, data=data, point_estimates=estimates, influence=influence,
        unit_level=units, settings=settings, seed_used=seed_used,
        rows_used=frame.index, dropped_index=dropped, call=call,
    )

