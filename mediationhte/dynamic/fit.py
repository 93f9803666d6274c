"""A dynamic-mediation fit: every estimator on the validated transitions, the effects table, the results."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.dynamic.data import Transitions
from mediationhte.dynamic.effects import COMPONENTS, PROPENSITY_FLOOR
from mediationhte.dynamic.pipeline import DynamicConfig, point_estimates
from mediationhte.dynamic.results import DynamicMediationResults
from mediationhte.errors import AssumptionWarning, warn_at_caller


#: Positivity is flagged when more than this share of steps has a weight at a bound (a stray clipped ratio in a
#: well-overlapping design, 14 of 3600 steps in tests/test_dynamic_continuous.py, is not a positivity problem).
POSITIVITY_SHARE = 0.01


def fit_dynamic(rows: Transitions, config: DynamicConfig, *, estimators, seed, roles, contrast, alpha: float,
                seed_used, call: str) -> DynamicMediationResults:
    """Every estimator on the validated transitions, their effects table and the results.

    ``seed`` is an int or a numpy Generator (see :func:`point_estimates`).
    """
    out = point_estimates(rows, config, seed)
    positivity = positivity_problem(out["clipped"], len(rows.R), config.clip)
    if positivity:
        warn_at_caller(positivity, AssumptionWarning)
    table = effects_table(out, rows.traj, estimators, alpha)
    etas = pd.DataFrame(out["etas"], index=list(out["eta_labels"]))
    return DynamicMediationResults(
        table=table, etas=etas, n_trajectories=int(rows.traj.max()) + 1, n_transitions=len(rows.R),
        decomposition=config.decomposition, rows=rows.frozen(), config=config, estimators=tuple(estimators),
        roles=roles, contrast=contrast, rows_used=rows.index, dropped_index=rows.index[:0], alpha=alpha,
        seed_used=seed_used, call=call, positivity_note=positivity)


def positivity_problem(clipped: dict, n_rows: int, clip: float) -> str:
    """A sentence naming the steps whose weights hit a bound ("" when at most 1% of the steps did).

    ``clipped`` counts the steps with the fitted behaviour propensity at its floor,
    a mediator ratio above ``clip`` and a state ratio above ``clip``. At
    those steps the target policy takes actions the data almost never show, so
    the ratio estimators (MIS, MR) lean on the clip and on the Q-function's
    extrapolation.
    """
    what = {"propensity": f"the behaviour propensity within {PROPENSITY_FLOOR:g} of 0 or 1",
            "mediator ratio": f"the mediator ratio above clip={clip:g}",
            "state ratio": f"the state ratio above clip={clip:g}"}
    if max(clipped.values()) <= POSITIVITY_SHARE * n_rows:
        return ""
    parts = [f"{count} with {what[key]}" for key, count in clipped.items() if count]
    return (f"Positivity is weak: of {n_rows} steps, {'; '.join(parts)}. The target policy takes actions the data "
            "almost never show there, so MIS and MR lean on the clip and on the fitted Q-functions; compare them "
            "with DM and consider a target policy closer to the behaviour policy.")


def effects_table(out: dict, traj: np.ndarray, names, alpha: float) -> pd.DataFrame:
    """Estimates per (estimator, component); MR gets the trajectory-cluster SE, CI and p-value."""
    n = len(traj)
    z = stats.norm.ppf(1 - alpha / 2)

    def cluster_se(values: np.ndarray) -> float:
        centred = values - values.mean()
        return float(np.sqrt(np.sum(np.bincount(traj, weights=centred) ** 2)) / n)

    rows = {}
    for est in names:
        comps = out["effects"][est]
        for comp in (*COMPONENTS, "ATE"):
            if comp not in comps:
                continue
            value = comps[comp]
            se = np.nan
            if est == "MR":
                phi = out["phi"]
                se = cluster_se(sum(phi.values()) if comp == "ATE" else phi[comp])
            p = float(2 * stats.norm.sf(abs(value / se))) if np.isfinite(se) and se > 0 else np.nan
            rows[(est, comp)] = {"estimate": value, "std_error": se, "ci_lower": value - z * se,
                                 "ci_upper": value + z * se, "p_value": p}
    table = pd.DataFrame(rows).T.astype(float)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["estimator", "component"])
    return table
