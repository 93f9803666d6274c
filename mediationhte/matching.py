"""Propensity-score nearest-neighbour matching with replacement (Abadie and Imbens, 2006).

Two steps, kept apart so that the matches can be reused (for balance
diagnostics, for several outcomes):

* :func:`match_on_score` matches on a one-dimensional score, usually the logit
  of the propensity score, and returns a frozen :class:`Matches`;
* :func:`matching_estimates` turns the matches and an outcome into the ATT and
  ATE with Abadie-Imbens standard errors.

In one dimension the nearest neighbours of a point are found exactly with
:func:`numpy.searchsorted` on the sorted scores of the other arm, in
O(n log n) time and O(n * n_neighbors) memory; no distance matrix is formed.

References
----------
Abadie, A. and Imbens, G. W. (2006). Large sample properties of matching
estimators for average treatment effects. *Econometrica*, 74(1), 235-267.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._immutable import readonly
from .errors import ParameterError
from .validation import check_alpha, check_positive_int

ESTIMATE_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n_matched", "n_unmatched")


@dataclass(frozen=True)
class Matches:
    """Nearest-neighbour matches on a score, as returned by :func:`match_on_score`.

    Every array is a read-only copy of length n (the number of units), in the
    order of the input.

    Attributes
    ----------
    indices : ndarray of int64, shape (n, n_neighbors)
        Row ``i`` holds the positions of the opposite-arm units matched to unit
        ``i``, nearest first; -1 where there is no match (beyond the caliper).
        Treated rows point at controls (used by the ATT and the ATE), control
        rows at treated units (used by the ATE only).
    distances : ndarray of float, shape (n, n_neighbors)
        Absolute score differences to those matches; NaN where ``indices`` is -1.
    matched : ndarray of bool
        True if unit ``i`` has at least one match within the caliper.
    n_valid : ndarray of int64
        Number of matches of unit ``i`` within the caliper (``n_neighbors``
        without a caliper, 0 for unmatched units).
    times_used_att : ndarray of int64
        K_M(i) for the ATT: how often unit ``i`` is a match of a matched treated
        unit (zero for treated units).
    times_used_ate : ndarray of int64
        K_M(i) for the ATE: how often unit ``i`` is a match of any matched unit.
    same_arm_neighbor : ndarray of int64
        Position of the nearest *other* unit in the same arm (J = 1), used to
        estimate the conditional outcome variance; -1 if the arm has one unit.
    treatment : ndarray of int8
        The 0/1 treatment the matches were built from.
    n_neighbors : int
        M, the number of matches requested per unit.
    caliper : float or None
        The caliper in standard deviations of the score.
    caliper_width : float or None
        ``caliper * score_sd``, the caliper on the score scale.
    score_sd : float
        Standard deviation (ddof = 1) of the score over all units.
    n_treated_matched, n_treated_unmatched, n_control_matched, n_control_unmatched : int
        Counts of matched and unmatched units per arm.
    """

    indices: np.ndarray
    distances: np.ndarray
    matched: np.ndarray
    n_valid: np.ndarray
    times_used_att: np.ndarray
    times_used_ate: np.ndarray
    same_arm_neighbor: np.ndarray
    treatment: np.ndarray
    n_neighbors: int
    caliper: float | None
    caliper_width: float | None
    score_sd: float
    n_treated_matched: int
    n_treated_unmatched: int
    n_control_matched: int
    n_control_unmatched: int

    def __post_init__(self):
        """Freeze the arrays, so the matches cannot be edited in place."""
        for name, dtype in (("indices", np.int64), ("distances", float), ("matched", bool), ("n_valid", np.int64),
                            ("times_used_att", np.int64), ("times_used_ate", np.int64),
                            ("same_arm_neighbor", np.int64), ("treatment", np.int8)):
            object.__setattr__(self, name, readonly(getattr(self, name), dtype=dtype))

    @property
    def n_units(self) -> int:
        """Number of units n."""
        return int(self.matched.shape[0])

    def counts(self) -> pd.DataFrame:
        """Matched and unmatched units per arm: rows ``treated``/``control``, columns ``matched``/``unmatched``."""
        return pd.DataFrame({"matched": [self.n_treated_matched, self.n_control_matched],
                             "unmatched": [self.n_treated_unmatched, self.n_control_unmatched]},
                            index=pd.Index(["treated", "control"], name="arm"))

    def __repr__(self) -> str:
        """Short summary: n, M, caliper and the counts per arm."""
        cal = "none" if self.caliper is None else f"{self.caliper:g} SD ({self.caliper_width:.4g} on the score)"
        return (f"Matches(n={self.n_units}, n_neighbors={self.n_neighbors}, caliper={cal}, "
                f"treated matched {self.n_treated_matched}/{self.n_treated_matched + self.n_treated_unmatched}, "
                f"control matched {self.n_control_matched}/{self.n_control_matched + self.n_control_unmatched})")


def _as_score(score) -> np.ndarray:
    try:
        s = np.asarray(score, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter score must be a 1-D array of numbers; could not convert it ({exc}).",
                             parameter="score") from exc
    if s.ndim != 1:
        raise ParameterError(f"Parameter score must be 1-D; got an array of shape {s.shape}. Pass one score "
                             "per unit (for example the logit of the propensity score).", parameter="score")
    bad = ~np.isfinite(s)
    if bad.any():
        raise ParameterError(f"Parameter score must be finite; found {int(bad.sum())} NaN or infinite values "
                             f"(first at position {int(np.flatnonzero(bad)[0])}). Clip propensity scores away "
                             "from 0 and 1 before taking the logit.", parameter="score")
    return s


def _as_treatment(t, n: int, name: str = "t", purpose: str = "matching") -> np.ndarray:
    """Return ``t`` as an int8 0/1 array of length ``n`` with both arms present (``purpose`` goes in the message)."""
    arr = np.asarray(t)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ParameterError(f"Parameter {name} must be 1-D with one entry per unit ({n}); got shape "
                             f"{arr.shape}.", parameter=name)
    if arr.dtype == bool:
        out = arr.astype(np.int8)
    else:
        if arr.dtype.kind not in "iuf":
            raise ParameterError(f"Parameter {name} must be 0/1 (or boolean); got dtype {arr.dtype}. Recode the "
                                 "treatment to 0 = control, 1 = treated.", parameter=name)
        is01 = (arr == 0) | (arr == 1)
        if not is01.all():
            found = ", ".join(repr(v) for v in np.unique(arr[~is01])[:5].tolist())
            raise ParameterError(f"Parameter {name} must contain only 0 and 1; found {found}. Recode the "
                                 "treatment to 0 = control, 1 = treated.", parameter=name)
        out = arr.astype(np.int8)
    n1 = int(out.sum())
    if n1 == 0 or n1 == n:
        empty = "treated" if n1 == 0 else "control"
        raise ParameterError(f"Parameter {name} has no {empty} units ({n1} treated of {n}); {purpose} needs both "
                             "arms.", parameter=name)
    return out


def _check_caliper(caliper) -> float | None:
    if caliper is None:
        return None
    if isinstance(caliper, bool) or not isinstance(caliper, numbers.Real) or not np.isfinite(caliper) \
            or caliper <= 0:
        raise ParameterError(f"Parameter caliper must be None or a finite number > 0 (in standard deviations of "
                             f"the score); got {caliper!r}.", parameter="caliper")
    return float(caliper)


def _nearest_sorted(sorted_vals: np.ndarray, queries: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``sorted_vals`` of the ``m`` values nearest each query, and their distances.

    The m nearest values of a point in a sorted 1-D array lie within m places
    on either side of its insertion point, so a window of 2m candidates per
    query is exact. The stable sort breaks equal distances towards the lower
    window position, i.e. towards the smaller score.
    """
    pos = np.searchsorted(sorted_vals, queries, side="left")
    cand = pos[:, None] + np.arange(-m, m)[None, :]
    inside = (cand >= 0) & (cand < sorted_vals.shape[0])
    cand = np.clip(cand, 0, sorted_vals.shape[0] - 1)
    dist = np.abs(sorted_vals[cand] - queries[:, None])
    dist[~inside] = np.inf
    pick = np.argsort(dist, axis=1, kind="stable")[:, :m]
    return np.take_along_axis(cand, pick, axis=1), np.take_along_axis(dist, pick, axis=1)


