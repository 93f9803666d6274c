"""``dynamic_mediation()``: mediation of sequential treatments over time (IDE, IME, DDE, DME; dynamic_mediation.md).

Data flow: long trajectories -> validated transitions (dynamic_data) -> fitted b,
p_m, r (dynamic_nuisances) -> Q basis and ratio features (dynamic_bases) -> DM, MIS,
MR and baseline estimates (dynamic_effects) -> DynamicMediationResults
(dynamic_results). Discrete states and mediators use tabular nuisances and the
saturated Q basis with exact sums over the mediator; continuous ones use learners,
additive splines and Monte Carlo mediator blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.random_state import resolve_seed
from mediationhte.dynamic.bases import is_discrete, q_basis as make_q_basis, ratio_basis
from mediationhte.dynamic.data import Transitions, check_policy_output, state_policy, transitions
from mediationhte.dynamic.effects import COMPONENTS, estimate_effects
from mediationhte.dynamic.nuisances import fit_nuisances
from mediationhte.dynamic.results import DynamicMediationResults
from mediationhte.errors import ParameterError

ESTIMATORS = ("MR", "DM", "MIS", "baseline")
Q_BASES = ("spline", "polynomial", "tabular")
RATIO_FEATURES = ("auto", "rff", "linear", "tabular")


@dataclass(frozen=True)
class DynamicConfig:
    """Everything a refit needs besides the rows (used by the fit and every bootstrap replicate)."""

    target: object
    known_propensity: object
    learner: object
    q_basis: str
    ratio_features: str
    n_mc: int
    ridge: float
    clip: float
    decomposition: str
    n_folds: int | None = None


def dynamic_mediation(data, *, id, time, state, action, mediator, reward, target_policy, control_action=0,
                      propensity=None, estimators=ESTIMATORS, decomposition="four_way", q_basis="spline",
                      n_mc: int = 50, random_state=None, learner="auto", ratio_features="auto",
                      ridge: float | None = None, clip: float = 500.0, n_folds: int | None = None,
                      allow_gaps: bool = False, alpha: float = 0.05) -> DynamicMediationResults:
    """Dynamic mediation of a target policy against "always the control action": IDE, IME, DDE, DME and ATE.

    Four estimators of the average-reward decomposition of Ge et al. (2023): the
    multiply robust MR (with trajectory-cluster standard errors), the direct method
    DM, marginalised importance sampling MIS, and the single-time-point baseline.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per (id, time). Never modified.
    id, time, action, reward : str
        Columns. ``action`` must be 0/1.
    state, mediator : str or list of str
        One column or several.
    target_policy : callable or float
        P(A = 1 | s) of the target policy: a constant, or a callable given the state
        array (1-d for one state column, (n, d) for several).
    control_action : {0, 1}, default 0
        The action of the control policy ("always control_action").
    propensity : None, str, float or callable
        The behaviour policy P(A = 1 | s): None estimates it; a column name gives it per
        row; a constant or a callable gives a known randomisation probability (as in a
        micro-randomised trial).
    estimators : sequence of {"MR", "DM", "MIS", "baseline"}
    decomposition : {"four_way", "natural"}
        Switch the paths from the target policy to the control one at a time (the
        paper's main decomposition), or from the control to the target (Appendix B).
    q_basis : {"spline", "polynomial", "tabular"}, default "spline"
        Sieve of the Q-functions (see :mod:`mediationhte.dynamic.bases`; with only
        discrete states and mediators "spline" is the saturated table).
    n_mc : int, default 50
        Monte Carlo mediator draws per row for a continuous mediator.
    random_state : None, int or numpy.random.Generator
        Seeds the learners, the Monte Carlo draws and the random features.
    learner : "auto", "tabular", "linear", "forest", "boosting", an estimator, or a dict by role
        Nuisance models ("behaviour", "mediator", "reward"); "auto" is "tabular" for
        discrete states and mediators and "boosting" otherwise.
    ratio_features : {"auto", "rff", "linear", "tabular"}
    ridge : float, optional
        Ridge of the Q and ratio systems (default 1e-9 for tabular, 1e-4 otherwise).
    clip : float, default 500
        Ratios are clipped to [1/clip, clip] and the mediator ratio kappa to clip.
    n_folds : int, optional
        Cross-fit b, p_m and r over this many folds of whole trajectories (each row's
        nuisances from models fitted without its trajectory; the Q-functions and ratios
        then use all rows). Off by default, as in the reference; with flexible learners
        it removes the overfitting bias of in-sample residuals.
    allow_gaps : bool, default False
        Treat consecutive rows as consecutive steps even when ``time`` skips values.
    alpha : float, default 0.05

    Returns
    -------
    DynamicMediationResults

    Examples
    --------
    >>> import mediationhte as mh
    >>> from mediationhte.datasets.dynamic import toy_target_policy
    >>> d = mh.simulate_dynamic("toy1", n_trajectories=50, horizon=20, random_state=1)
    >>> res = dynamic_mediation(d, id="id", time="time", state="state", action="action", mediator="mediator",
    ...                         reward="reward", target_policy=toy_target_policy)
    >>> sorted(res.to_frame().index.get_level_values("component").unique())
    ['ATE', 'DDE', 'DME', 'IDE', 'IME']
    """
    data = V.check_dataframe(data)
    V.check_option("decomposition", decomposition, ("four_way", "natural"))
    V.check_option("q_basis", q_basis, Q_BASES)
    V.check_option("ratio_features", ratio_features, RATIO_FEATURES)
    alpha = V.check_alpha(alpha)
    n_mc = V.check_positive_int("n_mc", n_mc)
    clip = float(clip)
    if not clip > 1:
        raise ParameterError(f"Parameter clip must be a number above 1; got {clip!r}.", parameter="clip")
    names = (estimators,) if isinstance(estimators, str) else tuple(estimators)
    if not names or any(e not in ESTIMATORS for e in names):
        raise ParameterError(f"Parameter estimators must be among {ESTIMATORS}; got {estimators!r}.",
                             parameter="estimators")
    column = propensity if isinstance(propensity, str) else None
    rows = transitions(data, id=id, time=time, state=state, action=action, mediator=mediator, reward=reward,
                       propensity_column=column, control_action=control_action, allow_gaps=allow_gaps)
    flip = control_action == 1
    target = state_policy(target_policy, "target_policy", flip)
    check_policy_output(target, np.unique(np.vstack([rows.S, rows.S_next]), axis=0), "target_policy")
    known = None
    if propensity is not None and column is None:
        known = state_policy(propensity, "propensity", flip)
        check_policy_output(known, np.unique(rows.S, axis=0), "propensity")
    discrete = is_discrete(np.vstack([rows.S, rows.S_next])) and is_discrete(rows.M)
    if learner == "auto":
        learner = "tabular" if discrete else "boosting"
    if learner == "tabular" and not discrete:
        raise ParameterError("Parameter learner='tabular' needs discrete states and mediators (at most 20 values "
                             "per column); use a learner such as 'boosting'.", parameter="learner")
    if ridge is None:
        ridge = 1e-9 if discrete and q_basis != "polynomial" else 1e-4
    if n_folds is not None:
        n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
        if learner == "tabular":
            raise ParameterError("Parameter n_folds: cross-fitting needs a learner (learner='tabular' fits cell "
                                 "frequencies); pass learner='boosting' or leave n_folds=None.", parameter="n_folds")
        if n_folds > int(rows.traj.max()) + 1:
            raise ParameterError(f"Parameter n_folds={n_folds} exceeds the {int(rows.traj.max()) + 1} trajectories.",
                                 parameter="n_folds")
    config = DynamicConfig(target=target, known_propensity=known, learner=learner, q_basis=q_basis,
                           ratio_features=ratio_features, n_mc=n_mc, ridge=float(ridge), clip=clip,
                           decomposition=decomposition, n_folds=n_folds)
    _, seed = resolve_seed(random_state)
    out = point_estimates(rows, config, seed)
    table = effects_table(out, rows.traj, names, alpha)
    etas = pd.DataFrame(out["etas"], index=list(out["eta_labels"]))
    frozen = Transitions(*(None if v is None else readonly(v) for v in (rows.S, rows.A, rows.M, rows.R,
                                                                         rows.S_next, rows.traj, rows.propensity)))
    return DynamicMediationResults(table=table, etas=etas, n_trajectories=int(rows.traj.max()) + 1,
                                   n_transitions=len(rows.R), alpha=alpha, decomposition=decomposition,
                                   rows=frozen, config=config, estimators=names)


def point_estimates(rows: Transitions, config: DynamicConfig, seed: int) -> dict:
    """Fit the nuisances and the bases on ``rows``, then every estimator (estimate_effects)."""
    rng = np.random.default_rng(seed)
    nuisance_seed, draw_seed, feature_seed = (int(v) for v in rng.integers(0, 2**31 - 1, size=3))
    if config.known_propensity is not None:
        prop = config.known_propensity(rows.S)
    else:
        prop = rows.propensity
    folds = None
    if config.n_folds:  # whole trajectories per fold
        n_traj = int(rows.traj.max()) + 1
        folds = (rng.permutation(n_traj) % config.n_folds)[rows.traj]
    nuisances, continuous = fit_nuisances(rows.S, rows.A, rows.M, rows.R, target=config.target,
                                          propensity_rows=prop, learner=config.learner, seed=nuisance_seed,
                                          folds=folds)
    both = np.vstack([rows.S, rows.S_next])
    features = make_q_basis(both, rows.M, config.q_basis)
    ratio = ratio_basis(both, config.ratio_features, seed=feature_seed)
    draws = None
    if continuous:
        z = np.random.default_rng(draw_seed).standard_normal((2, config.n_mc) + rows.M.shape)
        draws = {"cur": z[0], "next": z[1]}
    return estimate_effects(rows.S, rows.A, rows.M, rows.R, rows.S_next, nuisances, features, ratio,
                            decomposition=config.decomposition, ridge=config.ridge, clip=config.clip, draws=draws)


def effects_table(out: dict, traj: np.ndarray, names, alpha: float) -> pd.DataFrame:
    """Estimates per (estimator, component); MR gets the trajectory-cluster SE, CI and p-value."""
    n = len(traj)
    z = stats.norm.ppf(1 - alpha / 2)

    def cluster_se(values: np.ndarray) -> float:
        centred = values - values.mean()
        return float(np.sqrt(np.sum(np.bincount(traj, weights=centred) ** 2)) / n)

    rows = {}
    for est in names:
        comps = out["effects"][est]
        for comp in (*COMPONENTS, "ATE"):
            if comp not in comps:
                continue
            value = comps[comp]
            se = np.nan
            if est == "MR":
                phi = out["phi"]
                se = cluster_se(sum(phi.values()) if comp == "ATE" else phi[comp])
            p = float(2 * stats.norm.sf(abs(value / se))) if np.isfinite(se) and se > 0 else np.nan
            rows[(est, comp)] = {"estimate": value, "std_error": se, "ci_lower": value - z * se,
                                 "ci_upper": value + z * se, "p_value": p}
    table = pd.DataFrame(rows).T.astype(float)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["estimator", "component"])
    return table


def flat_estimates(out: dict, names) -> dict:
    """(estimator, component) -> estimate, in the table's keys."""
    return {(est, comp): value for est in names for comp, value in out["effects"][est].items()}
