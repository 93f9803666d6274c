"""Bootstrap of ``cate()``'s average effects: every model refitted on each resample (cases within arms)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.cate.average_effects import ATE_LABELS
from mediationhte.cate.estimation import fit_cate
from mediationhte.core.random_state import resolve_seed
from mediationhte.inference.bootstrap import ArmResampler, bootstrap_draws, resampled
from mediationhte.inference.bootstrap_results import BootstrapResults, bootstrap_results

_KEYS = tuple(k for k, _ in ATE_LABELS)


def arm_bootstrap(results, *, n_boot: int, alpha: float, random_state, n_jobs: int = 1,
                  progress: bool = False) -> BootstrapResults:
    """Percentile intervals for every average-effect estimator of ``results`` (a CateResults).

    The resampling is stratified by arm (the arm sizes are fixed, as in a design
    with fixed allocation, and every fold keeps both arms); the point estimates
    are those of the original fit.
    """
    rng, seed_used = resolve_seed(random_state)
    d, settings = results.data, results.settings
    resampler = ArmResampler(d.t)

    def statistic(sample, replicate_rng):
        rows = sample.rows
        fit = fit_cate(d.X[rows], d.t[rows], d.y[rows], settings, replicate_rng)
        return np.array([fit.estimates[k].estimate for k in _KEYS])

    draws = bootstrap_draws(resampled(statistic, resampler), n_boot, rng, n_jobs=n_jobs, progress=progress)
    estimates = pd.Series({k: results.fit.estimates[k].estimate for k in _KEYS}, name="estimate")
    report = dict(method="ate_bootstrap", short_form=False, n_obs=results.n_obs, n_sims=n_boot, p_floor=1.0 / n_boot,
                  footer=(("Resampling", "stratified by arm"), ("Seed", str(seed_used))),
                  notes=("Every model (propensity, outcome models, matching) is refitted on each resample.",),
                  title="Average Treatment Effects", labels=ATE_LABELS)
    return bootstrap_results(estimates.rename_axis("estimator"), draws, method="percentile", alpha=alpha,
                             n_boot=n_boot, seed_used=seed_used, resampling=resampler.name, report=report)
