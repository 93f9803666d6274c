"""Covariate balance: standardized mean differences before and after weighting or matching.

* :func:`standardized_mean_differences` computes (weighted) SMDs per column;
* :func:`frequency_weights_from_matches` turns nearest-neighbour matches (a
  :class:`~mediationhte.cate.matching.Matches`) into the frequency weights of the
  matched sample;
* :func:`balance_table` puts raw, IPTW-weighted and matched SMDs side by side
  in a frozen :class:`BalanceResults` with text/markdown output and a love
  plot.

References
----------
Austin, P. C. (2009). Balance diagnostics for comparing the distribution of
baseline covariates between treatment groups in propensity-score matched
samples. *Statistics in Medicine*, 28(25), 3083-3107.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tabulate import tabulate

from mediationhte.cate.matching import WEIGHT_KINDS, Matches, as_treatment
from mediationhte.core.types import BalanceKind
from mediationhte.core.validation import check_option
from mediationhte.errors import ParameterError
from mediationhte.report.formatting import escape_markdown
from mediationhte.report.plots import pyplot
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BALANCE_KINDS = ("raw", "weighted", "matched")
BALANCE_COLUMNS = ("smd_raw", "smd_weighted", "smd_matched", "imbalanced_raw", "imbalanced_weighted",
                   "imbalanced_matched")
_LABELS = {"raw": "raw", "weighted": "IPTW", "matched": "matched"}


def _as_matrix(X, name: str) -> np.ndarray:
    """``X`` as a 2-D float array with finite entries (a 1-D input is one column)."""
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c in X.columns
               if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
        if bad:
            raise ParameterError(f"Parameter {name} must have numeric columns only; {', '.join(map(repr, bad))} "
                                 "are not. One-hot encode categorical columns first.", parameter=name)
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter {name} must be numeric; could not convert it ({exc}).",
                             parameter=name) from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ParameterError(f"Parameter {name} must be a 2-D array (units x covariates) with at least one "
                             f"column; got shape {arr.shape}.", parameter=name)
    finite = np.isfinite(arr)
    if not finite.all():
        col = int(np.flatnonzero(~finite.all(axis=0))[0])
        label = repr(str(X.columns[col])) if isinstance(X, pd.DataFrame) else f"at position {col}"
        raise ParameterError(f"Parameter {name} must be finite; column {label} has "
                             f"{int((~finite[:, col]).sum())} NaN or infinite values. Drop or impute them.",
                             parameter=name)
    return arr


def _as_weights(weights, t: np.ndarray, name: str) -> np.ndarray:
    """Weights as a float array: finite, non-negative, one per unit, with a positive total in each arm."""
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter {name} must be a 1-D array of numbers; could not convert it ({exc}).",
                             parameter=name) from exc
    if w.ndim != 1 or w.shape[0] != t.shape[0]:
        raise ParameterError(f"Parameter {name} must be 1-D with one weight per unit ({t.shape[0]}); got shape "
                             f"{w.shape}.", parameter=name)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError(f"Parameter {name} must be finite and non-negative; found "
                             f"{int((~np.isfinite(w) | (w < 0)).sum())} NaN, infinite or negative weights.",
                             parameter=name)
    for arm, label in ((1, "treated"), (0, "control")):
        if not w[t == arm].sum() > 0:
            raise ParameterError(f"Parameter {name} gives the {label} units a total weight of 0; each arm needs "
                                 "a positive total weight.", parameter=name)
    return w


def _arm_moments(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and sample variance of each column: sum w (x - m)^2 / (sum w - sum w^2 / sum w).

    The divisor is the unbiased one for reliability weights; with unit weights it is
    n - 1, the sample variance. A single unit (or all weight on one unit) has
    variance 0.

    Values are shifted by those of the unit with the largest weight before
    summing, so that a constant column has mean exactly equal to the constant
    and variance exactly 0 (no rounding noise that would turn 0/0 into a
    spurious SMD).
    """
    ref = X[int(np.argmax(w))]
    d = X - ref
    total = w.sum()
    mean_d = (w @ d) / total
    divisor = total - (w @ w) / total
    var = (w @ (d - mean_d) ** 2) / divisor if divisor > 0 else np.zeros(X.shape[1])
    return ref + mean_d, var


