"""Propensity scores e(x) = P(T = 1 | X = x): fit, overlap diagnostics, trimming, and the score's influence function.

The default model is a standardised logistic regression (``StandardScaler`` then
``LogisticRegression(max_iter=2000)``, scikit-learn's default L2 penalty C = 1)
fitted in sample, so a hand-written analysis with the same two lines gives the
same scores. Any scikit-learn classifier with ``predict_proba`` is accepted.

For the default model the module also gives the influence function of the fitted
coefficients, so the IPTW standard errors can account for the estimated score
(M-estimation, Lunceford & Davidian 2004) rather than treat it as known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tabulate import tabulate

from mediationhte.core.immutable import CopyOnRead, freeze_arrays, readonly
from mediationhte.core.learners import crossfit_folds, seeded_clone
from mediationhte.core.random_state import spawn_seeds
from mediationhte.errors import DroppedRowsWarning, ParameterError, warn_at_caller
from mediationhte.report.plots import pyplot
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Quantiles of e(x) reported per arm.
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


def default_propensity_model():
    """The default propensity model: ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _is_default_logistic(model) -> bool:
    """True for a fitted (StandardScaler, LogisticRegression) pipeline with an L2 or no penalty."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return False
    scaler, logit = model.steps[0][1], model.steps[1][1]
    if not (isinstance(scaler, StandardScaler) and isinstance(logit, LogisticRegression)):
        return False
    params = logit.get_params()
    return (params.get("l1_ratio") in (None, 0, 0.0) and params.get("penalty", "l2") in ("l2", None, "deprecated")
            and bool(params.get("fit_intercept", True)))


def _inverse_penalty(logit) -> float:
    """C of an L2-penalised LogisticRegression (inf when unpenalised, with either spelling of sklearn)."""
    params = logit.get_params()
    return np.inf if params.get("penalty", "l2") is None else float(params["C"])


@dataclass(frozen=True, eq=False)
class PropensityFit:
    """Fitted propensity scores (internal; :class:`PropensityResults` is the user-facing view).

    Attributes
    ----------
    scores : ndarray
        In-sample e(x), unclipped (IPTW, matching, the X-learner's blend).
    crossfit : ndarray
        Out-of-fold e(x) from the same model refitted on the other folds (AIPW, DR-learner).
    folds : ndarray
        Fold of each unit (shared with the outcome models of AIPW and the DR-learner).
    design : ndarray or None
        The standardised design [1, z] of the default logistic model, for the
        coefficients' influence function (None for other models).
    hessian_inverse : ndarray or None
        Inverse of the average Hessian of the penalised logistic objective.
    penalty : ndarray or None
        Per-unit share of the L2 penalty's gradient (w / (n C), intercept 0).
    """

    scores: np.ndarray = field(repr=False)
    crossfit: np.ndarray = field(repr=False)
    folds: np.ndarray = field(repr=False)
    model_name: str = ""
    design: np.ndarray | None = field(repr=False, default=None)
    hessian_inverse: np.ndarray | None = field(repr=False, default=None)
    penalty: np.ndarray | None = field(repr=False, default=None)

    def __post_init__(self):
        freeze_arrays(self)

    def coefficient_influence(self, t: np.ndarray) -> np.ndarray | None:
        """Influence function (n, p) of the logistic coefficients, or None for a model other than the default."""
        if self.design is None:
            return None
        score = self.design * (t - self.scores)[:, None] - self.penalty
        return score @ self.hessian_inverse.T

    def score_gradient(self, clip, scores: np.ndarray | None = None) -> np.ndarray | None:
        """Gradient of the clipped score in the coefficients, (n, p): zero where the clip binds; None otherwise.

        ``scores`` evaluates it at other scores of the same model (the cross-fitted
        ones, whose fold coefficients estimate the same beta).
        """
        if self.design is None:
            return None
        e = self.scores if scores is None else scores
        inside = (e > clip[0]) & (e < clip[1])
        return self.design * (e * (1 - e) * inside)[:, None]


def fit_propensity(X: np.ndarray, t: np.ndarray, template, *, n_folds: int, rng: np.random.Generator,
                   folds: np.ndarray | None = None) -> PropensityFit:
    """Fit e(x) in sample and out of fold (folds stratified by treatment), with child seeds from ``rng``."""
    if folds is None:
        folds = crossfit_folds(t, n_folds, rng)
    seeds = spawn_seeds(rng, n_folds + 1)
    model = seeded_clone(template, seeds[0]).fit(X, t)
    scores = _positive_class(model, X)
    crossfit = np.empty(len(t))
    for k in range(int(folds.max()) + 1):
        test = folds == k
        fold_model = seeded_clone(template, seeds[k + 1]).fit(X[~test], t[~test])
        crossfit[test] = _positive_class(fold_model, X[test])
    design = hessian_inverse = penalty = None
    if _is_default_logistic(model):
        scaler, logit = model.steps[0][1], model.steps[1][1]
        design = np.column_stack([np.ones(len(t)), scaler.transform(X)])
        w = np.r_[logit.intercept_, logit.coef_.ravel()]
        n = len(t)
        C = _inverse_penalty(logit)
        ridge = np.r_[0.0, np.full(len(w) - 1, 0.0 if np.isinf(C) else 1.0 / (n * C))]
        hessian = (design * (scores * (1 - scores))[:, None]).T @ design / n + np.diag(ridge)
        hessian_inverse = np.linalg.pinv(hessian)
        penalty = (ridge * w)[None, :]
    return PropensityFit(scores=readonly(scores), crossfit=readonly(crossfit), folds=readonly(folds),
                         model_name=_describe(model), design=readonly(design),
                         hessian_inverse=readonly(hessian_inverse), penalty=readonly(penalty))


def _positive_class(model, X) -> np.ndarray:
    if not hasattr(model, "predict_proba"):
        raise ParameterError(
            f"Parameter propensity_learner must be a classifier with predict_proba; got {type(model).__name__}.",
            parameter="propensity_learner",
        )
    proba = model.predict_proba(X)
    classes = list(getattr(model, "classes_", [0, 1]))
    return np.asarray(proba[:, classes.index(1)], dtype=float)


def _describe(model) -> str:
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return " -> ".join(type(step).__name__ for _, step in model.steps)
    return type(model).__name__


def crump_bounds(scores: np.ndarray) -> tuple[float, float]:
    """The optimal overlap region [a, 1 - a] of Crump, Hotz, Imbens & Mitnik (2009).

    With gamma = 1 / (e (1 - e)): a = 0 when max gamma <= 2 mean gamma; otherwise
    lambda = 1 / (a (1 - a)) solves lambda = 2 E[gamma | gamma <= lambda].
    """
    e = np.clip(np.asarray(scores, dtype=float), 1e-12, 1 - 1e-12)
    gamma = np.sort(1.0 / (e * (1.0 - e)))
    if gamma[-1] <= 2.0 * gamma.mean():
        return 0.0, 1.0
    half_means = 2.0 * np.cumsum(gamma) / np.arange(1, len(gamma) + 1)
    # the smallest k at which the next gamma exceeds twice the mean of the first k
    k = int(np.argmax(gamma[1:] > half_means[:-1])) + 1
    lam = half_means[k - 1]
    a = 0.5 - np.sqrt(max(0.25 - 1.0 / lam, 0.0))
    return float(a), float(1.0 - a)


def trim_rows(scores: np.ndarray, trim) -> tuple[np.ndarray, tuple[float, float]]:
    """Boolean mask of the rows kept by ``trim`` ("crump" or a (low, high) range) and the bounds used."""
    if isinstance(trim, str):
        if trim != "crump":
            raise ParameterError(f"Parameter trim must be None, 'crump' or a (low, high) pair; got {trim!r}.",
                                 parameter="trim")
        bounds = crump_bounds(scores)
    else:
        try:
            lo, hi = (float(v) for v in trim)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Parameter trim must be None, 'crump' or a (low, high) pair; got {trim!r}.",
                                 parameter="trim") from exc
        if not 0.0 <= lo < hi <= 1.0:
            raise ParameterError(f"Parameter trim=({lo}, {hi}) must satisfy 0 <= low < high <= 1.",
                                 parameter="trim")
        bounds = (lo, hi)
    keep = (scores >= bounds[0]) & (scores <= bounds[1])
    return keep, bounds


def warn_trimmed(n_dropped: int, n: int, bounds) -> None:
    """Tell the user how many rows the overlap trimming removed."""
    if n_dropped:
        warn_at_caller(
            f"trim: dropped {n_dropped} of {n} rows with a propensity score outside [{bounds[0]:.4g}, "
            f"{bounds[1]:.4g}]; every estimate refers to the remaining overlap population.",
            DroppedRowsWarning,
        )


#: Overlap is flagged when more than this share of units has an in-sample propensity outside the clip range ...
OVERLAP_SHARE = 0.05
#: ... or the out-of-fold propensity separates the arms this well (ROC AUC).
OVERLAP_AUC = 0.95


def overlap_problem(t: np.ndarray, ps: PropensityFit, clip) -> str:
    """A sentence describing failed overlap ("" when overlap looks adequate).

    Overlap fails when many units have propensities outside the clip range (their
    weights are clipped, so IPTW/AIPW rest on extrapolation) or when the propensity
    model separates the arms (AUC near 1: matched pairs are far apart).
    """
    lo, hi = clip
    outside = int(np.sum((ps.scores < lo) | (ps.scores > hi)))
    area = auc(t, ps.crossfit)
    if outside <= OVERLAP_SHARE * len(t) and area <= OVERLAP_AUC:
        return ""
    return (f"Overlap fails: {outside} of {len(t)} units ({outside / len(t):.0%}) have a propensity score outside "
            f"[{lo:g}, {hi:g}] and the out-of-fold propensity separates the arms with AUC {area:.3f}. The IPTW, AIPW, "
            "matching and DR-learner estimates then rest on extrapolation between arms that share few covariate "
            "values; see propensity() and consider trim= or a narrower population.")


def auc(t: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of the scores for the treatment (0.5: no confounding signal)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(t, scores))


@dataclass(frozen=True, eq=False)
class PropensityResults(CopyOnRead):
    """Propensity scores and overlap diagnostics, from ``CateResults.propensity()``.

    Attributes
    ----------
    scores : pandas.Series
        In-sample e(x), indexed like the rows used.
    crossfit_scores : pandas.Series
        Out-of-fold e(x).
    treatment : pandas.Series
        0/1 treatment of the same rows.
    auc_in_sample, auc_crossfit : float
        ROC AUC of the scores for the treatment; near 0.5 means little
        confounding signal, near 1 strong confounding or poor overlap.
    clip : tuple of float
        The clipping range of ``cate(clip=...)``.
    model : str
        The propensity model.

    Examples
    --------
    >>> import mediationhte as mh
    >>> jobs = mh.load_jobs()
    >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", jobs, learner="t", random_state=1)
    >>> p = fit.propensity()
    >>> round(p.auc_in_sample, 3) < 0.6   # randomised: little signal
    True
    >>> p.quantiles().shape
    (2, 9)
    >>> "Quantiles of e(x) by arm" in str(p.summary())
    True
    """

    scores: pd.Series = field(repr=False)
    crossfit_scores: pd.Series = field(repr=False)
    treatment: pd.Series = field(repr=False)
    auc_in_sample: float
    auc_crossfit: float
    clip: tuple[float, float]
    model: str


    def quantiles(self) -> pd.DataFrame:
        """Quantiles of e(x) by arm: rows ``control``/``treated``, columns the probabilities of :data:`QUANTILES`."""
        e, t = self.scores, self.treatment
        rows = {arm: np.quantile(e[t == code].to_numpy(), QUANTILES) for arm, code in (("control", 0),
                                                                                        ("treated", 1))}
        return pd.DataFrame(rows, index=pd.Index([f"{q:g}" for q in QUANTILES], name="quantile")).T

    def share_outside(self, clip: tuple[float, float] | None = None) -> pd.Series:
        """Share of units whose in-sample e(x) lies outside ``clip`` (default: the fit's), overall and by arm."""
        lo, hi = self.clip if clip is None else clip
        e, t = self.scores, self.treatment
        out = (e < lo) | (e > hi)
        return pd.Series({"all": float(out.mean()), "control": float(out[t == 0].mean()),
                          "treated": float(out[t == 1].mean())}, name=f"share outside [{lo:g}, {hi:g}]")

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``treatment``, ``propensity`` (in sample), ``propensity_crossfit``."""
        return pd.DataFrame({"treatment": self.treatment, "propensity": self.scores,
                             "propensity_crossfit": self.crossfit_scores})

    def summary(self) -> Summary:
        """The diagnostics as a :class:`~mediationhte.report.summary.Summary`.

        Returns
        -------
        mediationhte.report.summary.Summary
            The quantiles of e(x) by arm and the shares outside the clip range as
            tables; the model and both AUCs in the footer.
        """
        share = self.share_outside()
        lo, hi = self.clip
        return Summary(title="Propensity Score Diagnostics", n_obs=len(object.__getattribute__(self, "scores")),
                       footer=(("Propensity model", self.model), ("AUC in sample", f"{self.auc_in_sample:.4f}"),
                               ("AUC cross-fitted", f"{self.auc_crossfit:.4f}"), ("Clip range", f"[{lo:g}, {hi:g}]")),
                       models=(StatsTable("Quantiles of e(x) by arm", self.quantiles()),
                               StatsTable(f"Share of units with e(x) outside [{lo:g}, {hi:g}]",
                                          share.to_frame("Share"))),
                       notes=("AUC near 0.5: little confounding signal; near 1: strong confounding or poor "
                              "overlap.",))

    def __str__(self) -> str:
        """Plain-text report: model, AUCs, quantiles by arm, share outside the clip range."""
        q = self.quantiles()
        table = tabulate(q.round(4).reset_index().values.tolist(), headers=["arm", *q.columns], tablefmt="simple",
                         floatfmt=".4f")
        share = self.share_outside()
        return (f"Propensity score: {self.model}\n"
                f"AUC in sample {self.auc_in_sample:.4f}, cross-fitted {self.auc_crossfit:.4f}\n\n"
                f"Quantiles of e(x) by arm\n{table}\n\n"
                f"Share outside [{self.clip[0]:g}, {self.clip[1]:g}]: {share['all']:.4f} "
                f"(control {share['control']:.4f}, treated {share['treated']:.4f})\n")

    def __repr__(self) -> str:
        """Return the text report."""
        return str(self)

    def plot(self, ax: Axes | None = None, *, bins: int = 40) -> Axes:
        """Overlapping histograms of e(x) by arm (density scale), with the clip range marked.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        bins : int, default 40
            Equal-width bins on [0, 1].

        Returns
        -------
        matplotlib.axes.Axes
        """
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        e, t = self.scores.to_numpy(), self.treatment.to_numpy()
        edges = np.linspace(0.0, 1.0, int(bins) + 1)
        ax.hist(e[t == 0], bins=edges, density=True, alpha=0.5, label="control")
        ax.hist(e[t == 1], bins=edges, density=True, alpha=0.5, label="treated")
        for bound in self.clip:
            ax.axvline(bound, color="grey", linestyle=":", linewidth=0.8)
        ax.set_xlabel("propensity score e(x)")
        ax.set_ylabel("density")
        ax.legend(frameon=False)
        return ax
