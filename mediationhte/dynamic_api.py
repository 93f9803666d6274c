"""``dynamic_mediation()``: mediation of sequential treatments over time (IDE, IME, DDE, DME), first version.

This version covers discrete states and mediators with tabular nuisances and a
saturated (tabular) Q basis, the setting of the spec's Toy designs
(dynamic_mediation.md sections 3.1-3.2, check 4). Continuous states and mediators
(spline Q basis, random-Fourier ratio features, Monte Carlo mediator blocks) and
the natural decomposition are not in it yet and are refused with that reason.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import validation as V
from ._immutable import CopyOnRead, readonly
from .dynamic_effects import COMPONENTS, DiscreteNuisances, estimate_effects
from .errors import DataError, ParameterError

ESTIMATORS = ("MR", "DM", "MIS", "baseline")
#: Discrete states and mediators with at most this many distinct values use the tabular version.
MAX_LEVELS = 20


def _transitions(data: pd.DataFrame, id, time, state, action, mediator, reward, allow_gaps: bool):
    V.check_columns_exist([id, time, state, action, mediator, reward], data, "dynamic_mediation()")
    frame = data.loc[:, [id, time, state, action, mediator, reward]].copy()
    if frame.isna().any().any():
        bad = [c for c in frame.columns if frame[c].isna().any()][0]
        raise DataError(f"Column {bad!r} has missing values; dynamic_mediation() needs complete trajectories.",
                        column=bad)
    if frame.duplicated([id, time]).any():
        first = frame.loc[frame.duplicated([id, time], keep=False), [id, time]].iloc[0].tolist()
        raise DataError(f"Columns {id!r}, {time!r}: (id, time) = {tuple(first)} appears more than once; each "
                        "trajectory needs one row per decision time.", column=time)
    frame = frame.sort_values([id, time], kind="stable")
    steps = frame.groupby(id, sort=False)[time].diff().dropna()
    if not allow_gaps and len(steps) and not np.allclose(steps.to_numpy(dtype=float), 1.0):
        raise DataError(f"Column {time!r} has gaps within a trajectory (times must be consecutive integers); pass "
                        "allow_gaps=True to treat consecutive rows as consecutive steps.", column=time)
    a = frame[action].to_numpy()
    if not set(np.unique(a).tolist()) <= {0, 1}:
        raise DataError(f"Column {action!r} (action) must be binary 0/1; found {np.unique(a)[:5].tolist()}.",
                        column=action, role="action")
    if frame[mediator].nunique() < 2:
        raise DataError(f"Column {mediator!r} (mediator) is constant; a mediator must vary.", column=mediator,
                        role="mediator")
    sizes = frame.groupby(id, sort=False).size()
    if (sizes < 2).any():
        raise DataError(f"Column {id!r}: trajectory {sizes.index[(sizes < 2).argmax()]!r} has one row; every "
                        "trajectory needs at least two decision times (a transition).", column=id)
    nxt = frame.groupby(id, sort=False)[state].shift(-1)
    keep = nxt.notna().to_numpy()
    rows = frame.loc[keep]
    return (rows[state].to_numpy(dtype=float), rows[action].to_numpy(dtype=float),
            rows[mediator].to_numpy(dtype=float), rows[reward].to_numpy(dtype=float),
            nxt[keep].to_numpy(dtype=float), pd.factorize(rows[id])[0])


def _policy_callable(target_policy, name: str):
    if isinstance(target_policy, numbers.Real) and not isinstance(target_policy, bool):
        value = float(target_policy)
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"Parameter {name} as a constant must be a probability in [0, 1]; got {value}.",
                                 parameter=name)
        return lambda s: np.full(np.shape(s), value)
    if not callable(target_policy):
        raise ParameterError(f"Parameter {name} must be a callable state array -> P(A = 1 | s), or a constant; "
                             f"got {type(target_policy).__name__}.", parameter=name)
    return target_policy


def _check_policy_output(policy, states: np.ndarray, name: str) -> None:
    out = np.asarray(policy(states), dtype=float)
    if out.shape != states.shape:
        raise ParameterError(f"Parameter {name} returned shape {out.shape} for {states.shape[0]} states; it must "
                             "return one probability per state.", parameter=name)
    if not np.all((out >= 0) & (out <= 1)):
        bad = out[(out < 0) | (out > 1)][0]
        raise ParameterError(f"Parameter {name} returned values outside [0, 1] (e.g. {bad:g}); it must return "
                             "P(A = 1 | s).", parameter=name)


def _tabular_nuisances(S, A, M, R, target, propensity) -> tuple[DiscreteNuisances, np.ndarray, np.ndarray]:
    s_levels, m_levels = np.unique(S), np.unique(M)
    si = np.searchsorted(s_levels, S)
    mi = np.searchsorted(m_levels, M)
    ns, nm = len(s_levels), len(m_levels)
    count_s = np.bincount(si, minlength=ns).astype(float)
    b1 = np.bincount(si, weights=A, minlength=ns) / np.maximum(count_s, 1)
    cell_sa = si * 2 + A.astype(int)
    count_sa = np.bincount(cell_sa, minlength=2 * ns).astype(float)
    cell_sam = cell_sa * nm + mi
    pm = (np.bincount(cell_sam, minlength=2 * ns * nm) / np.repeat(np.maximum(count_sa, 1), nm)).reshape(ns, 2, nm)
    count_sam = np.bincount(cell_sam, minlength=2 * ns * nm)
    r_cell = np.bincount(cell_sam, weights=R, minlength=2 * ns * nm) / np.maximum(count_sam, 1)
    r_cell = np.where(count_sam > 0, r_cell, R.mean()).reshape(ns, 2, nm)

    def idx(values, levels):
        return np.clip(np.searchsorted(levels, np.asarray(values, dtype=float)), 0, len(levels) - 1)

    behaviour = propensity if propensity is not None else (lambda s: np.clip(b1[idx(s, s_levels)], 1e-6, 1 - 1e-6))
    nuisances = DiscreteNuisances(
        behaviour=behaviour, target=target,
        mediator=lambda m, s, a: np.clip(pm[idx(s, s_levels), np.asarray(a, dtype=int), idx(m, m_levels)], 1e-6, 1),
        reward=lambda s, a, m: r_cell[idx(s, s_levels), np.asarray(a, dtype=int), idx(m, m_levels)],
        support=tuple(m_levels.tolist()))
    return nuisances, s_levels, m_levels


def _cells(s_levels, m_levels):
    ns, nm = len(s_levels), len(m_levels)

    def features(s, a, m):
        code = (np.searchsorted(s_levels, s) * 2 + np.asarray(a, dtype=int)) * nm + np.searchsorted(m_levels, m)
        out = np.zeros((len(code), 2 * ns * nm))
        out[np.arange(len(code)), code] = 1.0
        return out[:, 1:]  # the first cell fixes each Q-function's free constant

    def ratio(s):
        out = np.zeros((len(s), ns))
        out[np.arange(len(s)), np.searchsorted(s_levels, s)] = 1.0
        return out

    return features, ratio


@dataclass(frozen=True, eq=False)
class DynamicMediationResults(CopyOnRead):
    """IDE, IME, DDE, DME and ATE per estimator, from :func:`dynamic_mediation`.

    Attributes
    ----------
    table : pandas.DataFrame
        Index (estimator, component); columns estimate, std_error, ci_lower, ci_upper, p_value.
    etas : pandas.DataFrame
        The five long-run averages per estimator (DM, MIS, MR).
    n_trajectories, n_transitions : int

    Examples
    --------
    >>> import mediationhte as mh
    >>> from mediationhte.dynamic_simulation import toy_target_policy
    >>> d = mh.simulate_dynamic("toy1", n_trajectories=40, horizon=15, random_state=1)
    >>> res = mh.dynamic_mediation(d, id="id", time="time", state="state", action="action",
    ...                            mediator="mediator", reward="reward", target_policy=toy_target_policy)
    >>> res.n_trajectories, res.etas.shape
    (40, (5, 3))
    >>> res.bootstrap_ci(n_boot=5, random_state=1).index.equals(res.to_frame().index)
    True
    >>> "MR: IDE" in str(res.summary())
    True
    """

    table: pd.DataFrame = field(repr=False)
    etas: pd.DataFrame = field(repr=False)
    n_trajectories: int
    n_transitions: int
    alpha: float
    arrays: tuple = field(repr=False, default=())
    policies: tuple = field(repr=False, default=())
    estimators: tuple = ESTIMATORS

    def bootstrap_ci(self, n_boot: int = 200, *, random_state=None, n_jobs: int = 1, alpha: float | None = None,
                     progress: bool = False):
        """Percentile intervals from resampling whole trajectories (the nuisances refitted on each resample).

        Returns a DataFrame indexed like :meth:`to_frame` with ``estimate`` (the
        original fit), bootstrap ``std_error``, ``ci_lower`` and ``ci_upper``;
        identical for any ``n_jobs``.
        """
        from joblib import delayed

        from ._random import resolve_seed, spawn_seeds
        from .estimation import run_replicates
        from .inference import percentile_interval, standard_error

        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        rng, _ = resolve_seed(random_state)
        seeds = spawn_seeds(rng, n_boot)
        runs = run_replicates((delayed(_bootstrap_replicate)(self.arrays, self.policies, self.estimators, int(s))
                               for s in seeds), total=n_boot, n_jobs=V.check_n_jobs(n_jobs), progress=progress,
                              desc="trajectory bootstrap")
        table = self.table
        draws = np.array([[run[key] for key in table.index] for run in runs])
        lo, hi = percentile_interval(draws, alpha)
        return pd.DataFrame({"estimate": table["estimate"], "std_error": standard_error(draws), "ci_lower": lo,
                             "ci_upper": hi}, index=table.index)

    def plot(self, ax=None):
        """Dot-and-whisker plot of IDE, IME, DDE, DME and ATE per estimator (MR intervals); returns the Axes."""
        from .plotting import _pyplot

        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        t = self.table
        comps = [c for c in (*COMPONENTS, "ATE")]
        for j, est in enumerate(t.index.get_level_values("estimator").unique()):
            sub = t.loc[est].reindex(comps)
            y = np.arange(len(comps))[::-1] + 0.15 * j
            ax.plot(sub["estimate"], y, "o", label=est)
            ok = np.isfinite(sub["ci_lower"].to_numpy())
            ax.hlines(y[ok], sub["ci_lower"].to_numpy()[ok], sub["ci_upper"].to_numpy()[ok])
        ax.set_yticks(np.arange(len(comps))[::-1])
        ax.set_yticklabels(comps)
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
        ax.legend(frameon=False)
        return ax

    def to_frame(self) -> pd.DataFrame:
        """The effects table (a copy)."""
        return self.table

    def summary(self):
        """The effects in the package's Summary layout (rows ``<estimator>_<component>``)."""
        from .tables import Summary

        t = self.table
        frame = t.copy()
        frame.index = [f"{e}_{c}" for e, c in t.index]
        labels = tuple((f"{e}_{c}", f"{e}: {c}") for e, c in t.index)
        return Summary(frame[["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]], method="ate",
                       short_form=False, alpha=self.alpha, n_obs=self.n_transitions, labels=labels,
                       footer=(("Trajectories", str(self.n_trajectories)),),
                       notes=("SEs cluster by trajectory; DM has no SE (its row terms are constant).",),
                       title="Dynamic Mediation Analysis (four-way decomposition)")


def dynamic_mediation(data, *, id, time, state, action, mediator, reward, target_policy, control_action=0,
                      propensity=None, estimators=ESTIMATORS, decomposition="four_way", q_basis="tabular",
                      allow_gaps: bool = False, alpha: float = 0.05) -> DynamicMediationResults:
    """Dynamic mediation of a target policy against "always a_0": IDE, IME, DDE, DME and ATE by MR, DM, MIS, baseline.

    First version: discrete (few-valued) state and mediator, tabular nuisances and
    Q basis. See the module docstring for what is not in it yet.

    Examples
    --------
    >>> import mediationhte as mh
    >>> from mediationhte.dynamic_simulation import toy_target_policy
    >>> d = mh.simulate_dynamic("toy1", n_trajectories=50, horizon=20, random_state=1)
    >>> res = dynamic_mediation(d, id="id", time="time", state="state", action="action", mediator="mediator",
    ...                         reward="reward", target_policy=toy_target_policy)
    >>> sorted(res.to_frame().index.get_level_values("component").unique())
    ['ATE', 'DDE', 'DME', 'IDE', 'IME']
    """
    data = V.check_dataframe(data)
    V.check_option("decomposition", decomposition, ("four_way", "natural"))
    V.check_option("q_basis", q_basis, ("tabular", "spline"))
    alpha = V.check_alpha(alpha)
    if decomposition == "natural" or q_basis == "spline":
        bad = "decomposition" if decomposition == "natural" else "q_basis"
        raise ParameterError(f"Parameter {bad}={locals()[bad]!r} is not available in this version (tabular four-way "
                             "decomposition only).", parameter=bad)
    if control_action != 0:
        raise ParameterError("Parameter control_action must be 0 in this version; recode the action so the "
                             "control is 0.", parameter="control_action")
    names = (estimators,) if isinstance(estimators, str) else tuple(estimators)
    if not names or any(e not in ESTIMATORS for e in names):
        raise ParameterError(f"Parameter estimators must be among {ESTIMATORS}; got {estimators!r}.",
                             parameter="estimators")
    S, A, M, R, S2, traj = _transitions(data, id, time, state, action, mediator, reward, allow_gaps)
    for column, values in ((state, S), (mediator, M)):
        if len(np.unique(values)) > MAX_LEVELS:
            raise DataError(f"Column {column!r} has more than {MAX_LEVELS} distinct values; this version needs a "
                            "discrete state and mediator (q_basis='tabular').", column=column)
    target = _policy_callable(target_policy, "target_policy")
    _check_policy_output(target, np.unique(np.r_[S, S2]), "target_policy")
    known = None
    if propensity is not None:
        if isinstance(propensity, str):
            raise ParameterError("Parameter propensity as a column is not available in this version; pass a "
                                 "constant or a callable of the state.", parameter="propensity")
        known = _policy_callable(propensity, "propensity")
    out = _point(S, A, M, R, S2, target, known)
    n_traj, n = int(traj.max()) + 1, len(R)
    rows, z = {}, stats.norm.ppf(1 - alpha / 2)

    def cluster_se(values: np.ndarray) -> float:
        centred = values - values.mean()
        return float(np.sqrt(np.sum(np.bincount(traj, weights=centred) ** 2)) / n)

    for est in names:
        if est == "baseline":
            comps = out["effects"]["baseline"]
        else:
            comps = out["effects"][est]
        for comp in (*COMPONENTS, "ATE"):
            if comp not in comps:
                continue
            value = comps[comp]
            se = np.nan
            if est == "MR":
                phi = out["phi"]
                values = sum(phi.values()) if comp == "ATE" else phi[comp]
                se = cluster_se(values)
            p = float(2 * stats.norm.sf(abs(value / se))) if np.isfinite(se) and se > 0 else np.nan
            rows[(est, comp)] = {"estimate": value, "std_error": se, "ci_lower": value - z * se,
                                 "ci_upper": value + z * se, "p_value": p}
    table = pd.DataFrame(rows).T
    table.index = pd.MultiIndex.from_tuples(table.index, names=["estimator", "component"])
    etas = pd.DataFrame(out["etas"], index=[f"eta{k}" for k in range(1, 6)])
    arrays = tuple(readonly(v) for v in (S, A, M, R, S2, traj))
    return DynamicMediationResults(table=table.astype(float), etas=etas, n_trajectories=n_traj, n_transitions=n,
                                   alpha=alpha, arrays=arrays, policies=(target, known), estimators=names)


def _point(S, A, M, R, S2, target, known) -> dict:
    """Tabular nuisances, then the DM / MIS / MR / baseline estimates (estimate_effects)."""
    nuisances, _, m_levels = _tabular_nuisances(S, A, M, R, target, known)
    features, ratio = _cells(np.unique(np.r_[S, S2]), m_levels)
    return estimate_effects(S, A, M, R, S2, nuisances, features, ratio, ridge=1e-9)


def _flat(out: dict, names) -> dict:
    values = {}
    for est in names:
        comps = out["effects"]["baseline" if est == "baseline" else est]
        for comp, value in comps.items():
            values[(est, comp)] = value
    return values


def _bootstrap_replicate(arrays, policies, names, seed: int) -> dict:
    S, A, M, R, S2, traj = arrays
    rng = np.random.default_rng(seed)
    n_traj = int(traj.max()) + 1
    order = np.argsort(traj, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(traj, minlength=n_traj))]
    picked = rng.integers(0, n_traj, size=n_traj)
    rows = np.concatenate([order[starts[i]:starts[i + 1]] for i in picked])
    return _flat(_point(S[rows], A[rows], M[rows], R[rows], S2[rows], *policies), names)
