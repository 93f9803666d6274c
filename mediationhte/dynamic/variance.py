"""The MR standard error's correction for the estimated Q-functions, state ratios and mediator mean (stacked equations).

MR's per-row terms are the influence function of each eta when the Q-functions
and the state ratios are known. Here both are estimated on the same rows by
linear sieves (LSTD for Q, the min-max moment equations for omega), so each eta
also moves with the sampling error of those coefficients. Both are Z-estimators,
so the delta method gives that movement row by row (Newey 1994; the stacked
M-estimation sandwich): for a coefficient vector gamma-hat solving
``sum_i w_i g_i(gamma) = 0``,

    gamma-hat - gamma ~ sum_i w_i IF_i,   IF_i = J^{-1} g_i,

and eta-hat moves by ``G' (gamma-hat - gamma)`` with ``G`` the derivative of the
MR mean in gamma. Adding ``G' IF_i`` to each row's term makes the trajectory-
cluster standard error count that variance (checked against the delete-one-
trajectory jackknife in ``tests/test_dynamic_variance.py``). In large samples with a
correct sieve the correction vanishes (MR is orthogonal to Q and omega); at the
sizes users have it does not: on the semi-synthetic design (N = 200 trajectories of
25 steps) it raised the standard errors of DDE and DME by 7-11%.

A Gaussian mediator law whose mean was fitted on the rows is counted too
(:func:`mediator_mean_correction`): ``estimate_effects`` differentiates each eta's MR
mean in the mediator mean analytically, at the four places the mean is evaluated
((S, a) and (S', a) for a = 0, 1) and along every path: the density ratio kappa and
the mediator integrals in the row, the LSTD targets of the Q-functions
(:func:`lstd_sensitivity`) and the one-step weights of the G chain's ratio
(:func:`ratio_sensitivity`); both the direct and the total derivative are checked
against finite differences of the re-run estimator in the tests. The mean is seen as
a least-squares sieve per action (a constant and the Q basis's state part), whose
influence times that derivative is Newey's (1994) correction for a nonparametric
conditional mean, projected on the sieve. Where the mean is a least-squares fit on
that sieve this makes the SE match the delete-one-trajectory jackknife that refits it
(four-way IDE and IME were 8-10% short without it, 3.5-3.7% with it;
``tests/test_dynamic_variance.py``).

Not counted: the behaviour propensity and the reward regression (cross-fitting keeps
their errors out of the first order, and MR is robust to them), the mediator's
covariance (one matrix estimated from every row) and a discrete mediator's class
probabilities. On the semi-synthetic design at N = 500 the replicate SD of DDE is
still 1.10 times its mean SE with every term counted (``benchmarks/bench_dynamic.py
--coverage``), so part of its spread is not first order in any nuisance.
"""

from __future__ import annotations

import numpy as np


def lstd_correction(U: np.ndarray, Xi: np.ndarray, A: np.ndarray, Y: np.ndarray, theta: np.ndarray,
                    gradient: np.ndarray) -> np.ndarray:
    """Per-row ``G' IF_i`` of one LSTD fit, from its system (:func:`mediationhte.dynamic.solvers.lstd_system`).

    Parameters
    ----------
    U, Xi : ndarray (n, p + 1)
        (phi, 1) and (E phi(next), 0) of the rows.
    A : ndarray (p + 1, p + 1)
        The LSTD matrix (the Jacobian J of the estimating equations).
    Y : ndarray (n,)
        The pseudo-reward.
    theta : ndarray (p + 1,)
        The fitted coefficients (Q and eta).
    gradient : ndarray (p + 1,)
        Derivative of the MR mean of this eta in theta.
    """
    return (Y - (U - Xi) @ theta) * lstd_sensitivity(U, A, gradient)


