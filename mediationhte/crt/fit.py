"""The cluster-randomised path of :func:`mediationhte.cate`: a formula with ``(1 | cluster)``.

:func:`cate_crt` builds the design of the rows used (the LMM design at the observed
treatment and at both arms, the ML features, smooth bases), fits the learner and
hands the results the :class:`~mediationhte.subgroups.search.SearchInputs` of the
cluster-aware subgroup search.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import patsy

from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.learners import feature_matrix
from mediationhte.core.random_state import resolve_seed
from mediationhte.crt.design import CrtDesign, CrtSettings
from mediationhte.crt.estimation import check_learner, fit_crt
from mediationhte.crt.results import CrtResults
from mediationhte.errors import DataError
from mediationhte.formula.clusters import parse_crt_roles
from mediationhte.formula.parse import counterfactual_matrices, warn_learner_terms
from mediationhte.formula.smooths import fit_smooth, warn_ignored_smooths
from mediationhte.subgroups.search import SearchInputs

#: Relative change of (sigma^2, sigma_b^2) that stops the EM loop. A forest or boosting fit moves a little with its
#: target every iteration, so the components settle within about 0.5% rather than converging exactly.
EM_TOLERANCE = 5e-3


#: Learners whose fixed part is the formula's own design (transforms honoured); the others see raw columns only.
FORMULA_LEARNERS = ("lmm", "lmm_shrink", "gamm", "merf", "megb")


def cate_crt(formula: str, data, *, treatment=None, learner="lmm_shrink", learner_type=None, warm_start="lmm",
             n_folds: int = 5, max_iter: int = 30, alpha: float = 0.05, random_state=None,
             n_jobs: int = 1) -> CrtResults:
    """Fit the CRT path; see :func:`mediationhte.cate` for the parameters."""
    data = V.check_dataframe(data)
    roles = parse_crt_roles(formula, data, treatment)
    learner, learner_type, warm_start = check_learner(learner, learner_type, warm_start)
    n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
    max_iter = V.check_positive_int("max_iter", max_iter)
    alpha = V.check_alpha(alpha)
    rng, seed_used = resolve_seed(random_state)

    frame, dropped, contrast = V.complete_binary_treatment_rows(data, roles, "a cluster-randomised trial (two arms)")
    t = (frame[roles.treatment].to_numpy() == contrast.treated).astype(int)
    groups = frame[roles.cluster].to_numpy()
    _check_cluster_randomised(t, groups, roles, frame)
    cluster_level = _cluster_level_covariates(frame, roles)

    y_mat, X_mat = patsy.dmatrices(roles.fixed_formula, frame, return_type="matrix", NA_action="raise")
    info = X_mat.design_info
    X_fixed = np.asarray(X_mat, dtype=float)
    V.check_design(X_fixed, info.column_names, "outcome")
    X_treated, X_control = counterfactual_matrices(info, frame, [{roles.treatment: contrast.treated},
                                                                 {roles.treatment: contrast.control}])
    features, feature_names = feature_matrix(frame, roles.covariates)
    if learner not in FORMULA_LEARNERS:
        warn_learner_terms([roles.fixed_formula], roles.columns, {roles.treatment, roles.outcome}, learner=learner)
    smooths = ()
    if learner == "gamm":
        smooths = tuple(fit_smooth(column, frame[column].to_numpy(dtype=float), k, column in roles.modifiers)
                        for column, k in roles.smooths)
    else:
        warn_ignored_smooths(roles.smooths, learner)
    design = CrtDesign(X_fixed=readonly(X_fixed), X_treated=readonly(X_treated), X_control=readonly(X_control),
                       fixed_names=tuple(info.column_names), features=readonly(features),
                       feature_names=feature_names, t=readonly(t), y=readonly(np.asarray(y_mat, dtype=float).ravel()),
                       groups=readonly(groups), smooths=smooths)
    settings = CrtSettings(learner=learner, learner_type=learner_type, warm_start=warm_start, max_iter=max_iter,
                           tol=EM_TOLERANCE, n_folds=n_folds, alpha=alpha, n_jobs=V.check_n_jobs(n_jobs))
    fit = fit_crt(design, settings, rng)
    call = (f"cate({formula!r}, data=<DataFrame {data.shape[0]}x{data.shape[1]}>, learner={learner!r}, "
            f"learner_type={learner_type!r}, warm_start={warm_start!r}, random_state="
            f"{random_state if not isinstance(random_state, np.random.Generator) else 'Generator'!r})")
    covariates = frame.loc[:, list(roles.covariates)].copy()
    return CrtResults(settings=settings, design=design, design_info=info, fit=fit, covariates=covariates,
                      cluster_level=cluster_level, search_inputs=_search_inputs(design, settings, fit, covariates),
                      roles=roles, contrast=contrast, rows_used=frame.index, dropped_index=dropped, alpha=alpha,
                      seed_used=seed_used, call=call)


def _search_inputs(d: CrtDesign, settings: CrtSettings, fit, covariates: pd.DataFrame) -> SearchInputs:
    """The learner refitted on rows whose clusters swapped arms (permutation) or on half the clusters (split)."""
    rerun_settings = dataclasses.replace(settings, n_jobs=1)  # the permutations are the parallel level

    def rerun(t, rows, rng, columns):
        # the fixed-part design follows the (possibly permuted) treatment
        X_fixed = np.where(np.asarray(t)[:, None] == 1, d.X_treated[rows], d.X_control[rows])
        sub = dataclasses.replace(d.subset(rows), X_fixed=X_fixed, t=np.asarray(t))
        return pd.DataFrame({"cate": fit_crt(sub, rerun_settings, rng).cate})

    share = d.t.mean()   # the treated share, known by design in a cluster-randomised trial
    pseudo = fit.mu1 - fit.mu0 + d.t * (d.y - fit.mu1) / share - (1 - d.t) * (d.y - fit.mu0) / (1 - share)
    return SearchInputs(unit_effects=pd.DataFrame({"cate": fit.cate}, index=covariates.index), covariates=covariates,
                        treatment=d.t, mediator=None, outcome=d.y, index=covariates.index, rerun=rerun,
                        mediation=None, groups=d.groups, pseudo_outcomes=pd.DataFrame({"cate": pseudo}),
                        features=d.features)


def _check_cluster_randomised(t: np.ndarray, groups: np.ndarray, roles, frame: pd.DataFrame) -> None:
    ids, codes = np.unique(groups, return_inverse=True)
    treated_share = np.bincount(codes, weights=t) / np.bincount(codes)
    mixed = np.flatnonzero((treated_share > 0) & (treated_share < 1))
    if len(mixed):
        raise DataError(
            f"Column {roles.treatment!r} (treatment) varies within cluster {V.plain(ids[mixed[0]])!r} of "
            f"{roles.cluster!r} ({len(mixed)} cluster(s) have both arms). The (1 | {roles.cluster}) path is for "
            "cluster-randomised trials, where a whole cluster gets one arm; for individually randomised data drop the "
            "bar term.",
            column=roles.treatment, role="treatment")
    arms = np.bincount((treated_share > 0.5).astype(int), minlength=2)
    if arms.min() < 2:
        raise DataError(f"Column {roles.cluster!r} (cluster): each arm needs at least two clusters; found "
                        f"{arms[0]} control and {arms[1]} treated cluster(s).", column=roles.cluster, role="cluster")
    sizes = np.bincount(codes)
    if sizes.max() < 2:
        raise DataError(f"Column {roles.cluster!r} (cluster): every one of the {len(ids)} clusters has a single "
                        "unit, so the cluster variance cannot be told apart from the residual variance (the "
                        "variance components and the ICC are not identified). With one unit per cluster the "
                        "trial is individually randomised: drop the (1 | cluster) term.",
                        column=roles.cluster, role="cluster")


def _cluster_level_covariates(frame: pd.DataFrame, roles) -> tuple[str, ...]:
    """Covariates constant within every cluster (their effective sample size is the number of clusters)."""
    if not roles.covariates:
        return ()
    counts = frame.groupby(roles.cluster, observed=True)[list(roles.covariates)].nunique(dropna=False).max()
    return tuple(c for c in roles.covariates if counts[c] <= 1)
