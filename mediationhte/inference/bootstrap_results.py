"""``BootstrapResults``: what every ``bootstrap_ci()`` returns (draws, intervals, summary, frame, plot).

One type for every analysis: the estimands differ (R's ten mediation effects,
``cate()``'s average-effect estimators, a CRT's weighted mean CATE, the dynamic
IDE/IME/DDE/DME per estimator), the presentation is the same. The object holds
the original-sample estimates, the valid bootstrap draws and how the summary is
laid out; intervals at another level are recomputed from the stored draws.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.immutable import CopyOnRead, readonly
from mediationhte.core.types import Arm, FrameStyle
from mediationhte.errors import ParameterError
from mediationhte.inference.intervals import interval_table, percentile_interval, standard_error
from mediationhte.report.plots import plot_effects, plot_estimates
from mediationhte.report.summary import EFFECT_KEYS, Summary, flag_unstable_ratio

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Interval methods: percentile (R's ``boot.ci.type = "perc"``), textbook BCa, R mediation's BCa variant.
BOOT_METHODS = ("percentile", "bca", "bca_r")


@dataclass(frozen=True, eq=False)
class BootstrapDetail:
    """Draws of a second block of quantities: every unit's CATE (a CRT) or each subgroup's mean effects.

    Attributes
    ----------
    kind : {"unit", "subgroup"}
    estimates : ndarray (m,)
        The original-sample values.
    draws : ndarray (B, m)
    index : pandas.Index
        One label per quantity (the rows used, or (subgroup, effect)).
    info : pandas.DataFrame or None
        Columns shown before the intervals (a subgroup's rule and size).
    """

    kind: str
    estimates: np.ndarray = field(repr=False)
    draws: np.ndarray = field(repr=False)
    index: pd.Index = field(repr=False)
    info: pd.DataFrame | None = field(repr=False, default=None)


@dataclass(frozen=True, eq=False)
class BootstrapResults(CopyOnRead):
    """Bootstrap intervals of a fit's estimands; returned by every ``bootstrap_ci()`` (immutable).

    Attributes
    ----------
    estimates : pandas.Series
        Original-sample point estimates (as R mediation >= 4.5 reports with ``boot=TRUE``).
    draws : pandas.DataFrame
        One row per valid resample (failed refits dropped), one column per estimand.
    method : {"percentile", "bca", "bca_r"}
    alpha : float
        Default interval level is 1 - alpha.
    n_boot, n_failed : int
        Resamples drawn, and those whose refit failed (dropped).
    seed_used : int or str
        The seed of this bootstrap (``random_state``, or the entropy drawn for None).
    resampling : str
        What was resampled: "cases", "cases within arms", "clusters within arms" or
        "whole trajectories".

    Examples
    --------
    >>> from mediationhte import load_jobs, mediate
    >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
    ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(), sims=100, random_state=1)
    >>> boot = fit.bootstrap_ci(n_boot=200, random_state=7)
    >>> boot.n_boot, boot.resampling, list(boot.to_frame().columns)[:3]
    (200, 'cases', ['estimate', 'std_error', 'ci_lower'])
    """

    estimates: pd.Series = field(repr=False)
    _draws: np.ndarray = field(repr=False)
    method: str
    alpha: float
    n_boot: int
    n_failed: int
    seed_used: object
    resampling: str
    report: dict = field(repr=False)
    _jackknife: np.ndarray | None = field(repr=False, default=None)
    detail: BootstrapDetail | None = field(repr=False, default=None)

    def __post_init__(self):
        object.__setattr__(self, "report", types.MappingProxyType(dict(self.report)))

    @property
    def draws(self) -> pd.DataFrame:
        """Bootstrap replicates of the estimands (a copy)."""
        return pd.DataFrame(self._draws, columns=self.estimates.index)

    def _alpha(self, alpha) -> float:
        return self.alpha if alpha is None else V.check_alpha(alpha)

    def to_frame(self, alpha: float | None = None, style: FrameStyle = "tidy") -> pd.DataFrame:
        """The intervals: ``estimate, std_error, ci_lower, ci_upper, p_value`` per estimand.

        ``style`` "r" or "statsmodels" relabels rows and columns as those packages
        print them (see :meth:`mediationhte.report.summary.Summary.to_frame`). The
        tidy table of mediation estimands has a boolean ``ratio_unstable`` column:
        True on the proportion-mediated rows when the total effect's interval covers 0.
        """
        alpha = self._alpha(alpha)
        if style != "tidy":
            return self.summary(alpha).to_frame(style=style)
        return flag_unstable_ratio(interval_table(self.estimates, self._draws, alpha, self.method, self._jackknife))

    def summary(self, alpha: float | None = None) -> Summary:
        """The intervals in the package's Summary layout (text, LaTeX, HTML, markdown, DataFrame)."""
        alpha = self._alpha(alpha)
        table = interval_table(self.estimates, self._draws, alpha, self.method, self._jackknife)
        if isinstance(table.index, pd.MultiIndex):
            table.index = ["_".join(map(str, key)) for key in table.index]
        return Summary(effects=table, alpha=alpha, **self.report)

    def plot(self, ax: Axes | None = None, *, alpha: float | None = None, treatment: Arm = "both") -> Axes:
        """Dot-and-whisker plot of the estimates with their bootstrap intervals; returns the Axes.

        Mediation estimands are drawn as R's ``plot.mediate`` draws them
        (``treatment`` in "both", "control", "treated", "average"); other
        estimands one row each.
        """
        alpha = self._alpha(alpha)
        table = self.to_frame(alpha)
        if set(EFFECT_KEYS) <= set(table.index):
            V.check_option("treatment", treatment, ("both", "control", "treated", "average"))
            return plot_effects(table, alpha=alpha, treatment=treatment, ax=ax)
        labels = dict(self.report.get("labels", ()))
        names = ["_".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in table.index]
        return plot_estimates(table, labels=[labels.get(k, k) for k in names], alpha=alpha, ax=ax)

    def _detail(self, kind: str, method: str, hint: str) -> BootstrapDetail:
        if self.detail is None or self.detail.kind != kind:
            raise ParameterError(f"{method}() needs the {kind} draws, which this bootstrap does not have; {hint}",
                                 parameter="subgroups" if kind == "subgroup" else "method")
        return self.detail

    def _detail_intervals(self, detail: BootstrapDetail, alpha) -> pd.DataFrame:
        lower, upper = percentile_interval(detail.draws, self._alpha(alpha))
        out = pd.DataFrame({"estimate": detail.estimates, "std_error": standard_error(detail.draws),
                            "ci_lower": lower, "ci_upper": upper}, index=detail.index)
        return out if detail.info is None else pd.concat([detail.info.set_axis(detail.index), out], axis=1)

    def cate_intervals(self, alpha: float | None = None) -> pd.DataFrame:
        """Percentile intervals for every unit's CATE (the cluster bootstrap of a cluster-randomised trial).

        Returns
        -------
        pandas.DataFrame
            Indexed like the rows used: ``estimate`` (the original fit's CATE),
            bootstrap ``std_error``, ``ci_lower``, ``ci_upper``.
        """
        detail = self._detail("unit", "cate_intervals", "it is available from a (1 | cluster) fit's bootstrap_ci().")
        return self._detail_intervals(detail, alpha).rename(columns={"estimate": "cate"})

    def subgroup_effects(self, alpha: float | None = None) -> pd.DataFrame:
        """Percentile intervals for the mean unit effects within each subgroup (held fixed, as found).

        Returns
        -------
        pandas.DataFrame
            Indexed by (``subgroup``, ``effect``) with columns ``rule, n, estimate``
            (the mean over the subgroup's units on the original data),
            ``std_error, ci_lower, ci_upper`` (over the resamples; a subgroup
            absent from a resample is skipped there).

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(),
        ...               learner="boosting", n_folds=2, random_state=1)
        >>> sub = fit.subgroups(k=[2], calibration="split", n_boot=0, random_state=2)
        >>> boot = fit.bootstrap_ci(n_boot=4, random_state=3, subgroups=sub)
        >>> list(boot.subgroup_effects().columns)
        ['rule', 'n', 'estimate', 'std_error', 'ci_lower', 'ci_upper']
        """
        detail = self._detail("subgroup", "subgroup_effects", "rerun bootstrap_ci() with "
                              "subgroups=fit.subgroups(...) to get subgroup intervals.")
        return self._detail_intervals(detail, alpha)


