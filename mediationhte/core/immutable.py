"""Read-only array copies and copy-on-read attributes for the frozen results and fit objects."""

from __future__ import annotations

import numpy as np
import pandas as pd


def readonly(a, dtype=None) -> np.ndarray | None:
    """A copy of ``a`` (as ``dtype`` if given) that cannot be written to; None stays None."""
    if a is None:
        return None
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


class CopyOnRead:
    """Mixin: DataFrame and Series attributes are handed out as copies, so a result cannot be mutated through them."""

    def __getattribute__(self, name):
        """Return attributes, DataFrames and Series as fresh copies."""
        value = object.__getattribute__(self, name)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            return value.copy()
        return value
