"""Point estimates, quasi-Bayesian draws and bootstrap refits of the mediation estimands.

All replicate work is batched: quasi-Bayesian coefficient draws are one
multivariate-normal call; bootstrap refits are resampling counts times per-row
cross-products followed by one batched solve (:mod:`~mediationhte.mediation.batched`),
never a formula evaluation per replicate; :mod:`mediationhte.mediation.bootstrap`
runs them through the package's bootstrap engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mediationhte.inference.intervals import jackknife_weights
from mediationhte.mediation import batched
from mediationhte.mediation.effects import CounterfactualDesign, average_effects, counterfactual_means
from mediationhte.mediation.models import FittedModel
from mediationhte.report.summary import EFFECT_KEYS
from mediationhte.core.immutable import freeze_arrays


@dataclass(frozen=True)
class FitData:
    """The arrays both models were fitted on (rows used, in order)."""

    y: np.ndarray
    m: np.ndarray
    X_outcome: np.ndarray
    X_mediator: np.ndarray

    def __post_init__(self):
        freeze_arrays(self)


def point_estimates(cf: CounterfactualDesign, mediator: FittedModel, outcome: FittedModel):
    """Deterministic estimates at the fitted coefficients: (dict of 10 floats, unit-level mu)."""
    mu = counterfactual_means(
        cf, mediator.params[None, :], outcome.params[None, :], np.array([_sigma(mediator)]),
        mediator.family, outcome.family,
    )
    effects = average_effects(mu)
    return {k: float(v[0]) for k, v in effects.items()}, mu


def _sigma(model: FittedModel) -> float:
    return model.sigma if model.family == "gaussian" else np.nan


def _draws_matrix(effects: dict[str, np.ndarray]) -> np.ndarray:
    return np.column_stack([effects[k] for k in EFFECT_KEYS])


def coefficient_draws(mediator: FittedModel, outcome: FittedModel, sims: int, rng: np.random.Generator):
    """Quasi-Bayesian coefficient draws (alpha, beta, sigma): N(beta_hat, V) per model, mediator first, as R draws."""
    alpha = rng.multivariate_normal(mediator.params, mediator.cov, size=sims, method="eigh")
    beta = rng.multivariate_normal(outcome.params, outcome.cov, size=sims, method="eigh")
    return alpha, beta, np.full(sims, _sigma(mediator))


def quasi_bayesian_draws(cf: CounterfactualDesign, mediator: FittedModel, outcome: FittedModel, sims: int,
                         rng: np.random.Generator) -> np.ndarray:
    """R mediation's quasi-Bayesian Monte Carlo (King, Tomz & Wittenberg 2000): a (sims, 10) array.

    Coefficients are drawn from N(beta_hat, V) for each model (mediator first, then
    outcome); mediator values are then simulated per unit and draw, with common
    random numbers across arms for a Gaussian mediator (sigma fixed at its
    estimate, as in R).
    """
    alpha, beta, sigma = coefficient_draws(mediator, outcome, sims, rng)
    draws = np.empty((sims, len(EFFECT_KEYS)))
    chunk = max(1, 2_000_000 // max(cf.n, 1))
    for start in range(0, sims, chunk):
        stop = min(sims, start + chunk)
        mu = counterfactual_means(cf, alpha[start:stop], beta[start:stop], sigma[start:stop],
                                  mediator.family, outcome.family, rng=rng)
        draws[start:stop] = _draws_matrix(average_effects(mu))
    return draws


@dataclass(frozen=True)
class RefitInputs:
    """What every batched refit reuses: the data, families, start values and per-row cross-products."""

    data: FitData
    mediator_family: str
    outcome_family: str
    mediator_start: np.ndarray
    outcome_start: np.ndarray
    P_mediator: np.ndarray | None
    P_outcome: np.ndarray | None


def prepare_refits(data: FitData, mediator: FittedModel, outcome: FittedModel) -> RefitInputs:
    """Precompute per-row cross-products once for all bootstrap or jackknife refits."""
    return RefitInputs(
        data=data,
        mediator_family=mediator.family,
        outcome_family=outcome.family,
        mediator_start=np.asarray(mediator.params),
        outcome_start=np.asarray(outcome.params),
        P_mediator=batched.row_crossproducts(data.X_mediator),
        P_outcome=batched.row_crossproducts(data.X_outcome),
    )


def _refit(X, y, W, P, family, start):
    if family == "gaussian":
        beta, sigma, ok = batched.batched_wls(X, y, W, P=P)
        return beta, sigma, ok
    beta, ok = batched.batched_glm_binary(X, y, W, link=family, beta_start=start, P=P)
    return beta, np.full(W.shape[0], np.nan), ok


def weighted_replicates(cf: CounterfactualDesign, inputs: RefitInputs, W: np.ndarray,
                        rng: np.random.Generator | None) -> np.ndarray:
    """Estimands (B, 10) after refitting both models with unit weights ``W`` (B, n); NaN rows where a refit failed.

    ``rng`` is used only when the outcome design is not affine in a Gaussian
    mediator (the mediator is then simulated, as in R).
    """
    d = inputs.data
    alpha, sigma, ok_m = _refit(d.X_mediator, d.m, W, inputs.P_mediator, inputs.mediator_family, inputs.mediator_start)
    beta, _, ok_y = _refit(d.X_outcome, d.y, W, inputs.P_outcome, inputs.outcome_family, inputs.outcome_start)
    ok = ok_m & ok_y
    out = np.full((W.shape[0], len(EFFECT_KEYS)), np.nan)
    if not ok.any():
        return out
    simulate = rng if (not cf.affine and inputs.mediator_family == "gaussian") else None
    mu = counterfactual_means(cf, alpha[ok], beta[ok], sigma[ok], inputs.mediator_family,
                              inputs.outcome_family, rng=simulate)
    out[ok] = _draws_matrix(average_effects(mu, weights=W[ok]))
    return out


def jackknife_draws(cf: CounterfactualDesign, inputs: RefitInputs, chunk: int = 256) -> np.ndarray:
    """Leave-one-out estimands (n, 10) for the BCa acceleration, computed in chunks of weight rows."""
    return np.vstack([weighted_replicates(cf, inputs, W, None) for W in jackknife_weights(cf.n, chunk)])
