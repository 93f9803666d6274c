"""``CateResults``: the immutable result of :func:`mediationhte.cate`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mediationhte.cate.average_effects import ATE_LABELS, iptw_weights, wald_rows, weights_summary
from mediationhte.cate.balance import BalanceResults, balance_table, frequency_weights_from_matches
from mediationhte.cate.bootstrap import arm_bootstrap
from mediationhte.cate.estimation import CateFit, CateSettings
from mediationhte.cate.propensity import PropensityResults, auc
from mediationhte.cate.refute import RefutationResults, refute
from mediationhte.cate.uplift import UpliftResults, uplift
from mediationhte.core import validation as V
from mediationhte.core.results import FitResults
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import Calibration, Embedding, MetaLearner, Profile, RandomState, Refuter
from mediationhte.errors import ParameterError
from mediationhte.inference.bootstrap_results import BootstrapResults
from mediationhte.report.plots import plot_estimates
from mediationhte.report.stats_table import StatsTable, distribution_table
from mediationhte.report.summary import Summary
from mediationhte.subgroups.search import SearchInputs, SubgroupSearchMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from mediationhte.subgroups.results import SubgroupResults

_LEARNER_LABELS = {"s": "S-learner", "t": "T-learner", "x": "X-learner", "dr": "DR-learner"}


@dataclass(frozen=True, eq=False)
class CateData:
    """The arrays of the rows used (read-only), and the covariates as the user named them."""

    X: np.ndarray = field(repr=False)
    feature_names: tuple[str, ...]
    t: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)


@dataclass(frozen=True, eq=False)
class CateResults(FitResults, SubgroupSearchMixin):
    """Unit-level and average treatment effects from :func:`mediationhte.cate`, with diagnostics.

    Immutable: attributes cannot be reassigned and DataFrames are returned as copies.

    Attributes
    ----------
    effects : pandas.DataFrame
        Unit tau-hat, one column per learner (``"s"``, ``"t"``, ``"x"``, ``"dr"``),
        indexed like the rows used.
    trimmed_index : pandas.Index
        Rows removed by ``trim``.
    roles, contrast, rows_used, dropped_index, alpha, seed_used, call
        As every fit (:class:`~mediationhte.core.results.FitResults`).

    Examples
    --------
    >>> import mediationhte as mh
    >>> fit = mh.cate("depress2 ~ treat + econ_hard + depress1 + age", mh.load_jobs(),
    ...               learner=["s", "t"], base_learner="linear", random_state=0)
    >>> fit.effects.shape
    (899, 2)
    """

    settings: CateSettings = field(repr=False)
    data: CateData = field(repr=False)
    fit: CateFit = field(repr=False)
    unit_level: pd.DataFrame = field(repr=False)
    trimmed_index: pd.Index = field(repr=False)
    trim_bounds: tuple | None
    search_inputs: SearchInputs | None = field(repr=False, default=None)
    overlap_note: str = field(repr=False, default="")

    def __repr__(self) -> str:
        """Short description with the call."""
        return f"<CateResults n={len(self.rows_used)} learners={list(self.settings.learners)}: {self.call}>"

    # ------------------------------------------------------------------ effects
    @property
    def effects(self) -> pd.DataFrame:
        """Unit tau-hat per learner (a copy)."""
        return self.unit_level

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Average effects: one row per estimator, ``estimate, std_error, ci_lower, ci_upper, p_value``.

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> fit.to_frame().index[0]
        'difference_in_means'
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return wald_rows(self.fit.estimates, alpha)

    def plot(self, ax: Axes | None = None, *, alpha: float | None = None) -> Axes:
        """Dot-and-whisker plot of the average effects of :meth:`to_frame` (one row per estimator).

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
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> fit.plot().get_yticklabels()[0].get_text()
        'Difference in means'
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        table, names = self.to_frame(alpha), dict(ATE_LABELS)
        return plot_estimates(table, labels=[names[k] for k in table.index], alpha=alpha, ax=ax)

    def summary(self, alpha: float | None = None) -> Summary:
        """The average effects by every estimator, then the distribution of the unit tau per learner.

        Returns
        -------
        mediationhte.report.summary.Summary
            The same object and formats as ``mediate().summary()``: ``str()``,
            ``as_latex()``, ``as_html()``, ``as_markdown()``, ``to_frame()``.

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> "AIPW (cross-fitted)" in str(fit.summary())
        True
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        units = self.unit_level.rename(columns=_LEARNER_LABELS)
        weights = weights_summary(self.data.t, self.fit.propensity.scores, self.settings.clip)
        weights.index = [f"{w}, {arm}" for w, arm in weights.index]
        models = (distribution_table(units, "Distribution of the unit-level effects (tau-hat)"),
                  StatsTable("IPTW weights by arm (propensities clipped)", weights))
        m = self.fit.matches
        footer = [("Treatment", f"{self.roles.treatment} ({self.contrast.treated} vs {self.contrast.control})"),
                  ("Treated / control", f"{int(self.data.t.sum())} / {int((1 - self.data.t).sum())}"),
                  ("Propensity model", self.fit.propensity.model_name),
                  ("Base learner", type(self.settings.base).__name__),
                  ("Cross-fitting folds", str(self.settings.n_folds)),
                  ("Propensity clip", f"[{self.settings.clip[0]:g}, {self.settings.clip[1]:g}]"),
                  ("Seed", str(self.seed_used))]
        notes = ([f"WARNING: {self.overlap_note}"] if self.overlap_note else []) + [
                 "Difference in means is descriptive unless the treatment was randomised.",
                 "Regression adjustment: OLS per arm averaged over all units (Lin 2013), influence-function SE."]
        if self.fit.propensity.design is not None:
            notes.append("IPTW and AIPW standard errors account for the estimated logistic propensity score "
                         "(M-estimation).")
        else:
            notes.append("IPTW and AIPW standard errors treat the propensity score as known (a custom propensity "
                         "model was given).")
        notes.append("Matching: nearest neighbour on the logit propensity with replacement; Abadie-Imbens (2006) "
                     "standard errors, treating the score as known."
                     + (f" Caliper {self.settings.caliper:g} SD: {_unmatched_text(m)}." if self.settings.caliper
                        else ""))
        if len(self.trimmed_index):
            notes.append(f"trim removed {len(self.trimmed_index)} rows with a propensity score outside "
                         f"[{self.trim_bounds[0]:.4g}, {self.trim_bounds[1]:.4g}]; estimates refer to the overlap "
                         "population.")
        return Summary(wald_rows(self.fit.estimates, alpha), method="ate", short_form=False, alpha=alpha,
                       n_obs=self.n_obs, footer=tuple(footer), models=models, notes=tuple(notes),
                       title="Average Treatment Effects and Heterogeneous Effects", labels=ATE_LABELS)

    # -------------------------------------------------------------- diagnostics
    @native_thread_budget
    def propensity(self) -> PropensityResults:
        """Propensity scores and overlap: AUC in sample and cross-fitted, quantiles by arm, share outside the clip.

        Returns
        -------
        mediationhte.cate.propensity.PropensityResults

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> fit.propensity().auc_in_sample < 0.6   # a randomised trial: little confounding signal
        True
        """
        ps, t = self.fit.propensity, self.data.t
        index = self.rows_used
        return PropensityResults(scores=pd.Series(ps.scores, index=index, name="propensity"),
                                 crossfit_scores=pd.Series(ps.crossfit, index=index, name="propensity_crossfit"),
                                 treatment=pd.Series(t, index=index, name=self.roles.treatment),
                                 auc_in_sample=auc(t, ps.scores), auc_crossfit=auc(t, ps.crossfit),
                                 clip=self.settings.clip, model=ps.model_name)

    def iptw_weights(self, stabilised: bool = True) -> pd.Series:
        """IPTW weights per unit (stabilised by default; propensities clipped).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> round(float(fit.iptw_weights().groupby(fit.data.t).mean().mean()), 1)   # stabilised: about 1 per arm
        1.0
        """
        w = iptw_weights(self.data.t, self.fit.propensity.scores, self.settings.clip, stabilised=stabilised)
        return pd.Series(w, index=self.rows_used, name="iptw_weight")

    def balance(self, threshold: float = 0.1) -> BalanceResults:
        """Standardised mean differences per covariate: raw, IPTW-weighted and matched, flagged at ``threshold``.

        Returns
        -------
        mediationhte.cate.balance.BalanceResults
            ``.to_frame()``, ``str()``, ``.plot()`` (love plot).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> bool((fit.balance().to_frame()["smd_weighted"].abs() < 0.1).all())   # randomised: balanced
        True
        """
        features = pd.DataFrame(self.data.X, columns=list(self.data.feature_names), index=self.rows_used)
        m = self.fit.matches
        matched = frequency_weights_from_matches(m)
        return balance_table(features, self.data.t, iptw_weights=self.iptw_weights().to_numpy(),
                             matched_weights=matched, threshold=threshold)

    @native_thread_budget
    def by(self, column: str, bins: int = 5) -> pd.DataFrame:
        """Unit tau-hat bucketed by a covariate: count, mean and SD per bucket and learner.

        Numeric covariates with more than ``bins`` distinct values are cut at
        their quantiles (``pandas.qcut``, duplicate edges dropped); others are
        grouped by level. A monotone pattern suggests real heterogeneity; a
        zig-zag suggests noise.

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> fit.by("age", bins=4).shape
        (4, 3)
        """
        covariates = self.data.covariates
        if not isinstance(column, str) or column not in covariates.columns:
            raise ParameterError(f"Parameter column must name a covariate of the formula "
                                 f"({', '.join(map(repr, covariates.columns))}); got {column!r}.",
                                 parameter="column")
        bins = V.check_positive_int("bins", bins, minimum=2)
        values = covariates[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        buckets = pd.qcut(values, bins, duplicates="drop") if numeric and values.nunique() > bins else values
        grouped = self.unit_level.groupby(buckets.to_numpy(), observed=True, sort=True)
        out = grouped.agg(["count", "mean", "std"])
        out.index.name = column
        out.columns = out.columns.set_names(["learner", "statistic"])
        return out

    @native_thread_budget
    def uplift(self, fractions: Sequence[float] = (0.1, 0.2, 0.3)) -> UpliftResults:
        """Top-k uplift slices, uplift and Qini curves, AUUC and Qini coefficient per learner.

        The treated - control difference inside a slice is a directional check
        (units are ranked by the same data), not an unbiased effect estimate.

        Returns
        -------
        mediationhte.cate.uplift.UpliftResults

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> fit.uplift(fractions=(0.2,)).slices["n"].tolist()
        [180]
        """
        return uplift(self.unit_level, self.data.y, self.data.t, fractions=fractions)

    @native_thread_budget
    def refute(self, methods: Sequence[Refuter] = ("placebo", "random_common_cause"), *, n_simulations: int = 1,
               random_state: RandomState = None, n_jobs: int = 1, progress: bool = False) -> RefutationResults:
        """Placebo-treatment and random-common-cause refutations of IPTW, AIPW and each learner.

        Returns
        -------
        mediationhte.cate.refute.RefutationResults

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> table = fit.refute(methods="placebo", random_state=1).to_frame()
        >>> table.index.get_level_values("estimator").tolist()
        ['IPTW (stabilised)', 'AIPW', 'T-learner (mean tau)']
        """
        return refute(self, methods=methods, n_simulations=n_simulations, random_state=random_state,
                      n_jobs=n_jobs, progress=progress)

    @native_thread_budget
    def bootstrap_ci(self, n_boot: int = 200, *, alpha: float | None = None, random_state: RandomState = None,
                     n_jobs: int = 1, progress: bool = False) -> BootstrapResults:
        """Nonparametric bootstrap (percentile intervals) of the average effects, refitting every model per resample.

        Returns
        -------
        mediationhte.inference.bootstrap_results.BootstrapResults

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> boot = fit.bootstrap_ci(n_boot=20, random_state=1)
        >>> boot.to_frame().shape
        (7, 5)
        """
        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return arm_bootstrap(self, n_boot=n_boot, alpha=alpha, random_state=random_state,
                             n_jobs=V.check_n_jobs(n_jobs), progress=bool(progress))

    # --------------------------------------------------------------- subgroups
    @native_thread_budget
    def subgroups(self, effect: MetaLearner | None = None, k: int | Iterable[int] = range(2, 6),
                  embedding: Embedding = "tsne", calibration: Calibration | None = None, n_permutations: int = 200,
                  alpha: float | None = None, p_threshold: float | None = None, profile: Profile = "smallest", *,
                  random_state: RandomState = None, n_jobs: int = 1, progress: bool = False) -> SubgroupResults:
        """Calibrated subgroups of the unit tau-hat: the M-learner's steps 2-4 without a mediator.

        ``effect`` names a learner column (default: the first learner fitted).
        The default test (``calibration="blp"``) is :meth:`test_heterogeneity` on
        the AIPW pseudo-outcome of the total effect, and each subgroup's effect is
        its mean AIPW pseudo-outcome on the held-out half; p_leaf tests the leaf x
        treatment interaction on the outcome; the permutation calibration refits
        that learner on data with the treatment permuted. Other options as
        :meth:`MLMediationResults.subgroups`.

        Returns
        -------
        SubgroupResults

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> sub = fit.subgroups(k=[2], calibration="split", random_state=2)
        >>> int(sub.to_frame()["n"].sum())
        899
        """
        effect = self.settings.learners[0] if effect is None else effect
        return SubgroupSearchMixin.subgroups(self, effect, k, embedding, calibration, n_permutations, alpha,
                                             p_threshold, profile, n_boot=0, random_state=random_state,
                                             n_jobs=n_jobs, progress=progress)

    def _search_inputs(self) -> SearchInputs:
        return self.search_inputs


def _unmatched_text(matches) -> str:
    return (f"{matches.n_treated_unmatched} treated and {matches.n_control_unmatched} control units had no match "
            "within it and are excluded from the matching estimates")
