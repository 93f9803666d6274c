"""Immutable results of :func:`mediationhte.mediate` with a machine-learning ``learner``."""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.report.stats_table import distribution_table
from mediationhte._version import __version__
from mediationhte.mediation.effects import EFFECT_KEYS
from mediationhte.formula.parse import FormulaRoles
from mediationhte.core.learners import LearnerSpec
from mediationhte.errors import ParameterError
from mediationhte.mlearner.effects import UNIT_COLUMNS, NuisanceFit, wald_table
from mediationhte.mediation.results import BOOT_METHODS, _EffectsReport, interval_table
from mediationhte.subgroups.search import SubgroupSearchMixin
from mediationhte.core.immutable import readonly


@dataclass(frozen=True)
class MLData:
    """What step 1 was computed from (rows used, in order): features, treatment, mediator, outcome."""

    X: np.ndarray = field(repr=False)
    feature_names: tuple[str, ...]
    t: np.ndarray = field(repr=False)
    m: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class MLMediationResults(SubgroupSearchMixin, _EffectsReport):
    """Results of :func:`mediationhte.mediate` with an ML learner (immutable).

    Attributes
    ----------
    roles : FormulaRoles
        Outcome, mediator, treatment and covariate columns read off the formulas.
    learners : LearnerSpec
        The learner templates per nuisance role.
    nuisance : NuisanceFit
        Out-of-fold (or in-sample, for the plug-in) nuisance predictions.
    point_estimates : mapping
        Efficient-influence-function estimates (cross-fitting) or means of the
        unit effects (plug-in).
    settings : mapping
    seed_used : int or str
    rows_used, dropped_index : pandas.Index
    call : str
    """

    roles: FormulaRoles = field(repr=False)
    learners: LearnerSpec = field(repr=False)
    nuisance: NuisanceFit = field(repr=False)
    data: MLData = field(repr=False)
    point_estimates: dict = field(repr=False)
    influence: np.ndarray | None = field(repr=False)
    unit_level: pd.DataFrame = field(repr=False)
    settings: dict = field(repr=False)
    seed_used: object
    rows_used: pd.Index = field(repr=False)
    dropped_index: pd.Index = field(repr=False)
    call: str

    def __post_init__(self):
        if self.influence is not None:
            object.__setattr__(self, "influence", readonly(self.influence, float))
        object.__setattr__(self, "point_estimates", types.MappingProxyType(dict(self.point_estimates)))
        object.__setattr__(self, "settings", types.MappingProxyType(dict(self.settings)))

    def __repr__(self) -> str:
        return f"<MLMediationResults: {self.call}>"

    @property
    def _alpha(self) -> float:
        return self.settings["alpha"]

    @property
    def n_obs(self) -> int:
        """Number of rows used."""
        return len(self.rows_used)

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
        return self.unit_level.copy()

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
        notes = []
        if plugin:
            notes.append("Plug-in estimates use in-sample predictions and no influence-function correction; "
                         "their standard errors are not available (use bootstrap_ci()).")
        table = self._table(self._alpha)
        lo, hi = table.loc["total", ["ci_lower", "ci_upper"]]
        if np.isfinite(lo) and lo <= 0 <= hi:
            notes.append("The total effect's interval covers 0, so the proportion mediated is unstable; "
                         "interpret it with care.")
        models = (distribution_table(self.unit_level, "Distribution of the unit-level effects"),)
        return dict(method="plugin" if plugin else "eif", short_form=False, n_obs=self.n_obs, n_sims=0,
                    p_floor=None, conditional=False, footer=tuple(footer), models=models, notes=tuple(notes))

    def _search_inputs(self):
        from mediationhte.mlearner.fit import step_one
        from mediationhte.subgroups.search import SearchInputs, mediation_in_rows

        d, s = self.data, self.settings
        rerun_settings = dict(s, n_jobs=1)  # the permutations are the parallel level

        def rerun(t, rows, rng, columns):
            return step_one(d.X[rows], t, d.m[rows], d.y[rows], self.learners, rerun_settings, rng,
                            effects_only=True, columns=columns)[3]

        columns = (s["treatment"], s["mediator"], s["outcome"])
        frame = d.covariates.assign(**dict(zip(columns, (d.t, d.m, d.y))))

        def mediation(mask, seed, n_boot, alpha, fit_only=False):
            return mediation_in_rows(frame.loc[mask], outcome=s["outcome"], mediator=s["mediator"],
                                     treatment=s["treatment"], covariates=tuple(d.covariates.columns),
                                     outcome_family=s["outcome_family"], mediator_family=s["mediator_family"],
                                     n_boot=n_boot, alpha=alpha, seed=seed, fit_only=fit_only)

        return SearchInputs(unit_effects=self.unit_level, covariates=d.covariates, treatment=d.t, mediator=d.m,
                            outcome=d.y, index=self.rows_used, rerun=rerun, mediation=mediation)

    def bootstrap_ci(self, n_boot: int = 200, *, method: str = "percentile", alpha: float | None = None,
                     random_state=None, n_jobs: int = 1, progress: bool = False, subgroups=None):
        """Nonparametric bootstrap of the average effects, rerunning step 1 (all learners) on each resample.

        With ``subgroups`` (a :class:`~mediationhte.subgroups.results.SubgroupResults`
        from :meth:`subgroups` on this fit), each resample also averages its unit
        effects within the subgroups (held fixed, as found on the original data),
        giving intervals for the subgroup mean effects in
        :meth:`MLBootstrapResults.subgroup_effects`.

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
        MLBootstrapResults
        """
        from joblib import Parallel, delayed

        from mediationhte.core.random_state import resolve_seed, spawn_seeds
        from mediationhte.mediation.estimation import _progress

        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        V.check_option("method", method, tuple(m for m in BOOT_METHODS if m != "bca"))
        alpha = self._alpha if alpha is None else V.check_alpha(alpha)
        n_jobs = V.check_n_jobs(n_jobs)
        labels = self._subgroup_labels(subgroups)
        rng, seed_used = resolve_seed(random_state)
        seeds = spawn_seeds(rng, n_boot)
        tasks = (delayed(_ml_replicate)(self, int(seed), labels) for seed in seeds)
        results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(tasks)
        if progress:
            results = _progress(results, total=n_boot, desc="bootstrap")
        draws = np.vstack(list(results))
        failed = ~np.all(np.isfinite(draws[:, :5]), axis=1)
        k = len(EFFECT_KEYS)
        return MLBootstrapResults(parent=self, method=method, alpha=alpha, n_boot=n_boot,
                                  n_failed=int(failed.sum()), seed_used=seed_used,
                                  _draws=readonly(draws[~failed, :k], float), subgroups=subgroups,
                                  _subgroup_draws=None if labels is None else readonly(draws[~failed, k:], float))

    def _subgroup_labels(self, subgroups) -> np.ndarray | None:
        from mediationhte.subgroups.results import SubgroupResults

        if subgroups is None:
            return None
        if not isinstance(subgroups, SubgroupResults) or not subgroups.index.equals(self.rows_used):
            raise ParameterError(
                "Parameter subgroups must be the SubgroupResults of this fit's .subgroups() (same rows); got "
                f"{type(subgroups).__name__}" + (f" with {len(subgroups.index)} rows" if isinstance(
                    subgroups, SubgroupResults) else "") + ".", parameter="subgroups")
        return np.asarray(subgroups.fit.labels, dtype=int)


