"""Parametric nuisance models: Gaussian (OLS), logit and probit GLMs, and their covariance matrices.

The statsmodels result is kept for the user; the coefficient covariance used for
quasi-Bayesian draws is computed here, so that HC0-HC3 and cluster-robust
versions exist for GLMs too (statsmodels' GLM treats HC1-HC3 as HC0), matching
R's ``sandwich::vcovHC`` and ``mediation``'s cluster formula.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from statsmodels.genmod import families as sm_families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from scipy import special, stats

from mediationhte.errors import ConvergenceWarning, DataError, warn_at_caller
from mediationhte.core.immutable import readonly

FAMILIES = ("gaussian", "logit", "probit")
COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")


def inverse_link(family: str, eta: np.ndarray) -> np.ndarray:
    """Mean of the response given the linear predictor."""
    if family == "gaussian":
        return eta
    if family == "logit":
        return special.expit(eta)
    return special.ndtr(eta)


def _link_derivative(family: str, eta: np.ndarray) -> np.ndarray:
    if family == "gaussian":
        return np.ones_like(eta)
    if family == "logit":
        mu = special.expit(eta)
        return mu * (1.0 - mu)
    return np.exp(-0.5 * eta**2) / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class FittedModel:
    """One fitted mediator or outcome model.

    Attributes
    ----------
    role : {"mediator", "outcome"}
    family : {"gaussian", "logit", "probit"}
    formula : str
    column_names : tuple of str
        Design-matrix column names (patsy's).
    params : ndarray
        Coefficients (read-only).
    cov : ndarray
        Coefficient covariance of type ``cov_type`` (read-only).
    cov_type : str
    sigma : float
        Residual standard deviation sqrt(RSS / (n - p)) for Gaussian models, NaN otherwise.
    n_obs : int
    result : statsmodels results
        The statsmodels fit (its own ``cov_params()`` is classical for GLMs).
    """

    role: str
    family: str
    formula: str
    column_names: tuple[str, ...]
    params: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    cov_type: str
    sigma: float
    n_obs: int
    result: object = field(repr=False)

    @property
    def std_errors(self) -> np.ndarray:
        """Standard errors from ``cov``."""
        return np.sqrt(np.diag(self.cov))

    @property
    def statistic_name(self) -> str:
        """``"t"`` for OLS (Student t with residual df), ``"z"`` for GLMs."""
        return "t" if self.family == "gaussian" else "z"

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom n - p."""
        return self.n_obs - len(self.params)

    def coefficient_table(self, alpha: float = 0.05):
        """DataFrame with estimate, std_error, statistic, p_value, ci_lower, ci_upper per design column."""
        import pandas as pd

        se = self.std_errors
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = self.params / se
        if self.family == "gaussian":
            p = 2 * stats.t.sf(np.abs(stat), self.df_resid)
            q = stats.t.ppf(1 - alpha / 2, self.df_resid)
        else:
            p = 2 * stats.norm.sf(np.abs(stat))
            q = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {
                "estimate": self.params,
                "std_error": se,
                "statistic": stat,
                "p_value": p,
                "ci_lower": self.params - q * se,
                "ci_upper": self.params + q * se,
            },
            index=pd.Index(self.column_names, name="term"),
        )

    def info(self) -> tuple[tuple[str, str], ...]:
        """Fit statistics for the regression table footer."""
        rows = [("Observations", f"{self.n_obs}")]
        if self.family == "gaussian":
            rows += [("R-squared", f"{self.result.rsquared:.4f}"), ("Residual SD", f"{self.sigma:.4f}"),
                     ("Residual df", f"{self.df_resid}")]
        else:
            rows += [("Log-likelihood", f"{self.result.llf:.3f}"), ("Deviance", f"{self.result.deviance:.3f}")]
        rows.append(("Covariance", self.cov_type))
        return tuple(rows)


