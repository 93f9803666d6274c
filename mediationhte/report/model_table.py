"""Validated regression tables (:class:`ModelTable`) and the field checks the Summary shares with them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mediationhte.report.formatting import format_columns_r, format_pvalue, format_quantile, text_table
from mediationhte.core.immutable import CopyOnRead
from mediationhte.errors import ParameterError

COEF_COLUMNS = ("estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper")


def numeric_frame(df, required: tuple[str, ...], what: str, parameter: str) -> pd.DataFrame:
    """Return a validated float copy of `df` with exactly the `required` columns, in order."""
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(
            f"Parameter {parameter} must be a pandas DataFrame; got {type(df).__name__}.", parameter=parameter
        )
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ParameterError(
            f"Parameter {parameter} ({what}) lacks column(s) {', '.join(map(repr, missing))}; "
            f"expected columns {', '.join(map(repr, required))}.",
            parameter=parameter,
        )
    if df.index.has_duplicates:
        dup = sorted(map(str, df.index[df.index.duplicated()].unique()))
        raise ParameterError(
            f"Parameter {parameter} ({what}) has duplicated row(s) {', '.join(map(repr, dup))}.", parameter=parameter
        )
    try:
        out = df.loc[:, list(required)].astype(float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter {parameter} ({what}) must hold numbers: {exc}", parameter=parameter) from exc
    out.columns = pd.Index(list(required))
    return out.copy()


def label_pairs(value, parameter: str) -> tuple[tuple[str, str], ...]:
    """``value`` as a tuple of (label, value) string pairs; a ParameterError names ``parameter`` otherwise."""
    try:
        pairs = tuple((str(k), str(v)) for k, v in value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"Parameter {parameter} must be a sequence of (label, value) pairs; got {value!r}.", parameter=parameter
        ) from exc
    return pairs


@dataclass(frozen=True, eq=False)
class ModelTable(CopyOnRead):
    """One fitted regression, printed below the effects table.

    Parameters
    ----------
    title : str
        Heading line, e.g. ``"Mediator model: job_seek ~ treat + econ_hard (Gaussian, OLS)"``.
    coefficients : pandas.DataFrame
        Index: term names (``"Intercept"``, ``"treat"``, ``"occp[T.manegerial]"``);
        columns ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``
        (floats). A validated copy is stored; reading the attribute returns a
        fresh copy.
    statistic_name : {"t", "z"}
        Name of the test statistic, used in the ``t value``/``Pr(>|t|)`` headers.
    info : tuple of (str, str)
        Lines printed under the table, e.g. ``(("Observations", "899"), ("R-squared", "0.1243"))``.

    Raises
    ------
    mediationhte.errors.ParameterError
        If a column is missing or not numeric, or `statistic_name` is not "t" or "z".
    """

    title: str
    coefficients: pd.DataFrame
    statistic_name: str = "t"
    info: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        """Validate the fields and store a float copy of the coefficients."""
        if self.statistic_name not in ("t", "z"):
            msg = f"Parameter statistic_name must be 't' or 'z'; got {self.statistic_name!r}."
            raise ParameterError(msg, parameter="statistic_name")
        coef = numeric_frame(
            object.__getattribute__(self, "coefficients"), COEF_COLUMNS, "model coefficients", "coefficients"
        )
        coef.index = pd.Index([str(t) for t in coef.index], name="term")
        object.__setattr__(self, "coefficients", coef)
        object.__setattr__(self, "title", str(self.title))
        object.__setattr__(self, "info", label_pairs(self.info, "info"))

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        """Return term labels and formatted cells (one list per row), shared by all renderers."""
        coef = object.__getattribute__(self, "coefficients")
        est_se = np.array(format_columns_r(coef[["estimate", "std_error"]].to_numpy(), digits=4)).reshape(-1, 2)
        ci = np.array(format_columns_r(coef[["ci_lower", "ci_upper"]].to_numpy(), digits=4)).reshape(-1, 2)
        stat = ["NA" if np.isnan(v) else f"{v:.3f}" for v in coef["statistic"]]
        pval = [format_pvalue(v) for v in coef["p_value"]]
        rows = [[e, se, t, p, lo, hi] for (e, se), t, p, (lo, hi) in zip(est_se, stat, pval, ci)]
        return list(coef.index), rows

    def _headers(self, alpha: float) -> list[str]:
        s = self.statistic_name
        lo, hi = format_quantile(alpha / 2), format_quantile(1 - alpha / 2)
        return ["Estimate", "Std. Error", f"{s} value", f"Pr(>|{s}|)", f"[{lo}", f"{hi}]"]

    def _text_lines(self, alpha: float) -> list[str]:
        terms, rows = self._cells()
        columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in range(6)]
        table = text_table(terms, self._headers(alpha), columns, "rrrrrr")
        return [self.title, *table, *(f"{k}: {v}" for k, v in self.info)]
