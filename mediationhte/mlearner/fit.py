"""The machine-learning path of :func:`mediationhte.mediate`: M-learner step 1 on the rows, then results.

:func:`mediate_ml` runs :func:`~mediationhte.mlearner.effects.step_one` on the rows
:func:`mediationhte.mediation.fit.prepare` chose and hands the results the
:class:`~mediationhte.subgroups.search.SearchInputs` of the subgroup search (step 1
rerun on permuted or subsampled rows), so the results never fit anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.learners import LearnerSpec, feature_matrix, resolve_learners
from mediationhte.errors import AssumptionWarning, ParameterError, warn_at_caller
from mediationhte.formula.parse import warn_learner_terms
from mediationhte.mediation.fit import PreparedRows, subgroup_mediation
from mediationhte.mlearner.effects import PROBABILITY_CLIP, influence_values, positivity_problem, step_one
from mediationhte.mlearner.overlap import arm_revealed_share, mediator_overlap_problem
from mediationhte.mlearner.results import MLData, MLMediationResults
from mediationhte.subgroups.search import SearchInputs

ESTIMATORS = ("crossfit", "plugin")


def mediate_ml(rows: PreparedRows, *, learner, n_folds, estimator, n_jobs, outcome_family, mediator_family, alpha,
               rng, seed_used, random_state, call) -> MLMediationResults:
    """Fit step 1 with ML learners on the validated rows and package the results."""
    V.check_option("estimator", estimator, ESTIMATORS)
    n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
    roles, frame, contrast = rows.roles, rows.frame, rows.contrast
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
    warn_learner_terms([roles.outcome_formula, roles.mediator_formula], roles.columns,
                       {roles.treatment, roles.mediator, roles.outcome}, learner=learner)
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
    positivity, extrapolation = "", ""
    if estimator != "plugin":   # the plug-in has no pseudo-outcomes to weight or test
        positivity = positivity_problem(nuisance)
        extrapolation = mediator_overlap_problem(arm_revealed_share(X, t, m, nuisance.folds, PROBABILITY_CLIP),
                                                 len(t))
        positivity = " ".join(filter(None, (positivity, extrapolation)))
    if positivity:
        warn_at_caller(positivity, AssumptionWarning)
    units.index = frame.index
    data = MLData(X=readonly(X), feature_names=names, t=readonly(t), m=readonly(m), y=readonly(y),
                  covariates=covariates)
    return MLMediationResults(
        learners=learners, nuisance=nuisance, data=data, point_estimates=estimates, influence=influence,
        unit_level=units, settings=settings, positivity_note=positivity,
        search_inputs=_search_inputs(data, learners, settings, units, roles, nuisance, extrapolation),
        roles=roles, contrast=contrast, rows_used=frame.index, dropped_index=rows.dropped, alpha=alpha,
        seed_used=seed_used, call=call,
    )


def _search_inputs(d: MLData, learners: LearnerSpec, settings: dict, units: pd.DataFrame, roles,
                   nuisance, extrapolation: str) -> SearchInputs:
    """Step 1 rerun on permuted or subsampled rows (only the columns the search embeds), and subgroup mediation."""
    rerun_settings = dict(settings, n_jobs=1)  # the permutations are the parallel level

    def rerun(t, rows, rng, columns):
        return step_one(d.X[rows], t, d.m[rows], d.y[rows], learners, rerun_settings, rng, effects_only=True,
                        columns=columns)[3]

    pseudo_outcomes, untestable = None, {}
    if settings["estimator"] != "plugin":  # the plug-in has no treatment models, so no influence function
        phi = influence_values(nuisance, d.t, d.y)
        pseudo_outcomes = pd.DataFrame({"cie_treated": phi[:, 3] - phi[:, 2], "cie_control": phi[:, 1] - phi[:, 0],
                                        "cde_control": phi[:, 2] - phi[:, 0], "cde_treated": phi[:, 3] - phi[:, 1],
                                        "te": phi[:, 3] - phi[:, 0]})
        if extrapolation:   # every effect but the total needs the outcome model at the other arm's mediator
            untestable = {c: extrapolation for c in pseudo_outcomes.columns if c != "te"}
    work = d.covariates.assign(**{roles.treatment: d.t, roles.mediator: d.m, roles.outcome: d.y})
    families = {"mediator_family": settings["mediator_family"], "outcome_family": settings["outcome_family"]}
    return SearchInputs(unit_effects=units, covariates=d.covariates, treatment=d.t, mediator=d.m, outcome=d.y,
                        index=units.index, rerun=rerun, mediation=subgroup_mediation(work, roles, families),
                        pseudo_outcomes=pseudo_outcomes, features=d.X,
                        untestable=untestable)
