"""Point estimates, quasi-Bayesian draws and bootstrap refits of the mediation estimands.

All replicate work is batched: quasi-Bayesian coefficient draws are one
multivariate-normal call; bootstrap refits are resampling counts times per-row
cross-products followed by one batched solve (``_batched``), never a formula
evaluation per replicate. Replicates are processed in chunks of fixed size, each
with its own child seed, so results do not depend on ``n_jobs``.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mediationhte.mediation import batched as _batched
from mediationhte.core.random_state import spawn_seeds
from mediationhte.mediation.effects import EFFECT_KEYS, CounterfactualDesign, average_effects, counterfactual_means
from mediationhte.mediation.models import FittedModel

#: Replicates per parallel task; fixed so that results are identical for any n_jobs.
BOOT_CHUNK = 125


@dataclass(frozen=True)
class FitData:
    """The arrays both models were fitted on (rows used, in order)."""

    y: np.ndarray
    m: np.ndarray
    X_outcome: np.ndarray
    X_mediator: np.ndarray


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


def blas_limit(n: int, p: int, parallel: bool = False, user_api: str | None = "blas"):
    """Single-threaded BLAS (``user_api=None``: also OpenMP) for small problems or inside parallel workers.

    Multi-threaded BLAS on an 899 x 26 matrix costs more in thread start-up and
    contention than it saves (measured 2x slower on 2 cores), and joblib threads plus
    BLAS threads oversubscribe the cores. OpenMP learners (HistGradientBoosting) are
    worse: with the other core busy, their spin-waiting threads made a Jobs II fit
    take minutes instead of seconds.
    """
    if parallel or n * p < 2_000_000:
        return threadpool_limits(limits=1, user_api=user_api)
    return nullcontext()


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
class _RefitInputs:
    data: FitData
    mediator_family: str
    outcome_family: str
    mediator_start: np.ndarray
    outcome_start: np.ndarray
    P_mediator: np.ndarray | None
    P_outcome: np.ndarray | None


def prepare_refits(data: FitData, mediator: FittedModel, outcome: FittedModel) -> _RefitInputs:
    """Precompute per-row cross-products once for all bootstrap or jackknife refits."""
    return _RefitInputs(
        data=data,
        mediator_family=mediator.family,
        outcome_family=outcome.family,
        mediator_start=np.asarray(mediator.params),
        outcome_start=np.asarray(outcome.params),
        P_mediator=_batched.row_crossproducts(data.X_mediator),
        P_outcome=_batched.row_crossproducts(data.X_outcome),
    )


def _refit(X, y, W, P, family, start):
    if family == "gaussian":
        beta, sigma, ok = _batched.batched_wls(X, y, W, P=P)
        return beta, sigma, ok
    beta, ok = _batched.batched_glm_binary(X, y, W, link=family, beta_start=start, P=P)
    return beta, np.full(W.shape[0], np.nan), ok


def weighted_replicates(cf: CounterfactualDesign, inputs: _RefitInputs, W: np.ndarray,
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


def _bootstrap_chunk(cf, inputs, size, seed):
    rng = np.random.default_rng(seed)
    counts = _batched.resample_counts(rng, cf.n, size)
    return weighted_replicates(cf, inputs, counts.astype(float), rng)


def bootstrap_draws(cf: CounterfactualDesign, inputs: _RefitInputs, n_boot: int, rng: np.random.Generator,
                    n_jobs: int = 1, progress: bool = False) -> np.ndarray:
    """Nonparametric case bootstrap: (n_boot, 10) estimands, NaN rows for failed refits."""
    from joblib import Parallel, delayed

    sizes = [min(BOOT_CHUNK, n_boot - s) for s in range(0, n_boot, BOOT_CHUNK)]
    seeds = spawn_seeds(rng, len(sizes))
    tasks = (delayed(_bootstrap_chunk)(cf, inputs, size, int(seed)) for size, seed in zip(sizes, seeds))
    parallel = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")
    with blas_limit(cf.n, inputs.data.X_outcome.shape[1], parallel=n_jobs != 1):
        results = parallel(tasks)
        if progress:
            results = _progress(results, total=len(sizes), desc="bootstrap")
        return np.vstack(list(results))


def jackknife_draws(cf: CounterfactualDesign, inputs: _RefitInputs, chunk: int = 256) -> np.ndarray:
    """Leave-one-out estimands (n, 10) for the BCa acceleration, computed in chunks of weight rows."""
    from mediationhte.inference.intervals import jackknife_weights

    return np.vstack([weighted_replicates(cf, inputs, W, None) for W in jackknife_weights(cf.n, chunk)])


def run_replicates(tasks, *, total: int, n_jobs: int = 1, progress: bool = False, desc: str = "replicates",
                   prefer: str | None = None) -> list:
    """Run joblib ``delayed`` tasks (bootstrap resamples, refutations) in order, with an optional tqdm bar.

    Results come back in task order, so with seeds fixed before the tasks are made
    the output is identical for any ``n_jobs``.
    """
    from joblib import Parallel

    results = Parallel(n_jobs=n_jobs, prefer=prefer, return_as="generator")(tasks)
    if progress:
        results = _progress(results, total=total, desc=desc)
    return list(results)


def _progress(iterable, total: int, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        import warnings

        warnings.warn("progress=True needs tqdm (pip install 'mediationhte[progress]'); continuing without a bar.",
                      stacklevel=3)
        return iterable
    return tqdm(iterable, total=total, desc=desc)
