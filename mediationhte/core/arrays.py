"""Checks of array inputs shared by the mixed models and cluster-robust OLS: vectors, designs, cluster labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.core.validation import plain
from mediationhte.errors import ParameterError


def as_vector(a, name: str, n: int, what: str = "rows in X") -> np.ndarray:
    """``a`` as a finite 1-D float array of length ``n``; a ParameterError names ``name`` otherwise."""
    try:
        v = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric; float conversion failed ({exc}).", parameter=name) from None
    if v.ndim != 1:
        raise ParameterError(f"{name} must be 1-D; found shape {v.shape}. Pass a single column.", parameter=name)
    if len(v) != n:
        raise ParameterError(f"{name} has {len(v)} entries but there are {n} {what}; pass one per row.", parameter=name)
    if not np.all(np.isfinite(v)):
        raise ParameterError(f"{name} contains {int(np.sum(~np.isfinite(v)))} NaN/inf values; drop or impute them.",
                             parameter=name)
    return v


def as_design(X, names) -> tuple[np.ndarray, tuple[str, ...]]:
    """``X`` as a finite, full-rank float design with more rows than columns, and its column names."""
    if names is None and isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
    try:
        Xa = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"X must be a numeric matrix; converting it to floats failed ({exc}).",
                             parameter="X") from None
    if Xa.ndim != 2 or Xa.shape[1] == 0 or Xa.shape[0] <= Xa.shape[1]:
        raise ParameterError(f"X must be a 2-D design matrix (intercept included) with more rows than columns; "
                             f"found shape {Xa.shape}.", parameter="X")
    n, p = Xa.shape
    if not np.all(np.isfinite(Xa)):
        raise ParameterError(f"X contains {int(np.sum(~np.isfinite(Xa)))} NaN/inf values; drop or impute those rows.",
                             parameter="X")
    rank = int(np.linalg.matrix_rank(Xa))
    if rank < p:
        raise ParameterError(f"X has rank {rank} < {p} columns: some columns are collinear (e.g. a second "
                             f"intercept or a dummy for every level); drop the redundant ones.", parameter="X")
    names = tuple(f"x{j}" for j in range(p)) if names is None else tuple(str(s) for s in names)
    if len(names) != p:
        raise ParameterError(f"names has {len(names)} entries but X has {p} columns; give one per column.",
                             parameter="names")
    return Xa, names


def encode_groups(groups, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels (one per row, at least two clusters) as (sorted unique ids, integer codes)."""
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n:
        raise ParameterError(f"groups must hold one cluster label per row of X ({n}); found shape {g.shape}.",
                             parameter="groups")
    if np.any(pd.isna(g)):
        raise ParameterError(f"groups has {int(np.sum(pd.isna(g)))} missing labels; every row needs a cluster.",
                             parameter="groups")
    try:
        ids, codes = np.unique(g, return_inverse=True)
    except TypeError:
        raise ParameterError("groups mixes labels of incomparable types (e.g. numbers and strings); convert them "
                             "to one type, e.g. with .astype(str).", parameter="groups") from None
    if len(ids) < 2:
        raise ParameterError(f"groups contains a single cluster ({plain(ids[0])!r}); a random intercept or a "
                             "cluster-robust covariance needs at least 2 clusters.", parameter="groups")
    return ids, codes.reshape(-1).astype(np.intp)


def cluster_layout(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable cluster-sorting permutation, cluster sizes and block starts (all clusters are non-empty)."""
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return order, sizes, starts
