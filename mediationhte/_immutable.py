"""Read-only array copies for the frozen results and fit objects."""

from __future__ import annotations

import numpy as np


def readonly(a, dtype=None) -> np.ndarray | None:
    """A copy of ``a`` (as ``dtype`` if given) that cannot be written to; None stays None."""
    if a is None:
        return None
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out
