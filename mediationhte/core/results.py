"""The fields every fit's results share, in one frozen base class."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mediationhte.core.immutable import CopyOnRead


@dataclass(frozen=True, eq=False, kw_only=True)
class FitResults(CopyOnRead):
    """Base of the results of ``mediate()``, ``cate()`` and ``dynamic_mediation()`` (immutable).

    DataFrame and Series attributes are handed out as copies, and no attribute can
    be reassigned; methods that compute more return new objects.

    Attributes
    ----------
    roles : object
        Which columns play which role (outcome, treatment, mediator, covariates, ...).
    contrast : object
        The contrasted treatment values (or policies).
    rows_used, dropped_index : pandas.Index
        Labels of the rows analysed and of those dropped for missing values.
    alpha : float
        Intervals are at level 1 - alpha unless a method is given another alpha.
    seed_used : int or str
        The seed of the fit: ``random_state``, the entropy drawn when it was None,
        or ``"Generator"`` when a Generator was given.
    call : str
        The call, as R's ``match.call()``.
    """

    roles: object = field(repr=False)
    contrast: object = field(repr=False)
    rows_used: pd.Index = field(repr=False)
    dropped_index: pd.Index = field(repr=False)
    alpha: float
    seed_used: object
    call: str

    @property
    def n_obs(self) -> int:
        """Number of rows analysed."""
        return len(self.rows_used)
