"""Nonparametric bootstrap of ``cate()``'s average effects: every model refitted on each resample.

Resamples are drawn from child seeds fixed before any work starts, and run in
joblib processes, so the intervals are identical for any ``n_jobs``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.random_state import resolve_seed, spawn_seeds
from mediationhte.cate.average_effects import ATE_LABELS
from mediationhte.cate.estimation import fit_cate
from mediationhte.mediation.estimation import run_replicates
from mediationhte.inference.intervals import percentile_interval, simulation_pvalue, standard_error

_KEYS = tuple(k for k, _ in ATE_LABELS)


def _replicate(X, t, y, settings, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(y)
    # resample within arm so that both arms keep their size (and every fold keeps both arms)
    rows = np.concatenate([rng.choice(np.flatnonzero(t == arm), size=int((t == arm).sum()), replace=True)
                           for arm in (0, 1)])
    rows = rows[rng.permutation(n)]
    fit = fit_cate(X[rows], t[rows], y[rows], settings, rng)
    return np.array([fit.estimates[k].estimate for k in _KEYS])


def bootstrap_averages(results, *, n_boot: int = 200, alpha: float | None = None, random_state=None,
                       n_jobs: int = 1, progress: bool = False):
    """Percentile intervals for every average-effect estimator of ``results`` (a CateResults).

    The resampling is stratified by arm (the arm sizes are fixed, as in a
    design with fixed allocation); the point estimates are those of the original
    fit. Returns a :class:`~mediationhte.report.summary.Summary`.
    """
    from joblib import delayed

    from mediationhte.report.summary import Summary

    n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
    alpha = results.settings.alpha if alpha is None else V.check_alpha(alpha)
    n_jobs = V.check_n_jobs(n_jobs)
    rng, seed_used = resolve_seed(random_state)
    seeds = spawn_seeds(rng, n_boot)
    d, settings = results.data, results.settings
    draws = np.vstack(run_replicates((delayed(_replicate)(d.X, d.t, d.y, settings, int(s)) for s in seeds),
                                     total=n_boot, n_jobs=n_jobs, progress=progress, desc="bootstrap"))
    point = np.array([results.fit.estimates[k].estimate for k in _KEYS])
    lo, hi = percentile_interval(draws, alpha)
    table = pd.DataFrame({"estimate": point, "std_error": standard_error(draws), "ci_lower": lo, "ci_upper": hi,
                          "p_value": simulation_pvalue(draws, point)}, index=pd.Index(_KEYS, name="estimator"))
    return Summary(table, method="ate_bootstrap", short_form=False, alpha=alpha, n_obs=results.n_obs,
                   n_sims=n_boot, p_floor=1.0 / n_boot,
                   footer=(("Resampling", "stratified by arm"), ("Seed", str(seed_used))),
                   notes=("Every model (propensity, outcome models, matching) is refitted on each resample.",),
                   title="Average Treatment Effects", labels=ATE_LABELS)
