"""Step 1 of the M-learner: unit-level indirect, direct and total effects from machine-learning nuisances.

Notation: mu(t, t')(x) = E[Y(t, M(t')) | X = x] = E[ g_t(X, M) | T = t', X = x ] with
g_t(x, m) = E[Y | T = t, M = m, X = x] (sequential ignorability). The cross-fitted
estimator learns, on the training folds,

* g_t by regressing Y on (X, M) in arm t,
* E[M | T = t', X] by regressing M on X in arm t', with the empirical distribution of its
  residuals (15 evenly spaced quantiles), so that mu(t, t')(x) averages g_t(x, m) over
  m = E[M | t', x] + residual: the outcome model is integrated over the mediator's
  conditional distribution, which stays correct when the outcome is nonlinear in the
  mediator (a binary mediator uses the exact two-point sum),
* the propensity e(x) = P(T = 1 | X) and P(T = 1 | M, X) for the efficient influence function,

and predicts every unit out of fold. The authors' shortcut (``estimator="plugin"``)
plugs the predicted mediator mean into the treated-arm outcome model, in sample.

Averages use the efficient influence function of E[Y(t, M(t'))] (Tchetgen Tchetgen &
Shpitser 2012), which is multiply robust, with cross-fitted nuisances and IF-based
standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from mediationhte.core.learners import LearnerSpec, crossfit_folds, fit_predict, fitted_predictor
from mediationhte.core.parallel import blas_limit
from mediationhte.core.random_state import spawn_seeds
from mediationhte.mediation.effects import compose_estimands
from mediationhte.report.summary import EFFECT_KEYS
from mediationhte.core.immutable import freeze_arrays

#: Propensity-type probabilities are clipped to this range in the influence function.
PROBABILITY_CLIP = (0.01, 0.99)
#: Unit-effect columns, in order.
UNIT_COLUMNS = ("cie_treated", "cie_control", "cde_control", "cde_treated", "te")


@dataclass(frozen=True)
class NuisanceFit:
    """Out-of-fold nuisance predictions (each array has one row per unit).

    Attributes
    ----------
    mu : ndarray (n, 4)
        mu(t, t') in the column order (0,0), (0,1), (1,0), (1,1).
    g_observed : ndarray (n, 2)
        g_0(X_i, M_i) and g_1(X_i, M_i) at the observed mediator.
    mediator_mean : ndarray (n, 2)
        E[M | T = t, X_i] for t = 0, 1.
    propensity : ndarray (n,)
        P(T = 1 | X_i).
    treatment_given_mediator : ndarray (n,)
        P(T = 1 | M_i, X_i).
    folds : ndarray (n,)
        Fold id of each unit (-1 for the in-sample plug-in).
    """

    mu: np.ndarray = field(repr=False)
    g_observed: np.ndarray = field(repr=False)
    mediator_mean: np.ndarray = field(repr=False)
    propensity: np.ndarray = field(repr=False)
    treatment_given_mediator: np.ndarray = field(repr=False)
    folds: np.ndarray = field(repr=False)

    def __post_init__(self):
        freeze_arrays(self)


_MU_INDEX = {(0, 0): 0, (0, 1): 1, (1, 0): 2, (1, 1): 3}
#: Mediator-residual quantiles used to integrate the outcome model over M | T = t', X (Gaussian-type mediators).
N_RESIDUAL_NODES = 15


def _residual_nodes(residuals: np.ndarray) -> np.ndarray:
    """Evenly spaced empirical quantiles of the mediator residuals (deterministic Monte Carlo nodes)."""
    probs = (np.arange(N_RESIDUAL_NODES) + 0.5) / N_RESIDUAL_NODES
    return np.quantile(residuals, probs)


def _counterfactual_means(X, med, nodes, outcome_models_predict, binary_m):
    """mu(a, b)(x) = mean over mediator values of g_a(x, m), m drawn from M | T = b, X = x.

    ``med[:, b]`` is E[M | T = b, X]; ``nodes[b]`` are residual quantiles (Gaussian-type
    mediator) or None for a binary mediator, where the two-point sum is exact.
    """
    n = X.shape[0]
    mu = np.full((n, 4), np.nan)  # a skipped model (see ``needed_models``) leaves its columns NaN
    for a in (0, 1):
        predict = outcome_models_predict[a]
        if predict is None:
            continue
        arms = [b for b in (0, 1) if not np.isnan(med[:, b]).all()]
        if binary_m:
            g0 = predict(np.column_stack([X, np.zeros(n)]))
            g1 = predict(np.column_stack([X, np.ones(n)]))
            for b in arms:
                mu[:, _MU_INDEX[a, b]] = g0 + med[:, b] * (g1 - g0)
            continue
        for b in arms:
            K = len(nodes[b])
            m_values = (med[:, b][:, None] + nodes[b][None, :]).reshape(-1)
            stacked = np.column_stack([np.repeat(X, K, axis=0), m_values])
            mu[:, _MU_INDEX[a, b]] = predict(stacked).reshape(n, K).mean(axis=1)
    return mu


def needed_models(columns) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The arms whose outcome and mediator models the unit-effect ``columns`` need: (outcome arms, mediator arms).

    The projected base contrasts are CIE(1) = mu(1,1) - mu(1,0), CIE(0) = mu(0,1) - mu(0,0)
    and CDE(0) = mu(1,0) - mu(0,0); mu(a, b) needs the outcome model of arm a and
    the mediator model of arm b.
    """
    pairs = {0: ((1, 1), (1, 0)), 1: ((0, 1), (0, 0)), 2: ((1, 0), (0, 0))}
    used = {pair for column in columns for base in _BASES_OF[column] for pair in pairs[base]}
    return tuple(sorted({a for a, _ in used})), tuple(sorted({b for _, b in used}))


def _arm_models(X, t, m, y, rows, learners: LearnerSpec, seeds, binary_m, binary_y, X_predict,
                outcome_arms=(0, 1), mediator_arms=(0, 1)):
    """Fit per-arm mediator and outcome models on ``rows``; predict the mediator means for ``X_predict``.

    Arms left out of ``outcome_arms`` / ``mediator_arms`` are not fitted (predictor
    None, mediator mean NaN); every fitted model keeps its own seed, so its
    predictions do not depend on what else is fitted.
    """
    XM = np.column_stack([X, m])
    med = np.full((X_predict.shape[0], 2), np.nan)
    nodes, predictors = [None, None], [None, None]
    for arm in (0, 1):
        arm_rows = rows & (t == arm)
        if arm in mediator_arms:
            med_predict = fitted_predictor(learners.mediator, seeds[2 * arm], X[arm_rows], m[arm_rows], binary_m)
            med[:, arm] = med_predict(X_predict)
            if not binary_m:
                nodes[arm] = _residual_nodes(m[arm_rows] - med_predict(X[arm_rows]))
        if arm in outcome_arms:
            predictors[arm] = fitted_predictor(learners.outcome, seeds[2 * arm + 1], XM[arm_rows], y[arm_rows],
                                               binary_y)
    return med, nodes, predictors


def _fold_predictions(k, folds, X, t, m, y, learners: LearnerSpec, seeds, binary_m, binary_y, propensity=True,
                      arms=((0, 1), (0, 1))):
    """All nuisance predictions for the units of fold ``k`` from models trained on the other folds.

    ``propensity=False`` skips the two treatment models (NaN instead): the unit
    effects do not use them, only the influence-function averages do. ``arms``
    = (outcome arms, mediator arms) to fit, as :func:`needed_models` returns.
    """
    test = folds == k
    train = ~test
    med, nodes, predictors = _arm_models(X, t, m, y, train, learners, seeds, binary_m, binary_y, X[test], *arms)
    XM_test = np.column_stack([X[test], m[test]])
    n_test = int(test.sum())
    out = {
        "med": med,
        "mu": _counterfactual_means(X[test], med, nodes, predictors, binary_m),
        "g": np.column_stack([np.full(n_test, np.nan) if p is None else p(XM_test) for p in predictors]),
    }
    if propensity:
        out["e"] = fit_predict(learners.treatment, seeds[4], X[train], t[train], X[test], True)
        out["e_m"] = fit_predict(learners.treatment, seeds[5], np.column_stack([X, m])[train], t[train], XM_test, True)
    else:
        out["e"] = out["e_m"] = np.full(int(test.sum()), np.nan)
    return k, out


SEEDS_PER_FOLD = 6


def crossfit_nuisances(X, t, m, y, learners: LearnerSpec, *, n_folds: int, rng: np.random.Generator,
                       binary_mediator: bool, binary_outcome: bool, n_jobs: int = 1,
                       propensity: bool = True, columns=UNIT_COLUMNS) -> NuisanceFit:
    """Cross-fitted nuisances with folds stratified by treatment; identical for any ``n_jobs``.

    ``propensity=False`` leaves out the treatment models and ``columns`` (unit-effect
    columns) limits the arm models to those the columns need (both used by the
    permutation reruns of the subgroup search, which need one or two unit-effect
    columns only; the others come out NaN); every other prediction is unchanged,
    as each model keeps its own child seed.
    """
    folds = crossfit_folds(t, n_folds, rng)
    seeds = spawn_seeds(rng, n_folds * SEEDS_PER_FOLD).reshape(n_folds, SEEDS_PER_FOLD)
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_fold_predictions)(k, folds, X, t, m, y, learners, seeds[k], binary_mediator, binary_outcome,
                                   propensity, needed_models(columns))
        for k in range(n_folds)
    )
    n = len(t)
    mu, g, med = np.empty((n, 4)), np.empty((n, 2)), np.empty((n, 2))
    e, e_m = np.empty(n), np.empty(n)
    for k, out in results:
        test = folds == k
        mu[test], g[test], med[test] = out["mu"], out["g"], out["med"]
        e[test], e_m[test] = out["e"], out["e_m"]
    return NuisanceFit(mu=mu, g_observed=g, mediator_mean=med, propensity=e, treatment_given_mediator=e_m,
                       folds=folds)