def sandwich_cov(X: np.ndarray, y: np.ndarray, params: np.ndarray, family: str, cov_type: str,
                 groups: np.ndarray | None = None) -> np.ndarray:
    """Heteroskedasticity- or cluster-robust covariance (HC0-HC3 as in R's ``sandwich::vcovHC``).

    Notes
    -----
    With scores s_i = x_i (y_i - mu_i) mu'_i / V(mu_i) and bread B = (X' W X)^{-1},
    W_i = mu'_i^2 / V(mu_i): HC0 = B (sum s_i s_i') B; HC1 scales by n / (n - p);
    HC2 divides s_i s_i' by (1 - h_i), HC3 by (1 - h_i)^2, where h_i = W_i x_i' B x_i.
    The cluster version sums scores within clusters and applies R mediation's
    (and statsmodels') correction G/(G-1) (N-1)/(N-p).
    """
    n, p = X.shape
    eta = X @ params
    mu = inverse_link(family, eta)
    dmu = _link_derivative(family, eta)
    if family == "gaussian":
        variance = np.ones(n)
    else:
        variance = np.clip(mu * (1 - mu), 1e-300, None)
    w = dmu**2 / variance
    bread = np.linalg.inv(X.T @ (X * w[:, None]))
    score_scale = (y - mu) * dmu / variance
    if cov_type == "cluster":
        codes = np.unique(groups, return_inverse=True)[1]
        n_groups = codes.max() + 1
        summed = np.zeros((n_groups, p))
        np.add.at(summed, codes, X * score_scale[:, None])
        meat = summed.T @ summed
        correction = (n_groups / (n_groups - 1)) * ((n - 1) / (n - p))
        return correction * bread @ meat @ bread
    omega = score_scale**2
    if cov_type in ("HC2", "HC3"):
        hat = w * np.einsum("ij,jk,ik->i", X, bread, X)
        omega = omega / (1 - hat) ** (1 if cov_type == "HC2" else 2)
    meat = X.T @ (X * omega[:, None])
    cov = bread @ meat @ bread
    if cov_type == "HC1":
        cov *= n / (n - p)
    return cov


def fit_model(y: np.ndarray, X: np.ndarray, column_names, *, family: str, role: str, formula: str,
              cov_type: str = "nonrobust", groups: np.ndarray | None = None) -> FittedModel:
    """Fit one mediator or outcome model and compute the requested coefficient covariance."""
    if family == "gaussian":
        result = OLS(y, X).fit()
        sigma = float(np.sqrt(result.scale))
    else:
        link = sm_families.links.Logit() if family == "logit" else sm_families.links.Probit()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = GLM(y, X, family=sm_families.Binomial(link=link)).fit(tol=1e-13, maxiter=500)
        problems = [str(w.message) for w in caught if "separation" in str(w.message).lower()
                    or "converge" in str(w.message).lower()]
        fitted = np.asarray(result.fittedvalues)
        if problems or not np.all(np.isfinite(result.params)) or np.any((fitted < 1e-10) | (fitted > 1 - 1e-10)):
            warn_at_caller(
                f"The {role} model ({family}) shows (quasi-)complete separation or did not converge: fitted "
                "probabilities of 0 or 1 occurred. Its coefficients and the effects built on them are unreliable.",
                ConvergenceWarning,
            )
        sigma = float("nan")
    params = np.asarray(result.params, dtype=float)
    if not np.all(np.isfinite(params)):
        raise DataError(f"The {role} model's coefficients are not finite; check the {role} and its covariates.",
                        role=role)
    if cov_type == "nonrobust":
        cov = np.asarray(result.cov_params(), dtype=float)
    else:
        cov = sandwich_cov(X, y, params, family, cov_type, groups)
    return FittedModel(
        role=role,
        family=family,
        formula=formula,
        column_names=tuple(column_names),
        params=readonly(params, float),
        cov=readonly(cov, float),
        cov_type=cov_type,
        sigma=sigma,
        n_obs=int(X.shape[0]),
        result=result,
    )
