"""Cluster-aware pieces of the subgroup search for cluster-randomised trials.

In a CRT the unit of randomisation is the cluster, so the subgroup test must
respect it three times over:

* p_leaf: the leaf x treatment interaction is tested with CR2 cluster-robust
  standard errors (Bell & McCaffrey 2002) and a Hotelling-T^2 F reference
  (:func:`hotelling_pvalue`), not the iid F-test, which ignores the
  within-cluster correlation and rejects far too often;
* permutation calibration: whole clusters swap arms (the randomisation the trial
  actually did), so the null data sets keep every cluster in one arm;
* sample splitting: whole clusters go to the discovery or the test half.
"""

from __future__ import annotations

import numpy as np

from mediationhte.core.random_state import check_seed
from mediationhte.inference.cluster_robust import cluster_robust_ols, hotelling_pvalue


def cluster_leaf_pvalue(leaf, treatment, response, groups) -> float:
    """CR2 Wald test that every leaf has the same treatment slope in ``response ~ leaf + leaf:T``.

    Leaves holding only one arm have no slope (as in the iid test). Returns NaN
    when fewer than two leaves hold both arms or the test cannot be formed.
    """
    _, codes = np.unique(np.asarray(leaf), return_inverse=True)
    t = np.asarray(treatment, dtype=float)
    y = np.asarray(response, dtype=float)
    n_leaves = int(codes.max()) + 1
    treated = np.bincount(codes, weights=t, minlength=n_leaves)
    count = np.bincount(codes, minlength=n_leaves)
    both = np.flatnonzero((treated > 0) & (treated < count))
    if len(both) < 2:
        return float("nan")
    dummies = (codes[:, None] == np.arange(n_leaves)[None, :]).astype(float)
    slopes = dummies[:, both] * t[:, None]
    D = np.column_stack([dummies, slopes])
    q = len(both) - 1
    R = np.zeros((q, D.shape[1]))
    R[np.arange(q), n_leaves] = 1.0  # slope of the first leaf ...
    R[np.arange(q), n_leaves + 1 + np.arange(q)] = -1.0  # ... minus each other leaf's
    try:
        fit = cluster_robust_ols(y, D, np.asarray(groups), kind="CR2")
        p = hotelling_pvalue(float(fit.wald_test(R).statistic), q, fit.n_groups)
    except (ValueError, np.linalg.LinAlgError):
        return float("nan")
    return p if np.isfinite(p) else float("nan")


def cluster_arms(treatment, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster ids, cluster code of every row, arm of every cluster)."""
    ids, codes = np.unique(np.asarray(groups), return_inverse=True)
    arm = (np.bincount(codes, weights=np.asarray(treatment, dtype=float)) / np.bincount(codes)) > 0.5
    return ids, codes, arm.astype(int)


def permute_clusters(treatment, groups, seed: int) -> np.ndarray:
    """The treatment after a random permutation of the clusters' arms (the number of treated clusters kept)."""
    _, codes, arm = cluster_arms(treatment, groups)
    return np.random.default_rng(seed).permutation(arm)[codes]


def split_clusters(treatment, groups, seed: int, fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Whole clusters to the discovery or the test half, stratified by arm: (discovery rows, test rows), sorted."""
    _, codes, arm = cluster_arms(treatment, groups)
    rng = np.random.default_rng(check_seed(seed))
    chosen = []
    for a in (0, 1):
        clusters = np.flatnonzero(arm == a)
        chosen.append(rng.choice(clusters, size=max(1, int(round(fraction * len(clusters)))), replace=False))
    in_discovery = np.isin(codes, np.concatenate(chosen))
    return np.flatnonzero(in_discovery), np.flatnonzero(~in_discovery)
