"""A free-form numeric table printed below the effects (e.g. the distribution of unit-level effects).

It follows the same small protocol as :class:`mediationhte.report.summary.ModelTable`
(``title``, ``info``, ``_cells``, ``_headers``, ``_text_lines``), so every Summary
renderer handles it. A Summary may consist of StatsTables only (``effects=None``):
that is how results that are not an effects table (sensitivity, balance, uplift,
subgroups, ...) present themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mediationhte.errors import ParameterError
from mediationhte.report.formatting import format_columns_r, format_pvalue, text_table


def _label(key) -> str:
    """A row label: MultiIndex keys are joined with ", " (``("1", "acme_average")`` -> ``"1, acme_average"``)."""
    return ", ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


@dataclass(frozen=True, eq=False)
class StatsTable:
    """A titled numeric table: rows are labels, columns are statistics.

    Parameters
    ----------
    title : str
    table : pandas.DataFrame
        Numeric cells (booleans become 0/1); the index gives the row labels (the
        levels of a MultiIndex joined by ", ") and the columns the headers.
    info : tuple of (str, str)
        Lines printed under the table.
    digits : int, default 4
        Significant digits for R-style shared decimals in each column.
    p_columns : tuple of str, default ()
        Columns holding p-values: printed as p-values (three decimals, ``<0.001``)
        rather than with shared decimals, which would show a tiny p as 0.

    Raises
    ------
    mediationhte.errors.ParameterError
        If `table` is not a DataFrame of numbers, or `p_columns` names a column it lacks.

    Examples
    --------
    >>> import pandas as pd
    >>> t = StatsTable("Omnibus test", pd.DataFrame({"Wald": [3.2], "p-value": [0.0002]}, index=["ACME"]),
    ...                p_columns=("p-value",))
    >>> from mediationhte import Summary
    >>> print(Summary(title="Moderation", models=(t,)).as_text())
    <BLANKLINE>
    Moderation
    <BLANKLINE>
    Omnibus test
         Wald p-value
    ACME  3.2  <0.001
    <BLANKLINE>
    """

    title: str
    table: pd.DataFrame
    info: tuple[tuple[str, str], ...] = ()
    digits: int = 4
    p_columns: tuple[str, ...] = ()

    def __post_init__(self):
        """Store a float copy of the table."""
        if not isinstance(self.table, pd.DataFrame):
            raise ParameterError(f"Parameter table must be a DataFrame; got {type(self.table).__name__}.",
                                 parameter="table")
        try:
            table = self.table.astype(float).copy()
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Parameter table must hold numbers only (StatsTable {self.title!r}): {exc}",
                                 parameter="table") from exc
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "title", str(self.title))
        object.__setattr__(self, "info", tuple((str(k), str(v)) for k, v in self.info))
        p_columns = tuple(str(c) for c in self.p_columns)
        missing = [c for c in p_columns if c not in map(str, table.columns)]
        if missing:
            raise ParameterError(f"Parameter p_columns names column(s) {', '.join(map(repr, missing))} that the "
                                 f"table lacks.", parameter="p_columns")
        object.__setattr__(self, "p_columns", p_columns)

    def __getattribute__(self, name):
        """Return attributes, the table as a fresh copy."""
        value = object.__getattribute__(self, name)
        return value.copy() if isinstance(value, pd.DataFrame) else value

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        table = object.__getattribute__(self, "table")
        columns = [[format_pvalue(p) for p in table[c]] if str(c) in self.p_columns
                   else format_columns_r(table[[c]].to_numpy(), digits=self.digits) for c in table.columns]
        rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(table))]
        return [_label(i) for i in table.index], rows

    def _headers(self, alpha: float) -> list[str]:
        return [str(c) for c in object.__getattribute__(self, "table").columns]

    def _text_lines(self, alpha: float) -> list[str]:
        labels, rows = self._cells()
        n_cols = len(self._headers(alpha))
        columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in range(n_cols)]
        table = text_table(labels, self._headers(alpha), columns, "r" * n_cols)
        return [self.title, *table, *(f"{k}: {v}" for k, v in self.info)]


def distribution_table(frame: pd.DataFrame, title: str) -> StatsTable:
    """Mean, SD and quantiles (5%, 25%, 50%, 75%, 95%) of each column of ``frame``."""
    q = frame.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
    table = pd.DataFrame({"Mean": frame.mean(), "SD": frame.std(ddof=1), "5%": q.loc[0.05], "25%": q.loc[0.25],
                          "Median": q.loc[0.5], "75%": q.loc[0.75], "95%": q.loc[0.95]})
    return StatsTable(title=title, table=table, info=(("Units", f"{len(frame)}"),))


__all__ = ["StatsTable", "distribution_table"]