def standardized_mean_differences(X, t, weights=None) -> np.ndarray:
    r"""Standardized mean difference of each covariate between treated and control units.

    Parameters
    ----------
    X : array-like or pandas.DataFrame, shape (n, p) or (n,)
        Numeric covariates (one-hot encode categoricals first); a 1-D input is
        one covariate.
    t : array-like of {0, 1} or bool, shape (n,)
        Treatment indicator; both arms must be present.
    weights : array-like of float, shape (n,), optional
        Non-negative unit weights (IPTW weights, or the frequency weights of a
        matched sample). Default: every unit weighs 1.

    Returns
    -------
    ndarray of float, shape (p,)
        :math:`(\bar x_1 - \bar x_0) / \sqrt{(s_1^2 + s_0^2) / 2}` per column.

    Raises
    ------
    ParameterError
        If ``X`` is not numeric and finite, ``t`` is not 0/1 of the same length
        with both arms, or ``weights`` are not finite, non-negative, of length n
        with a positive total in each arm.

    Notes
    -----
    Means and variances are weighted: :math:`\bar x_w = \sum w x / \sum w` and
    the sample variance
    :math:`s^2_w = \sum w (x - \bar x_w)^2 / (\sum w - \sum w^2 / \sum w)`
    (the unbiased divisor for reliability weights). Without weights the same
    formulas with w = 1 are used, so the raw SMD equals the SMD with unit weights
    exactly and its variance is the sample variance (divisor n - 1), as in the
    usual balance tables. The variances in the denominator are
    those of the weighted sample (some software, e.g. R's cobalt, keeps the
    unweighted variances instead).

    A column constant in both arms at the same value gives 0. A column that is
    constant within each arm at different values (perfect separation) gives
    ``+inf`` or ``-inf``. Neither warns.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> standardized_mean_differences(X, t).round(4).tolist()   # (2 - 4/3) / sqrt((1 + 1/3) / 2)
    [0.8165, 0.0]
    >>> w = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 2.0])   # controls: mean 5/3, variance (2/3) / (3 - 5/3) = 1/2
    >>> standardized_mean_differences(X[:, 0], t, weights=w).round(4).tolist()   # (1/3) / sqrt(3/4)
    [0.3849]
    """
    Xa = _as_matrix(X, "X")
    tt = as_treatment(t, Xa.shape[0], purpose="a balance check")
    w = np.ones(Xa.shape[0]) if weights is None else _as_weights(weights, tt, "weights")
    treated = tt == 1
    m1, v1 = _arm_moments(Xa[treated], w[treated])
    m0, v0 = _arm_moments(Xa[~treated], w[~treated])
    diff = m1 - m0
    denom = np.sqrt((v1 + v0) / 2)
    # Zero spread in both arms: 0 if the constants agree, signed infinity if they differ; never a 0/0 warning.
    out = np.where(diff == 0, 0.0, np.copysign(np.inf, diff))
    np.divide(diff, denom, out=out, where=denom > 0)
    return out


