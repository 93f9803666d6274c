"""Input layer of ``dynamic_mediation()``: long trajectories -> validated transition arrays, and the policies.

The long format: one row per (id, time), sorted by time within
each trajectory; the next state is the state at the next time of the same id, so the
last row of every trajectory (no successor) is dropped. Trajectories may have
different lengths.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.errors import DataError, ParameterError


@dataclass(frozen=True)
class DynamicRoles:
    """Which columns of the long data play which role."""

    id: str
    time: str
    state: tuple[str, ...]
    action: str
    mediator: tuple[str, ...]
    reward: str


@dataclass(frozen=True)
class PolicyContrast:
    """The contrast of ``dynamic_mediation()``: the target policy against always taking ``control_action``."""

    target: object
    control_action: int


@dataclass(frozen=True, eq=False)
class Transitions:
    """Rows (S, A, M, R, S') with the trajectory code of each row; S, M, S' are (n, d); ``index``: the data's labels."""

    S: np.ndarray
    A: np.ndarray
    M: np.ndarray
    R: np.ndarray
    S_next: np.ndarray
    traj: np.ndarray
    propensity: np.ndarray | None = None
    index: pd.Index | None = None

    def take(self, rows: np.ndarray) -> "Transitions":
        """The transitions at the given row positions (bootstrap resamples)."""
        return Transitions(*(None if v is None else v[rows] for v in (self.S, self.A, self.M, self.R, self.S_next,
                                                                       self.traj, self.propensity, self.index)))

    def frozen(self) -> "Transitions":
        """A copy whose arrays are read-only."""
        return Transitions(*(None if v is None else readonly(v) for v in (self.S, self.A, self.M, self.R,
                                                                         self.S_next, self.traj, self.propensity)),
                           index=self.index)


#: Fewest trajectories accepted: the sandwich standard errors treat trajectories as the independent units.
MIN_TRAJECTORIES = 2


def as_columns(value, name: str) -> list[str]:
    """One column name or a list of them, as a list; a ParameterError names ``name`` otherwise."""
    columns = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if not columns or not all(isinstance(c, str) for c in columns):
        raise ParameterError(f"Parameter {name} must be a column name or a list of column names; got {value!r}.",
                             parameter=name)
    return columns


def transitions(data: pd.DataFrame, *, id, time, state, action, mediator, reward, propensity_column=None,
                control_action=0, allow_gaps: bool = False) -> Transitions:
    """Validate the long data and build the transition rows (action recoded so the control is 0)."""
    states, mediators = as_columns(state, "state"), as_columns(mediator, "mediator")
    roles = {id: "id", time: "time", action: "action", reward: "reward", **{c: "state" for c in states},
             **{c: "mediator" for c in mediators}}
    if propensity_column is not None:
        roles[propensity_column] = "propensity"
    V.check_columns_exist(list(roles), data, "dynamic_mediation()")
    frame = data.loc[:, list(dict.fromkeys(roles))].copy()
    for column, role in roles.items():
        if role in ("id",):
            continue
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"Column {column!r} ({role}) must be numeric; found dtype {frame[column].dtype}.",
                            column=column, role=role)
    if frame.isna().any().any():
        bad = [c for c in frame.columns if frame[c].isna().any()][0]
        raise DataError(f"Column {bad!r} ({roles[bad]}) has missing values; dynamic_mediation() needs complete "
                        "trajectories (drop or impute them first).", column=bad, role=roles[bad])
    V.check_finite(frame, {c: r for c, r in roles.items() if r != "id"})
    if frame.duplicated([id, time]).any():
        first = frame.loc[frame.duplicated([id, time], keep=False), [id, time]].iloc[0].tolist()
        raise DataError(f"Columns {id!r}, {time!r}: (id, time) = {tuple(first)} appears more than once; each "
                        "trajectory needs one row per decision time.", column=time, role="time")
    frame = frame.sort_values([id, time], kind="stable")
    steps = frame.groupby(id, sort=False)[time].diff().dropna()
    if not allow_gaps and len(steps) and not np.allclose(steps.to_numpy(dtype=float), 1.0):
        raise DataError(f"Column {time!r} (time) has gaps within a trajectory (times must be consecutive integers); "
                        "pass allow_gaps=True to treat consecutive rows as consecutive steps.", column=time,
                        role="time")
    a = frame[action].to_numpy(dtype=float)
    if not set(np.unique(a).tolist()) <= {0.0, 1.0}:
        raise DataError(f"Column {action!r} (action) must be binary 0/1; found {np.unique(a)[:5].tolist()}.",
                        column=action, role="action")
    if control_action not in (0, 1):
        raise ParameterError(f"Parameter control_action must be 0 or 1 (the action of the control policy); got "
                             f"{control_action!r}.", parameter="control_action")
    sizes = frame.groupby(id, sort=False).size()
    if len(sizes) < MIN_TRAJECTORIES:
        raise DataError(f"Column {id!r} (id): the data hold {len(sizes)} distinct id(s) in {len(frame)} row(s); "
                        f"dynamic_mediation() needs at least {MIN_TRAJECTORIES} trajectories, because its standard "
                        "errors treat trajectories as the independent units.", column=id, role="id")
    if (sizes < 2).any():
        short = V.plain(sizes.index[(sizes < 2).argmax()])
        raise DataError(f"Column {id!r} (id): trajectory {short!r} has one row; every trajectory needs at least two "
                        "decision times (a transition).", column=id, role="id")
    for column in mediators:
        if frame[column].nunique() < 2:
            raise DataError(f"Column {column!r} (mediator) is constant; a mediator must vary.", column=column,
                            role="mediator")
    nxt = frame.groupby(id, sort=False)[states].shift(-1)
    keep = nxt.notna().all(axis=1).to_numpy()
    rows = frame.loc[keep]
    A = rows[action].to_numpy(dtype=float)
    prop = None
    if propensity_column is not None:
        prop = rows[propensity_column].to_numpy(dtype=float)
        if np.any((prop <= 0) | (prop >= 1)):
            raise DataError(f"Column {propensity_column!r} (propensity) must hold P(A = 1 | S) strictly inside "
                            f"(0, 1); found {prop[(prop <= 0) | (prop >= 1)][0]:g}.", column=propensity_column,
                            role="propensity")
    if control_action == 1:  # recode so that the control action is 0 (the estimators assume a_0 = 0)
        A = 1.0 - A
        prop = None if prop is None else 1.0 - prop
    return Transitions(S=rows[states].to_numpy(dtype=float), A=A, M=rows[mediators].to_numpy(dtype=float),
                       R=rows[reward].to_numpy(dtype=float), S_next=nxt[keep].to_numpy(dtype=float),
                       traj=pd.factorize(rows[id])[0], propensity=prop, index=rows.index)