def plugin_nuisances(X, t, m, y, learners: LearnerSpec, *, rng: np.random.Generator, binary_mediator: bool,
                     binary_outcome: bool) -> NuisanceFit:
    """The authors' estimator: arm-wise models fitted on all rows, predicted in sample, mediator mean plugged in.

    mu(t, t')(x) = g_t(x, E[M | T = t', x]): exact only when g_t is affine in m.
    """
    seeds = spawn_seeds(rng, 4)
    n = len(t)
    everyone = np.ones(n, dtype=bool)
    med, _, predictors = _arm_models(X, t, m, y, everyone, learners, seeds, binary_mediator, binary_outcome, X)
    zero = [np.zeros(1), np.zeros(1)]
    mu = _counterfactual_means(X, med, zero, predictors, False)
    XM = np.column_stack([X, m])
    g = np.column_stack([predictors[0](XM), predictors[1](XM)])
    share = np.full(n, t.mean())
    return NuisanceFit(mu=mu, g_observed=g, mediator_mean=med, propensity=share,
                       treatment_given_mediator=np.full(n, np.nan), folds=np.full(n, -1))


def _project_fold(k, folds, X, targets, template, seeds, wanted):
    test = folds == k
    out = np.full((int(test.sum()), targets.shape[1]), np.nan)
    for j in np.flatnonzero(wanted):
        out[:, j] = fit_predict(template, seeds[j], X[~test], targets[~test, j], X[test], False)
    return k, out


