"""One ``cate()`` analysis on a DataFrame: complete rows, features, optional trimming, the fit, results.

:func:`fit_cate_frame` is what the public :func:`mediationhte.cate` runs once the
arguments are checked. It hands the results the
:class:`~mediationhte.subgroups.search.SearchInputs` of the subgroup search (the
embedded learner refitted on permuted or subsampled rows).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from mediationhte.cate.estimation import CateSettings, fit_cate, unit_effects_frame
from mediationhte.cate.propensity import fit_propensity, overlap_problem, trim_rows, warn_trimmed
from mediationhte.cate.results import CateData, CateResults
from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.learners import feature_matrix
from mediationhte.errors import AssumptionWarning, DataError, ParameterError, warn_at_caller
from mediationhte.formula.parse import warn_learner_terms
from mediationhte.subgroups.search import SearchInputs


def fit_cate_frame(data, roles, settings: CateSettings, *, trim, rng: np.random.Generator, seed_used,
                   call: str) -> CateResults:
    """Fit ``cate()`` on the complete rows of ``data`` (roles parsed, settings checked)."""
    n_folds = settings.n_folds
    frame, dropped, contrast = V.complete_binary_treatment_rows(data, roles, "cate()")
    if not roles.covariates:
        raise ParameterError(f"Parameter formula ({roles.formula!r}) has no covariates: heterogeneous effects are "
                             "described by covariates. Add some: 'y ~ treat + x1 + x2'.", parameter="formula")
    t = (frame[roles.treatment].to_numpy() == contrast.treated).astype(int)
    y = frame[roles.outcome].to_numpy(dtype=float)
    covariates = frame.loc[:, list(roles.covariates)].copy()
    X, feature_names = feature_matrix(covariates, roles.covariates)
    warn_learner_terms([roles.formula], roles.columns, {roles.treatment, roles.outcome},
                       learner=settings.learners if len(settings.learners) > 1 else settings.learners[0])
    _check_arms(t, n_folds, roles.treatment)

    trimmed = frame.index[:0]
    trim_bounds = None
    if trim is not None:
        first = fit_propensity(X, t, settings.propensity, n_folds=n_folds,
                               rng=np.random.default_rng(rng.integers(2**31)))
        keep, trim_bounds = trim_rows(first.scores, trim)
        warn_trimmed(int((~keep).sum()), len(t), trim_bounds)
        trimmed = frame.index[~keep]
        frame, covariates, X, t, y = frame.loc[keep], covariates.loc[keep], X[keep], t[keep], y[keep]
        _check_arms(t, n_folds, roles.treatment)
    fit = fit_cate(X, t, y, settings, rng)
    overlap = overlap_problem(t, fit.propensity, settings.clip)
    if overlap:
        warn_at_caller(overlap, AssumptionWarning)
    cate_data = CateData(X=readonly(X), feature_names=feature_names, t=readonly(t), y=readonly(y),
                         covariates=covariates)
    units = unit_effects_frame(fit.unit_effects, frame.index)
    return CateResults(
        settings=settings, data=cate_data, fit=fit, unit_level=units, trimmed_index=trimmed, trim_bounds=trim_bounds,
        search_inputs=_search_inputs(cate_data, settings, units, fit.pseudo_outcome), roles=roles, contrast=contrast,
        rows_used=frame.index, dropped_index=dropped, alpha=settings.alpha, seed_used=seed_used, call=call,
        overlap_note=overlap,
    )


def _search_inputs(d: CateData, settings: CateSettings, units, pseudo: np.ndarray) -> SearchInputs:
    """The learner(s) the search embeds, refitted on permuted or subsampled rows (no mediator: total effects)."""
    rerun_settings = dataclasses.replace(settings, n_jobs=1)  # the permutations are the parallel level

    def rerun(t, rows, rng, columns):
        fit = fit_cate(d.X[rows], t, d.y[rows], rerun_settings, rng, learners=tuple(columns), averages=False)
        return unit_effects_frame(fit.unit_effects)

    # every learner estimates the total effect: the AIPW pseudo-outcome serves each column
    pseudo_outcomes = pd.DataFrame({column: pseudo for column in units.columns})
    return SearchInputs(unit_effects=units, covariates=d.covariates, treatment=d.t, mediator=None, outcome=d.y,
                        index=units.index, rerun=rerun, mediation=None, pseudo_outcomes=pseudo_outcomes,
                        features=d.X)


def _check_arms(t: np.ndarray, n_folds: int, treatment: str) -> None:
    smallest = int(min(t.sum(), len(t) - t.sum()))
    if smallest < 2 * n_folds:
        raise DataError(f"Column {treatment!r} (treatment): the smaller arm has {smallest} rows in the rows used, "
                        f"too few for n_folds={n_folds} (each fold needs two per arm). Lower n_folds or use more "
                        "data.", column=treatment, role="treatment")