def _same_arm_neighbor(sorted_vals: np.ndarray) -> np.ndarray:
    """For each sorted position, the adjacent position (left on ties) with the nearer value; -1 if alone."""
    k = sorted_vals.shape[0]
    if k == 1:
        return np.full(1, -1, dtype=np.int64)
    gap = np.diff(sorted_vals)
    left = np.r_[np.inf, gap]
    right = np.r_[gap, np.inf]
    positions = np.arange(k)
    return np.where(left <= right, positions - 1, positions + 1)


def match_on_score(score, t, *, caliper: float | None = None, n_neighbors: int = 1) -> Matches:
    """Match every unit to its nearest opposite-arm units on a 1-D score, with replacement.

    Parameters
    ----------
    score : array-like of float, shape (n,)
        The matching score, for example the logit of the estimated propensity
        score (on the logit scale, distances in the tails are not compressed).
    t : array-like of {0, 1} or bool, shape (n,)
        Treatment indicator; both arms must be present.
    caliper : float, optional
        Maximum allowed distance, in standard deviations (ddof = 1) of
        ``score`` over all units. Matches farther than ``caliper * sd`` are
        discarded; a unit with no match left (its nearest opposite-arm unit is
        beyond the caliper) is unmatched and excluded from the estimates.
        Default None: no caliper.
    n_neighbors : int, default 1
        M, the number of matches per unit. Must not exceed the size of either
        arm.

    Returns
    -------
    Matches
        The matches (treated -> controls and controls -> treated), the match
        counts K_M(i) for the ATT and the ATE, the same-arm nearest neighbour of
        every unit and the matched/unmatched counts per arm.

    Raises
    ------
    ParameterError
        If ``score`` is not a finite 1-D array, ``t`` is not 0/1 of the same
        length or has an empty arm, ``caliper`` is not positive, or
        ``n_neighbors`` is not an integer between 1 and the smaller arm's size.

    Notes
    -----
    Matching is exact nearest-neighbour matching in one dimension via
    :func:`numpy.searchsorted`, O(n log n) time and O(n M) memory.

    Ties: every unit gets exactly M matches (Abadie and Imbens instead keep all
    units tied with the M-th nearest). Equal distances are resolved towards the
    smaller score and, among equal scores, towards the lower position in the
    input, so the result is deterministic. The same rule picks the same-arm
    neighbour used for the variance.

    K_M(i) counts uses by *matched* units only. With a caliper, a unit that is
    unmatched is never anyone's match either (its nearest opposite-arm unit is
    already too far), so its K_M(i) is 0.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.0, 0.2, 1.0, 0.1, 0.9, 3.0])
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> m = match_on_score(score, t)
    >>> m.indices[:, 0].tolist()     # treated -> controls, controls -> treated
    [3, 3, 4, 0, 2, 2]
    >>> m.times_used_att.tolist()
    [0, 0, 0, 2, 1, 0]
    >>> match_on_score(score, t, caliper=0.5).matched.tolist()   # 3.0 is too far from every treated unit
    [True, True, True, True, True, False]
    """
    s = _as_score(score)
    n = s.shape[0]
    tt = _as_treatment(t, n)
    cal = _check_caliper(caliper)
    m = check_positive_int("n_neighbors", n_neighbors)
    n1 = int(tt.sum())
    n0 = n - n1
    if m > min(n0, n1):
        raise ParameterError(f"Parameter n_neighbors must not exceed the size of the smaller arm; got {m} with "
                             f"{n1} treated and {n0} control units. Use n_neighbors <= {min(n0, n1)}.",
                             parameter="n_neighbors")

    sd = float(np.std(s, ddof=1))
    width = None if cal is None else cal * sd

    indices = np.empty((n, m), dtype=np.int64)
    distances = np.empty((n, m), dtype=float)
    same_arm = np.empty(n, dtype=np.int64)
    arms = [np.flatnonzero(tt == a) for a in (0, 1)]
    # Stable sort: among equal scores the lower input position comes first, which fixes the tie rule.
    orders = [arm[np.argsort(s[arm], kind="stable")] for arm in arms]
    for a in (0, 1):
        own, other = orders[a], orders[1 - a]
        pos, dist = _nearest_sorted(s[other], s[own], m)
        indices[own] = other[pos]
        distances[own] = dist
        neighbor = _same_arm_neighbor(s[own])
        same_arm[own] = np.where(neighbor >= 0, own[np.maximum(neighbor, 0)], -1)

    if width is not None:
        # Strict inequality: a match exactly at the caliper is kept.
        beyond = distances > width
        indices[beyond] = -1
        distances[beyond] = np.nan
    n_valid = (indices >= 0).sum(axis=1)
    matched = n_valid > 0

    valid = indices >= 0
    att_rows = (tt == 1) & matched
    times_att = np.bincount(indices[att_rows][valid[att_rows]], minlength=n)
    times_ate = np.bincount(indices[valid], minlength=n)

    treated = tt == 1
    return Matches(indices=indices, distances=distances, matched=matched, n_valid=n_valid,
                   times_used_att=times_att, times_used_ate=times_ate, same_arm_neighbor=same_arm, treatment=tt,
                   n_neighbors=m, caliper=cal, caliper_width=width, score_sd=sd,
                   n_treated_matched=int((treated & matched).sum()),
                   n_treated_unmatched=int((treated & ~matched).sum()),
                   n_control_matched=int((~treated & matched).sum()),
                   n_control_unmatched=int((~treated & ~matched).sum()))