#: Which of the three projected base contrasts (CIE(1), CIE(0), CDE(0)) each unit-effect column is built from.
_BASES_OF = {"cie_treated": (0,), "cie_control": (1,), "cde_control": (2,), "te": (0, 2), "cde_treated": (0, 1, 2)}


def projected_unit_effects(nuisance: NuisanceFit, X: np.ndarray, learners: LearnerSpec, *, rng: np.random.Generator,
                           index, n_jobs: int = 1, columns=UNIT_COLUMNS) -> pd.DataFrame:
    """Unit effects as cross-fitted projections of the out-of-fold contrasts on the covariates.

    The raw contrasts mu(t, 1) - mu(t, 0) etc. difference two separately learned
    functions; regressing them on X (a second stage, out of fold on the same folds)
    keeps their conditional mean and removes most of the noise: on the paper's
    Simple-All and Complex-All designs it lowers the unit CIE RMSE by 35-45%
    (benchmarks/bench_mlearner_accuracy.py). Three base contrasts are projected
    (CIE(1), CIE(0), CDE(0)); TE = CIE(1) + CDE(0) and CDE(1) = TE - CIE(0) follow,
    so the decomposition holds exactly for every unit.

    ``columns`` limits the work to the base contrasts those columns need (the
    permutation reruns of the subgroup search embed one or two columns); the
    others are NaN. Each base contrast keeps its own child seed, so the columns
    computed are identical to those of a full call with the same ``rng``.
    """
    wanted = np.zeros(3, dtype=bool)
    for column in columns:
        wanted[list(_BASES_OF[column])] = True

    raw = unit_effects_frame(nuisance, None)
    targets = raw[["cie_treated", "cie_control", "cde_control"]].to_numpy()
    folds = nuisance.folds
    n_folds = int(folds.max()) + 1
    seeds = spawn_seeds(rng, n_folds * 3).reshape(n_folds, 3)
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_project_fold)(k, folds, X, targets, learners.nested, seeds[k], wanted) for k in range(n_folds))
    projected = np.empty_like(targets)
    for k, values in results:
        projected[folds == k] = values
    cie1, cie0, cde0 = projected.T
    te = cie1 + cde0
    return pd.DataFrame({"cie_treated": cie1, "cie_control": cie0, "cde_control": cde0, "cde_treated": te - cie0,
                         "te": te}, index=index)


