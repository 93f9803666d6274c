"""The linear (R-parity) mediation pipeline below the public ``mediate()``: rows, models, effects, results.

:func:`prepare` turns the two formulas and the data into the rows both models use
(roles, missing values, the treatment contrast, response checks); the ML path of
``mediate()`` starts from it too. :func:`fit_linear` fits the user's models on
those rows and returns :class:`~mediationhte.mediation.results.MediationResults`,
handing it the :class:`~mediationhte.subgroups.search.SearchInputs` of the
subgroup search (how to refit on permuted or subsampled rows), so the results
object never fits anything itself. :func:`mediation_in_rows` is the
within-subgroup mediation of that search.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy

from mediationhte.core import validation as V
from mediationhte.core.parallel import blas_limit
from mediationhte.core.random_state import resolve_seed
from mediationhte.errors import AssumptionWarning, ParameterError, warn_at_caller
from mediationhte.formula.parse import (
    FormulaRoles, assign_column, build_spec, counterfactual_matrices, has_interaction, parse_roles,
)
from mediationhte.mediation.effects import build_counterfactual_design, unit_effects
from mediationhte.mediation.estimation import FitData, point_estimates, quasi_bayesian_draws
from mediationhte.mediation.models import fit_model
from mediationhte.mediation.results import MediationResults
from mediationhte.subgroups.search import SUBGROUP_ESTIMANDS, SearchInputs


@dataclass(frozen=True, eq=False)
class PreparedRows:
    """The rows both models use and what was read off the formulas and the data."""

    roles: FormulaRoles
    frame: pd.DataFrame = field(repr=False)
    dropped: pd.Index = field(repr=False)
    groups: np.ndarray | None = field(repr=False)
    contrast: V.TreatmentContrast


def prepare(outcome_formula: str, mediator_formula: str, data: pd.DataFrame, *, treatment, treat_value,
            control_value, outcome_family: str, mediator_family: str, cov_type: str = "nonrobust",
            cluster=None) -> PreparedRows:
    """Roles, complete rows of every used column (and the cluster ids), the contrast, checked responses."""
    roles = parse_roles(outcome_formula, mediator_formula, data, treatment)
    used = list(roles.columns)
    groups_all = _cluster_ids(cluster, cov_type, data)
    if groups_all is not None:
        work = data.loc[:, used].assign(__cluster__=groups_all)
        frame, dropped = V.drop_incomplete_rows(work, used + ["__cluster__"])
        groups = frame.pop("__cluster__").to_numpy()
    else:
        frame, dropped = V.drop_incomplete_rows(data, used)
        groups = None
    V.check_finite(frame, {c: _role_of(c, roles) for c in used})
    contrast = V.resolve_treatment(frame[roles.treatment], treat_value, control_value)
    V.check_response(frame[roles.mediator], "mediator", mediator_family)
    V.check_response(frame[roles.outcome], "outcome", outcome_family)
    _warn_sequential_ignorability(roles)
    return PreparedRows(roles=roles, frame=frame, dropped=dropped, groups=groups, contrast=contrast)


def fit_linear(rows: PreparedRows, *, covariates, eval_env, outcome_family: str, mediator_family: str,
               cov_type: str, sims: int, alpha: float, point: str, random_state, rng: np.random.Generator,
               seed_used, call: str) -> MediationResults:
    """Fit the user's mediator and outcome models on ``rows``; effects, quasi-Bayesian draws and results."""
    roles, frame, contrast = rows.roles, rows.frame, rows.contrast
    with blas_limit(*frame.shape):
        spec, arrays = build_spec(roles, frame, eval_env)
        V.check_design(arrays["X_mediator"], spec.mediator_terms, "mediator")
        V.check_design(arrays["X_outcome"], spec.outcome_terms, "outcome")
        mediator_model = fit_model(arrays["m"], arrays["X_mediator"], spec.mediator_terms, family=mediator_family,
                                   role="mediator", formula=roles.mediator_formula, cov_type=cov_type,
                                   groups=rows.groups)
        outcome_model = fit_model(arrays["y"], arrays["X_outcome"], spec.outcome_terms, family=outcome_family,
                                  role="outcome", formula=roles.outcome_formula, cov_type=cov_type, groups=rows.groups)
        cf = build_counterfactual_design(spec, frame, contrast, mediator_family, arrays["m"], covariates)
        estimates, mu = point_estimates(cf, mediator_model, outcome_model)
        draws = quasi_bayesian_draws(cf, mediator_model, outcome_model, sims, rng)
    settings = {
        "treatment": roles.treatment, "mediator": roles.mediator, "outcome": roles.outcome,
        "treat_value": contrast.treated, "control_value": contrast.control, "treatment_kind": contrast.kind,
        "outcome_family": outcome_family, "mediator_family": mediator_family, "covariates": covariates,
        "sims": sims, "alpha": alpha, "cov_type": cov_type, "point": point, "random_state": random_state
        if not isinstance(random_state, np.random.Generator) else "Generator",
    }
    fit_data = FitData(y=arrays["y"], m=arrays["m"], X_outcome=arrays["X_outcome"], X_mediator=arrays["X_mediator"])
    units = unit_effects(mu, frame.index)
    search = None
    if covariates is None and contrast.kind != "continuous" and roles.covariates:
        search = _search_inputs(spec, frame, contrast, fit_data, units, settings)
    return MediationResults(
        spec=spec, mediator_model=mediator_model, outcome_model=outcome_model, counterfactual=cf,
        fit_data=fit_data, point_estimates=estimates, qb_draws=draws, unit_level=units,
        interaction=has_interaction(spec), settings=settings, seed_used=seed_used, rows_used=frame.index,
        dropped_index=rows.dropped, call=call, roles=roles, contrast=contrast, alpha=alpha, search_inputs=search,
    )