def _match_weights(indices: np.ndarray, n_valid: np.ndarray, rows: np.ndarray, n: int):
    """Sum over the units in ``rows`` of 1/M_j and of 1/M_j**2 for every unit used as their match.

    With M_j = M for every j these are K_M(i)/M and K_M(i)/M**2; the caliper can
    leave a unit with fewer matches, whose matches then weigh 1/M_j each.
    """
    sub = indices[rows]
    valid = sub >= 0
    inv = np.broadcast_to((1.0 / np.maximum(n_valid[rows], 1))[:, None], sub.shape)[valid]
    used = sub[valid]
    return np.bincount(used, weights=inv, minlength=n), np.bincount(used, weights=inv**2, minlength=n)


def _row(est: float, var: float, alpha: float, n_matched: int, n_unmatched: int) -> list:
    if n_matched == 0:
        return [np.nan] * 5 + [0, n_unmatched]
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    if se > 0:
        p = float(2 * stats.norm.sf(abs(est) / se))
    else:
        p = np.nan
    return [est, se, est - z * se, est + z * se, p, n_matched, n_unmatched]


def matching_estimates(y, t, matches: Matches, *, alpha: float = 0.05) -> pd.DataFrame:
    r"""ATT and ATE from nearest-neighbour matches, with Abadie-Imbens (2006) standard errors.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Observed outcomes, in the order used for :func:`match_on_score`.
    t : array-like of {0, 1} or bool, shape (n,)
        Treatment indicator; must equal the one the matches were built from.
    matches : Matches
        Output of :func:`match_on_score`.
    alpha : float, default 0.05
        Confidence intervals have level 1 - alpha.

    Returns
    -------
    pandas.DataFrame
        Rows ``matching_att`` and ``matching_ate``; columns ``estimate``,
        ``std_error``, ``ci_lower``, ``ci_upper``, ``p_value`` (normal, two
        sided, for zero effect), ``n_matched`` and ``n_unmatched`` (treated
        units for the ATT, all units for the ATE). If no unit of the relevant
        kind is matched (a very tight caliper) the row's numbers are NaN.

    Raises
    ------
    ParameterError
        If ``matches`` is not a :class:`Matches`, ``y`` is not finite with one
        value per unit, ``t`` differs from the matches' treatment, an arm has a
        single unit (no same-arm neighbour for the variance), or ``alpha`` is
        not in (0, 1).

    Notes
    -----
    With :math:`\hat Y_i(0), \hat Y_i(1)` the observed outcome for unit i's own
    arm and the mean outcome of its M matches for the other arm,

    .. math::

        \hat\tau = \frac1N \sum_i \{\hat Y_i(1) - \hat Y_i(0)\}, \qquad
        \hat\tau_t = \frac1{N_1} \sum_{i: W_i = 1} \{Y_i - \hat Y_i(0)\},

    over the N matched units (:math:`N_1` matched treated). The variances are
    the estimators of the *population* ATE and ATT of Abadie and Imbens (2006,
    Theorem 7),

    .. math::

        \hat V = \frac1{N^2} \sum_i \Big[\{\hat Y_i(1) - \hat Y_i(0) - \hat\tau\}^2
            + \Big\{\Big(\frac{K_M(i)}{M}\Big)^2 + \frac{2M-1}{M}\frac{K_M(i)}{M}\Big\} \hat\sigma^2_i\Big],

        \hat V_t = \frac1{N_1^2} \sum_i \Big[W_i \{Y_i - \hat Y_i(0) - \hat\tau_t\}^2
            + (1 - W_i) \frac{K_M(i)\{K_M(i) - 1\}}{M^2} \hat\sigma^2_i\Big],

    where :math:`K_M(i)` counts the uses of unit i as a match (by all matched
    units for the ATE, by the matched treated for the ATT) and
    :math:`\hat\sigma^2_i = (Y_i - Y_j)^2 / 2` with j the unit nearest to i on
    the score within i's arm (their Theorem 6 with J = 1; the nearest
    neighbour is searched among all units of the arm, matched or not).

    The score is treated as **known**: the uncertainty from estimating the
    propensity score is ignored (Abadie and Imbens, 2016, show that this
    typically overstates the ATE variance, and may go either way for the ATT).
    No bias correction is applied. Units left unmatched by a caliper are
    dropped from the estimates and from the variance. When the caliper leaves
    a unit j with :math:`M_j < M` matches, each of them weighs :math:`1/M_j`
    and the K/M terms are replaced by the matching sums of :math:`1/M_j` and
    :math:`1/M_j^2`, which reduce to the formulas above when all
    :math:`M_j = M`.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.0, 0.2, 1.0, 0.1, 0.9, 3.0])
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> y = np.array([3.0, 4.0, 6.0, 1.0, 2.0, 5.0])
    >>> est = matching_estimates(y, t, match_on_score(score, t))
    >>> float(est.loc["matching_att", "estimate"])   # (3 - 1 + 4 - 1 + 6 - 2) / 3
    3.0
    >>> est["n_matched"].tolist()
    [3, 6]
    """
    if not isinstance(matches, Matches):
        raise ParameterError(f"Parameter matches must be the Matches returned by match_on_score; got "
                             f"{type(matches).__name__}.", parameter="matches")
    n = matches.n_units
    alpha = check_alpha(alpha)
    try:
        yy = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter y must be a 1-D array of numbers; could not convert it ({exc}).",
                             parameter="y") from exc
    if yy.ndim != 1 or yy.shape[0] != n:
        raise ParameterError(f"Parameter y must be 1-D with one value per matched-on unit ({n}); got shape "
                             f"{yy.shape}.", parameter="y")
    if not np.isfinite(yy).all():
        raise ParameterError(f"Parameter y must be finite; found {int((~np.isfinite(yy)).sum())} NaN or infinite "
                             "values. Drop those units before matching.", parameter="y")
    tt = _as_treatment(t, n)
    if not np.array_equal(tt, matches.treatment):
        raise ParameterError("Parameter t differs from the treatment the matches were built from (at "
                             f"{int((tt != matches.treatment).sum())} positions). Pass the same t to "
                             "match_on_score and matching_estimates.", parameter="t")
    if (matches.same_arm_neighbor < 0).any():
        raise ParameterError("Parameter t has an arm with a single unit; the Abadie-Imbens variance needs a "
                             "same-arm neighbour for every unit. Each arm needs at least 2 units.", parameter="t")

    idx, n_valid, matched = matches.indices, matches.n_valid, matches.matched
    treated = tt == 1
    valid = idx >= 0
    y_other = np.where(valid, yy[np.maximum(idx, 0)], 0.0).sum(axis=1) / np.maximum(n_valid, 1)
    sigma2 = 0.5 * (yy - yy[matches.same_arm_neighbor]) ** 2

    # ATT: matched treated units, controls entering through K_M(i).
    att_rows = treated & matched
    n1 = int(att_rows.sum())
    if n1 > 0:
        diff_t = yy[att_rows] - y_other[att_rows]
        tau_t = float(diff_t.mean())
        w, q = _match_weights(idx, n_valid, att_rows, n)
        # w**2 - q is K(K-1)/M**2 when every treated unit has M matches.
        var_t = (np.sum((diff_t - tau_t) ** 2) + np.sum(((w**2 - q) * sigma2)[~treated])) / n1**2
    else:
        tau_t, var_t = np.nan, np.nan
    att = _row(tau_t, var_t, alpha, n1, int((treated & ~matched).sum()))

    n_all = int(matched.sum())
    if n_all > 0:
        diff = np.where(treated, yy - y_other, y_other - yy)[matched]
        tau = float(diff.mean())
        w, q = _match_weights(idx, n_valid, matched, n)
        # w**2 + 2w - q is (K/M)**2 + ((2M-1)/M)(K/M) when every unit has M matches.
        factor = (w**2 + 2 * w - q)[matched]
        var = (np.sum((diff - tau) ** 2) + np.sum(factor * sigma2[matched])) / n_all**2
    else:
        tau, var = np.nan, np.nan
    ate = _row(tau, var, alpha, n_all, n - n_all)

    out = pd.DataFrame([att, ate], index=pd.Index(["matching_att", "matching_ate"], name="estimand"),
                       columns=list(ESTIMATE_COLUMNS))
    return out.astype({"n_matched": np.int64, "n_unmatched": np.int64})


__all__ = ["Matches", "match_on_score", "matching_estimates"]
