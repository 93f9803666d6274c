"""The one place where random number generators are created.

``random_state`` enters the package at a public entry point and is turned into a
:class:`numpy.random.Generator` once, here. scikit-learn and openTSNE reject
Generators, so they receive integer child seeds from :func:`spawn_seeds`.
"""

from __future__ import annotations

import numbers

import numpy as np

from mediationhte.errors import ParameterError

_MAX_SEED = 2**31 - 1


def resolve_seed(random_state) -> tuple[np.random.Generator, object]:
    """Turn ``random_state`` into a Generator and the value to record as ``seed_used``.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        ``None`` draws fresh OS entropy and records it, so an unseeded run can be
        reproduced from ``seed_used``; an int seeds a new Generator; a Generator
        is used as is (and consumed).

    Returns
    -------
    rng : numpy.random.Generator
    seed_used : int or str
        The integer seed (for None and int) or ``"Generator"``.
    """
    if random_state is None:
        entropy = int(np.random.SeedSequence().entropy)
        return np.random.default_rng(entropy), entropy
    if isinstance(random_state, np.random.Generator):
        return random_state, "Generator"
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ParameterError(
                f"Parameter random_state must be a non-negative integer, a numpy Generator or None; "
                f"got {random_state}.",
                parameter="random_state",
            )
        return np.random.default_rng(int(random_state)), int(random_state)
    raise ParameterError(
        "Parameter random_state must be None, a non-negative integer or a numpy.random.Generator; "
        f"got {type(random_state).__name__} {random_state!r}. "
        "np.random.RandomState is not accepted: pass np.random.default_rng(seed) instead.",
        parameter="random_state",
    )


def spawn_seeds(rng: np.random.Generator, k: int) -> np.ndarray:
    """Draw ``k`` integer child seeds in ``[0, 2**31 - 1)`` for sklearn, openTSNE or joblib tasks."""
    return rng.integers(0, _MAX_SEED, size=k, dtype=np.int64)


def check_seed(seed, name: str = "seed") -> int:
    """An integer child seed in [0, 2**32), as :func:`spawn_seeds` draws them; a ParameterError names ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ParameterError(
            f"Parameter {name} must be an integer in [0, 2**32) (a child seed from spawn_seeds); got {seed!r}.",
            parameter=name,
        )
    return int(seed)
