"""Penalised smooths ``s(x)`` / ``s(x, k=10)`` in mixed-model form, for ``learner="gamm"`` in cluster-randomised trials.

A smooth is a cubic B-spline basis on uniform knots with a second-order
difference penalty (a P-spline, Eilers & Marx 1996). That penalty's null space is
the linear functions of x, which stay in the fixed part (the formula keeps the
column ``x`` itself); the penalised remainder is rotated to an identity penalty,
Z = B U_+ D_+^(-1/2) (U_+, D_+: the eigenvectors and positive eigenvalues of the
penalty), so its coefficients are one random-effect block with a single variance
and REML chooses the smoothing (Wood 2017, section 5.8). A smooth of a modifier
also gets a treatment x smooth block, so the CATE can bend with x.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mediationhte.errors import AssumptionWarning, FormulaError, warn_at_caller

_SMOOTH = re.compile(r"\bs\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:,\s*k\s*=\s*(\d+)\s*)?\)")
DEFAULT_K = 10


def extract_smooths(formula: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """Replace every ``s(x)`` / ``s(x, k=K)`` by ``x``; return the new formula and the (column, K) pairs."""
    found = []

    def keep(match):
        k = int(match.group(2)) if match.group(2) else DEFAULT_K
        if k < 4:
            raise FormulaError(f"formula: {match.group(0)!r} needs k >= 4 basis functions (the linear part is fixed, "
                               "so k - 2 are penalised).")
        found.append((match.group(1), k))
        return match.group(1)

    plain = _SMOOTH.sub(keep, formula)
    if re.search(r"\bs\(", plain):
        raise FormulaError(f"formula: a smooth term in {formula!r} could not be read; write s(column) or "
                           "s(column, k=10).")
    names = [n for n, _ in found]
    if len(set(names)) != len(names):
        raise FormulaError(f"formula: each column may have one smooth term; {names} repeats one.")
    return plain, tuple(found)


@dataclass(frozen=True, eq=False)
class SmoothTerm:
    """One fitted smooth: the B-spline transformer and the rotation to an identity penalty."""

    column: str
    k: int
    interacts: bool
    transformer: object = field(repr=False)
    rotation: np.ndarray = field(repr=False)

    def basis(self, x: np.ndarray) -> np.ndarray:
        """The penalised part of the smooth at ``x``: (n, k - 2), one random-effect block."""
        return self.transformer.transform(np.asarray(x, dtype=float).reshape(-1, 1)) @ self.rotation


def fit_smooth(column: str, x: np.ndarray, k: int, interacts: bool) -> SmoothTerm:
    """Build the basis of ``s(column, k=k)`` on the observed ``x``."""
    from sklearn.preprocessing import SplineTransformer

    x = np.asarray(x, dtype=float).reshape(-1, 1)
    if len(np.unique(x)) < k:
        raise FormulaError(f"formula: s({column}, k={k}) needs at least {k} distinct values of {column!r}; found "
                           f"{len(np.unique(x))}. Lower k or use {column} linearly.")
    transformer = SplineTransformer(n_knots=k - 2, degree=3, knots="uniform", extrapolation="linear").fit(x)
    D = np.diff(np.eye(k), n=2, axis=0)
    values, vectors = np.linalg.eigh(D.T @ D)
    positive = values > 1e-10 * values.max()
    rotation = vectors[:, positive] / np.sqrt(values[positive])
    return SmoothTerm(column=column, k=k, interacts=interacts, transformer=transformer, rotation=rotation)


def warn_ignored_smooths(smooths, learner: str) -> None:
    """Smooth terms only mean something to ``learner="gamm"``; others use the plain columns."""
    if smooths and learner != "gamm":
        warn_at_caller(f"formula: s() terms ({', '.join(c for c, _ in smooths)}) are honoured by learner='gamm' only; "
                      f"learner={learner!r} uses the plain columns.", AssumptionWarning)
