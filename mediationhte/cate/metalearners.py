"""Meta-learners for the unit-level treatment effect tau(x) = E[Y(1) - Y(0) | X = x]: S, T, X and DR.

* S-learner: the out-of-fold mu(x, 1) - mu(x, 0) of the outcome model with the
  treatment as a feature (the "joint" model).
* T-learner: the out-of-fold mu_1(x) - mu_0(x) of the per-arm models.
* X-learner (Kuenzel et al. 2019): the per-arm models impute D1 = Y - mu_0(X) for
  the treated and D0 = mu_1(X) - Y for the controls; second-stage models tau_1
  (treated) and tau_0 (controls) are blended as e(x) tau_0(x) + (1 - e(x)) tau_1(x),
  so the arm with more data carries more weight.
* DR-learner (Kennedy 2023): the AIPW pseudo-outcome of the joint model regressed
  on X (the final model fitted on every unit, as EconML's DRLearner).

Each nuisance is fitted once per fit, cross-fitted over the same folds, and shared
(:func:`fit_first_stage`): the per-arm models serve the T-learner, the X-learner's
first stage and the AIPW average (and its pseudo-outcome, the heterogeneity test's);
the joint model serves the S-learner and the DR-learner. Four learners with the
average effects cost 3K + 3 model fits, against 3K + 8 when each learner and AIPW
fit their own (an S model; two arm models each for T and the X-learner's first
stage, which the cross-fitted per-arm models replace).

Why two outcome models rather than one. With a small arm (Kuenzel et al.'s 10:1
design in ``benchmarks/bench_cate.py``) the small arm's own model sees a tenth of
the data, while the joint model borrows the prognostic structure from both arms:
the DR-learner's PEHE fell from 4.62 to 4.10 with the joint model (EconML's
DRLearner, which also fits one model on (X, T): 4.2 with 5 folds, 4.9 with its
default 2). But the joint model shrinks the treatment contrast (trees rarely split
on a treatment one unit in eleven receives), so its AIPW correction term is large
and inherits the Jensen bias of 1 / e-hat: there AIPW was off by +0.33 and covered
0.875, against 0.955 with the per-arm models. Each model is used where it is the
better nuisance.

The model fits of one stage run in ``n_jobs`` threads. Every model is a fresh clone
of the base learner seeded from its own child seed, drawn in a fixed order, so a
learner's column depends neither on ``n_jobs`` nor on which other learners were
requested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed

from mediationhte.core import validation as V
from mediationhte.core.learners import LEARNER_NAMES, registry_learner, seeded_clone
from mediationhte.core.parallel import worker_threads
from mediationhte.core.random_state import spawn_seeds
from mediationhte.errors import ParameterError

META_LEARNERS = ("s", "t", "x", "dr")
#: Child seeds drawn per fit, in this order: X(0), X(1), DR final, then two per cross-fitting fold (the per-arm
#: models, arm 0 then arm 1), then one per fold (the joint model).
_FIXED_SEEDS = 3


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
    return V.check_options("learner", learner, META_LEARNERS, example="['s', 't', 'x', 'dr']")


def needs_arm_models(names, averages: bool) -> bool:
    """Whether the cross-fitted per-arm models are needed: the T- or X-learner, or the average effects (AIPW)."""
    return averages or "t" in names or "x" in names


def needs_joint_model(names) -> bool:
    """Whether the cross-fitted joint model (the treatment as a feature) is needed: the S- or DR-learner."""
    return "s" in names or "dr" in names


@dataclass(frozen=True, eq=False)
class OutcomeNuisances:
    """Out-of-fold outcome predictions at T = 0 and T = 1 for every unit."""

    mu0: np.ndarray = field(repr=False)
    mu1: np.ndarray = field(repr=False)


def _fit_predict(template, seed, X_train, y_train, X_predict) -> np.ndarray:
    return np.asarray(seeded_clone(template, seed).fit(X_train, y_train).predict(X_predict), dtype=float)


def _run(jobs: list, n_jobs: int) -> list:
    """The fits of one stage in ``n_jobs`` threads, each with single-threaded native pools when parallel."""
    if not jobs:
        return []
    with worker_threads(n_jobs):
        return Parallel(n_jobs=n_jobs, prefer="threads")(jobs)


def _with_treatment(X, value) -> np.ndarray:
    return np.column_stack([X, np.full(len(X), value, dtype=float)])


def _n_folds(folds) -> int:
    return int(folds.max()) + 1


def _arm_jobs(X, t, y, template, folds, seeds) -> list:
    """Per fold and arm, a model of Y on X fitted on that arm's units of the other folds, predicting the fold."""
    return [delayed(_fit_predict)(template, seeds[2 * k + arm], X[(folds != k) & (t == arm)],
                                  y[(folds != k) & (t == arm)], X[folds == k])
            for k in range(_n_folds(folds)) for arm in (0, 1)]