def _ml_replicate(parent: MLMediationResults, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """One resample: the ten estimands, then (with labels) the mean of each unit effect per subgroup."""
    from mediationhte.mlearner.fit import step_one

    rng = np.random.default_rng(seed)
    d = parent.data
    n_groups = 0 if labels is None else int(labels.max()) + 1
    rows = rng.integers(0, len(d.t), size=len(d.t))
    if len(np.unique(d.t[rows])) < 2:
        return np.full(len(EFFECT_KEYS) + n_groups * len(UNIT_COLUMNS), np.nan)
    estimates, _, _, units = step_one(d.X[rows], d.t[rows], d.m[rows], d.y[rows], parent.learners, parent.settings,
                                      rng)
    out = np.array([estimates[k] for k in EFFECT_KEYS])
    if labels is None:
        return out
    groups = labels[rows]
    counts = np.bincount(groups, minlength=n_groups)[:, None]
    sums = np.column_stack([np.bincount(groups, units[c].to_numpy(), n_groups) for c in UNIT_COLUMNS])
    with np.errstate(invalid="ignore"):  # a subgroup absent from this resample has no mean
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return np.concatenate([out, means.ravel()])


@dataclass(frozen=True)
class MLBootstrapResults(_EffectsReport):
    """Bootstrap intervals for the average effects of an ML fit (point estimates stay the original ones)."""

    parent: MLMediationResults = field(repr=False)
    method: str
    alpha: float
    n_boot: int
    n_failed: int
    seed_used: object
    _draws: np.ndarray = field(repr=False)
    subgroups: object = field(default=None, repr=False)
    _subgroup_draws: np.ndarray | None = field(default=None, repr=False)

    @property
    def _alpha(self) -> float:
        return self.alpha

    def subgroup_effects(self, alpha: float | None = None) -> pd.DataFrame:
        """Percentile intervals for the mean unit effects within each subgroup.

        Returns
        -------
        pandas.DataFrame
            Indexed by (``subgroup``, ``effect``) with columns ``rule, n, estimate``
            (the mean over the subgroup's units on the original data),
            ``std_error, ci_lower, ci_upper`` (over the resamples; a subgroup
            absent from a resample is skipped there).

        Raises
        ------
        ParameterError
            If the bootstrap was run without ``subgroups=``.

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
        from mediationhte.inference import intervals as inference

        if self._subgroup_draws is None:
            raise ParameterError("Parameter subgroups was not given to bootstrap_ci(); rerun it with "
                                 "subgroups=fit.subgroups(...) to get subgroup intervals.", parameter="subgroups")
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        frame = self.subgroups.to_frame()
        draws = self._subgroup_draws
        lower, upper = inference.percentile_interval(draws, alpha)
        index = pd.MultiIndex.from_product([frame.index, UNIT_COLUMNS], names=["subgroup", "effect"])
        return pd.DataFrame({
            "rule": np.repeat(frame["rule"].to_numpy(), len(UNIT_COLUMNS)),
            "n": np.repeat(frame["n"].to_numpy(), len(UNIT_COLUMNS)),
            "estimate": frame[[f"mean_{c}" for c in UNIT_COLUMNS]].to_numpy(dtype=float).ravel(),
            "std_error": inference.standard_error(draws),
            "ci_lower": lower,
            "ci_upper": upper,
        }, index=index)

    @property
    def draws(self) -> pd.DataFrame:
        """Bootstrap replicates of the ten estimands (a copy)."""
        return pd.DataFrame(self._draws, columns=list(EFFECT_KEYS))

    def _table(self, alpha: float) -> pd.DataFrame:
        return interval_table(dict(self.parent.point_estimates), self._draws, alpha, self.method)

    def _summary_parts(self) -> dict:
        parts = self.parent._summary_parts()
        parts.update(method=self.method, n_sims=self.n_boot, p_floor=1.0 / max(self.n_boot - self.n_failed, 1))
        parts["footer"] = (("Bootstrap seed", str(self.seed_used)),) + tuple(
            row for row in parts["footer"] if row[0] != "Seed")
        parts["notes"] = tuple(n for n in parts["notes"] if not n.startswith("Plug-in"))
        return parts