def bootstrap_results(estimates: pd.Series, draws: np.ndarray, *, method: str, alpha: float, n_boot: int,
                      seed_used, resampling: str, report, required=None, jackknife=None,
                      detail: BootstrapDetail | None = None) -> BootstrapResults:
    """Package the draws of :func:`~mediationhte.inference.bootstrap.bootstrap_draws` (k estimands, then detail).

    A resample failed when one of the ``required`` columns (positions; default none)
    is not finite; failed resamples are dropped from the estimands and the detail.
    ``report`` holds the Summary fields besides the table and alpha, or is a
    callable ``(n_failed) -> dict`` when the layout mentions the failures.
    """
    draws = np.asarray(draws, dtype=float)
    k = len(estimates)
    failed = (~np.all(np.isfinite(draws[:, list(required)]), axis=1) if required is not None
              else np.zeros(len(draws), dtype=bool))
    if detail is not None:
        detail = BootstrapDetail(kind=detail.kind, estimates=readonly(detail.estimates, float),
                                 draws=readonly(draws[~failed, k:], float), index=detail.index, info=detail.info)
    return BootstrapResults(estimates=estimates.copy(), _draws=readonly(draws[~failed, :k], float), method=method,
                            alpha=alpha, n_boot=n_boot, n_failed=int(failed.sum()), seed_used=seed_used,
                            resampling=resampling, report=report(int(failed.sum())) if callable(report) else report,
                            _jackknife=None if jackknife is None else readonly(jackknife, float), detail=detail)
