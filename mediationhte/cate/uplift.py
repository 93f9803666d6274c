"""Uplift and Qini evaluation of rankings by estimated unit-level effects (tau_hat).

:func:`uplift` takes one column of tau_hat per meta-learner, ranks the units by
each column and asks whether the units ranked first really respond more to the
treatment: top-k slices (treated minus control mean among the top 10%, 20%, ...),
the uplift and Qini curves over the whole ranking, and the areas under them.
The curves and areas follow scikit-uplift (``sklift.metrics``; Radcliffe 2007),
so the normalised scores can be compared with ``uplift_auc_score`` and
``qini_auc_score`` on binary outcomes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from tabulate import tabulate

from mediationhte.core.types import UpliftKind
from mediationhte.errors import ParameterError
from mediationhte.report.formatting import escape_markdown
from mediationhte.report.plots import pyplot
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Most curve points kept per learner in :attr:`UpliftResults.curves` (plus k = 0); areas use the full curve.
CURVE_POINTS = 1000

SLICE_COLUMNS = ("n", "n_treated", "treated_share", "treated_mean", "control_mean", "difference", "mean_tau_hat")
SUMMARY_COLUMNS = ("auuc", "auuc_above_random", "auuc_normalized", "qini_coefficient", "qini_normalized")
CURVE_COLUMNS = ("learner", "n_targeted", "fraction_targeted", "uplift", "qini")
_KINDS = ("qini", "uplift")

_NOTES = (
    "Slices: units ranked by tau_hat (descending, ties by position); difference = treated mean - control "
    "mean among the top ceil(f*n). A directional check, not an unbiased estimate of the effect in the slice.",
    "Curves (scikit-uplift): U(k) = (Y_T/N_T - Y_C/N_C)*k, Q(k) = Y_T - Y_C*N_T/N_C over the top k, taken at "
    "the end of each block of tied tau_hat; areas by the trapezoid rule over x = k/n.",
    "auuc_above_random and qini_coefficient subtract the area under the random line (0, 0)-(1, curve end); "
    "the normalised scores divide by the same excess of the perfect ranking (binary outcomes only, else NA).",
)


# --------------------------------------------------------------------------- validation
def _check_fractions(fractions) -> tuple[float, ...]:
    fix = "Pass shares of units to target, e.g. fractions=(0.1, 0.2, 0.3)."
    if isinstance(fractions, (int, float, np.integer, np.floating)) and not isinstance(fractions, bool):
        fractions = (fractions,)
    try:
        items = list(fractions)
        values = tuple(float(f) for f in items)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter fractions must be a sequence of numbers in (0, 1]; got {fractions!r}. {fix}",
                             parameter="fractions") from exc
    if not values:
        raise ParameterError(f"Parameter fractions must contain at least one share in (0, 1]; got an empty "
                             f"sequence. {fix}", parameter="fractions")
    bad = [repr(f) for f, v in zip(items, values) if isinstance(f, bool) or not 0.0 < v <= 1.0]
    if bad:
        raise ParameterError(f"Parameter fractions must contain shares in (0, 1] (0.1 = the top 10% of units); "
                             f"found {', '.join(bad)} in {tuple(items)!r}. {fix}", parameter="fractions")
    if len(set(values)) < len(values):
        raise ParameterError(f"Parameter fractions must not repeat a share; got {values!r}. Remove the duplicates.",
                             parameter="fractions")
    return values


def _check_inputs(effects, y, t) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(effects, pd.DataFrame):
        raise ParameterError(f"Parameter effects must be a pandas DataFrame with one numeric column of tau_hat per "
                             f"learner; got {type(effects).__name__}. Wrap it, e.g. pd.DataFrame({{'x': tau_hat}}).",
                             parameter="effects")
    if effects.shape[1] == 0:
        raise ParameterError("Parameter effects has no columns; it needs one numeric column of tau_hat per learner.",
                             parameter="effects")
    names = list(effects.columns)
    if len(set(names)) < len(names):
        dup = sorted({str(c) for c in names if names.count(c) > 1})
        raise ParameterError(f"Parameter effects has duplicated column names: {', '.join(dup)}. Rename them so each "
                             f"learner has one column.", parameter="effects")
    bad = [str(c) for c in names if not is_numeric_dtype(effects[c]) or is_bool_dtype(effects[c])]
    if bad:
        raise ParameterError(f"Parameter effects must hold numeric tau_hat columns only; non-numeric: "
                             f"{', '.join(bad)}. Select the learner columns, e.g. effects[['s', 't']].",
                             parameter="effects")
    tau = effects.to_numpy(dtype=float)
    n = tau.shape[0]
    arrays = {}
    for name, value in (("y", y), ("t", t)):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Parameter {name} must be a 1-D numeric array; got {type(value).__name__} that "
                                 f"cannot be converted to float.", parameter=name) from exc
        if arr.ndim != 1:
            raise ParameterError(f"Parameter {name} must be 1-D; got shape {arr.shape}. Pass one value per unit.",
                                 parameter=name)
        if arr.shape[0] != n:
            raise ParameterError(f"Parameter {name} has {arr.shape[0]} values but effects has {n} rows; they are "
                                 f"aligned by position and must have the same length.", parameter=name)
        arrays[name] = arr
    y_arr, t_arr = arrays["y"], arrays["t"]
    if not np.isfinite(y_arr).all():
        raise ParameterError(f"Parameter y must be finite; found {int((~np.isfinite(y_arr)).sum())} missing or "
                             f"infinite values. Drop those units from effects, y and t.", parameter="y")
    not01 = ~((t_arr == 0.0) | (t_arr == 1.0))
    if not01.any():
        found = ", ".join(f"{v:g}" for v in np.unique(t_arr[not01])[:5])
        raise ParameterError(f"Parameter t must be 0/1 (control/treated); found other values: {found}. Recode it "
                             f"to 0/1.", parameter="t")
    n_treated = int(t_arr.sum())
    if n_treated in (0, n):
        raise ParameterError(f"Parameter t must contain both arms; found {n_treated} treated and {n - n_treated} "
                             f"control units. Uplift needs treated and control units to compare.", parameter="t")
    finite = np.isfinite(tau).all(axis=0)
    if not finite.all():
        cols = ", ".join(str(c) for c, ok in zip(names, finite) if not ok)
        raise ParameterError(f"Parameter effects must be finite; column(s) {cols} hold missing or infinite "
                             f"tau_hat. Drop those units from effects, y and t.", parameter="effects")
    return names, tau, y_arr, t_arr.astype(np.int64)


def _top_sizes(fractions: tuple[float, ...], n: int) -> list[int]:
    # Round before ceil: 0.3 * 10 is 3.0000000000000004 in floating point and must give 3 units, not 4.
    return [min(n, max(1, math.ceil(round(f * n, 9)))) for f in fractions]


# --------------------------------------------------------------------------- curves
def _rank(score: np.ndarray, y: np.ndarray, t: np.ndarray):
    order = np.argsort(-score, kind="stable")
    return score[order], y[order], t[order]


def _curves_at_blocks(score_sorted: np.ndarray, y_sorted: np.ndarray, t_sorted: np.ndarray):
    """Uplift and Qini curves at k = 0 and at the last unit of each block of tied scores.

    Taking the curves only where the score changes makes them independent of how
    ties are ordered (sklift does the same), so a constant score gives the random line.
    """
    n = len(y_sorted)
    # Comparing neighbours instead of np.diff avoids overflow warnings for scores near the float limits.
    ends = np.r_[np.flatnonzero(score_sorted[1:] != score_sorted[:-1]), n - 1]
    k = ends + 1
    n_t = np.cumsum(t_sorted)[ends].astype(float)
    n_c = k - n_t
    y_t = np.cumsum(y_sorted * t_sorted)[ends]
    y_c = np.cumsum(y_sorted * (1 - t_sorted))[ends]
    zeros = np.zeros(len(k))
    # An arm absent from the top k contributes 0 instead of an undefined mean (the sklift convention).
    mean_t = np.divide(y_t, n_t, out=zeros.copy(), where=n_t > 0)
    mean_c = np.divide(y_c, n_c, out=zeros.copy(), where=n_c > 0)
    uplift_curve = (mean_t - mean_c) * k
    qini_curve = y_t - y_c * np.divide(n_t, n_c, out=zeros.copy(), where=n_c > 0)
    return np.r_[0, k], np.r_[0.0, uplift_curve], np.r_[0.0, qini_curve]


def _trapezoid(x: np.ndarray, v: np.ndarray) -> float:
    # Own rule: np.trapz is deprecated in numpy 2 and np.trapezoid is missing before numpy 2.
    return float(np.sum(np.diff(x) * (v[1:] + v[:-1])) / 2.0)


def _excess_areas(score: np.ndarray, y: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """(area under U, area under U minus its random line, area under Q minus its random line), x = k/n."""
    k, u, q = _curves_at_blocks(*_rank(score, y, t))
    x = k / len(y)
    auuc = _trapezoid(x, u)
    return auuc, auuc - u[-1] / 2.0, _trapezoid(x, q) - q[-1] / 2.0


def _perfect_excess(y: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Excess areas of scikit-uplift's perfect uplift and Qini rankings; NaN unless y is 0/1."""
    if not ((y == 0.0) | (y == 1.0)).all():
        return math.nan, math.nan
    yi = y.astype(np.int64)
    control_responders = int(((yi == 1) & (t == 0)).sum())
    treated_nonresponders = int(((yi == 0) & (t == 1)).sum())
    summand = yi if control_responders > treated_nonresponders else t
    # Treated responders first, control non-responders next; the larger "wrong" group goes last.
    perfect_uplift = 2 * (yi == t) + summand
    # Treated responders first, control responders last (negative effects kept, negative_effect=True).
    perfect_qini = yi * t - yi * (1 - t)
    return (_excess_areas(perfect_uplift.astype(float), y, t)[1],
            _excess_areas(perfect_qini.astype(float), y, t)[2])