def frequency_weights_from_matches(matches, kind: str = "ate") -> np.ndarray:
    r"""Frequency weights of the matched sample, one per unit, from the output of :func:`match_on_score`.

    Parameters
    ----------
    matches : mediationhte.cate.matching.Matches
        The matches, as returned by :func:`mediationhte.cate.matching.match_on_score`
        (with ties kept, each of the :math:`M_j` matches of unit j weighs
        :math:`1/M_j`).
    kind : {"ate", "att"}, default "ate"
        ``"ate"``: every matched unit weighs 1 for itself plus
        :math:`\sum_j 1/M_j` over the matched units j using it as a match, so
        each arm represents the whole matched sample. ``"att"``: matched
        treated units weigh 1 and controls :math:`\sum_j 1/M_j` over the
        matched *treated* units j using them.

    Returns
    -------
    ndarray of float, shape (n,)
        The weights (see :meth:`mediationhte.cate.matching.Matches.frequency_weights`);
        units neither matched nor used as a match weigh 0.

    Raises
    ------
    ParameterError
        If ``matches`` is not a ``Matches`` or ``kind`` is not ``"ate"`` or
        ``"att"``.

    Examples
    --------
    >>> from mediationhte.cate.matching import match_on_score
    >>> m = match_on_score([0.0, 0.5, 1.0, 0.25, 1.0, 3.0], [1, 1, 1, 0, 0, 0])   # control 0.25 ties
    >>> frequency_weights_from_matches(m).tolist()
    [1.5, 1.5, 3.0, 3.0, 2.0, 1.0]
    >>> frequency_weights_from_matches(m, kind="att").tolist()
    [1.0, 1.0, 1.0, 2.0, 1.0, 0.0]
    """
    if not isinstance(matches, Matches):
        hint = (" (the old (match_indices, matched_mask) form is gone)" if isinstance(matches, np.ndarray) else "")
        raise ParameterError(f"Parameter matches must be the Matches returned by match_on_score; got "
                             f"{type(matches).__name__}{hint}. Pass the Matches object itself, e.g. "
                             "frequency_weights_from_matches(match_on_score(score, t), kind='ate').",
                             parameter="matches")
    return matches.frequency_weights(check_option("kind", kind, WEIGHT_KINDS))


