"""Linear solvers of dynamic mediation (Ge et al. 2023): LSTD for the Q-functions and min-max state ratios.

Both work on weighted rows (one row per observed transition S, A, M, R, S'; the
weights are 1/n for data, or the exact probabilities of the cells when the data
law is known, as in the Toy designs), and take their features from the caller,
so a tabular, spline or polynomial basis plugs in unchanged.

* LSTD for an average-reward Q-function: with U = (phi(S, A, M), 1) and
  Xi = (E[phi(S', A', M') | S'] under the chain, 0), solve
  sum_i w_i U_i (U_i - Xi_i)' theta + ridge theta = sum_i w_i U_i Y_i; the last
  coordinate of theta is eta, the rest the Q coefficients. Several right-hand
  sides Y (the five pseudo-rewards) share one matrix per chain.
* State ratio omega = d^pi / d^b with omega(s) = psi(s)' beta: the moment equations
  E[(psi(S) - rho psi(S')) psi(S)'] beta = 0 and E[psi(S)' beta] = 1, solved
  together as one (ridge) least-squares problem.

This is the first part of ``dynamic_mediation()`` (issue 6); the estimators that
combine them (DM, MIS, MR, baseline) come next.
"""

from __future__ import annotations

import numpy as np

from mediationhte.datasets.dynamic import Q_CELLS
from mediationhte.errors import ParameterError


def _weights(weights, n: int) -> np.ndarray:
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ParameterError(f"Parameter weights must be {n} non-negative finite numbers with a positive sum.",
                             parameter="weights")
    return w / w.sum()


def lstd(phi: np.ndarray, phi_next: np.ndarray, rewards: np.ndarray, weights=None, ridge: float = 0.0) -> np.ndarray:
    """Average-reward LSTD: coefficients (p + 1, K) of Q and eta for K right-hand sides; see the module docstring.

    Parameters
    ----------
    phi : ndarray (n, p)
        Features of the observed (S, A, M) (no column for eta).
    phi_next : ndarray (n, p)
        Expected next-step features under the chain of the target Q-function.
    rewards : ndarray (n,) or (n, K)
        Pseudo-rewards Y_k.
    weights : ndarray (n,), optional
        Row weights (normalised to sum 1); default equal.
    ridge : float, default 0
        Added to the diagonal of the Q block (not to eta).

    Returns
    -------
    ndarray (p + 1, K)
        Rows 0..p-1: Q coefficients; row p: eta.
    """
    phi = np.asarray(phi, dtype=float)
    n = phi.shape[0]
    w = _weights(weights, n)
    Y = np.asarray(rewards, dtype=float).reshape(n, -1)
    return solve_lstd(lstd_system(phi, phi_next, w, ridge), Y, w)


def solve_lstd(system, rewards: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Coefficients theta (p + 1, K) from a :func:`lstd_system` and K pseudo-rewards (n, K)."""
    U, _, A = system
    return np.linalg.lstsq(A, (U * w[:, None]).T @ rewards, rcond=None)[0]


def lstd_system(phi: np.ndarray, phi_next: np.ndarray, w: np.ndarray, ridge: float):
    """(U, Xi, A) of the LSTD equations ``A theta = sum_i w_i U_i Y_i`` (weights ``w`` summing to 1)."""
    n, p = phi.shape
    U = np.column_stack([phi, np.ones(n)])
    Xi = np.column_stack([np.asarray(phi_next, dtype=float), np.zeros(n)])
    A = (U * w[:, None]).T @ (U - Xi) + np.diag(np.r_[np.full(p, float(ridge)), 0.0])
    return U, Xi, A


def min_max_ratio(psi: np.ndarray, psi_next: np.ndarray, rho: np.ndarray, weights=None,
                  ridge: float = 0.0) -> np.ndarray:
    """Coefficients beta of the state ratio omega(s) = psi(s)' beta; see the module docstring.

    Parameters
    ----------
    psi, psi_next : ndarray (n, q)
        Ratio features at S and at S' (include a constant column).
    rho : ndarray (n,)
        One-step importance weight of the chain (e.g. pi_e(A|S) / b(A|S)).
    weights : ndarray (n,), optional
    ridge : float, default 0

    Returns
    -------
    ndarray (q,)
    """
    psi = np.asarray(psi, dtype=float)
    n, q = psi.shape
    w = _weights(weights, n)
    _, S = ratio_system(psi, psi_next, rho, w)
    system = np.vstack([S, np.sqrt(ridge) * np.eye(q)]) if ridge else S
    target = np.r_[np.zeros(q), 1.0, np.zeros(q if ridge else 0)]
    return np.linalg.lstsq(system, target, rcond=None)[0]


def ratio_system(psi: np.ndarray, psi_next, rho, w: np.ndarray):
    """(diff, S) of the ratio moments: diff_i = psi_i - rho_i psi'_i and S = [E[diff psi']; E[psi']] ((q + 1, q))."""
    diff = psi - np.asarray(rho, dtype=float)[:, None] * np.asarray(psi_next, dtype=float)
    M = (diff * w[:, None]).T @ psi            # E[(psi(S) - rho psi(S')) psi(S)']
    mean_row = (psi * w[:, None]).sum(axis=0)  # E[psi(S)']
    return diff, np.vstack([M, mean_row])


def binary_cells(s, a, m) -> np.ndarray:
    """Tabular features of binary (s, a, m): one indicator per cell except (0, 0, 0), which fixes Q's constant.

    Column order (s, a, m) = 100, 010, 001, 110, 101, 011, 111.
    """
    s, a, m = (np.asarray(v, dtype=float) for v in (s, a, m))
    return np.column_stack([(s == cs) & (a == ca) & (m == cm) for cs, ca, cm in Q_CELLS]).astype(float)
