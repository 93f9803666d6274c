"""Propensity-score nearest-neighbour matching with replacement (Abadie and Imbens, 2006).

Two steps, kept apart so that the matches can be reused (for balance
diagnostics, for several outcomes):

* :func:`match_on_score` matches on a one-dimensional score, usually the logit
  of the propensity score, and returns a frozen :class:`Matches`;
* :func:`matching_estimates` turns the matches and an outcome into the ATT and
  ATE with Abadie-Imbens standard errors.

In one dimension the opposite-arm units within any distance of a point are a
contiguous run of that arm sorted by score, so each unit's matches are stored
as a range ``[lo, hi)`` of the sorted opposite arm, found with
:func:`numpy.searchsorted` and a vectorised bisection: O(n log n) time and
O(n) memory however many units are tied. Means over the ranges come from
cumulative sums and the use counts from difference arrays.

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

from mediationhte.core.immutable import readonly
from mediationhte.errors import ParameterError
from mediationhte.core.validation import check_alpha, check_option, check_positive_int

ESTIMATE_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n_matched", "n_unmatched")
WEIGHT_KINDS = ("ate", "att")


@dataclass(frozen=True)
class Matches:
    """Nearest-neighbour matches on a score, as returned by :func:`match_on_score`.

    Every array is a read-only copy with at most n entries (n units), so the
    object is O(n) in memory however many units are tied.

    Attributes
    ----------
    order_treated, order_control : ndarray of int64
        Sorted position -> unit index: the treated (control) units sorted by
        score, equal scores in input order.
    match_lo, match_hi : ndarray of int64, shape (n,)
        Unit ``i`` is matched to the range ``[match_lo[i], match_hi[i])`` of
        the *opposite* arm in sorted order: a treated unit to
        ``order_control[match_lo[i]:match_hi[i]]`` (used by the ATT and the
        ATE), a control to ``order_treated[...]`` (ATE only); empty for
        unmatched units. See :meth:`matched_units`.
    matched : ndarray of bool, shape (n,)
        True if unit ``i`` has at least one match within the caliper.
    n_valid : ndarray of int64, shape (n,)
        M_i = ``match_hi - match_lo``, the number of matches of unit ``i``
        (more than M with ties, fewer with a caliper); each weighs 1 / M_i.
    max_distance : ndarray of float, shape (n,)
        Largest score distance from unit ``i`` to its matches (NaN if none).
    times_used_att, times_used_ate : ndarray of int64, shape (n,)
        How many matched treated units (any matched units, for the ATE) have
        unit ``i`` among their matches.
    same_arm_neighbor : ndarray of int64, shape (n,)
        Position of the nearest *other* unit in the same arm (J = 1), used to
        estimate the conditional outcome variance; -1 if the arm has one unit.
    treatment : ndarray of int8, shape (n,)
        The 0/1 treatment the matches were built from.
    n_neighbors, ties : int, bool
        M, the number of matches requested per unit, and whether all units
        tied with the M-th nearest were kept.
    caliper, caliper_width, score_sd : float or None, float or None, float
        The caliper in standard deviations (ddof = 1) of the score, the same
        on the score scale (``caliper * score_sd``), and that SD.
    n_treated_matched, n_treated_unmatched, n_control_matched, n_control_unmatched : int
        Counts of matched and unmatched units per arm.
    """

    order_treated: np.ndarray
    order_control: np.ndarray
    match_lo: np.ndarray
    match_hi: np.ndarray
    matched: np.ndarray
    n_valid: np.ndarray
    max_distance: np.ndarray
    times_used_att: np.ndarray
    times_used_ate: np.ndarray
    same_arm_neighbor: np.ndarray
    treatment: np.ndarray
    n_neighbors: int
    ties: bool
    caliper: float | None
    caliper_width: float | None
    score_sd: float
    n_treated_matched: int
    n_treated_unmatched: int
    n_control_matched: int
    n_control_unmatched: int

    def __post_init__(self):
        """Freeze the arrays, so the matches cannot be edited in place."""
        special = {"matched": bool, "max_distance": float, "treatment": np.int8}
        for name in ("order_treated", "order_control", "match_lo", "match_hi", "matched", "n_valid", "max_distance",
                     "times_used_att", "times_used_ate", "same_arm_neighbor", "treatment"):
            object.__setattr__(self, name, readonly(getattr(self, name), dtype=special.get(name, np.int64)))

    @property
    def n_units(self) -> int:
        """Number of units n."""
        return int(self.matched.shape[0])

    def counts(self) -> pd.DataFrame:
        """Matched and unmatched units per arm: rows ``treated``/``control``, columns ``matched``/``unmatched``."""
        return pd.DataFrame({"matched": [self.n_treated_matched, self.n_control_matched],
                             "unmatched": [self.n_treated_unmatched, self.n_control_unmatched]},
                            index=pd.Index(["treated", "control"], name="arm"))

    def matched_units(self, i) -> np.ndarray:
        """Unit indices matched to unit ``i`` in increasing order of score (empty if unmatched).

        Raises ParameterError if ``i`` is not an integer in [0, n - 1].
        """
        n = self.n_units
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < n:
            raise ParameterError(f"Parameter i must be a unit position, an integer in [0, {n - 1}]; got {i!r}.",
                                 parameter="i")
        other = self.order_control if self.treatment[i] == 1 else self.order_treated
        return other[self.match_lo[i]:self.match_hi[i]].copy()

    def _match_weights(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Per unit, the sums of 1/M_j and 1/M_j**2 over the matched units j using it (treated j only for "att")."""
        return _uses(self.treatment, self.matched, self.match_lo, self.match_hi,
                     (self.order_control, self.order_treated), (1,) if kind == "att" else (1, 0))[1:]

    def frequency_weights(self, kind: str = "ate") -> np.ndarray:
        r"""Frequency weights of the matched sample, one per unit.

        Parameters
        ----------
        kind : {"ate", "att"}, default "ate"
            ``"ate"``: every matched unit weighs 1 for itself plus
            :math:`\sum_j 1/M_j` over the matched units j (of the other arm)
            that use it as a match. ``"att"``: matched treated units weigh 1,
            controls :math:`\sum_j 1/M_j` over the matched *treated* j using
            them, unmatched treated units 0.

        Returns
        -------
        ndarray of float, shape (n,)
            Zero for units neither matched nor used as a match. Raises
            ParameterError if ``kind`` is not ``"ate"`` or ``"att"``.

        Examples
        --------
        >>> m = match_on_score([0.0, 0.5, 1.0, 0.25, 1.0, 3.0], [1, 1, 1, 0, 0, 0])
        >>> m.frequency_weights().tolist()   # control 0.25 is tied between treated 0.0 and 0.5
        [1.5, 1.5, 3.0, 3.0, 2.0, 1.0]
        >>> m.frequency_weights("att").tolist()
        [1.0, 1.0, 1.0, 2.0, 1.0, 0.0]
        """
        check_option("kind", kind, WEIGHT_KINDS)
        w, _ = self._match_weights(kind)
        own = self.matched if kind == "ate" else self.matched & (self.treatment == 1)
        return own + w

    def __repr__(self) -> str:
        """Short summary: n, M, ties, caliper and the counts per arm."""
        cal = "none" if self.caliper is None else f"{self.caliper:g} SD ({self.caliper_width:.4g} on the score)"
        return (f"Matches(n={self.n_units}, n_neighbors={self.n_neighbors}, ties={self.ties}, caliper={cal}, "
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


def as_treatment(t, n: int, name: str = "t", purpose: str = "matching") -> np.ndarray:
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


def _check_ties(ties) -> bool:
    if not isinstance(ties, (bool, np.bool_)):
        raise ParameterError(f"Parameter ties must be True or False; got {ties!r}. Use ties=True to keep every "
                             "unit tied with the M-th nearest (Abadie-Imbens), ties=False for exactly M.",
                             parameter="ties")
    return bool(ties)


def _first_true(sv, q, thr, lo, hi, *, beyond: bool) -> np.ndarray:
    """Vectorised bisection: per query, the smallest j in [lo, hi] where the distance test holds.

    The test, ``|sv[j] - q| > thr`` if ``beyond`` else ``<= thr`` on the same
    floats as everywhere (so ties are exact), must be false then true on
    [lo, hi); ``hi`` if it never holds. O(log k) passes over the queries.
    """
    lo, hi = lo.copy(), hi.copy()
    act = np.flatnonzero(lo < hi)
    while act.size:
        mid = (lo[act] + hi[act]) // 2
        d = np.abs(sv[mid] - q[act])
        hit = d > thr[act] if beyond else d <= thr[act]
        hi[act] = np.where(hit, mid, hi[act])
        lo[act] = np.where(hit, lo[act], mid + 1)
        act = act[lo[act] < hi[act]]
    return lo


def _match_ranges(sv, q, m: int, width: float | None, ties: bool):
    """Ranges [lo, hi) of the matches of each query ``q`` in the sorted opposite-arm scores ``sv``.

    The M nearest lie within M places of the insertion point, so a window of
    2M candidates gives the nearest distance and d_M exactly. Distances fall,
    then rise along ``sv``, so each {j : |sv[j] - q| <= d} is a run, found by
    bisection from a nearest unit outwards.
    """
    k = sv.shape[0]
    pos = np.searchsorted(sv, q, side="left")
    cand = pos[:, None] + np.arange(-m, m)[None, :]
    inside = (cand >= 0) & (cand < k)
    cand = np.clip(cand, 0, k - 1)
    dist = np.abs(sv[cand] - q[:, None])
    dist[~inside] = np.inf
    near = cand[np.arange(q.shape[0]), np.argmin(dist, axis=1)]
    d_near = dist.min(axis=1)
    d_m = np.partition(dist, m - 1, axis=1)[:, m - 1]
    start, end = np.zeros_like(pos), np.full_like(pos, k)
    matched = np.ones(q.shape[0], dtype=bool) if width is None else d_near <= width
    if ties:
        thr = d_m if width is None else np.minimum(d_m, width)
        lo = _first_true(sv, q, thr, start, near, beyond=False)
        hi = _first_true(sv, q, thr, near, end, beyond=True)
    else:
        left = _first_true(sv, q, d_m, start, near, beyond=False)
        # The units strictly nearer than d_M (fewer than M, all in the window) end at ``inner_end``; the M
        # matches are the leftmost run of M consecutive units that contains them within the run at <= d_M.
        nearer = dist < d_m[:, None]
        inner_end = np.where(nearer.any(axis=1), np.where(nearer, cand, -1).max(axis=1) + 1, left)
        lo = np.maximum(left, inner_end - m)
        hi = lo + m
        if width is not None:
            w = np.full(q.shape[0], width)
            lo = np.maximum(lo, _first_true(sv, q, w, start, near, beyond=False))
            hi = np.minimum(hi, _first_true(sv, q, w, near, end, beyond=True))
    lo = np.where(matched, lo, near)
    hi = np.where(matched, hi, near)
    far = np.maximum(np.abs(sv[lo] - q), np.abs(sv[np.maximum(hi - 1, 0)] - q))
    return lo, hi, np.where(matched, far, np.nan)


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


def _coverage(lo: np.ndarray, hi: np.ndarray, k: int):
    """For each of k sorted positions: how many ranges [lo, hi) cover it, and the sums of 1/size and 1/size**2.

    Difference arrays: each range adds at ``lo`` and subtracts at ``hi``; a
    cumulative sum gives the totals, O(k + number of ranges). The counts are
    exact; the float sums are accurate to about (number of ranges) x machine
    epsilon and are set to exactly 0 where no range covers a position.
    """
    count = np.cumsum(np.bincount(lo, minlength=k + 1) - np.bincount(hi, minlength=k + 1))[:k]
    size = (hi - lo).astype(float)
    sums = [np.where(count > 0, np.cumsum(np.bincount(lo, wt, k + 1) - np.bincount(hi, wt, k + 1))[:k], 0.0)
            for wt in (1.0 / size, 1.0 / size**2)]
    return count, sums[0], sums[1]


def _uses(t, matched, lo, hi, orders, arms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit: times used as a match by the matched units of ``arms``, and the sums of 1/M_j and 1/M_j**2.

    ``orders`` are the sorted-position -> unit index arrays of the control and
    the treated arm, in that order; ``lo``/``hi`` index the opposite arm's.
    """
    n = t.shape[0]
    count, w, q = np.zeros(n, dtype=np.int64), np.zeros(n), np.zeros(n)
    for a in arms:  # the two arms, not the units
        rows = (t == a) & matched
        other = orders[1 - a]
        count[other], w[other], q[other] = _coverage(lo[rows], hi[rows], other.shape[0])
    return count, w, q


def match_on_score(score, t, *, caliper: float | None = None, n_neighbors: int = 1, ties: bool = True) -> Matches:
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
        ``score`` over all units; farther matches are discarded, and a unit
        with none left is unmatched and excluded from the estimates. Default
        None: no caliper.
    n_neighbors : int, default 1
        M, the number of matches per unit, at most the size of either arm.
    ties : bool, default True
        True: unit i is matched to *every* opposite-arm unit whose distance is
        at most that of its M-th nearest, J_M(i) in Abadie and Imbens (2006),
        as R's ``Matching(ties = TRUE)`` and Stata's ``teffects nnmatch`` do;
        each weighs 1 / #J_M(i). False: exactly M matches per unit (see
        Notes for which of several tied units are taken).

    Returns
    -------
    Matches
        The matches (treated -> controls, controls -> treated) as ranges of the
        sorted opposite arm, use counts, same-arm neighbours and counts per arm.

    Raises
    ------
    ParameterError
        If ``score`` is not a finite 1-D array, ``t`` is not 0/1 of the same
        length with both arms, ``caliper`` is not positive, ``ties`` is not a
        boolean, or ``n_neighbors`` is not an integer in [1, smaller arm size].

    Notes
    -----
    Exact matching in one dimension, O(n log n) time and O(n) memory (plus an
    O(n M) candidate window) whatever the number of ties (module docstring).

    Distances are the floats ``abs(score[j] - score[i])`` and ties are
    *exact* equalities of them: scores differing in the last bit do not tie,
    and units at mathematically equal distances on either side tie only if
    the rounded differences agree (they do when the differences are exact,
    as for small multiples of a power of two). Units with identical covariates
    have identical scores and always tie. A caliper keeps the matches within
    it (a match exactly at the caliper is kept), so M_i can fall below M.

    ``ties=False`` takes the leftmost run of M consecutive units of the sorted
    opposite arm whose distances are the M smallest: equal distances go to
    the smaller score and, among equal scores, to the lower input position,
    except that the run must stay contiguous (when only part of a group of
    equal scores below unit i's score is needed besides strictly nearer
    units, the members next to those are taken). The same order picks the
    same-arm neighbour for the variance (the left one on ties).

    Use counts include uses by *matched* units only; an unmatched unit is
    never anyone's match either (its nearest opposite-arm unit is too far).

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.0, 0.5, 1.0, 0.25, 1.0, 3.0])
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> m = match_on_score(score, t)     # control 0.25 is as far from treated 0.0 as from 0.5
    >>> [m.matched_units(i).tolist() for i in range(6)]
    [[3], [3], [4], [0, 1], [2], [2]]
    >>> m.n_valid.tolist(), m.times_used_att.tolist()
    ([1, 1, 1, 2, 1, 1], [0, 0, 0, 2, 1, 0])
    >>> match_on_score(score, t, ties=False).matched_units(3).tolist()   # the smaller score
    [0]
    >>> match_on_score(score, t, caliper=0.5).matched.tolist()   # 3.0 is too far from every treated unit
    [True, True, True, True, True, False]
    """
    s = _as_score(score)
    n = s.shape[0]
    tt = as_treatment(t, n)
    cal = _check_caliper(caliper)
    m = check_positive_int("n_neighbors", n_neighbors)
    tie = _check_ties(ties)
    n1 = int(tt.sum())
    n0 = n - n1
    if m > min(n0, n1):
        raise ParameterError(f"Parameter n_neighbors must not exceed the size of the smaller arm; got {m} with "
                             f"{n1} treated and {n0} control units. Use n_neighbors <= {min(n0, n1)}.",
                             parameter="n_neighbors")

    sd = float(np.std(s, ddof=1))
    width = None if cal is None else cal * sd

    lo, hi = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    far, same_arm = np.empty(n), np.empty(n, dtype=np.int64)
    # Stable sort: among equal scores the lower input position comes first, which fixes the tie rules.
    orders = [arm[np.argsort(s[arm], kind="stable")] for arm in (np.flatnonzero(tt == 0), np.flatnonzero(tt == 1))]
    for a in (0, 1):  # the two arms, not the units
        own, other = orders[a], orders[1 - a]
        lo[own], hi[own], far[own] = _match_ranges(s[other], s[own], m, width, tie)
        neighbor = _same_arm_neighbor(s[own])
        same_arm[own] = np.where(neighbor >= 0, own[np.maximum(neighbor, 0)], -1)
    n_valid = hi - lo
    matched = n_valid > 0
    times_att, times_ate = (_uses(tt, matched, lo, hi, orders, arms)[0] for arms in ((1,), (1, 0)))

    counts = {f"n_{arm}_{status}": int((tt == a)[matched == keep].sum()) for a, arm in ((1, "treated"), (0, "control"))
              for keep, status in ((True, "matched"), (False, "unmatched"))}
    return Matches(order_treated=orders[1], order_control=orders[0], match_lo=lo, match_hi=hi, matched=matched,
                   n_valid=n_valid, max_distance=far, times_used_att=times_att, times_used_ate=times_ate,
                   same_arm_neighbor=same_arm, treatment=tt, n_neighbors=m, ties=tie, caliper=cal,
                   caliper_width=width, score_sd=sd, **counts)


def _imputed(y: np.ndarray, matches: Matches) -> np.ndarray:
    """Per unit, the mean outcome of its matches, (C[hi] - C[lo]) / (hi - lo) with C a cumulative sum.

    The outcomes are centred at their arm mean before summing, which keeps
    the cancellation in C[hi] - C[lo] small; a single match is copied exactly.
    Unmatched units get NaN.
    """
    out = np.full(y.shape[0], np.nan)
    for a, other in ((1, matches.order_control), (0, matches.order_treated)):  # the two arms
        rows = np.flatnonzero((matches.treatment == a) & matches.matched)
        ys = y[other]
        ref = ys.mean()
        c = np.concatenate(([0.0], np.cumsum(ys - ref)))
        lo, hi = matches.match_lo[rows], matches.match_hi[rows]
        out[rows] = np.where(hi - lo == 1, ys[lo], ref + (c[hi] - c[lo]) / (hi - lo))
    return out


def _row(est: float, var: float, alpha: float, n_matched: int, n_unmatched: int) -> list:
    if n_matched == 0:
        return [np.nan] * 5 + [0, n_unmatched]
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    p = float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else np.nan
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
    With :math:`J(i)` the :math:`M_i` matches of unit i (its M nearest
    opposite-arm units, all units tied with the M-th nearest with
    ``ties=True``, fewer within a caliper), let :math:`\hat Y_i(W_i) = Y_i` and
    :math:`\hat Y_i(1 - W_i) = \sum_{j \in J(i)} Y_j / M_i`. Then

    .. math::

        \hat\tau = \frac1N \sum_i \{\hat Y_i(1) - \hat Y_i(0)\}, \qquad
        \hat\tau_t = \frac1{N_1} \sum_{i: W_i = 1} \{Y_i - \hat Y_i(0)\},

    over the N matched units (:math:`N_1` matched treated). The variances are
    the estimators of the *population* ATE and ATT of Abadie and Imbens (2006,
    Theorem 7), written with the match weights
    :math:`w_i = \sum_{l: i \in J(l)} 1/M_l` and
    :math:`q_i = \sum_{l: i \in J(l)} 1/M_l^2` (sums over the matched units l
    for the ATE, over the matched treated for the ATT):

    .. math::

        \hat V = \frac1{N^2} \sum_i \Big[\{\hat Y_i(1) - \hat Y_i(0) - \hat\tau\}^2
            + (w_i^2 + 2 w_i - q_i) \hat\sigma^2_i\Big],

        \hat V_t = \frac1{N_1^2} \sum_i \Big[W_i \{Y_i - \hat Y_i(0) - \hat\tau_t\}^2
            + (1 - W_i) (w_i^2 - q_i) \hat\sigma^2_i\Big].

    When every :math:`M_l = M` (no ties, no caliper cut), :math:`w_i =
    K_M(i)/M` and :math:`q_i = K_M(i)/M^2` (K_M(i) the number of uses of unit
    i) and the factors are their :math:`(K_M/M)^2 + \frac{2M-1}{M}
    \frac{K_M}{M}` and :math:`K_M (K_M - 1)/M^2`. :math:`\hat\sigma^2_i =
    (Y_i - Y_j)^2 / 2` with j the nearest other unit of i's arm on the score,
    matched or not, possibly at the same score (their Theorem 6, J = 1).

    The score is treated as **known**: the uncertainty from estimating the
    propensity score is ignored (Abadie and Imbens, 2016, show that this
    typically overstates the ATE variance, and may go either way for the ATT).
    No bias correction is applied. Units left unmatched by a caliper are
    dropped from the estimates and from the variance. Everything is computed
    from the match ranges with cumulative sums, in O(n) memory.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.array([0.0, 0.5, 1.0, 0.25, 1.0, 3.0])
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> y = np.array([3.0, 4.0, 6.0, 1.0, 2.0, 5.0])
    >>> est = matching_estimates(y, t, match_on_score(score, t))
    >>> float(est.loc["matching_att", "estimate"])   # (3 - 1 + 4 - 1 + 6 - 2) / 3
    3.0
    >>> float(est.loc["matching_ate", "estimate"])   # (2 + 3 + 4 + (3.5 - 1) + (6 - 2) + (6 - 5)) / 6
    2.75
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
    tt = as_treatment(t, n)
    if not np.array_equal(tt, matches.treatment):
        raise ParameterError("Parameter t differs from the treatment the matches were built from (at "
                             f"{int((tt != matches.treatment).sum())} positions). Pass the same t to "
                             "match_on_score and matching_estimates.", parameter="t")
    if (matches.same_arm_neighbor < 0).any():
        raise ParameterError("Parameter t has an arm with a single unit; the Abadie-Imbens variance needs a "
                             "same-arm neighbour for every unit. Each arm needs at least 2 units.", parameter="t")

    matched = matches.matched
    treated = tt == 1
    y_other = _imputed(yy, matches)
    sigma2 = 0.5 * (yy - yy[matches.same_arm_neighbor]) ** 2

    # ATT: matched treated units, controls entering through their match weights.
    att_rows = treated & matched
    n1 = int(att_rows.sum())
    if n1 > 0:
        diff_t = yy[att_rows] - y_other[att_rows]
        tau_t = float(diff_t.mean())
        w, q = matches._match_weights("att")
        var_t = (np.sum((diff_t - tau_t) ** 2) + np.sum(((w**2 - q) * sigma2)[~treated])) / n1**2
    else:
        tau_t, var_t = np.nan, np.nan
    att = _row(tau_t, var_t, alpha, n1, int((treated & ~matched).sum()))

    n_all = int(matched.sum())
    if n_all > 0:
        diff = np.where(treated, yy - y_other, y_other - yy)[matched]
        tau = float(diff.mean())
        w, q = matches._match_weights("ate")
        factor = (w**2 + 2 * w - q)[matched]
        var = (np.sum((diff - tau) ** 2) + np.sum(factor * sigma2[matched])) / n_all**2
    else:
        tau, var = np.nan, np.nan
    ate = _row(tau, var, alpha, n_all, n - n_all)

    out = pd.DataFrame([att, ate], index=pd.Index(["matching_att", "matching_ate"], name="estimand"),
                       columns=list(ESTIMATE_COLUMNS))
    return out.astype({"n_matched": np.int64, "n_unmatched": np.int64})


__all__ = ["Matches", "match_on_score", "matching_estimates"]
