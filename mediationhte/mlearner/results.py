"""Immutable results of :func:`mediationhte.mediate` with a machine-learning ``learner``."""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mediationhte._version import __version__
from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.learners import LearnerSpec
from mediationhte.core.results import FitResults
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import BootMethod, RandomState
from mediationhte.errors import ParameterError
from mediationhte.inference.bootstrap_results import BOOT_METHODS, BootstrapResults
from mediationhte.mediation.results import MediationReport
from mediationhte.mlearner.bootstrap import ml_bootstrap
from mediationhte.mlearner.effects import NuisanceFit, wald_table
from mediationhte.report.stats_table import distribution_table
from mediationhte.subgroups.results import SubgroupResults
from mediationhte.subgroups.search import SearchInputs, SubgroupSearchMixin
from mediationhte.report.summary import EFFECT_KEYS


@dataclass(frozen=True, eq=False)
class MLData:
    """What step 1 was computed from (rows used, in order): features, treatment, mediator, outcome."""

    X: np.ndarray = field(repr=False)
    feature_names: tuple[str, ...]
    t: np.ndarray = field(repr=False)
    m: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)


@dataclass(frozen=True, eq=False)
class MLMediationResults(FitResults, SubgroupSearchMixin, MediationReport):
    """Results of :func:`mediationhte.mediate` with an ML learner (immutable).

    Attributes
    ----------
    learners : LearnerSpec
        The learner templates per nuisance role.
    nuisance : NuisanceFit
        Out-of-fold (or in-sample, for the plug-in) nuisance predictions.
    point_estimates : mapping
        Efficient-influence-function estimates (cross-fitting) or means of the
        unit effects (plug-in).
    settings : mapping
    positivity_note : str
        Why positivity looks weak (units whose P(T | X) or P(T | M, X) hit the
        clip), or "" when it looks adequate; printed as a WARNING in ``summary()``.
    roles, contrast, rows_used, dropped_index, alpha, seed_used, call
        As every fit (:class:`~mediationhte.core.results.FitResults`).
    """

    learners: LearnerSpec = field(repr=False)
    nuisance: NuisanceFit = field(repr=False)
    data: MLData = field(repr=False)
    point_estimates: dict = field(repr=False)
    influence: np.ndarray | None = field(repr=False)
    unit_level: pd.DataFrame = field(repr=False)
    settings: dict = field(repr=False)
    search_inputs: SearchInputs | None = field(repr=False, default=None)
    positivity_note: str = field(repr=False, default="")

    def __post_init__(self):
        if self.influence is not None:
            object.__setattr__(self, "influence", readonly(self.influence, float))
        object.__setattr__(self, "point_estimates", types.MappingProxyType(dict(self.point_estimates)))
        object.__setattr__(self, "settings", types.MappingProxyType(dict(self.settings)))

    def __repr__(self) -> str:
        return f"<MLMediationResults: {self.call}>"

    @property
    def short_form(self) -> bool:
        """Always False: heterogeneous models report the control, treated and average rows."""
        return False

    @property
    def estimates(self) -> pd.Series:
        """Average-effect point estimates (the ten estimands)."""
        return pd.Series(dict(self.point_estimates), name="estimate").reindex(list(EFFECT_KEYS))

    @property
    def effects(self) -> pd.DataFrame:
        """Unit-level effects indexed like the rows used (a copy).

        ``cie_treated`` (delta(1)), ``cie_control`` (delta(0)), ``cde_control``
        (zeta(0)), ``cde_treated`` (zeta(1)) and ``te``, with
        ``te = cie_treated + cde_control = cie_control + cde_treated`` exactly.
        """
        return self.unit_level

    def _table(self, alpha: float) -> pd.DataFrame:
        return wald_table(dict(self.point_estimates), self.influence, alpha)

    def _summary_parts(self) -> dict:
        s = self.settings
        plugin = s["estimator"] == "plugin"
        footer = [("Learner", self.learners.describe()),
                  ("Estimator", "plug-in (authors' M-learner, in sample)" if plugin
                   else f"efficient influence function, {s['n_folds']}-fold cross-fitting"),
                  ("Seed", str(self.seed_used)),
                  ("Rows dropped (missing values)", str(len(self.dropped_index))),
                  ("mediationhte", __version__)]
        notes = [f"WARNING: {self.positivity_note}"] if self.positivity_note else []
        if plugin:
            notes.append("Plug-in estimates use in-sample predictions and no influence-function correction; "
                         "their standard errors are not available (use bootstrap_ci()).")
        table = self._table(self.alpha)
        lo, hi = table.loc["total", ["ci_lower", "ci_upper"]]
        if np.isfinite(lo) and lo <= 0 <= hi:
            notes.append("The total effect's interval covers 0, so the proportion mediated is unstable; "
                         "interpret it with care.")
        models = (distribution_table(self.unit_level, "Distribution of the unit-level effects"),)
        return dict(method="plugin" if plugin else "eif", short_form=False, n_obs=self.n_obs, n_sims=0,
                    p_floor=None, conditional=False, footer=tuple(footer), models=models, notes=tuple(notes))

    def _search_inputs(self) -> SearchInputs:
        return self.search_inputs

    @native_thread_budget
    def bootstrap_ci(self, n_boot: int = 200, *, method: BootMethod = "percentile", alpha: float | None = None,
                     random_state: RandomState = None, n_jobs: int = 1, progress: bool = False,
                     subgroups: SubgroupResults | None = None) -> BootstrapResults:
        """Nonparametric bootstrap of the average effects, rerunning step 1 (all learners) on each resample.

        With ``subgroups`` (a :class:`~mediationhte.subgroups.results.SubgroupResults`
        from :meth:`subgroups` on this fit), each resample also averages its unit
        effects within the subgroups (held fixed, as found on the original data),
        giving intervals for the subgroup mean effects in
        :meth:`BootstrapResults.subgroup_effects`.

        Parameters
        ----------
        n_boot : int, default 200
            Resamples; each refits every nuisance model, so this is costly for forests.
        method : {"percentile", "bca_r"}
            Percentile or R mediation's BCa variant (textbook BCa would need n
            jackknife refits of every learner and is not offered here).
        alpha : float, optional
        random_state : None, int or numpy.random.Generator
        n_jobs : int, default 1
            Parallel resamples (threads); numbers are identical for every n_jobs.
        progress : bool, default False
        subgroups : SubgroupResults, optional

        Returns
        -------
        BootstrapResults

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(),
        ...               learner="boosting", n_folds=2, random_state=1)
        >>> fit.bootstrap_ci(n_boot=3, random_state=2).resampling
        'cases'
        """
        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        V.check_option("method", method, tuple(m for m in BOOT_METHODS if m != "bca"))
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return ml_bootstrap(self, n_boot=n_boot, method=method, alpha=alpha, random_state=random_state,
                            n_jobs=V.check_n_jobs(n_jobs), progress=bool(progress), report=self._summary_parts(),
                            subgroups=subgroups, labels=self._subgroup_labels(subgroups))

    def _subgroup_labels(self, subgroups) -> np.ndarray | None:
        if subgroups is None:
            return None
        if not isinstance(subgroups, SubgroupResults) or not subgroups.index.equals(self.rows_used):
            raise ParameterError(
                "Parameter subgroups must be the SubgroupResults of this fit's .subgroups() (same rows); got "
                f"{type(subgroups).__name__}" + (f" with {len(subgroups.index)} rows" if isinstance(
                    subgroups, SubgroupResults) else "") + ".", parameter="subgroups")
        return np.asarray(subgroups.fit.labels, dtype=int)
