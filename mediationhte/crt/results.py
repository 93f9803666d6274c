"""``CrtResults``: CATE in a cluster-randomised trial, from ``cate("y ~ treat * (x1 + x2) + (1 | cluster)", ...)``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.core import validation as V
from mediationhte.core.learners import feature_matrix
from mediationhte.core.results import FitResults
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import Calibration, ClusterWeights, Embedding, Profile, RandomState
from mediationhte.crt.bootstrap import cluster_bootstrap
from mediationhte.crt.design import CrtDesign, CrtFit, CrtSettings
from mediationhte.crt.estimation import predict_cate
from mediationhte.crt.inference import ATE_ROWS, WEIGHTS, ate_table, blp_table
from mediationhte.errors import AssumptionWarning, ParameterError, warn_at_caller
from mediationhte.formula.parse import counterfactual_matrices
from mediationhte.inference.bootstrap_results import BootstrapResults
from mediationhte.inference.intervals import percentile_interval
from mediationhte.report.plots import plot_estimates, plot_variance_components
from mediationhte.report.stats_table import StatsTable, distribution_table
from mediationhte.report.summary import Summary
from mediationhte.subgroups.search import SearchInputs, SubgroupSearchMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from mediationhte.subgroups.results import SubgroupResults


@dataclass(frozen=True, eq=False)
class CrtResults(FitResults, SubgroupSearchMixin):
    """CATE on the fixed part of the model (random intercept at its mean 0), with cluster-aware inference.

    Immutable: attributes cannot be reassigned and DataFrames come back as copies.

    Examples
    --------
    >>> import mediationhte as mh
    >>> d = mh.simulate_crt("A", random_state=1)
    >>> fit = mh.cate("y ~ treat * (x1 + x2 + x3) + x4 + v1 + (1 | cluster)", d, learner="lmm")
    >>> fit.roles.modifiers, fit.roles.prognostic
    (('x1', 'x2', 'x3'), ('x4', 'v1'))
    >>> fit.cluster_level
    ('v1',)
    """

    settings: CrtSettings = field(repr=False)
    design: CrtDesign = field(repr=False)
    design_info: object = field(repr=False)
    fit: CrtFit = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)
    cluster_level: tuple[str, ...]
    search_inputs: SearchInputs | None = field(repr=False, default=None)


    def __repr__(self) -> str:
        """Short description with the call."""
        return f"<CrtResults n={self.n_obs} clusters={self.n_clusters} learner={self.settings.learner!r}>"

    @property
    def n_clusters(self) -> int:
        """Clusters analysed."""
        return len(np.unique(self.design.groups))

    @property
    def effects(self) -> pd.DataFrame:
        """Unit CATE (``cate``; ``cate_se`` from the model for "lmm" and "lmm_shrink"), indexed like the rows."""
        out = pd.DataFrame({"cate": self.fit.cate}, index=self.rows_used)
        if self.fit.cate_se is not None:
            out["cate_se"] = self.fit.cate_se
        return out

    def cate_intervals(self, alpha: float | None = None) -> pd.DataFrame:
        """Pointwise intervals for every unit's CATE: posterior quantiles (BCF/BART) or model-based (LMM/GAMM).

        ``lmm``, ``lmm_shrink`` and ``gamm`` use the normal interval from the
        coefficients' (and BLUPs') covariance; the Bayesian learners the posterior
        draws' quantiles. The ML learners have no model-based interval: use
        ``bootstrap_ci().cate_intervals()`` (clusters resampled within arms).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> list(fit.cate_intervals().columns)
        ['cate', 'std_error', 'ci_lower', 'ci_upper']
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        fit = self.fit
        if fit.cate_draws is not None:
            lo, hi = percentile_interval(fit.cate_draws.T, alpha)
        elif fit.cate_se is not None:
            z = stats.norm.ppf(1 - alpha / 2)
            lo, hi = fit.cate - z * fit.cate_se, fit.cate + z * fit.cate_se
        else:
            raise ParameterError(f"cate_intervals: learner {self.settings.learner!r} has no model-based interval; use "
                                 "bootstrap_ci(n_boot=...).cate_intervals() (a cluster bootstrap).",
                                 parameter="learner")
        se = fit.cate_se if fit.cate_se is not None else np.full(self.n_obs, np.nan)
        return pd.DataFrame({"cate": fit.cate, "std_error": se, "ci_lower": lo, "ci_upper": hi},
                            index=self.rows_used)

    @native_thread_budget
    def predict(self, newdata: pd.DataFrame) -> pd.Series:
        """CATE for new rows: only the covariates are needed (a cluster column, if present, is ignored).

        Examples
        --------
        >>> import mediationhte as mh
        >>> d = mh.simulate_crt("A", random_state=1)
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", d, learner="lmm")
        >>> bool(abs(fit.predict(d.head(5)) - fit.effects["cate"].head(5)).max() < 1e-12)
        True
        """
        frame = V.check_dataframe(newdata)
        V.check_columns_exist(self.roles.covariates, frame, "newdata", role="covariate")
        frame = frame.loc[:, list(self.roles.covariates)].copy()
        # the treatment column only has to exist before it is set to each arm (patsy checks the stored levels)
        frame[self.roles.treatment] = self.contrast.control
        rows = counterfactual_matrices(self.design_info, frame, [{self.roles.treatment: self.contrast.treated},
                                                                 {self.roles.treatment: self.contrast.control}])
        features, names = feature_matrix(frame, self.roles.covariates)
        aligned = pd.DataFrame(features, columns=list(names)).reindex(columns=list(self.design.feature_names),
                                                                      fill_value=0.0).to_numpy()
        return pd.Series(predict_cate(self.fit, rows[0], rows[1], aligned), index=newdata.index, name="cate")

    # ------------------------------------------------------------ inference
    def ate(self, weights: ClusterWeights = "individual", alpha: float | None = None) -> pd.DataFrame:
        """Average treatment effect with individual or cluster weights, by two estimators.

        * ``cate_mean``: the weighted mean of the unit CATE; its SE is the model-based
          one for ``"lmm"`` and ``"lmm_shrink"`` (the prediction-error covariance of the
          coefficients and BLUPs), NaN for the ML learners (use :meth:`bootstrap_ci`).
        * ``adjusted``: design-based and valid for any learner, since clusters were
          randomised. Individual weights: OLS of y on T and the centred covariates
          with CR2 cluster-robust SEs and Bell & McCaffrey's (2002) degrees of freedom
          (at most G - 1; column ``df``). Cluster
          weights: OLS of the cluster means of y on T and the centred cluster means
          of the covariates, HC2 SEs, G - k df.

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> list(fit.ate("cluster").index)
        ['cate_mean_cluster', 'adjusted_cluster']
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        V.check_option("weights", weights, WEIGHTS)
        return ate_table(self.design, self.fit, weights, alpha)

    def variance_components(self) -> pd.DataFrame:
        """sigma_b^2, sigma^2 and ICC of the learner (per arm in T mode) next to the plain REML LMM's.

        Warns (AssumptionWarning) when a learner's sigma_b^2 differs from the REML
        LMM's by more than a factor of 2: the random intercept has absorbed (or
        lost) cluster-level signal.

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> fit.variance_components().columns.tolist()
        ['sigma_b2', 'sigma2', 'icc', 'slope_variance']
        """
        comp = self.fit.components.copy()  # a copy: editing the returned frame must not change the results
        ref = self.fit.lmm.sigma_b2
        for model, row in comp.iterrows():
            if "reference" in str(model):
                continue
            ratio = (row["sigma_b2"] + 1e-12) / (ref + 1e-12)
            if ratio > 2 or ratio < 0.5:
                warn_at_caller(f"variance_components: {model} has sigma_b^2 = {row['sigma_b2']:.4g}, "
                              f"{ratio:.2g} times the plain REML LMM's {ref:.4g}; the random intercept may have "
                              "absorbed cluster-level treatment or covariate signal.", AssumptionWarning)
        return comp

    def plot_variance_components(self, ax: Axes | None = None) -> Axes:
        """Between- and within-cluster variance of each model of :meth:`variance_components`, with the ICC.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw the stacked bars; by default a new figure sized to the number of models.

        Returns
        -------
        matplotlib.axes.Axes
            One bar per model (learner, arm, reference LMM), the first on top.

        Examples
        --------
        >>> import mediationhte as mh
        >>> trial = mh.simulate_crt("A", random_state=1)
        >>> ax = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", trial).plot_variance_components()
        >>> [label.get_text() for label in ax.get_yticklabels()]
        ['lmm_shrink', 'REML LMM (reference)']
        """
        return plot_variance_components(self.variance_components(), ax=ax)

    def blp(self, modifiers: Sequence[str] | None = None, alpha: float | None = None) -> pd.DataFrame:
        """Best linear projection of the CATE on ``modifiers``, with CR2 cluster-robust SEs: the heterogeneity test.

        The projection regresses the doubly robust pseudo-outcome
        mu1 - mu0 + T (y - mu1) / p - (1 - T)(y - mu0) / (1 - p) (p: the treated
        share, known by design in a CRT) on 1 and the modifiers. The table has one
        row per coefficient; ``attrs["wald_p_value"]`` is the joint test that every
        slope is 0 (no linear heterogeneity): the CR2 Wald statistic on a
        Hotelling-T^2 F reference (:func:`mediationhte.inference.cluster_robust.hotelling_pvalue`).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> fit.blp(["x1", "x2"]).index.tolist()
        ['(ATE at the mean)', 'x1', 'x2']
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        names = list(self.roles.modifiers or self.roles.covariates) if modifiers is None else (
            [modifiers] if isinstance(modifiers, str) else list(modifiers))
        bad = [m for m in names if m not in self.design.feature_names]
        if bad or not names:
            raise ParameterError(f"Parameter modifiers must name numeric feature columns among "
                                 f"{', '.join(map(repr, self.design.feature_names))}; got {modifiers!r}.",
                                 parameter="modifiers")
        return blp_table(self.design, self.fit, names, alpha)

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """The average treatment effects of :meth:`ate` with both weightings: the rows of :meth:`summary`.

        Parameters
        ----------
        alpha : float, optional
            Interval level 1 - alpha; default the fit's.

        Returns
        -------
        pandas.DataFrame
            Index ``estimator`` (``cate_mean_individual``, ``cate_mean_cluster``,
            ``adjusted_individual``, ``adjusted_cluster``); columns ``estimate,
            std_error, ci_lower, ci_upper, p_value, df`` (t intervals on ``df``).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> fit.to_frame().index.tolist()
        ['cate_mean_individual', 'cate_mean_cluster', 'adjusted_individual', 'adjusted_cluster']
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return pd.concat([self.ate(w, alpha) for w in WEIGHTS]).reindex([k for k, _ in ATE_ROWS])

    def plot(self, ax: Axes | None = None, *, alpha: float | None = None) -> Axes:
        """Dot-and-whisker plot of the average effects of :meth:`to_frame` (rows without an SE show the dot only).

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
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> fit.plot().get_yticklabels()[0].get_text()
        'Mean CATE, individual weights'
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return plot_estimates(self.to_frame(alpha), labels=[label for _, label in ATE_ROWS], alpha=alpha, ax=ax)

    def summary(self, alpha: float | None = None) -> Summary:
        """ATE (individual and cluster weights, two estimators), CATE distribution, variance components.

        Returns
        -------
        mediationhte.report.summary.Summary

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> "Variance components" in str(fit.summary())
        True
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        table = self.to_frame(alpha)[["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            comp = self.variance_components()
        models = (distribution_table(self.effects[["cate"]].rename(columns={"cate": "CATE"}),
                                     "Distribution of the unit-level CATE"),
                  StatsTable("Variance components", comp))
        notes = [f"CATE on the fixed part of the model (random intercept at 0): a unit's CATE does not depend on "
                 f"its cluster. Learner {self.settings.learner!r} ({self.settings.learner_type.upper()} mode"
                 + (", LMM warm start)" if self.settings.warm_start and self.settings.learner in ("merf", "megb")
                    else ")") + ".",
                 "Intervals use t quantiles: Bell-McCaffrey df for the CR2 regression, G - 1 df for the model-based "
                 "(LMM) rows; the df column says which.",
                 *[str(w.message) for w in caught]]
        if self.fit.cate_L is None and self.fit.cate_draws is None:
            notes.append("The mean-CATE rows have no SE for ML learners; bootstrap_ci() resamples clusters within "
                         "arms.")
        if self.cluster_level:
            notes.append("Cluster-level covariates (effective sample size = clusters): "
                         f"{', '.join(self.cluster_level)}.")
        labels = tuple((k, v) for k, v in ATE_ROWS)
        return Summary(table, method="crt", short_form=False, alpha=alpha, n_obs=self.n_obs,
                       footer=(("Clusters", str(self.n_clusters)), ("Cluster id", self.roles.cluster),
                               ("Treatment", self.roles.treatment),
                               ("Effect modifiers", ", ".join(self.roles.modifiers) or "none"),
                               ("Seed", str(self.seed_used))),
                       models=models, notes=tuple(notes), title="CATE in a Cluster-Randomised Trial", labels=labels)

    @native_thread_budget
    def subgroups(self, k: int | Iterable[int] = range(2, 6), embedding: Embedding = "tsne",
                  calibration: Calibration | None = None, n_permutations: int = 200, alpha: float | None = None,
                  p_threshold: float | None = None, profile: Profile = "smallest", *, random_state: RandomState = None,
                  n_jobs: int = 1, progress: bool = False) -> SubgroupResults:
        """Calibrated subgroups of the unit CATE (M-learner steps 2-4), with cluster-aware tests.

        As :meth:`CateResults.subgroups`, except that the default test
        (``calibration="blp"``) uses the doubly robust score with the design's
        treated share, CR2 standard errors and whole clusters in each half; p_leaf is a CR2 cluster-robust
        Wald test of the leaf x treatment interaction on the outcome (Hotelling-scaled
        F reference, :func:`mediationhte.inference.cluster_robust.hotelling_pvalue`),
        the permutation calibration swaps whole clusters' arms (the trial's own
        randomisation) and refits the learner each time, and the split keeps
        clusters whole.

        Returns
        -------
        SubgroupResults

        Examples
        --------
        >>> import mediationhte as mh
        >>> d = mh.simulate_crt("A", random_state=1)
        >>> fit = mh.cate("y ~ treat * (x1 + x2 + x3) + (1 | cluster)", d, learner="lmm")
        >>> sub = fit.subgroups(k=[2, 3], calibration="split", random_state=2)
        >>> int(sub.to_frame()["n"].sum()) == fit.n_obs
        True
        """
        return SubgroupSearchMixin.subgroups(self, "cate", k, embedding, calibration, n_permutations, alpha,
                                             p_threshold, profile, n_boot=0, random_state=random_state,
                                             n_jobs=n_jobs, progress=progress)

    def _search_inputs(self) -> SearchInputs:
        return self.search_inputs

    @native_thread_budget
    def bootstrap_ci(self, n_boot: int = 200, *, alpha: float | None = None, random_state: RandomState = None,
                     n_jobs: int = 1, progress: bool = False) -> BootstrapResults:
        """Cluster bootstrap stratified by arm: resample whole clusters within each arm and refit everything.

        Returns
        -------
        mediationhte.inference.bootstrap_results.BootstrapResults
            ``.to_frame()`` (percentile intervals for the mean CATE with both weightings),
            ``.cate_intervals()`` (pointwise intervals for every unit's CATE).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", mh.simulate_crt("A", random_state=1))
        >>> boot = fit.bootstrap_ci(n_boot=10, random_state=2)
        >>> boot.cate_intervals().shape[0] == fit.n_obs
        True
        """
        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return cluster_bootstrap(self, n_boot=n_boot, alpha=alpha, random_state=random_state,
                                 n_jobs=V.check_n_jobs(n_jobs), progress=bool(progress))
