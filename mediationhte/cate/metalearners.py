"""Meta-learners for the unit-level treatment effect tau(x) = E[Y(1) - Y(0) | X = x]: S, T, X and DR.

* S-learner: one model mu(x, t) with t as a feature; tau = mu(x, 1) - mu(x, 0).
* T-learner: mu_1 on the treated, mu_0 on the controls; tau = mu_1 - mu_0.
* X-learner (Kuenzel et al. 2019): the T-learner's models impute D1 = Y - mu_0(X)
  for the treated and D0 = mu_1(X) - Y for the controls; second-stage models tau_1
  (treated) and tau_0 (controls) are blended as e(x) tau_0(x) + (1 - e(x)) tau_1(x),
  so the arm with more data carries more weight.
* DR-learner (Kennedy 2023): the AIPW pseudo-outcome from cross-fitted nuisances,
  regressed on X (the final model fitted on every unit, as EconML's DRLearner).

Every model is a fresh clone of the base learner seeded from its own child seed,
drawn in a fixed order, so a learner's column does not depend on which other
learners were requested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed

from mediationhte.core.random_state import spawn_seeds
from mediationhte.errors import ParameterError
from mediationhte.core.learners import LEARNER_NAMES, registry_learner, seeded_clone
from mediationhte.core.parallel import worker_threads

META_LEARNERS = ("s", "t", "x", "dr")
#: Child seeds drawn per fit, in this order: S, T(0), T(1), X(0), X(1), DR final, then 2 per cross-fitting fold.
_FIXED_SEEDS = 6


def base_template(base_learner):
    """The regressor template: a name of :data:`~mediationhte.core.learners.LEARNER_NAMES` or an estimator."""
    if base_learner is None:
        return registry_learner("boosting", "regression")
    if isinstance(base_learner, str):
        if base_learner not in LEARNER_NAMES:
            raise ParameterError(
                f"Parameter base_learner must be one of {', '.join(map(repr, LEARNER_NAMES))} or a scikit-learn "
                f"regressor; got {base_learner!r}.", parameter="base_learner")
        return registry_learner(base_learner, "regression")
    if not (hasattr(base_learner, "fit") and hasattr(base_learner, "predict") and hasattr(base_learner,
                                                                                         "get_params")):
        raise ParameterError(
            f"Parameter base_learner must be a scikit-learn regressor (fit/predict/get_params); got "
            f"{type(base_learner).__name__}.", parameter="base_learner")
    return base_learner


def check_learners(learner) -> tuple[str, ...]:
    """Normalise ``learner`` ("s", "t", "x", "dr" or a list of them) to a tuple without repeats."""
    names = (learner,) if isinstance(learner, str) else tuple(learner) if isinstance(learner, (list, tuple)) else ()
    if not names or any(not isinstance(n, str) or n not in META_LEARNERS for n in names) \
            or len(set(names)) != len(names):
        raise ParameterError(
            f"Parameter learner must be one of {', '.join(map(repr, META_LEARNERS))} or a list of them without "
            f"repeats, e.g. ['s', 't', 'x', 'dr']; got {learner!r}.", parameter="learner")
    return names


@dataclass(frozen=True, eq=False)
class OutcomeNuisances:
    """Cross-fitted arm outcome predictions mu_0(x), mu_1(x) (AIPW and the DR-learner)."""

    mu0: np.ndarray = field(repr=False)
    mu1: np.ndarray = field(repr=False)


def _fit_predict(template, seed, X_train, y_train, X_predict) -> np.ndarray:
    return np.asarray(seeded_clone(template, seed).fit(X_train, y_train).predict(X_predict), dtype=float)


def crossfit_outcomes(X, t, y, template, folds: np.ndarray, seeds: np.ndarray, n_jobs: int = 1) -> OutcomeNuisances:
    """Out-of-fold mu_0 and mu_1: for each fold, models fitted per arm on the other folds.

    The 2K fits run in ``n_jobs`` threads; each has its own seed, so the
    predictions do not depend on ``n_jobs``.
    """
    n = len(y)
    mu = np.empty((n, 2))
    cells = [(k, arm) for k in range(int(folds.max()) + 1) for arm in (0, 1)]
    with worker_threads(n_jobs):
        fits = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_fit_predict)(template, seeds[2 * k + arm], X[(folds != k) & (t == arm)],
                                  y[(folds != k) & (t == arm)], X[folds == k]) for k, arm in cells)
    for (k, arm), pred in zip(cells, fits):
        mu[folds == k, arm] = pred
    return OutcomeNuisances(mu0=mu[:, 0], mu1=mu[:, 1])


def draw_seeds(rng: np.random.Generator, n_folds: int) -> np.ndarray:
    """All child seeds of one meta-learner fit, in the fixed order of :data:`_FIXED_SEEDS`."""
    return spawn_seeds(rng, _FIXED_SEEDS + 2 * n_folds)


def fit_meta_learners(X, t, y, template, names, *, seeds: np.ndarray, propensity: np.ndarray, clip,
                      pseudo_outcome: np.ndarray | None) -> dict[str, np.ndarray]:
    """Unit tau for each learner in ``names``; ``propensity`` (in-sample e) blends the X-learner.

    ``pseudo_outcome`` is the AIPW pseudo-outcome (needed for "dr").
    """
    out = {}
    if "s" in names:
        XT = np.column_stack([X, t])
        model = seeded_clone(template, seeds[0]).fit(XT, y)
        n = len(y)
        out["s"] = (np.asarray(model.predict(np.column_stack([X, np.ones(n)])), dtype=float)
                    - np.asarray(model.predict(np.column_stack([X, np.zeros(n)])), dtype=float))
    if "t" in names or "x" in names:
        mu = np.column_stack([_fit_predict(template, seeds[1 + arm], X[t == arm], y[t == arm], X) for arm in (0, 1)])
        if "t" in names:
            out["t"] = mu[:, 1] - mu[:, 0]
        if "x" in names:
            imputed = np.where(t == 1, y - mu[:, 0], mu[:, 1] - y)
            tau_arm = [_fit_predict(template, seeds[3 + arm], X[t == arm], imputed[t == arm], X) for arm in (0, 1)]
            e = np.clip(propensity, clip[0], clip[1])
            out["x"] = e * tau_arm[0] + (1 - e) * tau_arm[1]
    if "dr" in names:
        out["dr"] = _fit_predict(template, seeds[5], X, pseudo_outcome, X)
    return {name: out[name] for name in names}
