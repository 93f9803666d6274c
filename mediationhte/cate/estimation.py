"""One ``cate()`` fit on arrays: propensity -> outcome nuisances -> meta-learners -> average effects.

The same function serves the main fit, the bootstrap, the refutations and the
subgroup search's permutation reruns, so every one of them repeats exactly the
analysis the user asked for. All randomness comes from the ``rng`` handed in,
consumed in a fixed order (folds, propensity models, then the learners' child
seeds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mediationhte.cate.average_effects import (
    Estimate,
    aipw,
    difference_in_means,
    iptw_hajek,
    iptw_horvitz_thompson,
    regression_adjustment,
)
from mediationhte.cate.matching import match_on_score, matching_estimates
from mediationhte.cate.metalearners import draw_seeds, fit_first_stage, fit_meta_learners
from mediationhte.cate.propensity import PropensityFit, fit_propensity
from mediationhte.core.learners import crossfit_folds
from mediationhte.core.immutable import freeze_arrays


@dataclass(frozen=True)
class CateSettings:
    """Everything that defines the analysis besides the data (picklable, for process-based reruns)."""

    learners: tuple[str, ...]
    base: object = field(repr=False)
    propensity: object = field(repr=False)
    n_folds: int
    clip: tuple[float, float]
    caliper: float | None
    alpha: float
    n_jobs: int = 1


@dataclass(frozen=True, eq=False)
class CateFit:
    """The arrays of one fit (internal)."""

    propensity: PropensityFit
    mu0: np.ndarray = field(repr=False)
    mu1: np.ndarray = field(repr=False)
    pseudo_outcome: np.ndarray = field(repr=False)
    unit_effects: dict = field(repr=False)
    estimates: dict = field(repr=False)
    matches: object = field(repr=False, default=None)

    def __post_init__(self):
        freeze_arrays(self)


def logit(e: np.ndarray) -> np.ndarray:
    """log(e / (1 - e)) with e kept inside (1e-12, 1 - 1e-12), the matching score."""
    e = np.clip(e, 1e-12, 1 - 1e-12)
    return np.log(e) - np.log1p(-e)


def fit_cate(X: np.ndarray, t: np.ndarray, y: np.ndarray, settings: CateSettings, rng: np.random.Generator, *,
             learners: tuple[str, ...] | None = None, averages: bool = True) -> CateFit:
    """Fit the whole analysis on one data set.

    ``learners`` overrides ``settings.learners`` (the subgroup reruns fit only the
    learner they embed); ``averages=False`` skips the average-effect estimators.
    """
    names = settings.learners if learners is None else learners
    folds = crossfit_folds(t, settings.n_folds, rng)
    ps = fit_propensity(X, t, settings.propensity, n_folds=settings.n_folds, rng=rng, folds=folds)
    seeds = draw_seeds(rng, settings.n_folds)
    first = fit_first_stage(X, t, y, settings.base, names, folds=folds, seeds=seeds, averages=averages,
                            n_jobs=settings.n_jobs)
    if first.arms is not None:
        aipw_estimate, pseudo = aipw(y, t, first.arms.mu0, first.arms.mu1, ps.crossfit, settings.clip, ps)
        mu0, mu1 = first.arms.mu0, first.arms.mu1
    else:
        aipw_estimate, pseudo = None, None
        mu0 = mu1 = np.full(len(y), np.nan)
    dr_pseudo = None
    if "dr" in names:
        dr_pseudo = aipw(y, t, first.joint.mu0, first.joint.mu1, ps.crossfit, settings.clip)[1]
    units = fit_meta_learners(X, t, y, settings.base, names, seeds=seeds, first=first, propensity=ps.scores,
                              clip=settings.clip, dr_pseudo_outcome=dr_pseudo, n_jobs=settings.n_jobs)
    estimates, matches = {}, None
    if averages:
        estimates = {
            "difference_in_means": difference_in_means(y, t),
            "regression_adjustment": regression_adjustment(y, t, X),
            "iptw": iptw_horvitz_thompson(y, t, ps, settings.clip),
            "iptw_stabilised": iptw_hajek(y, t, ps, settings.clip),
            "aipw": aipw_estimate,
        }
        matches = match_on_score(logit(ps.scores), t, caliper=settings.caliper)
        table = matching_estimates(y, t, matches, alpha=settings.alpha)
        for key in ("matching_att", "matching_ate"):
            estimates[key] = Estimate(float(table.loc[key, "estimate"]), None, float(table.loc[key, "std_error"]))
    return CateFit(propensity=ps, mu0=mu0, mu1=mu1, pseudo_outcome=pseudo if pseudo is not None else mu0,
                   unit_effects=units, estimates=estimates, matches=matches)


def unit_effects_frame(units: dict, index=None) -> pd.DataFrame:
    """The unit tau of each learner as a DataFrame (columns in the order fitted)."""
    return pd.DataFrame({name: np.asarray(v, dtype=float) for name, v in units.items()}, index=index)
