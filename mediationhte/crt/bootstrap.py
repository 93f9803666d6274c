"""Cluster bootstrap of a cluster-randomised fit: whole clusters resampled within each arm, every model refitted.

Rows are never resampled one by one: in a CRT the cluster is the unit of
randomisation (see :class:`~mediationhte.inference.bootstrap.ClusterResampler`).
Each replicate predicts the CATE of every original row, so the bootstrap gives
pointwise intervals (``cate_intervals()``) and intervals for the weighted means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.core.random_state import resolve_seed
from mediationhte.crt.estimation import fit_crt, predict_cate
from mediationhte.crt.inference import cluster_weights
from mediationhte.inference.bootstrap import ClusterResampler, bootstrap_draws, resampled
from mediationhte.inference.bootstrap_results import BootstrapDetail, BootstrapResults, bootstrap_results

LABELS = (("cate_mean_individual", "Mean CATE, individual weights"),
          ("cate_mean_cluster", "Mean CATE, cluster weights"))


def cluster_bootstrap(results, *, n_boot: int, alpha: float, random_state, n_jobs: int = 1,
                      progress: bool = False) -> BootstrapResults:
    """Refit ``results``' learner on ``n_boot`` cluster resamples (stratified by arm)."""
    rng, seed_used = resolve_seed(random_state)
    design, settings = results.design, results.settings
    weights = np.column_stack([cluster_weights(design.groups, kind) for kind in ("individual", "cluster")])
    resampler = ClusterResampler(design.groups, design.t)

    def statistic(sample, replicate_rng):
        fit = fit_crt(design.subset(sample.rows, sample.groups), settings, replicate_rng)
        # the CATE of every original row under the replicate's model (the model never needs the cluster)
        cate = predict_cate(fit, design.X_treated, design.X_control, design.features)
        return np.concatenate([cate @ weights, cate])

    draws = bootstrap_draws(resampled(statistic, resampler), n_boot, rng, n_jobs=n_jobs, progress=progress,
                            desc="cluster bootstrap")
    point = np.asarray(results.fit.cate, dtype=float)
    estimates = pd.Series(point @ weights, index=pd.Index([k for k, _ in LABELS], name="estimator"),
                          name="estimate")
    report = dict(method="percentile", short_form=False, n_obs=results.n_obs, n_sims=n_boot, p_floor=1.0 / n_boot,
                  footer=(("Resampling", "clusters within arms"), ("Clusters", str(results.n_clusters)),
                          ("Seed", str(seed_used))),
                  notes=("Every model is refitted on each resample; a cluster drawn twice enters as two clusters.",),
                  title="CATE in a Cluster-Randomised Trial: Cluster Bootstrap", labels=LABELS)
    return bootstrap_results(estimates, draws, method="percentile", alpha=alpha, n_boot=n_boot, seed_used=seed_used,
                             resampling=resampler.name, report=report,
                             detail=BootstrapDetail(kind="unit", estimates=point, draws=None,
                                                    index=results.rows_used))