def lstd_sensitivity(U: np.ndarray, A: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Per-row c_i of one LSTD fit: how its coefficients carry a move of their targets into the MR mean.

    The MR mean moves by ``sum_i w_i c_i (dY_i + dV_i)`` when the pseudo-rewards Y and the
    next-state values V = E phi(next)' q move, with ``c = U A^{-T} gradient``.
    """
    return U @ np.linalg.lstsq(A.T, gradient, rcond=None)[0]


def ratio_correction(psi: np.ndarray, diff: np.ndarray, S: np.ndarray, beta: np.ndarray, ridge: float,
                     gradient: np.ndarray) -> np.ndarray:
    """Per-row ``G' IF_i`` of one state ratio, from its moments (:func:`mediationhte.dynamic.solvers.ratio_system`).

    beta solves the (ridge) least-squares problem ``S beta ~ t`` with
    ``S = [sum_i w_i diff_i psi_i'; sum_i w_i psi_i']`` and ``t = (0, ..., 0, 1)``,
    ``diff_i = psi_i - rho_i psi'_i``. Row i's contribution to S is
    ``S_i = [diff_i psi_i'; psi_i']``, and the normal equations give
    ``IF_i = H^{-1} [(S_i - S)' r - S' (S_i - S) beta]`` with ``r = t - S beta`` and
    ``H = S'S + ridge I``.
    """
    q = psi.shape[1]
    resid = np.r_[np.zeros(q), 1.0] - S @ beta
    v = np.linalg.lstsq(S.T @ S + float(ridge) * np.eye(q), gradient, rcond=None)[0]
    u, pv, sv = psi @ beta, psi @ v, S @ v
    first = (diff @ resid[:q]) * pv + resid[q] * pv - resid @ sv           # r' (S_i - S) v
    second = (diff @ sv[:q]) * u + sv[q] * u - sv @ (S @ beta)             # (S v)' (S_i - S) beta
    return first - second


def ratio_sensitivity(psi: np.ndarray, psi_next: np.ndarray, S: np.ndarray, beta: np.ndarray, ridge: float,
                      gradient: np.ndarray) -> np.ndarray:
    """Per-row c_i: the MR mean moves by ``sum_i w_i c_i d rho_i`` when the ratio's one-step weights rho move.

    With ``d diff_i = -d rho_i psi'_i`` the top block of S moves by ``-sum_i w_i d rho_i psi'_i psi_i'``,
    and the normal equations give ``d beta = H^{-1} [dS' r - S' dS beta]`` (see :func:`ratio_correction`).
    """
    q = psi.shape[1]
    resid = np.r_[np.zeros(q), 1.0] - S @ beta
    v = np.linalg.lstsq(S.T @ S + float(ridge) * np.eye(q), gradient, rcond=None)[0]
    sv = S @ v
    return -((psi_next @ resid[:q]) * (psi @ v) - (psi_next @ sv[:q]) * (psi @ beta))


def ratio_gradient(psi: np.ndarray, raw: np.ndarray, clip: float, w: np.ndarray, omega: np.ndarray,
                   bracket: np.ndarray) -> np.ndarray:
    """Derivative in beta of ``sum_i w_i omega_i bracket_i`` with omega = clip(psi beta) / its weighted mean."""
    free = ((raw > 1.0 / clip) & (raw < clip)).astype(float)
    total = float(np.sum(w * np.clip(raw, 1.0 / clip, clip)))
    free_mean = (psi * (w * free)[:, None]).sum(axis=0)
    return ((psi * (w * bracket * free)[:, None]).sum(axis=0) - float(np.sum(w * bracket * omega)) * free_mean) / total


def mediator_mean_correction(basis: np.ndarray, A: np.ndarray, residual: np.ndarray, gradient: np.ndarray,
                             w: np.ndarray) -> np.ndarray:
    """Per-row ``G' IF_i`` of the mediator mean, seen as a least-squares sieve per action.

    The mean of coordinate j under action a is taken as ``basis(s)' beta_{a, j}`` fitted
    by weighted least squares on the rows with A = a, so
    ``IF_i = H_a^{-1} basis_i residual_{i, j}`` with ``H_a = sum_{A_i = a} w_i basis_i basis_i'``
    (Newey 1994: for a flexible fit of a conditional mean the correction is the Riesz
    representer of the derivative times the residual; the sieve projects it on the basis).

    Parameters
    ----------
    basis : ndarray (n, q)
        Sieve features of each row's state (a constant and the Q basis's state part).
    A : ndarray (n,)
    residual : ndarray (n, d_M)
        M minus the fitted mean at (S, A) (out of fold when the law is cross-fitted).
    gradient : ndarray (2, d_M, q)
        Derivative of the MR mean in beta, by action and coordinate.
    w : ndarray (n,)
    """
    out = np.zeros(len(A))
    for a in (0, 1):
        rows = A == a
        if not rows.any():
            continue
        X = basis[rows]
        H = (X * w[rows, None]).T @ X
        v = np.linalg.lstsq(H, gradient[a].T, rcond=None)[0]            # (q, d_M)
        out[rows] = np.sum((X @ v) * residual[rows], axis=1)
    return out
