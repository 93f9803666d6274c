"""Counterfactual means and the mediation estimands (ACME, ADE, total, proportion mediated).

Notation (Imai, Keele & Tingley 2010): for unit i, mu_i(t, t') = E[Y_i(t, M_i(t')) | X_i].
ACME(t) = delta(t) = mean_i mu_i(t, 1) - mu_i(t, 0); ADE(t) = zeta(t) = mean_i mu_i(1, t) - mu_i(0, t);
total = (delta(0) + delta(1) + zeta(0) + zeta(1)) / 2; proportion mediated = delta(t) / total.

Everything here is vectorised over ``S`` coefficient sets (quasi-Bayesian draws or
bootstrap refits): mediator coefficients ``(S, p_m)``, outcome coefficients
``(S, p_y)``, unit-level means ``(n, S)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy

from mediationhte.formula.parse import ModelSpec, assign_column, counterfactual_matrices, counterfactual_matrix
from mediationhte.mediation.models import inverse_link
#: Gauss-Hermite nodes for integrating a nonlinear outcome over a Gaussian mediator.
N_QUADRATURE = 40
#: Columns of counterfactual work handled at once, so memory stays linear in n.
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class CounterfactualDesign:
    """Design matrices under the contrasted treatment values, built once from the stored DesignInfo.

    ``X_mediator[t]`` is the mediator design with the treatment at control (t=0) or
    treated (t=1). When the outcome design is affine in the mediator,
    ``X_outcome(t, m) = A[t] + m * B[t]`` row by row (always true for a binary
    mediator, checked numerically otherwise); if not, outcome designs are built
    from ``frame`` on demand.
    """

    X_mediator: tuple[np.ndarray, np.ndarray] = field(repr=False)
    affine: bool
    A: tuple[np.ndarray, np.ndarray] | None = field(repr=False)
    B: tuple[np.ndarray, np.ndarray] | None = field(repr=False)
    mediator_values: tuple[object, object] | None
    frame: pd.DataFrame = field(repr=False)
    outcome_info: patsy.DesignInfo = field(repr=False)
    treatment: str
    mediator: str
    treatment_values: tuple[object, object]

    @property
    def n(self) -> int:
        """Number of units."""
        return self.X_mediator[0].shape[0]

    def __getstate__(self) -> dict:
        # patsy's DesignInfo cannot be pickled (pydata/patsy#26), and replicates sent to worker processes or a
        # Dask cluster are. An affine design never needs it (outcome designs are A + m B), so it stays behind.
        state = dict(self.__dict__)
        if self.affine:
            state["outcome_info"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def outcome_design(self, t: int, m) -> np.ndarray:
        """Outcome design with treatment arm ``t`` and mediator values ``m`` (scalar or per-row array)."""
        return counterfactual_matrix(
            self.outcome_info, self.frame, {self.treatment: self.treatment_values[t], self.mediator: m}
        )


def build_counterfactual_design(spec: ModelSpec, frame: pd.DataFrame, contrast, mediator_family: str,
                                observed_mediator: np.ndarray, covariates: dict | None) -> CounterfactualDesign:
    """Build the counterfactual design matrices (covariate values fixed as in R's ``covariates=``)."""
    roles = spec.roles
    base = frame.copy()
    for column, value in (covariates or {}).items():
        assign_column(base, column, value)
    tvals = (contrast.control, contrast.treated)
    X_med = tuple(counterfactual_matrices(spec.mediator_info, base, [{roles.treatment: tv} for tv in tvals]))
    if mediator_family == "gaussian":
        lo, hi = float(np.min(observed_mediator)), float(np.max(observed_mediator))
        probes = (lo, hi, lo + 0.37 * (hi - lo), lo + 0.81 * (hi - lo))
        mediator_values = None
    else:
        series = frame[roles.mediator]
        v0, v1 = (False, True) if pd.api.types.is_bool_dtype(series) else (0, 1)
        probes = (v0, v1)
        mediator_values = (v0, v1)
    A, B, affine = [], [], True
    try:
        with np.errstate(all="ignore"):
            probed = counterfactual_matrices(spec.outcome_info, base, [
                {roles.treatment: tv, roles.mediator: m} for tv in tvals for m in probes])
    except (patsy.PatsyError, ValueError, TypeError):
        affine, probed = False, []
    for arm in range(len(tvals) if affine else 0):
        designs = probed[arm * len(probes):(arm + 1) * len(probes)]
        slope = (designs[1] - designs[0]) / (float(probes[1]) - float(probes[0]))
        intercept = designs[0] - float(probes[0]) * slope
        for m, design in zip(probes[2:], designs[2:]):
            if not np.allclose(intercept + float(m) * slope, design, rtol=1e-9, atol=1e-9):
                affine = False
        if not (np.all(np.isfinite(intercept)) and np.all(np.isfinite(slope))):
            affine = False
        A.append(intercept)
        B.append(slope)
    return CounterfactualDesign(
        X_mediator=X_med,
        affine=affine,
        A=tuple(A) if affine else None,
        B=tuple(B) if affine else None,
        mediator_values=mediator_values,
        frame=base,
        outcome_info=spec.outcome_info,
        treatment=roles.treatment,
        mediator=roles.mediator,
        treatment_values=tvals,
    )


def _outcome_eta(cf: CounterfactualDesign, t: int, M: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Outcome linear predictor (n, C) for mediator values ``M`` (n, C) paired with coefficients ``beta`` (C, p)."""
    if cf.affine:
        return cf.A[t] @ beta.T + M * (cf.B[t] @ beta.T)
    n, C = M.shape
    out = np.empty((n, C))
    chunk = max(1, _CHUNK_CELLS // max(n * beta.shape[1], 1))
    for start in range(0, C, chunk):
        stop = min(C, start + chunk)
        stacked = pd.concat([cf.frame] * (stop - start), ignore_index=True)
        assign_column(stacked, cf.treatment, cf.treatment_values[t])
        stacked[cf.mediator] = M[:, start:stop].T.reshape(-1)
        (X,) = patsy.build_design_matrices([cf.outcome_info], stacked, NA_action="raise")
        X = np.asarray(X, dtype=float).reshape(stop - start, n, -1)
        out[:, start:stop] = np.einsum("cnp,cp->nc", X, beta[start:stop])
    return out


def counterfactual_means(cf: CounterfactualDesign, alpha: np.ndarray, beta: np.ndarray, sigma: np.ndarray,
                         mediator_family: str, outcome_family: str, *, rng: np.random.Generator | None = None
                         ) -> dict[tuple[int, int], np.ndarray]:
    """Unit-level mu(t, t') for t, t' in {0, 1}, each of shape (n, S).

    Parameters
    ----------
    cf : CounterfactualDesign
    alpha : ndarray (S, p_m)
        Mediator-model coefficients.
    beta : ndarray (S, p_y)
        Outcome-model coefficients.
    sigma : ndarray (S,)
        Residual SD of a Gaussian mediator (ignored for binary mediators).
    rng : numpy.random.Generator, optional
        ``None`` integrates the mediator out exactly (two-point sum for a binary
        mediator, closed form for a Gaussian outcome affine in a Gaussian mediator,
        Gauss-Hermite quadrature otherwise): the deterministic estimator. A
        Generator simulates one mediator value per unit and coefficient set, as R's
        ``mediate`` does, with common random numbers across the two arms for a
        Gaussian mediator and independent draws for a binary one.
    """
    alpha = np.atleast_2d(alpha)
    beta = np.atleast_2d(beta)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (alpha.shape[0],))
    n, S = cf.n, alpha.shape[0]
    med_mean = [inverse_link(mediator_family, cf.X_mediator[tp] @ alpha.T) for tp in (0, 1)]
    out: dict[tuple[int, int], np.ndarray] = {}
    if rng is not None and not (mediator_family == "gaussian" and outcome_family == "gaussian" and cf.affine):
        # (With a Gaussian outcome affine in a Gaussian mediator, common random numbers cancel exactly in every
        # contrast, so the draws are skipped: the result is the same, only cheaper.)
        if mediator_family == "gaussian":
            eps = rng.standard_normal((S, n)).T * sigma
            draws = [med_mean[0] + eps, med_mean[1] + eps]
        else:
            uniforms = rng.random((2, S, n)).transpose(0, 2, 1)
            draws = [(uniforms[tp] < med_mean[tp]).astype(float) for tp in (0, 1)]
        for t in (0, 1):
            for tp in (0, 1):
                out[t, tp] = inverse_link(outcome_family, _outcome_eta(cf, t, draws[tp], beta))
        return out
    if mediator_family != "gaussian":
        # A binary mediator enters the outcome design as A + m B with m in {0, 1} (always affine).
        for t in (0, 1):
            g0 = inverse_link(outcome_family, cf.A[t] @ beta.T)
            g1 = inverse_link(outcome_family, (cf.A[t] + cf.B[t]) @ beta.T)
            for tp in (0, 1):
                out[t, tp] = g0 + med_mean[tp] * (g1 - g0)
        return out
    if outcome_family == "gaussian" and cf.affine:
        for t in (0, 1):
            for tp in (0, 1):
                out[t, tp] = _outcome_eta(cf, t, med_mean[tp], beta)
        return out
    nodes, weights = np.polynomial.hermite.hermgauss(N_QUADRATURE)
    nodes = nodes * np.sqrt(2.0)
    weights = weights / np.sqrt(np.pi)
    K = len(nodes)
    chunk = max(1, _CHUNK_CELLS // max(n * K, 1))
    for t in (0, 1):
        for tp in (0, 1):
            result = np.empty((n, S))
            for start in range(0, S, chunk):
                stop = min(S, start + chunk)
                c = stop - start
                M = (med_mean[tp][:, start:stop, None] + sigma[None, start:stop, None] * nodes).reshape(n, c * K)
                paired = np.repeat(beta[start:stop], K, axis=0)
                g = inverse_link(outcome_family, _outcome_eta(cf, t, M, paired)).reshape(n, c, K)
                result[:, start:stop] = g @ weights
            out[t, tp] = result
    return out


def average_effects(mu: dict[tuple[int, int], np.ndarray], weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Average the unit-level contrasts into the ten estimands, each of shape (S,).

    Parameters
    ----------
    mu : dict
        Output of :func:`counterfactual_means`.
    weights : ndarray (S, n), optional
        Per coefficient-set unit weights (bootstrap resampling counts); equal weights if None.
    """
    def mean(diff: np.ndarray) -> np.ndarray:
        if weights is None:
            return diff.mean(axis=0)
        return np.einsum("sn,ns->s", weights, diff) / weights.sum(axis=1)

    d0 = mean(mu[0, 1] - mu[0, 0])
    d1 = mean(mu[1, 1] - mu[1, 0])
    z0 = mean(mu[1, 0] - mu[0, 0])
    z1 = mean(mu[1, 1] - mu[0, 1])
    return compose_estimands(d0, d1, z0, z1)


def compose_estimands(d0, d1, z0, z1) -> dict[str, np.ndarray]:
    """The ten estimands from the four basic contrasts (R mediation's definitions)."""
    total = (d0 + d1 + z0 + z1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        n0 = d0 / total
        n1 = d1 / total
    return {
        "acme_control": d0,
        "acme_treated": d1,
        "ade_control": z0,
        "ade_treated": z1,
        "total": total,
        "prop_mediated_control": n0,
        "prop_mediated_treated": n1,
        "acme_average": (d0 + d1) / 2,
        "ade_average": (z0 + z1) / 2,
        "prop_mediated_average": (n0 + n1) / 2,
    }


def unit_effects(mu: dict[tuple[int, int], np.ndarray], index) -> pd.DataFrame:
    """Unit-level effects (first coefficient set) as a DataFrame indexed like the user's rows."""
    frame = pd.DataFrame(
        {
            "cie_treated": mu[1, 1][:, 0] - mu[1, 0][:, 0],
            "cie_control": mu[0, 1][:, 0] - mu[0, 0][:, 0],
            "cde_control": mu[1, 0][:, 0] - mu[0, 0][:, 0],
            "cde_treated": mu[1, 1][:, 0] - mu[0, 1][:, 0],
            "te": mu[1, 1][:, 0] - mu[0, 0][:, 0],
        },
        index=index,
    )
    return frame