@dataclass(frozen=True, eq=False)
class BalanceResults:
    """Covariate balance table, as returned by :func:`balance_table`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per covariate; columns ``smd_raw``, ``smd_weighted``,
        ``smd_matched`` (NaN when no matched weights were given) and the boolean
        flags ``imbalanced_raw``, ``imbalanced_weighted``, ``imbalanced_matched``
        (``|smd| >= threshold``; always False for a NaN SMD). Returned as a copy.
    threshold : float
        The absolute SMD at or above which a covariate is flagged.
    n_treated, n_control : int
        Units per arm.
    has_matched : bool
        Whether matched weights were given.
    """

    table: pd.DataFrame
    threshold: float
    n_treated: int
    n_control: int
    has_matched: bool

    def __post_init__(self):
        """Keep a private copy of the table, so later edits to the caller's frame do not leak in."""
        object.__setattr__(self, "table", self.table.copy())

    def __getattribute__(self, name):
        """Return attributes, DataFrames as fresh copies (the results stay immutable)."""
        value = object.__getattribute__(self, name)
        return value.copy() if isinstance(value, pd.DataFrame) else value

    def to_frame(self) -> pd.DataFrame:
        """The balance table (a copy): SMD columns as floats, flag columns as booleans."""
        return self.table

    def imbalanced(self, which: BalanceKind = "weighted") -> list[str]:
        """Covariates with ``|SMD| >= threshold`` for ``which`` in ``"raw"``, ``"weighted"``, ``"matched"``.

        Raises
        ------
        ParameterError
            If ``which`` is not one of the three, or is ``"matched"`` without
            matched weights.
        """
        check_option("which", which, BALANCE_KINDS)
        if which == "matched" and not self.has_matched:
            raise ParameterError("Parameter which='matched' needs matched weights, but balance_table was called "
                                 "with matched_weights=None. Use 'raw' or 'weighted'.", parameter="which")
        table = object.__getattribute__(self, "table")
        return [str(c) for c in table.index[table[f"imbalanced_{which}"].to_numpy()]]

    def _kinds(self) -> tuple[str, ...]:
        return BALANCE_KINDS if self.has_matched else BALANCE_KINDS[:2]

    def _tabulate(self, tablefmt: str, escape) -> str:
        table = object.__getattribute__(self, "table")
        kinds = self._kinds()
        # Numbers stay floats so tabulate aligns them on the decimal point; the flag gets its own narrow column.
        headers = ["covariate"]
        for k in kinds:
            headers += [f"SMD {_LABELS[k]}", ""]
        star = escape("*")
        rows = []
        for i, c in enumerate(table.index):
            row = [escape(str(c))]
            for k in kinds:
                row += [float(table[f"smd_{k}"].iloc[i]), star if table[f"imbalanced_{k}"].iloc[i] else ""]
            rows.append(row)
        return tabulate(rows, headers=headers, tablefmt=tablefmt, floatfmt=".3f", numalign="decimal",
                        stralign="left")

    def _footer(self) -> str:
        return (f"* |SMD| >= {self.threshold:g}.  Units: {self.n_treated} treated, {self.n_control} control.\n"
                "SMD = (mean1 - mean0) / sqrt((var1 + var0) / 2), weighted means, sample variances.")

    def summary(self) -> Summary:
        """The SMDs as a :class:`~mediationhte.report.summary.Summary` table; flagged covariates in the notes.

        Returns
        -------
        mediationhte.report.summary.Summary

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> X = pd.DataFrame({"age": [30.0, 40.0, 50.0, 35.0, 45.0, 25.0], "occp=sales": [1, 0, 1, 0, 0, 1]})
        >>> res = balance_table(X, np.array([1, 1, 1, 0, 0, 0]), iptw_weights=np.ones(6), threshold=0.55)
        >>> print(res.summary().notes[0])
        |SMD| >= 0.55 (raw): occp=sales
        """
        table = object.__getattribute__(self, "table")
        kinds = self._kinds()
        smd = pd.DataFrame({f"SMD {_LABELS[k]}": table[f"smd_{k}"] for k in kinds})
        notes = [f"|SMD| >= {self.threshold:g} ({_LABELS[k]}): " + (", ".join(self.imbalanced(k)) or "none")
                 for k in kinds]
        notes.append("SMD = (mean1 - mean0) / sqrt((var1 + var0) / 2), weighted means, sample variances.")
        return Summary(title="Covariate Balance (Standardized Mean Differences)",
                       n_obs=self.n_treated + self.n_control,
                       footer=(("Treated / control", f"{self.n_treated} / {self.n_control}"),
                               ("Threshold |SMD|", f"{self.threshold:g}")),
                       models=(StatsTable("Standardized mean differences", smd, digits=3),), notes=tuple(notes))

    def __str__(self) -> str:
        """Plain-text table of the SMDs, flagged covariates starred."""
        # Empty flag cells leave trailing blanks; strip them so the text is stable for golden-file tests.
        body = "\n".join(line.rstrip() for line in self._tabulate("simple", lambda s: s).splitlines())
        return f"Covariate balance (standardized mean differences)\n{body}\n{self._footer()}\n"

    def __repr__(self) -> str:
        """Return the text table."""
        return str(self)

    def as_markdown(self) -> str:
        """The table as GitHub markdown (pipe table), covariate names escaped."""
        body = self._tabulate("pipe", escape_markdown)
        footer = "  \n".join(escape_markdown(line) for line in self._footer().splitlines())
        return f"{body}\n\n{footer}\n"

    def plot(self, ax: Axes | None = None, *, absolute: bool = False) -> Axes:
        """Love plot: SMD (or its absolute value) per covariate for the raw, IPTW and matched samples.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        absolute : bool, default False
            Plot the absolute SMD (with one line at the threshold) instead of the signed
            SMD (with lines at -threshold and +threshold).

        Returns
        -------
        matplotlib.axes.Axes
        """
        plt = pyplot()
        table = object.__getattribute__(self, "table")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 1.5 + 0.3 * len(table)))
        pos = np.arange(len(table))[::-1].astype(float)
        styles = {"raw": dict(marker="o", markerfacecolor="white", color="black"),
                  "weighted": dict(marker="s", color="tab:blue"),
                  "matched": dict(marker="^", color="tab:orange")}
        for kind in self._kinds():
            values = table[f"smd_{kind}"].to_numpy(dtype=float)
            values = np.abs(values) if absolute else values
            # Infinite SMDs (perfect separation) cannot be placed on an axis; they are left out of the plot.
            values = np.where(np.isfinite(values), values, np.nan)
            ax.plot(values, pos, linestyle="none", label=_LABELS[kind], **styles[kind])
        ax.axvline(0.0, color="grey", linewidth=0.8)
        for bound in ((self.threshold,) if absolute else (-self.threshold, self.threshold)):
            ax.axvline(bound, color="grey", linestyle="--", linewidth=0.8)
        ax.set_yticks(pos)
        ax.set_yticklabels([str(c) for c in table.index])
        ax.set_xlabel("|standardized mean difference|" if absolute else "standardized mean difference")
        ax.legend(frameon=False, loc="best")
        return ax


