"""Trajectory bootstrap of ``dynamic_mediation()``: whole trajectories resampled, every nuisance refitted."""

from __future__ import annotations

import numpy as np

from mediationhte.core.random_state import resolve_seed
from mediationhte.dynamic.pipeline import flat_estimates, point_estimates
from mediationhte.inference.bootstrap import TrajectoryResampler, bootstrap_draws, resampled
from mediationhte.inference.bootstrap_results import BootstrapResults, bootstrap_results


def trajectory_bootstrap(results, *, n_boot: int, alpha: float, random_state, n_jobs: int = 1,
                         progress: bool = False) -> BootstrapResults:
    """Percentile intervals from resampling whole trajectories of ``results`` (a DynamicMediationResults)."""
    rng, seed_used = resolve_seed(random_state)
    rows, config, names = results.rows, results.config, results.estimators
    estimates = results.to_frame()["estimate"]
    keys = list(estimates.index)
    resampler = TrajectoryResampler(rows.traj)

    def statistic(sample, replicate_rng):
        fit_seed = int(replicate_rng.integers(0, 2**31 - 1))
        flat = flat_estimates(point_estimates(rows.take(sample.rows), config, fit_seed), names)
        return np.array([flat[key] for key in keys])

    draws = bootstrap_draws(resampled(statistic, resampler), n_boot, rng, n_jobs=n_jobs, progress=progress,
                            desc="trajectory bootstrap")
    flat_keys = [f"{e}_{c}" for e, c in keys]
    name = "four-way" if results.decomposition == "four_way" else "natural"
    report = dict(method="percentile", short_form=False, n_obs=results.n_transitions, n_sims=n_boot,
                  p_floor=1.0 / n_boot, labels=tuple((k, f"{e}: {c}") for k, (e, c) in zip(flat_keys, keys)),
                  footer=(("Trajectories", str(results.n_trajectories)), ("Resampling", resampler.name),
                          ("Seed", str(seed_used))),
                  notes=("Every nuisance, Q-function and ratio is refitted on each resample.",),
                  title=f"Dynamic Mediation Analysis ({name} decomposition): Trajectory Bootstrap",
                  show_std_error=True)
    return bootstrap_results(estimates, draws, method="percentile", alpha=alpha, n_boot=n_boot, seed_used=seed_used,
                             resampling=resampler.name, report=report)