def unit_effects_frame(nuisance: NuisanceFit, index) -> pd.DataFrame:
    """Unit-level effects from mu(t, t'): TE = CIE(1) + CDE(0) = CIE(0) + CDE(1) exactly."""
    mu = nuisance.mu
    return pd.DataFrame(
        {
            "cie_treated": mu[:, 3] - mu[:, 2],
            "cie_control": mu[:, 1] - mu[:, 0],
            "cde_control": mu[:, 2] - mu[:, 0],
            "cde_treated": mu[:, 3] - mu[:, 1],
            "te": mu[:, 3] - mu[:, 0],
        },
        index=index,
    )


def influence_values(nuisance: NuisanceFit, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Uncentred efficient influence function values (n, 4) of E[Y(t, M(t'))], columns as in ``mu``.

    For t = t' the AIPW form 1{T=t}/P(T=t|X) (Y - mu(t,t)) + mu(t,t); for t != t'
    1{T=t} P(t'|M,X) / (P(t|M,X) P(t'|X)) (Y - g_t(X,M)) + 1{T=t'}/P(t'|X) (g_t(X,M) - mu(t,t')) + mu(t,t').
    """
    lo, hi = PROBABILITY_CLIP
    e = np.clip(nuisance.propensity, lo, hi)
    e_m = np.clip(nuisance.treatment_given_mediator, lo, hi)
    p_arm = {1: e, 0: 1 - e}
    p_arm_m = {1: e_m, 0: 1 - e_m}
    phi = np.empty((len(t), 4))
    for (a, b), j in _MU_INDEX.items():
        mu = nuisance.mu[:, j]
        if a == b:
            phi[:, j] = (t == a) / p_arm[a] * (y - mu) + mu
        else:
            g = nuisance.g_observed[:, a]
            weight = p_arm_m[b] / (p_arm_m[a] * p_arm[b])
            phi[:, j] = (t == a) * weight * (y - g) + (t == b) / p_arm[b] * (g - mu) + mu
    return phi


#: Positivity is flagged when more than this share of units has a clipped probability in the influence function.
POSITIVITY_SHARE = 0.05


def positivity_problem(nuisance: NuisanceFit) -> str:
    """A sentence describing weak positivity in the influence function ("" when it looks adequate).

    The influence function divides by P(T = t | X) and by P(T = t | M, X); both are
    clipped to ``PROBABILITY_CLIP``. When many units hit the clip, the weights no
    longer correct the outcome models, and the averages (and the heterogeneity
    test's pseudo-outcomes) rest on extrapolation: between arms that share few
    covariate values, or, for P(T | M, X), to mediator values one arm never shows.
    """
    lo, hi = PROBABILITY_CLIP
    n = len(nuisance.propensity)
    counts = [int(np.sum((p < lo) | (p > hi))) for p in (nuisance.propensity, nuisance.treatment_given_mediator)]
    if max(counts) <= POSITIVITY_SHARE * n:
        return ""
    return (f"Positivity is weak: {counts[0]} of {n} units have P(T = 1 | X) and {counts[1]} have P(T = 1 | M, X) "
            f"outside [{lo:g}, {hi:g}], where the influence-function weights are clipped. The averages, their "
            "intervals and the heterogeneity test then rest on the outcome models' extrapolation (for P(T | M, X): "
            "the mediator nearly reveals the arm, so the arms' mediator values barely overlap).")


def eif_estimates(phi: np.ndarray) -> tuple[dict, np.ndarray]:
    """Ten estimands and their influence functions (n, 10) from the IF values of mu(t, t')."""
    psi = phi.mean(axis=0)
    centred = phi - psi
    d0, d1 = psi[1] - psi[0], psi[3] - psi[2]
    z0, z1 = psi[2] - psi[0], psi[3] - psi[1]
    estimates = {k: float(v) for k, v in compose_estimands(d0, d1, z0, z1).items()}
    IF = {
        "acme_control": centred[:, 1] - centred[:, 0],
        "acme_treated": centred[:, 3] - centred[:, 2],
        "ade_control": centred[:, 2] - centred[:, 0],
        "ade_treated": centred[:, 3] - centred[:, 1],
        "total": centred[:, 3] - centred[:, 0],
    }
    total = estimates["total"]
    for arm, key in (("control", "acme_control"), ("treated", "acme_treated")):
        IF[f"prop_mediated_{arm}"] = (IF[key] - estimates[f"prop_mediated_{arm}"] * IF["total"]) / total
    IF["acme_average"] = (IF["acme_control"] + IF["acme_treated"]) / 2
    IF["ade_average"] = (IF["ade_control"] + IF["ade_treated"]) / 2
    IF["prop_mediated_average"] = (IF["prop_mediated_control"] + IF["prop_mediated_treated"]) / 2
    return estimates, np.column_stack([IF[k] for k in EFFECT_KEYS])


def wald_table(estimates: dict, influence: np.ndarray | None, alpha: float) -> pd.DataFrame:
    """Estimate, IF-based SE, normal interval and two-sided p-value for the ten estimands."""
    est = np.array([estimates[k] for k in EFFECT_KEYS])
    if influence is None:
        se = np.full(len(est), np.nan)
    else:
        n = influence.shape[0]
        se = influence.std(axis=0, ddof=1) / np.sqrt(n)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(est / se))
    return pd.DataFrame({"estimate": est, "std_error": se, "ci_lower": est - z * se, "ci_upper": est + z * se,
                         "p_value": p}, index=pd.Index(EFFECT_KEYS, name="effect"))


def step_one(X, t, m, y, learners: LearnerSpec, settings, rng: np.random.Generator, effects_only: bool = False,
             columns=UNIT_COLUMNS):
    """Nuisances, unit effects and average effects for one data set (also used by bootstrap and permutations).

    ``effects_only=True`` (the subgroup search's reruns) skips the treatment
    models and the influence-function averages: ``estimates`` and ``influence``
    are then None, and the unit effects are those of a full run with the same rng.
    ``columns`` names the unit-effect columns needed (the others may be NaN).

    Returns
    -------
    estimates : dict
    influence : ndarray (n, 10) or None
        None for the plug-in (no influence-function correction).
    nuisance : NuisanceFit
    units : pandas.DataFrame
        Unit-level effects (cross-fitted projections, or the plug-in contrasts), default index.
    """
    with blas_limit(*X.shape, parallel=settings["n_jobs"] != 1, user_api=None):
        return _step_one(X, t, m, y, learners, settings, rng, effects_only, columns)


def _step_one(X, t, m, y, learners: LearnerSpec, settings, rng: np.random.Generator, effects_only: bool, columns):
    binary_m = settings["mediator_family"] != "gaussian"
    binary_y = settings["outcome_family"] != "gaussian"
    if settings["estimator"] == "plugin":
        nuisance = plugin_nuisances(X, t, m, y, learners, rng=rng, binary_mediator=binary_m, binary_outcome=binary_y)
        frame = unit_effects_frame(nuisance, None)
        means = frame.mean()
        estimates = {k: float(v) for k, v in compose_estimands(
            means["cie_control"], means["cie_treated"], means["cde_control"], means["cde_treated"]).items()}
        return estimates, None, nuisance, frame
    nuisance = crossfit_nuisances(X, t, m, y, learners, n_folds=settings["n_folds"], rng=rng,
                                  binary_mediator=binary_m, binary_outcome=binary_y, n_jobs=settings["n_jobs"],
                                  propensity=not effects_only, columns=columns)
    estimates, influence = (None, None) if effects_only else eif_estimates(influence_values(nuisance, t, y))
    units = projected_unit_effects(nuisance, X, learners, rng=rng, index=None, n_jobs=settings["n_jobs"],
                                   columns=columns)
    return estimates, influence, nuisance, units