def balance_table(features: pd.DataFrame, t, *, iptw_weights, matched_weights=None,
                  threshold: float = 0.1) -> BalanceResults:
    """Standardized mean differences of the covariates: raw, IPTW-weighted and in the matched sample.

    Parameters
    ----------
    features : pandas.DataFrame
        Numeric covariates, one column each (categoricals one-hot encoded, e.g.
        ``"occp=sales"``); the column names label the rows of the table.
    t : array-like of {0, 1} or bool, shape (n,)
        Treatment indicator; both arms must be present.
    iptw_weights : array-like of float, shape (n,)
        Inverse-probability-of-treatment weights.
    matched_weights : array-like of float, shape (n,), optional
        Frequency weights of the matched sample (see
        :func:`frequency_weights_from_matches`); unmatched units weigh 0.
        Default None: the matched column is NaN.
    threshold : float, default 0.1
        Covariates with ``|SMD| >= threshold`` are flagged (0.1 is the usual
        rule of thumb, Austin 2009).

    Returns
    -------
    BalanceResults
        Frozen results with ``to_frame()``, ``imbalanced(which)``, text and
        markdown output and ``plot()``.

    Raises
    ------
    ParameterError
        If ``features`` is not a numeric, finite DataFrame, ``t`` is not 0/1 of
        the same length with both arms, a weight vector is invalid, or
        ``threshold`` is not a positive number.

    See Also
    --------
    standardized_mean_differences : the SMD formula used for every column.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"age": [30.0, 40.0, 50.0, 35.0, 45.0, 25.0], "occp=sales": [1, 0, 1, 0, 0, 1]})
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> res = balance_table(X, t, iptw_weights=np.ones(6), threshold=0.55)
    >>> res.to_frame()["smd_raw"].round(3).tolist()   # 5 / sqrt(100) and (1/3) / sqrt(1/3)
    [0.5, 0.577]
    >>> res.imbalanced("raw")
    ['occp=sales']
    >>> print(res)
    Covariate balance (standardized mean differences)
    covariate      SMD raw        SMD IPTW
    -----------  ---------  --  ----------  --
    age              0.500           0.500
    occp=sales       0.577  *        0.577  *
    * |SMD| >= 0.55.  Units: 3 treated, 3 control.
    SMD = (mean1 - mean0) / sqrt((var1 + var0) / 2), weighted means, sample variances.
    <BLANKLINE>
    """
    if not isinstance(features, pd.DataFrame):
        raise ParameterError(f"Parameter features must be a pandas DataFrame (one column per covariate); got "
                             f"{type(features).__name__}.", parameter="features")
    X = _as_matrix(features, "features")
    tt = as_treatment(t, X.shape[0], purpose="a balance check")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not np.isfinite(threshold) \
            or threshold <= 0:
        raise ParameterError(f"Parameter threshold must be a finite number > 0 (|SMD| at which a covariate is "
                             f"flagged); got {threshold!r}.", parameter="threshold")
    w_iptw = _as_weights(iptw_weights, tt, "iptw_weights")
    w_match = None if matched_weights is None else _as_weights(matched_weights, tt, "matched_weights")

    smd = {"raw": standardized_mean_differences(X, tt),
           "weighted": standardized_mean_differences(X, tt, weights=w_iptw),
           "matched": (np.full(X.shape[1], np.nan) if w_match is None
                       else standardized_mean_differences(X, tt, weights=w_match))}
    table = pd.DataFrame({f"smd_{k}": v for k, v in smd.items()}, index=pd.Index(features.columns, name="covariate"))
    for k, v in smd.items():
        # NaN >= threshold is False, so a missing matched column flags nothing.
        table[f"imbalanced_{k}"] = np.abs(v) >= threshold
    n1 = int(tt.sum())
    return BalanceResults(table=table[list(BALANCE_COLUMNS)], threshold=float(threshold), n_treated=n1,
                          n_control=int(tt.shape[0]) - n1, has_matched=w_match is not None)


__all__ = ["BalanceResults", "balance_table", "frequency_weights_from_matches", "standardized_mean_differences"]
