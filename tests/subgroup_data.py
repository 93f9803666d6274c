"""Synthetic data with a planted mediation subgroup, shared by the M-learner subgroup tests."""

import numpy as np
import pandas as pd


def planted(n=600, seed=0, null=False):
    """x1..x5 ~ N(0,1); S = x1>0 & x2>0; m = 0.5 x3 + t (1 + 2S) + e; unit effect = (1 + 2S) b + small noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"x{i}" for i in range(1, 6)])
    S = ((X.x1 > 0) & (X.x2 > 0)).to_numpy()
    t = rng.permutation(np.arange(n) % 2)
    if null:
        m = 0.5 * X.x3.to_numpy() + t + rng.normal(size=n)
        effect = rng.normal(scale=0.1, size=n)
    else:
        m = 0.5 * X.x3.to_numpy() + t * (1 + 2 * S) + rng.normal(size=n)
        effect = (1 + 2 * S) * 0.8 + rng.normal(scale=0.05, size=n)
    y = 0.8 * m + 0.3 * X.x4.to_numpy() + rng.normal(size=n)
    return X, S, t, m, y, effect
