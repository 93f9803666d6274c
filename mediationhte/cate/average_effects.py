"""Average treatment effect estimators for ``cate()``, each with an influence-function standard error.

Every estimator returns its point estimate and the per-unit influence function
(IF) values, so the standard error is sd(IF) / sqrt(n) and the bootstrap or a
stacked analysis can reuse them. Closed forms:

* difference in means: Welch-type IF (descriptive unless treatment is randomised);
* regression adjustment: OLS of Y on the covariates in each arm, averaged over
  all units (Lin 2013); the IF is that of the fully interacted regression, whose
  sandwich variance is the HC0 form of Lin's estimator;
* IPTW, Horvitz-Thompson (weights 1/e, 1/(1 - e), means over n) and IPTW with
  stabilised weights p/e, (1 - p)/(1 - e) normalised within arm (Hajek); with the
  default logistic propensity model the IF includes the term for the estimated
  coefficients (M-estimation; Lunceford & Davidian 2004), otherwise e(x) is
  treated as known (stated in the summary);
* AIPW: cross-fitted outcome models and propensity, the efficient IF plus, for
  the default logistic model, the estimated-score term (which keeps the SE
  honest when the outcome models are off).

Propensities are clipped to ``clip`` everywhere they are inverted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.cate.propensity import PropensityFit
from mediationhte.core.validation import aliased_columns

#: Row keys and printed labels of the average-effect table, in print order.
ATE_LABELS = (
    ("difference_in_means", "Difference in means"),
    ("regression_adjustment", "Regression adjustment"),
    ("iptw", "IPTW (1/e weights, Horvitz-Thompson)"),
    ("iptw_stabilised", "IPTW (stabilised, normalised)"),
    ("aipw", "AIPW (cross-fitted)"),
    ("matching_att", "PS matching, ATT"),
    ("matching_ate", "PS matching, ATE"),
)


@dataclass(frozen=True, eq=False)
class Estimate:
    """A point estimate with its influence-function values (None when the SE comes from elsewhere)."""

    estimate: float
    influence: np.ndarray | None
    std_error: float | None = None

    def se(self) -> float:
        """Standard error: from the influence function, or the one given."""
        if self.influence is not None:
            return float(np.std(self.influence, ddof=1) / np.sqrt(len(self.influence)))
        return float("nan") if self.std_error is None else float(self.std_error)


def difference_in_means(y: np.ndarray, t: np.ndarray) -> Estimate:
    """Mean outcome of the treated minus that of the controls."""
    p = t.mean()
    m1, m0 = y[t == 1].mean(), y[t == 0].mean()
    influence = t * (y - m1) / p - (1 - t) * (y - m0) / (1 - p)
    return Estimate(float(m1 - m0), influence)


def _full_rank(X: np.ndarray) -> np.ndarray:
    drop = aliased_columns(np.column_stack([np.ones(len(X)), X]))
    keep = [j for j in range(X.shape[1]) if j + 1 not in set(drop)]
    return X[:, keep]


def regression_adjustment(y: np.ndarray, t: np.ndarray, X: np.ndarray) -> Estimate:
    """Lin's (2013) estimator: OLS per arm on centred covariates, averaged over every unit.

    The estimate is the coefficient of T in y ~ T + Xc + T:Xc (Xc centred at the
    full-sample mean); its IF accounts for the estimated covariate means.
    """
    Xf = _full_rank(X)
    n = len(y)
    Xc = Xf - Xf.mean(axis=0)
    D = np.column_stack([np.ones(n), Xc])
    beta, parts = {}, {}
    for arm in (0, 1):
        rows = t == arm
        beta[arm] = np.linalg.lstsq(D[rows], y[rows], rcond=None)[0]
        # IF of the arm's prediction at the sample mean, a'beta with a = (1, 0, ..., 0):
        # a' (D'D/n)^-1 D_i residual_i for the arm's rows.
        v = np.linalg.lstsq(D[rows].T @ D[rows] / n, np.eye(D.shape[1])[0], rcond=None)[0]
        parts[arm] = (t == arm) * (D @ v) * (y - D @ beta[arm])
    tau = float(beta[1][0] - beta[0][0])
    # plus the term for centring at the estimated covariate means
    influence = parts[1] - parts[0] + Xc @ (beta[1][1:] - beta[0][1:])
    return Estimate(tau, influence)


def _clipped(e: np.ndarray, clip) -> np.ndarray:
    return np.clip(e, clip[0], clip[1])


def iptw_horvitz_thompson(y: np.ndarray, t: np.ndarray, ps: PropensityFit, clip) -> Estimate:
    """sum(T Y / e - (1 - T) Y / (1 - e)) / n, with the estimated-score correction for the default model."""
    e = _clipped(ps.scores, clip)
    psi = t * y / e - (1 - t) * y / (1 - e)
    tau = float(psi.mean())
    influence = psi - tau
    grad = ps.score_gradient(clip)
    if grad is not None:
        # d psi / d beta = -(T Y / e^2 + (1 - T) Y / (1 - e)^2) de/dbeta
        dpsi = -(t * y / e**2 + (1 - t) * y / (1 - e) ** 2)[:, None] * grad
        influence = influence + ps.coefficient_influence(t) @ dpsi.mean(axis=0)
    return Estimate(tau, influence)


def iptw_hajek(y: np.ndarray, t: np.ndarray, ps: PropensityFit, clip) -> Estimate:
    """Weighted arm means with stabilised weights p/e and (1 - p)/(1 - e), normalised within arm.

    Normalisation cancels the constants p and 1 - p, so the estimate equals the
    Hajek estimator with 1/e weights; stabilisation matters for the weights'
    scale (reported in ``weights_summary``), not for this estimate.
    """
    e = _clipped(ps.scores, clip)
    w1, w0 = t / e, (1 - t) / (1 - e)
    mu1, mu0 = np.sum(w1 * y) / w1.sum(), np.sum(w0 * y) / w0.sum()
    s1, s0 = w1 * (y - mu1), w0 * (y - mu0)
    grad = ps.score_gradient(clip)
    if grad is not None:
        beta_if = ps.coefficient_influence(t)
        s1 = s1 + beta_if @ (-(t * (y - mu1) / e**2)[:, None] * grad).mean(axis=0)
        s0 = s0 + beta_if @ (((1 - t) * (y - mu0) / (1 - e) ** 2)[:, None] * grad).mean(axis=0)
    influence = s1 / w1.mean() - s0 / w0.mean()
    return Estimate(float(mu1 - mu0), influence)


def aipw(y: np.ndarray, t: np.ndarray, mu0: np.ndarray, mu1: np.ndarray, e: np.ndarray, clip,
         ps: PropensityFit | None = None) -> tuple[Estimate, np.ndarray]:
    """Augmented IPW with cross-fitted nuisances; returns the estimate and the per-unit pseudo-outcome.

    With ``ps`` (the default logistic model) the influence function also carries
    the term for the estimated score (M-estimation at the cross-fitted scores).
    It matters when the outcome models are off: the estimated score then removes
    part of their error, and the plain efficient-IF variance overstates the
    variance (Lunceford & Davidian 2004).
    """
    raw = e
    e = _clipped(e, clip)
    pseudo = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    tau = float(pseudo.mean())
    influence = pseudo - tau
    grad = None if ps is None else ps.score_gradient(clip, scores=raw)
    if grad is not None:
        dpsi = -(t * (y - mu1) / e**2 + (1 - t) * (y - mu0) / (1 - e) ** 2)[:, None] * grad
        influence = influence + ps.coefficient_influence(t) @ dpsi.mean(axis=0)
    return Estimate(tau, influence), pseudo


def weights_summary(t: np.ndarray, e: np.ndarray, clip) -> pd.DataFrame:
    """Distribution of the IPTW weights by arm (mean, median, 90/95/99% quantiles, max), raw and stabilised."""
    e = _clipped(e, clip)
    p = t.mean()
    rows = {}
    for name, w in (("1/e", np.where(t == 1, 1 / e, 1 / (1 - e))),
                    ("stabilised", np.where(t == 1, p / e, (1 - p) / (1 - e)))):
        for arm, code in (("control", 0), ("treated", 1)):
            v = w[t == code]
            rows[(name, arm)] = {"mean": v.mean(), "median": np.median(v), "q90": np.quantile(v, 0.9),
                                 "q95": np.quantile(v, 0.95), "q99": np.quantile(v, 0.99), "max": v.max()}
    out = pd.DataFrame(rows).T
    out.index.names = ["weights", "arm"]
    return out


def iptw_weights(t: np.ndarray, e: np.ndarray, clip, stabilised: bool = True) -> np.ndarray:
    """Per-unit IPTW weights (stabilised p/e and (1 - p)/(1 - e) by default), propensities clipped."""
    e = _clipped(e, clip)
    if not stabilised:
        return np.where(t == 1, 1 / e, 1 / (1 - e))
    p = t.mean()
    return np.where(t == 1, p / e, (1 - p) / (1 - e))


def wald_rows(estimates: dict[str, Estimate], alpha: float) -> pd.DataFrame:
    """Estimate, SE, normal interval and two-sided p-value per estimator, in the order of :data:`ATE_LABELS`."""
    z = stats.norm.ppf(1 - alpha / 2)
    rows = {}
    for key, _ in ATE_LABELS:
        if key not in estimates:
            continue
        est, se = estimates[key].estimate, estimates[key].se()
        with np.errstate(divide="ignore", invalid="ignore"):
            p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan")
        rows[key] = {"estimate": est, "std_error": se, "ci_lower": est - z * se, "ci_upper": est + z * se,
                     "p_value": p}
    out = pd.DataFrame(rows).T
    out.index.name = "estimator"
    return out.astype(float)