def _search_inputs(spec, frame: pd.DataFrame, contrast, fit_data: FitData, units: pd.DataFrame,
                   settings: dict) -> SearchInputs:
    """Unit effects of the user's linear models, refitted on permuted or subsampled rows for the calibrations."""
    roles = spec.roles
    t = (frame[roles.treatment] == contrast.treated).to_numpy().astype(int)
    y, m = np.asarray(fit_data.y), np.asarray(fit_data.m)
    families = {"mediator_family": settings["mediator_family"], "outcome_family": settings["outcome_family"]}

    def rerun(t_new, rows, rng, columns):  # linear refits are cheap: every column is computed
        # The stored DesignInfo rebuilds both designs, so factor levels and centring stay those of the fit.
        sub = frame.iloc[rows].copy()
        assign_column(sub, roles.treatment, np.where(t_new == 1, contrast.treated, contrast.control))
        X_med, = counterfactual_matrices(spec.mediator_info, sub, [{}])
        X_out, = counterfactual_matrices(spec.outcome_info, sub, [{}])
        med = fit_model(m[rows], X_med, spec.mediator_terms, family=families["mediator_family"], role="mediator",
                        formula=roles.mediator_formula)
        out = fit_model(y[rows], X_out, spec.outcome_terms, family=families["outcome_family"], role="outcome",
                        formula=roles.outcome_formula)
        cf = build_counterfactual_design(spec, sub, contrast, families["mediator_family"], m[rows], None)
        return unit_effects(point_estimates(cf, med, out)[1], sub.index)

    covariates = frame.loc[:, list(roles.covariates)]
    work = covariates.assign(**{roles.treatment: t, roles.mediator: m, roles.outcome: y})
    return SearchInputs(unit_effects=units, covariates=covariates, treatment=t, mediator=m, outcome=y,
                        index=frame.index, rerun=rerun, mediation=subgroup_mediation(work, roles, families),
                        prefer="threads")


def subgroup_mediation(work: pd.DataFrame, roles, families: dict):
    """The search's ``mediation`` callable: linear mediation within the rows of a subgroup (see SearchInputs)."""
    covariates = tuple(c for c in work.columns if c not in (roles.treatment, roles.mediator, roles.outcome))

    def mediation(mask, seed, n_boot, alpha, fit_only=False):
        return mediation_in_rows(work.loc[mask], outcome=roles.outcome, mediator=roles.mediator,
                                 treatment=roles.treatment, covariates=covariates, n_boot=n_boot, alpha=alpha,
                                 seed=seed, fit_only=fit_only, **families)

    return mediation