def _arm_nuisances(predictions, folds) -> OutcomeNuisances:
    mu = np.empty((len(folds), 2))
    for j, pred in enumerate(predictions):
        mu[folds == j // 2, j % 2] = pred
    return OutcomeNuisances(mu0=mu[:, 0], mu1=mu[:, 1])


def _joint_jobs(X, t, y, template, folds, seeds) -> list:
    """Per fold, one model of Y on (X, T) fitted on the other folds, predicting the fold at T = 0 and at T = 1."""
    XT = np.column_stack([X, t])
    jobs = []
    for k in range(_n_folds(folds)):
        held_out = folds == k
        at_both = np.vstack([_with_treatment(X[held_out], 0), _with_treatment(X[held_out], 1)])
        jobs.append(delayed(_fit_predict)(template, seeds[k], XT[~held_out], y[~held_out], at_both))
    return jobs


def _joint_nuisances(predictions, folds) -> OutcomeNuisances:
    mu = np.empty((len(folds), 2))
    for k, pred in enumerate(predictions):
        mu[folds == k] = pred.reshape(2, -1).T
    return OutcomeNuisances(mu0=mu[:, 0], mu1=mu[:, 1])


def crossfit_outcomes(X, t, y, template, folds: np.ndarray, seeds: np.ndarray, n_jobs: int = 1) -> OutcomeNuisances:
    """Out-of-fold mu_0 and mu_1 of the per-arm models (two seeds per fold: arm 0, arm 1)."""
    return _arm_nuisances(_run(_arm_jobs(X, t, y, template, folds, seeds), n_jobs), folds)


def crossfit_joint_outcomes(X, t, y, template, folds: np.ndarray, seeds: np.ndarray,
                            n_jobs: int = 1) -> OutcomeNuisances:
    """Out-of-fold mu(x, 0) and mu(x, 1) of the joint model of Y on (X, T) (one seed per fold)."""
    return _joint_nuisances(_run(_joint_jobs(X, t, y, template, folds, seeds), n_jobs), folds)


def draw_seeds(rng: np.random.Generator, n_folds: int) -> np.ndarray:
    """All child seeds of one meta-learner fit, in the fixed order of :data:`_FIXED_SEEDS`."""
    return spawn_seeds(rng, _FIXED_SEEDS + 3 * n_folds)


@dataclass(frozen=True, eq=False)
class FirstStage:
    """The shared cross-fitted nuisances (None where no requested quantity needs them)."""

    arms: OutcomeNuisances | None
    joint: OutcomeNuisances | None


def fit_first_stage(X, t, y, template, names, *, folds: np.ndarray, seeds: np.ndarray, averages: bool,
                    n_jobs: int = 1) -> FirstStage:
    """Fit the per-arm and the joint outcome models that ``names`` and ``averages`` need, all in one stage."""
    K = _n_folds(folds)
    arm_seeds, joint_seeds = seeds[_FIXED_SEEDS:_FIXED_SEEDS + 2 * K], seeds[_FIXED_SEEDS + 2 * K:]
    arm_jobs = _arm_jobs(X, t, y, template, folds, arm_seeds) if needs_arm_models(names, averages) else []
    joint_jobs = _joint_jobs(X, t, y, template, folds, joint_seeds) if needs_joint_model(names) else []
    out = _run(arm_jobs + joint_jobs, n_jobs)
    return FirstStage(arms=_arm_nuisances(out[:len(arm_jobs)], folds) if arm_jobs else None,
                      joint=_joint_nuisances(out[len(arm_jobs):], folds) if joint_jobs else None)


def fit_meta_learners(X, t, y, template, names, *, seeds: np.ndarray, first: FirstStage, propensity: np.ndarray,
                      clip, dr_pseudo_outcome: np.ndarray | None, n_jobs: int = 1) -> dict[str, np.ndarray]:
    """Unit tau for each learner in ``names`` from the first stage; the second-stage fits run together.

    ``propensity`` (in-sample e) blends the X-learner; ``dr_pseudo_outcome`` is the
    AIPW pseudo-outcome of the joint model that the DR-learner regresses on X.
    """
    jobs, keys = [], []
    if "x" in names:
        mu = first.arms
        imputed = np.where(t == 1, y - mu.mu0, mu.mu1 - y)
        jobs += [delayed(_fit_predict)(template, seeds[arm], X[t == arm], imputed[t == arm], X) for arm in (0, 1)]
        keys += ["x0", "x1"]
    if "dr" in names:
        jobs.append(delayed(_fit_predict)(template, seeds[2], X, dr_pseudo_outcome, X))
        keys.append("dr")
    second = dict(zip(keys, _run(jobs, n_jobs)))
    out = {}
    if "s" in names:
        out["s"] = first.joint.mu1 - first.joint.mu0
    if "t" in names:
        out["t"] = first.arms.mu1 - first.arms.mu0
    if "x" in names:
        e = np.clip(propensity, clip[0], clip[1])
        out["x"] = e * second["x0"] + (1 - e) * second["x1"]
    if "dr" in names:
        out["dr"] = second["dr"]
    return {name: out[name] for name in names}
