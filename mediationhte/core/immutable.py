"""Read-only array copies and copy-on-read attributes for the frozen results and fit objects."""

from __future__ import annotations

import types
from dataclasses import fields

import numpy as np
import pandas as pd


def readonly(a, dtype=None) -> np.ndarray | None:
    """A copy of ``a`` (as ``dtype`` if given) that cannot be written to; None stays None."""
    if a is None:
        return None
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


def freeze_arrays(obj) -> None:
    """Replace each ndarray field of the frozen dataclass ``obj`` (and arrays in its dict fields) by a read-only copy.

    Call it from ``__post_init__``: internal fit objects handed out with results
    (design arrays, nuisance predictions) then cannot be edited through them.
    """
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            object.__setattr__(obj, f.name, readonly(value))
        elif isinstance(value, dict) and any(isinstance(v, np.ndarray) for v in value.values()):
            object.__setattr__(obj, f.name, types.MappingProxyType(
                {k: readonly(v) if isinstance(v, np.ndarray) else v for k, v in value.items()}))


class CopyOnRead:
    """Mixin: DataFrame and Series attributes are handed out as copies, so a result cannot be mutated through them."""

    def __getattribute__(self, name):
        """Return attributes, DataFrames and Series as fresh copies."""
        value = object.__getattribute__(self, name)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            return value.copy()
        return value