def _formula_name(column: str) -> str:
    return column if column.isidentifier() and not keyword.iskeyword(column) else f"Q({column!r})"


def mediation_in_rows(frame: pd.DataFrame, *, outcome: str, mediator: str, treatment: str, covariates,
                      outcome_family: str, mediator_family: str, n_boot: int, alpha: float, seed: int,
                      fit_only: bool = False):
    """Linear mediation (the R-parity engine, bootstrap CIs) within the rows of ``frame``.

    The models are ``mediator ~ treatment + covariates`` and ``outcome ~
    treatment + mediator + covariates`` with the covariates that vary within
    these rows (a covariate a subgroup's rule fixes is constant there and would
    make the design singular); unused categories are dropped. Returns the
    bootstrap table of :data:`~mediationhte.subgroups.search.SUBGROUP_ESTIMANDS`
    (percentile intervals). Errors (too few rows, one arm, a singular design)
    propagate as :class:`~mediationhte.errors.MediationHTEError`. ``fit_only=True``
    returns the linear ``MediationResults`` itself (no bootstrap), e.g. for its
    sensitivity analysis.
    """
    local = frame.copy()
    varying = []
    for c in covariates:
        if isinstance(local[c].dtype, pd.CategoricalDtype):
            local[c] = local[c].cat.remove_unused_categories()
        if local[c].nunique(dropna=False) > 1:
            varying.append(c)
    rhs = " + ".join(_formula_name(c) for c in varying)
    t, mm, yy = (_formula_name(c) for c in (treatment, mediator, outcome))
    mediator_formula = f"{mm} ~ {t}" + (f" + {rhs}" if rhs else "")
    outcome_formula = f"{yy} ~ {t} + {mm}" + (f" + {rhs}" if rhs else "")
    rows = prepare(outcome_formula, mediator_formula, local, treatment=treatment, treat_value=None,
                   control_value=None, outcome_family=outcome_family, mediator_family=mediator_family)
    rng, seed_used = resolve_seed(seed)
    fit = fit_linear(rows, covariates=None, eval_env=patsy.EvalEnvironment.capture(0),
                     outcome_family=outcome_family, mediator_family=mediator_family, cov_type="nonrobust", sims=2,
                     alpha=alpha, point="original", random_state=seed, rng=rng, seed_used=seed_used,
                     call=f"mediate({outcome_formula!r}, {mediator_formula!r}) within a subgroup")
    if fit_only:
        return fit
    boot = fit.bootstrap_ci(n_boot=n_boot, alpha=alpha, random_state=seed)
    return boot.to_frame().loc[list(SUBGROUP_ESTIMANDS), ["estimate", "ci_lower", "ci_upper", "p_value"]]


def _role_of(column: str, roles) -> str:
    if column == roles.treatment:
        return "treatment"
    if column == roles.mediator:
        return "mediator"
    if column == roles.outcome:
        return "outcome"
    return "covariate"


def _cluster_ids(cluster, cov_type: str, data: pd.DataFrame):
    if cov_type != "cluster":
        if cluster is not None:
            raise ParameterError("Parameter cluster is only used with cov_type='cluster'; set cov_type='cluster'.",
                                 parameter="cluster")
        return None
    if cluster is None:
        raise ParameterError("Parameter cluster is required with cov_type='cluster': pass a column name or one id "
                             "per row of data.",
                             parameter="cluster")
    if isinstance(cluster, str):
        V.check_columns_exist([cluster], data, "parameter cluster", role="cluster")
        return data[cluster].to_numpy()
    ids = np.asarray(cluster)
    if ids.ndim != 1 or len(ids) != len(data):
        raise ParameterError(
            f"Parameter cluster must have one id per row of data ({len(data)}); got shape {ids.shape}.",
            parameter="cluster",
        )
    return ids


def _warn_sequential_ignorability(roles) -> None:
    missing = [c for c in roles.mediator_columns[1:] if c not in roles.outcome_columns and c != roles.treatment]
    if missing:
        warn_at_caller(
            f"Covariates {', '.join(map(repr, missing))} are in mediator_formula but not in outcome_formula; "
            "sequential ignorability usually needs every pre-treatment confounder in the outcome model too.",
            AssumptionWarning,
        )