@dataclass(frozen=True)
class StatePolicy:
    """P(A = 1 | s) as the estimators see it: on (n, d) state arrays, with the action recoded if the control is 1.

    A constant, or the user's callable (given a 1-d array for one state column, else the (n, d) array).
    """

    value: object
    flip: bool = False

    def __call__(self, s):
        """P(A = 1 | s) for the rows of ``s``, (n,)."""
        s = np.asarray(s, dtype=float).reshape(len(s), -1)
        if callable(self.value):
            out = np.asarray(self.value(s[:, 0] if s.shape[1] == 1 else s), dtype=float).reshape(-1)
        else:
            out = np.full(len(s), float(self.value))
        return 1.0 - out if self.flip else out


def state_policy(value, name: str, flip: bool) -> StatePolicy:
    """Validate a policy given as a probability or a callable; ``flip`` when the control action is 1."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not 0.0 <= float(value) <= 1.0:
            raise ParameterError(f"Parameter {name} as a constant must be a probability in [0, 1]; got {value}.",
                                 parameter=name)
        if name == "propensity" and float(value) in (0.0, 1.0):
            raise ParameterError(f"Parameter propensity={value}: the behaviour policy must give both actions a "
                                 "positive probability (the estimators divide by P(A = a | S)); a constant "
                                 f"{value} says action {1 - int(value)} never happens. Pass a probability strictly "
                                 "between 0 and 1, or leave propensity=None to estimate it.", parameter=name)
        return StatePolicy(float(value), flip)
    if not callable(value):
        raise ParameterError(f"Parameter {name} must be a callable state array -> P(A = 1 | s), or a constant; "
                             f"got {type(value).__name__}.", parameter=name)
    return StatePolicy(value, flip)


def check_policy_output(policy: StatePolicy, states: np.ndarray, name: str) -> None:
    """The policy must return one probability in [0, 1] per state."""
    s = np.asarray(states, dtype=float).reshape(len(states), -1)
    raw = policy.value(s[:, 0] if s.shape[1] == 1 else s) if callable(policy.value) else np.full(len(s), 0.5)
    out = np.asarray(raw, dtype=float)
    if out.shape not in ((len(s),), (len(s), 1)):
        raise ParameterError(f"Parameter {name} returned shape {out.shape} for {len(s)} states; it must return one "
                             "probability per state.", parameter=name)
    if not np.all((out >= 0) & (out <= 1)):
        bad = out[(out < 0) | (out > 1)][0]
        raise ParameterError(f"Parameter {name} returned values outside [0, 1] (e.g. {bad:g}); it must return "
                             "P(A = 1 | s).", parameter=name)
    if name == "propensity" and not np.all((out > 0) & (out < 1)):
        raise ParameterError(f"Parameter propensity returned 0 or 1 for {int(np.sum((out <= 0) | (out >= 1)))} "
                             "observed state(s); the behaviour policy must give both actions a positive "
                             "probability there (the estimators divide by P(A = a | S)).", parameter=name)
