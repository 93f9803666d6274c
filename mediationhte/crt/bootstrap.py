"""Cluster bootstrap for cluster-randomised CATE fits: whole clusters resampled within each arm.

Rows are never resampled one by one: in a CRT the cluster is the unit of
randomisation, and an iid bootstrap over rows would ignore the within-cluster
correlation (intervals far too narrow). Resampling within arms keeps the number
of treated and control clusters fixed, as the design does. A cluster drawn twice
enters as two clusters (new ids), so its random intercept is not shared between
the copies. Replicates draw from child seeds fixed before any work starts, so
the intervals are identical for any ``n_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.immutable import CopyOnRead, readonly
from mediationhte.core.random_state import resolve_seed, spawn_seeds
from mediationhte.crt.estimation import fit_crt, predict_cate
from mediationhte.mediation.estimation import run_replicates
from mediationhte.inference.intervals import percentile_interval, standard_error


def _replicate(design, settings, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids, codes = np.unique(design.groups, return_inverse=True)
    arm_of = np.bincount(codes, weights=design.t) / np.bincount(codes) > 0.5
    rows_of = np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1])
    picked = np.concatenate([rng.choice(np.flatnonzero(arm_of == a), size=int((arm_of == a).sum()), replace=True)
                             for a in (False, True)])
    rows = np.concatenate([rows_of[c] for c in picked])
    new_groups = np.repeat(np.arange(len(picked)), [len(rows_of[c]) for c in picked])
    fit = fit_crt(design.subset(rows, new_groups), settings, rng)
    # CATE of every original row under the replicate's model (the model never needs the cluster)
    return predict_cate(fit, design.X_treated, design.X_control, design.features)


@dataclass(frozen=True, eq=False)
class CrtBootstrap(CopyOnRead):
    """Cluster-bootstrap draws of the unit CATE and the intervals derived from them.

    Attributes
    ----------
    draws : ndarray (n_boot, n)
        Each replicate's CATE for every original row.
    ate : pandas.DataFrame
        Rows ``cate_mean_individual``, ``cate_mean_cluster``: estimate (the
        original fit's), bootstrap SE, percentile interval.
    """

    draws: np.ndarray = field(repr=False)
    ate: pd.DataFrame = field(repr=False)
    index: pd.Index = field(repr=False)
    point: np.ndarray = field(repr=False)
    alpha: float


    def cate_intervals(self) -> pd.DataFrame:
        """Per unit: ``cate`` (original fit), bootstrap ``std_error``, percentile ``ci_lower`` / ``ci_upper``."""
        lo, hi = percentile_interval(self.draws, self.alpha)
        return pd.DataFrame({"cate": self.point, "std_error": standard_error(self.draws), "ci_lower": lo,
                             "ci_upper": hi}, index=self.index)


def cluster_bootstrap(results, *, n_boot: int = 200, alpha: float | None = None, random_state=None, n_jobs: int = 1,
                      progress: bool = False) -> CrtBootstrap:
    """Refit ``results``' learner on ``n_boot`` cluster resamples (stratified by arm); see :class:`CrtBootstrap`."""
    from joblib import delayed

    from mediationhte.crt.results import _weights

    n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
    alpha = results.settings.alpha if alpha is None else V.check_alpha(alpha)
    n_jobs = V.check_n_jobs(n_jobs)
    rng, _ = resolve_seed(random_state)
    seeds = spawn_seeds(rng, n_boot)
    design, settings = results.design, results.settings
    draws = np.vstack(run_replicates((delayed(_replicate)(design, settings, int(s)) for s in seeds), total=n_boot,
                                     n_jobs=n_jobs, progress=progress, desc="cluster bootstrap"))
    point = results.fit.cate
    rows = {}
    for kind in ("individual", "cluster"):
        w = _weights(design.groups, kind)
        means = draws @ w
        lo, hi = percentile_interval(means, alpha)
        rows[f"cate_mean_{kind}"] = {"estimate": float(w @ point), "std_error": float(standard_error(means)),
                                     "ci_lower": float(lo), "ci_upper": float(hi)}
    ate = pd.DataFrame(rows).T
    ate.index.name = "estimator"
    return CrtBootstrap(draws=readonly(draws), ate=ate, index=results.rows_used, point=readonly(point), alpha=alpha)