def _ratio(num: float, den: float) -> float:
    return num / den if den != 0.0 and np.isfinite(den) else math.nan


# --------------------------------------------------------------------------- public function
def uplift(effects: pd.DataFrame, y, t, fractions=(0.1, 0.2, 0.3)) -> UpliftResults:
    r"""Evaluate rankings by tau_hat with top-k slices, uplift and Qini curves.

    For every learner (column of ``effects``) the units are ranked by tau_hat
    from largest to smallest, with ties kept in their original order
    (``np.argsort(-tau_hat, kind="stable")``).

    Parameters
    ----------
    effects : pandas.DataFrame
        Unit-level effect estimates, one numeric column per learner (for
        example ``"s"``, ``"t"``, ``"x"``, ``"dr"``). Rows are units; the index
        is not used for alignment.
    y : array-like of float, shape (n,)
        Observed outcomes, aligned with ``effects`` by position.
    t : array-like of 0/1, shape (n,)
        Treatment indicator (1 = treated), aligned by position. Both arms must
        be present.
    fractions : sequence of float, default (0.1, 0.2, 0.3)
        Shares of units, each in (0, 1], for the top-k slices. A single number
        is accepted too.

    Returns
    -------
    UpliftResults
        Slices, curves, areas, a text report and a plot.

    Raises
    ------
    mediationhte.errors.ParameterError
        If ``fractions`` is empty, repeats a value or has a value outside (0, 1];
        if ``effects`` is not a DataFrame of finite numeric columns; if ``y`` or
        ``t`` is not 1-D, has a different length or non-finite values; if ``t``
        is not 0/1 or one arm is empty. ``err.parameter`` names the argument.

    See Also
    --------
    UpliftResults : the returned object.

    Notes
    -----
    **Top-k slices.** For a fraction :math:`f` the slice is the first
    :math:`k = \lceil f n \rceil` ranked units (at least 1). Reported: ``n``
    (:math:`k`), ``n_treated``, ``treated_share``, ``treated_mean`` and
    ``control_mean`` (mean of ``y`` in each arm of the slice), ``difference``
    (their difference; NaN if an arm is empty in the slice) and
    ``mean_tau_hat``. The difference is a *directional* check of the ranking,
    not an unbiased estimate of the average effect in the slice: the slice is
    chosen with the same data, the arms are balanced only under randomisation,
    and the slice boundary depends on tau_hat noise.

    **Curves** (scikit-uplift's ``uplift_curve`` and ``qini_curve``; Radcliffe
    2007). With :math:`N_T(k), N_C(k)` the treated and control counts among the
    top :math:`k` and :math:`Y_T(k), Y_C(k)` their outcome sums,

    .. math::

        U(k) = \Big(\frac{Y_T(k)}{N_T(k)} - \frac{Y_C(k)}{N_C(k)}\Big)\,k, \qquad
        Q(k) = Y_T(k) - Y_C(k)\,\frac{N_T(k)}{N_C(k)},

    where a ratio whose denominator is 0 is replaced by 0 (so
    :math:`U(k) = -k\,Y_C(k)/N_C(k)` when no treated unit is in the top
    :math:`k`, and :math:`Q(k) = Y_T(k)` when no control unit is). As in
    sklift, the curves are evaluated at :math:`k = 0` (value 0) and at the last
    unit of each block of equal tau_hat, and joined by straight lines; without
    ties that is every :math:`k = 1, \dots, n`. So the curves and areas do not
    depend on how ties are ordered, and a constant tau_hat gives exactly the
    random line.

    **Areas**, by the trapezoid rule over :math:`x = k/n \in [0, 1]` (sklift uses
    :math:`x = k`, so its unnormalised areas are :math:`n` times ours). The
    random line joins :math:`(0, 0)` to :math:`(1, U(n))`, resp.
    :math:`(1, Q(n))`; its area is :math:`U(n)/2`, resp. :math:`Q(n)/2`
    (:math:`U(n)` and :math:`Q(n)` do not depend on the ranking).

    * ``auuc`` = area under :math:`U`; ``auuc_above_random`` = ``auuc`` minus
      :math:`U(n)/2`.
    * ``qini_coefficient`` = area under :math:`Q` minus :math:`Q(n)/2`.
    * ``auuc_normalized`` and ``qini_normalized`` = (area - random area) /
      (perfect area - random area), as sklift's ``uplift_auc_score`` and
      ``qini_auc_score(negative_effect=True)``. The perfect rankings are
      sklift's: for the uplift curve, treated responders, then control
      non-responders, then the other two groups (the larger of control
      responders / treated non-responders last); for the Qini curve, treated
      responders first and control responders last. They are defined only for
      0/1 outcomes, so for any other ``y`` the normalised scores are NaN and the
      unnormalised excess areas are the ones to read.

    References
    ----------
    Radcliffe, N. J. (2007). Using control groups to target on predicted lift:
    building and assessing uplift models. *Direct Marketing Analytics Journal*, 3, 14-21.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from mediationhte.cate.uplift import uplift
    >>> y = np.array([3.0, 1.0, 2.0, 0.0, 1.0, 1.0, 0.0, 2.0])
    >>> t = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    >>> effects = pd.DataFrame({"good": [4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0],
    ...                         "flat": np.zeros(8)})
    >>> res = uplift(effects, y, t, fractions=(0.25, 0.5))
    >>> res.slices.loc[("good", 0.5), ["n", "n_treated", "difference"]].tolist()
    [4.0, 2.0, 2.0]
    >>> res.qini_coefficient.round(4).to_dict()
    {'good': 2.1042, 'flat': 0.0}
    """
    fractions = _check_fractions(fractions)
    names, tau, y_arr, t_arr = _check_inputs(effects, y, t)
    n = len(y_arr)
    sizes = _top_sizes(fractions, n)
    perfect_u, perfect_q = _perfect_excess(y_arr, t_arr)
    m = min(n, CURVE_POINTS)
    grid = np.unique(np.rint(np.linspace(0.0, n, m + 1)).astype(np.int64))

    slice_rows, area_rows, curve_parts = [], [], []
    for j, name in enumerate(names):
        tau_s, y_s, t_s = _rank(tau[:, j], y_arr, t_arr)
        for k in sizes:
            yk, tk = y_s[:k], t_s[:k]
            n_t = int(tk.sum())
            treated_mean = float(yk[tk == 1].mean()) if n_t else math.nan
            control_mean = float(yk[tk == 0].mean()) if n_t < k else math.nan
            slice_rows.append((k, n_t, n_t / k, treated_mean, control_mean, treated_mean - control_mean,
                               float(tau_s[:k].mean())))
        k_full, u_full, q_full = _curves_at_blocks(tau_s, y_s, t_s)
        x_full = k_full / n
        auuc = _trapezoid(x_full, u_full)
        above = auuc - u_full[-1] / 2.0
        qini = _trapezoid(x_full, q_full) - q_full[-1] / 2.0
        area_rows.append((auuc, above, _ratio(above, perfect_u), qini, _ratio(qini, perfect_q)))
        # The stored curve is the full piecewise-linear curve read at evenly spaced k: exact at every k when n <= 1000.
        curve_parts.append(pd.DataFrame({"learner": name, "n_targeted": grid, "fraction_targeted": grid / n,
                                         "uplift": np.interp(grid, k_full, u_full),
                                         "qini": np.interp(grid, k_full, q_full)}))

    index = pd.MultiIndex.from_tuples([(name, f) for name in names for f in fractions], names=["learner", "fraction"])
    slices = pd.DataFrame(slice_rows, index=index, columns=list(SLICE_COLUMNS))
    slices = slices.astype({"n": np.int64, "n_treated": np.int64})
    areas = pd.DataFrame(area_rows, index=pd.Index(names, name="learner"), columns=list(SUMMARY_COLUMNS))
    curves = pd.concat(curve_parts, ignore_index=True)[list(CURVE_COLUMNS)]
    return UpliftResults(slices=slices, curves=curves, areas=areas, fractions=fractions, n_obs=n,
                         n_treated=int(t_arr.sum()), binary_outcome=bool(np.isfinite(perfect_q)))


