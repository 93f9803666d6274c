"""A free-form numeric table printed below the effects (e.g. the distribution of unit-level effects).

It follows the same small protocol as :class:`mediationhte.report.summary.ModelTable`
(``title``, ``info``, ``_cells``, ``_headers``, ``_text_lines``), so every Summary
renderer handles it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mediationhte.report.formatting import format_columns_r, text_table
from mediationhte.errors import ParameterError


@dataclass(frozen=True, eq=False)
class StatsTable:
    """A titled numeric table: rows are labels, columns are statistics.

    Parameters
    ----------
    title : str
    table : pandas.DataFrame
        Numeric cells; the index gives the row labels and the columns the headers.
    info : tuple of (str, str)
        Lines printed under the table.
    digits : int, default 4
        Significant digits for R-style shared decimals in each column.
    """

    title: str
    table: pd.DataFrame
    info: tuple[tuple[str, str], ...] = ()
    digits: int = 4

    def __post_init__(self):
        """Store a float copy of the table."""
        if not isinstance(self.table, pd.DataFrame):
            raise ParameterError(f"Parameter table must be a DataFrame; got {type(self.table).__name__}.",
                                 parameter="table")
        object.__setattr__(self, "table", self.table.astype(float).copy())
        object.__setattr__(self, "info", tuple((str(k), str(v)) for k, v in self.info))

    def __getattribute__(self, name):
        """Return attributes, the table as a fresh copy."""
        value = object.__getattribute__(self, name)
        return value.copy() if isinstance(value, pd.DataFrame) else value

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        table = object.__getattribute__(self, "table")
        columns = [format_columns_r(table[[c]].to_numpy(), digits=self.digits) for c in table.columns]
        rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(table))]
        return [str(i) for i in table.index], rows

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
