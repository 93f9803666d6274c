"""Results of ``dynamic_mediation()``: the effects table, etas, trajectory bootstrap, summary and plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.core import validation as V
from mediationhte.core.results import FitResults
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import RandomState
from mediationhte.dynamic.bootstrap import trajectory_bootstrap
from mediationhte.inference.bootstrap_results import BootstrapResults
from mediationhte.report.plots import pyplot
from mediationhte.report.summary import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COMPONENT_ORDER = ("IDE", "IME", "DDE", "DME", "ATE")


@dataclass(frozen=True, eq=False)
class DynamicMediationResults(FitResults):
    """IDE, IME, DDE, DME and ATE per estimator, from :func:`~mediationhte.dynamic_mediation`.

    Attributes
    ----------
    table : pandas.DataFrame
        Index (estimator, component); columns estimate, std_error, ci_lower, ci_upper, p_value.
    etas : pandas.DataFrame
        The five long-run average rewards per estimator (DM, MIS, MR), in the
        decomposition's order (four-way: eta1..eta5; natural: eta5, eta6, eta7, eta8, eta1).
    n_trajectories, n_transitions : int
    decomposition : str
    positivity_note : str
        The steps whose weights hit a bound (behaviour propensity at its floor,
        mediator or state ratio clipped), or "" when none did; printed as a
        WARNING in ``summary()``.
    roles, contrast, rows_used, dropped_index, alpha, seed_used, call
        As every fit (:class:`~mediationhte.core.results.FitResults`); ``rows_used``
        holds the data's labels of the transition rows (every row but each
        trajectory's last).

    Examples
    --------
    >>> import mediationhte as mh
    >>> from mediationhte.datasets.dynamic import toy_target_policy
    >>> d = mh.simulate_dynamic("toy1", n_trajectories=40, horizon=15, random_state=1)
    >>> res = mh.dynamic_mediation(d, id="id", time="time", state="state", action="action",
    ...                            mediator="mediator", reward="reward", target_policy=toy_target_policy)
    >>> res.n_trajectories, res.etas.shape
    (40, (5, 3))
    >>> res.bootstrap_ci(n_boot=5, random_state=1).to_frame().index.equals(res.to_frame().index)
    True
    >>> "MR: IDE" in str(res.summary())
    True
    """

    table: pd.DataFrame = field(repr=False)
    etas: pd.DataFrame = field(repr=False)
    n_trajectories: int
    n_transitions: int
    decomposition: str = "four_way"
    rows: object = field(repr=False, default=None)
    config: object = field(repr=False, default=None)
    estimators: tuple = ("MR", "DM", "MIS", "baseline")
    positivity_note: str = field(repr=False, default="")

    @native_thread_budget
    def bootstrap_ci(self, n_boot: int = 200, *, random_state: RandomState = None, n_jobs: int = 1,
                     alpha: float | None = None, progress: bool = False) -> BootstrapResults:
        """Percentile intervals from resampling whole trajectories (every nuisance refitted on each resample).

        Returns a :class:`~mediationhte.inference.bootstrap_results.BootstrapResults`
        whose ``to_frame()`` is indexed like :meth:`to_frame`, with ``estimate`` (the
        original fit), bootstrap ``std_error``, ``ci_lower``, ``ci_upper`` and
        ``p_value``; identical for any ``n_jobs``.

        Examples
        --------
        >>> import mediationhte as mh
        >>> d = mh.simulate_dynamic("toy1", n_trajectories=30, horizon=10, random_state=2)
        >>> res = mh.dynamic_mediation(d, id="id", time="time", state="state", action="action",
        ...                            mediator="mediator", reward="reward", target_policy=0.8)
        >>> list(res.bootstrap_ci(n_boot=4, random_state=3).to_frame().columns)
        ['estimate', 'std_error', 'ci_lower', 'ci_upper', 'p_value']
        """
        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return trajectory_bootstrap(self, n_boot=n_boot, alpha=alpha, random_state=random_state,
                                    n_jobs=V.check_n_jobs(n_jobs), progress=bool(progress))

    def _table(self, alpha: float) -> pd.DataFrame:
        """The effects at level 1 - alpha: the stored table, or normal intervals recomputed from the stored SEs."""
        table = self.table
        if alpha != self.alpha:
            z = stats.norm.ppf(1 - alpha / 2)
            table["ci_lower"] = table["estimate"] - z * table["std_error"]
            table["ci_upper"] = table["estimate"] + z * table["std_error"]
        return table

    def plot(self, ax: Axes | None = None, *, alpha: float | None = None) -> Axes:
        """Dot-and-whisker plot of IDE, IME, DDE, DME and ATE per estimator (MR intervals); returns the Axes.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        alpha : float, optional
            Interval level 1 - alpha; default the fit's.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import mediationhte as mh
        >>> d = mh.simulate_dynamic("toy1", n_trajectories=30, horizon=10, random_state=2)
        >>> res = mh.dynamic_mediation(d, id="id", time="time", state="state", action="action",
        ...                            mediator="mediator", reward="reward", target_policy=0.8)
        >>> res.plot().get_yticklabels()[0].get_text()
        'IDE'
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        t = self._table(alpha)
        for j, est in enumerate(t.index.get_level_values("estimator").unique()):
            sub = t.loc[est].reindex(COMPONENT_ORDER)
            y = np.arange(len(COMPONENT_ORDER))[::-1] + 0.15 * j
            ax.plot(sub["estimate"], y, "o", label=est)
            ok = np.isfinite(sub["ci_lower"].to_numpy())
            ax.hlines(y[ok], sub["ci_lower"].to_numpy()[ok], sub["ci_upper"].to_numpy()[ok])
        ax.set_yticks(np.arange(len(COMPONENT_ORDER))[::-1])
        ax.set_yticklabels(COMPONENT_ORDER)
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel(f"Estimate with {100 * (1 - alpha):g}% interval (MR)")
        ax.legend(frameon=False)
        return ax

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """The effects table (a copy): index (estimator, component), estimate, std_error, ci_lower, ci_upper, p_value.

        Parameters
        ----------
        alpha : float, optional
            Interval level 1 - alpha (default the fit's); the normal intervals are
            recomputed from the stored standard errors.
        """
        return self._table(self.alpha if alpha is None else V.check_alpha(alpha))

    def summary(self, alpha: float | None = None) -> Summary:
        """The effects in the package's Summary layout (rows ``<estimator>_<component>``).

        Parameters
        ----------
        alpha : float, optional
            Interval level 1 - alpha (default the fit's); the normal intervals are
            recomputed from the stored standard errors.

        Returns
        -------
        mediationhte.report.summary.Summary

        Examples
        --------
        >>> import mediationhte as mh
        >>> d = mh.simulate_dynamic("toy1", n_trajectories=30, horizon=10, random_state=2)
        >>> res = mh.dynamic_mediation(d, id="id", time="time", state="state", action="action",
        ...                            mediator="mediator", reward="reward", target_policy=0.8)
        >>> "Trajectories" in res.summary().as_text()
        True
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        t = self._table(alpha)
        frame = t.copy()
        frame.index = [f"{e}_{c}" for e, c in t.index]
        labels = tuple((f"{e}_{c}", f"{e}: {c}") for e, c in t.index)
        name = "four-way" if self.decomposition == "four_way" else "natural"
        return Summary(frame[["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]], method="ate",
                       short_form=False, alpha=alpha, n_obs=self.n_transitions, labels=labels,
                       footer=(("Trajectories", str(self.n_trajectories)), ("Seed", str(self.seed_used))),
                       notes=((f"WARNING: {self.positivity_note}",) if self.positivity_note else ())
                       + ("SEs cluster by trajectory and ignore nuisance estimation (valid for MR); DM, MIS "
                          "and the baseline have none here: use bootstrap_ci().",),
                       title=f"Dynamic Mediation Analysis ({name} decomposition)", show_std_error=True)