# --------------------------------------------------------------------------- results
def _cell(v) -> str:
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    return "NA" if math.isnan(v) else f"{v:.4g}"


@dataclass(frozen=True, eq=False)
class UpliftResults:
    """Uplift and Qini evaluation of tau_hat rankings, as returned by :func:`uplift`.

    Immutable: attributes cannot be assigned, and DataFrame attributes are
    returned as fresh copies, so editing them leaves the object unchanged.

    Parameters
    ----------
    slices : pandas.DataFrame
        Top-k slices, index ``(learner, fraction)``, columns :data:`SLICE_COLUMNS`.
    curves : pandas.DataFrame
        Long table with columns ``learner``, ``n_targeted`` (k),
        ``fraction_targeted`` (k/n), ``uplift`` (U(k)) and ``qini`` (Q(k)),
        starting at (0, 0). At most :data:`CURVE_POINTS` + 1 evenly spaced k per
        learner (every k when n <= 1000), read off the full piecewise-linear
        curve; the areas are computed on the full curve.
    areas : pandas.DataFrame
        One row per learner, columns :data:`SUMMARY_COLUMNS` (see :func:`uplift`).
    fractions : tuple of float
        The fractions used for the slices.
    n_obs, n_treated : int
        Number of units and of treated units.
    binary_outcome : bool
        Whether ``y`` is 0/1, so that the normalised scores are defined.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from mediationhte.cate.uplift import uplift
    >>> y = np.array([3.0, 1.0, 2.0, 0.0, 1.0, 1.0, 0.0, 2.0])
    >>> t = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    >>> res = uplift(pd.DataFrame({"s": np.arange(8.0)[::-1]}), y, t, fractions=0.5)
    >>> res.summary_frame().columns.tolist()
    ['auuc', 'auuc_above_random', 'auuc_normalized', 'qini_coefficient', 'qini_normalized']
    >>> res.curves.shape
    (9, 5)
    >>> print(str(res).splitlines()[0])
    Uplift evaluation of tau_hat rankings
    >>> res.to_frame().index.tolist(), "Top-k slices" in str(res.summary())
    (['s'], True)
    """

    slices: pd.DataFrame
    curves: pd.DataFrame
    areas: pd.DataFrame
    fractions: tuple[float, ...]
    n_obs: int
    n_treated: int
    binary_outcome: bool

    def __getattribute__(self, name):
        """Return attributes, DataFrames and Series as fresh copies (the results stay immutable)."""
        value = object.__getattribute__(self, name)
        return value.copy() if isinstance(value, (pd.DataFrame, pd.Series)) else value

    @property
    def learners(self) -> tuple:
        """Names of the learners (the columns of ``effects``), in order."""
        return tuple(object.__getattribute__(self, "areas").index)

    @property
    def auuc(self) -> pd.Series:
        """Area under the uplift curve per learner (x = k/n), not corrected for the random line."""
        return self.areas["auuc"]

    @property
    def qini_coefficient(self) -> pd.Series:
        """Area between the Qini curve and its random line per learner (x = k/n)."""
        return self.areas["qini_coefficient"]

    def summary_frame(self) -> pd.DataFrame:
        """One row per learner with the areas.

        Returns
        -------
        pandas.DataFrame
            Columns ``auuc``, ``auuc_above_random``, ``auuc_normalized``,
            ``qini_coefficient`` and ``qini_normalized`` (the normalised ones are
            NaN unless the outcome is 0/1); a copy.
        """
        return self.areas

    def to_frame(self) -> pd.DataFrame:
        """The areas, one row per learner (as :meth:`summary_frame`); the slices are :attr:`slices`.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`SUMMARY_COLUMNS`; a copy.
        """
        return self.areas

    def summary(self) -> Summary:
        """The areas per learner and the top-k slices as a :class:`~mediationhte.report.summary.Summary`.

        Returns
        -------
        mediationhte.report.summary.Summary
        """
        n, nt = self.n_obs, self.n_treated
        slices = self.slices
        slices.index = [f"{learner}, top {f:g}" for learner, f in slices.index]
        return Summary(title="Uplift Evaluation of tau_hat Rankings", n_obs=n,
                       footer=(("Treated / control", f"{nt} / {n - nt}"),
                               ("Outcome", "binary (0/1)" if self.binary_outcome else "not binary: normalised "
                                                                                      "scores NA"),
                               ("Slice fractions", ", ".join(f"{f:g}" for f in self.fractions))),
                       models=(StatsTable("Areas under the curves (x = share targeted)", self.areas),
                               StatsTable("Top-k slices (directional check, not unbiased)", slices)),
                       notes=_NOTES)

    # ------------------------------------------------------------------ text
    def _header_lines(self) -> list[str]:
        n, nt = self.n_obs, self.n_treated
        outcome = "binary (0/1)" if self.binary_outcome else "not binary: normalised scores NA"
        return ["Uplift evaluation of tau_hat rankings",
                f"Units: {n} (treated {nt}, control {n - nt}); outcome {outcome}",
                f"Learners: {', '.join(str(c) for c in self.learners)}",
                f"Slice fractions: {', '.join(f'{f:g}' for f in self.fractions)}"]

    def _tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        areas = object.__getattribute__(self, "areas")
        area_rows = [[str(name), *(_cell(v) for v in row)] for name, row in zip(areas.index, areas.to_numpy())]
        slices = object.__getattribute__(self, "slices")
        slice_rows = [[str(learner), f"{f:g}", *(_cell(slices[c].iloc[i]) for c in SLICE_COLUMNS)]
                      for i, (learner, f) in enumerate(slices.index)]
        return [("Areas under the curves (x = share targeted)", ["learner", *SUMMARY_COLUMNS], area_rows),
                ("Top-k slices (directional check, not unbiased)", ["learner", "fraction", *SLICE_COLUMNS],
                 slice_rows)]

    def __str__(self) -> str:
        """Plain-text report: header, areas per learner, top-k slices and notes."""
        out = self._header_lines()
        for title, headers, rows in self._tables():
            table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True,
                             colalign=("left", *["right"] * (len(headers) - 1)))
            out += ["", title, table]
        out += ["", "Notes:", *(f"[{i}] {note}" for i, note in enumerate(_NOTES, start=1))]
        return "\n".join(out) + "\n"

    def __repr__(self) -> str:
        """Return the text report."""
        return str(self)

    def as_markdown(self) -> str:
        """Render the report as GitHub-flavoured markdown.

        Returns
        -------
        str
            The title as a heading, the header lines as paragraphs, pipe tables
            (tabulate ``"pipe"``) and the notes as a list; text is escaped.
        """
        md = escape_markdown
        head = self._header_lines()
        out = [f"## {md(head[0])}", "", *(x for line in head[1:] for x in (md(line), ""))]
        for title, headers, rows in self._tables():
            body = [[md(c) for c in r] for r in rows]
            table = tabulate(body, headers=[md(h) for h in headers], tablefmt="pipe", disable_numparse=True,
                             colalign=("left", *["right"] * (len(headers) - 1)))
            out += [f"### {md(title)}", "", str(table), ""]
        out += ["Notes:", "", *(f"- {md(note)}" for note in _NOTES), ""]
        return "\n".join(out)

    # ------------------------------------------------------------------ plot
    def plot(self, ax: Axes | None = None, *, kind: UpliftKind = "qini") -> Axes:
        """Draw the Qini or uplift curve of every learner with the random line.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is created if None.
        kind : {"qini", "uplift"}, default "qini"
            Which curve to draw.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on (``plt.show()`` is never called).

        Raises
        ------
        mediationhte.errors.ParameterError
            If ``kind`` is not ``"qini"`` or ``"uplift"``.
        mediationhte.report.plots.MissingExtraError
            If matplotlib is not installed.
        """
        if kind not in _KINDS:
            raise ParameterError(f"Parameter kind must be 'qini' or 'uplift'; got {kind!r}.", parameter="kind")
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        curves = object.__getattribute__(self, "curves")
        end = 0.0
        for name in self.learners:
            c = curves[curves["learner"] == name]
            ax.plot(c["fraction_targeted"].to_numpy(), c[kind].to_numpy(), label=str(name))
            end = float(c[kind].iloc[-1])
        ax.plot([0.0, 1.0], [0.0, end], color="grey", linestyle="--", linewidth=1.0, label="random")
        ax.axhline(0.0, color="grey", linewidth=0.6, linestyle=":")
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("share of units targeted (ranked by tau_hat)")
        ax.set_ylabel("Qini curve Q(k)" if kind == "qini" else "uplift curve U(k)")
        ax.legend(frameon=False, loc="best")
        return ax


__all__ = ["CURVE_POINTS", "SLICE_COLUMNS", "SUMMARY_COLUMNS", "UpliftResults", "uplift"]
