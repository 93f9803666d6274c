"""Bootstrap of an M-learner fit: step 1 (every learner) rerun on each case resample, through the one engine."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.core.random_state import resolve_seed
from mediationhte.inference.bootstrap import CaseResampler, bootstrap_draws, resampled
from mediationhte.inference.bootstrap_results import BootstrapDetail, BootstrapResults
from mediationhte.mediation.bootstrap import mediation_bootstrap
from mediationhte.mlearner.effects import UNIT_COLUMNS, step_one
from mediationhte.report.summary import EFFECT_KEYS


def _statistic(results, labels: np.ndarray | None):
    """One resample's ten estimands, then (with subgroup labels) each subgroup's mean unit effects."""
    d = results.data
    n_groups = 0 if labels is None else int(labels.max()) + 1

    def statistic(sample, rng):
        rows = sample.rows
        if len(np.unique(d.t[rows])) < 2:
            return np.full(len(EFFECT_KEYS) + n_groups * len(UNIT_COLUMNS), np.nan)
        estimates, _, _, units = step_one(d.X[rows], d.t[rows], d.m[rows], d.y[rows], results.learners,
                                          results.settings, rng)
        out = np.array([estimates[k] for k in EFFECT_KEYS])
        if labels is None:
            return out
        groups = labels[rows]
        counts = np.bincount(groups, minlength=n_groups)[:, None]
        sums = np.column_stack([np.bincount(groups, units[c].to_numpy(), n_groups) for c in UNIT_COLUMNS])
        with np.errstate(invalid="ignore"):  # a subgroup absent from this resample has no mean
            means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return np.concatenate([out, means.ravel()])

    return statistic


def ml_bootstrap(results, *, n_boot: int, method: str, alpha: float, random_state, n_jobs: int, progress: bool,
                 report: dict, subgroups=None, labels: np.ndarray | None = None) -> BootstrapResults:
    """Case bootstrap of an ``MLMediationResults``; with ``subgroups`` (their ``labels``), subgroup means too."""
    rng, seed_used = resolve_seed(random_state)
    resampler = CaseResampler(len(results.data.t))
    draws = bootstrap_draws(resampled(_statistic(results, labels), resampler), n_boot, rng, n_jobs=n_jobs,
                            progress=progress, prefer="threads")
    detail = None
    if subgroups is not None:
        frame = subgroups.to_frame()
        k = len(UNIT_COLUMNS)
        detail = BootstrapDetail(
            kind="subgroup", estimates=frame[[f"mean_{c}" for c in UNIT_COLUMNS]].to_numpy(dtype=float).ravel(),
            draws=None,
            index=pd.MultiIndex.from_product([frame.index, UNIT_COLUMNS], names=["subgroup", "effect"]),
            info=pd.DataFrame({"rule": np.repeat(frame["rule"].to_numpy(), k),
                               "n": np.repeat(frame["n"].to_numpy(), k)}))
    return mediation_bootstrap(results, draws, method=method, alpha=alpha, n_boot=n_boot, seed_used=seed_used,
                               resampling=resampler.name, report=report, detail=detail)
