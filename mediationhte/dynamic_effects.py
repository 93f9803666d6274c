"""DM, MIS, MR and baseline estimators of the four-way dynamic decomposition (spec dynamic_mediation.md section 2.5).

This module works on weighted transition rows (S, A, M, R, S') with the nuisances
given as callables, for a *discrete* mediator (exact sums over its support); the
data layer of ``dynamic_mediation()`` (validation, fitted nuisances, continuous
mediators by Monte Carlo blocks) builds on it. Every estimate is a weighted mean
of per-row values phi, so DM and MR satisfy IDE + IME + DDE + DME = ATE exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .dynamic_estimation import lstd, min_max_ratio

COMPONENTS = ("IDE", "IME", "DDE", "DME")


@dataclass(frozen=True)
class DiscreteNuisances:
    """Nuisance callables (vectorised over rows) for a binary action and a discrete mediator.

    Attributes
    ----------
    behaviour, target : callable s -> P(A = 1 | s)
    mediator : callable (m, s, a) -> P(M = m | s, a)
    reward : callable (s, a, m) -> E[R | s, a, m]
    support : tuple
        The mediator's values.
    """

    behaviour: Callable
    target: Callable
    mediator: Callable
    reward: Callable
    support: tuple


def _policy(a, s, p_one):
    p = p_one(s)
    return np.where(a == 1, p, 1 - p)


def estimate_effects(S, A, M, R, S_next, nuisances: DiscreteNuisances, q_features: Callable, ratio_features: Callable,
                     *, weights=None, ridge: float = 0.0, clip: float = 500.0, q_override=None,
                     ratio_override=None) -> dict:
    """Five etas and the four components by DM, MIS, MR and the baseline, with per-row contributions.

    Parameters
    ----------
    S, A, M, R, S_next : ndarray (n,)
    nuisances : DiscreteNuisances
    q_features : callable (s, a, m) -> (n, p) features of the Q-functions (no eta column)
    ratio_features : callable s -> (n, q) features of the state ratios (with a constant)
    weights : ndarray (n,), optional
        Row weights (exact cell probabilities in population checks); default equal.
    ridge : float, default 0
    clip : float, default 500
        Ratios are clipped to [1/clip, clip] and kappa to at most clip (as the reference).
    q_override : dict k -> (p + 1,) coefficients, optional
        Replace fitted Q-functions (for robustness checks with deliberately wrong Q, eta).
    ratio_override : dict name -> (q,) coefficients, optional
        Replace fitted ratios ("e", "0", "G").

    Returns
    -------
    dict
        ``etas`` per estimator ("DM", "MIS", "MR"), ``effects`` per estimator (IDE, IME,
        DDE, DME, ATE; baseline: IDE and IME), ``phi`` (per-row MR contributions),
        ``q`` (coefficients) and ``omega`` (the three ratios at S).
    """
    S, A, M, R, S_next = (np.asarray(v, dtype=float) for v in (S, A, M, R, S_next))
    n = len(R)
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    nu = nuisances
    zeros = np.zeros(n)
    support = [float(v) for v in nu.support]

    def pm(m, s, a):
        return nu.mediator(np.full(n, m) if np.ndim(m) == 0 else m, s, a)

    def pm_e(m, s):
        return sum(_policy(x, s, nu.target) * pm(m, s, np.full(n, x)) for x in (0.0, 1.0))

    def rbar(s, a):
        return sum(pm(v, s, a) * nu.reward(s, a, np.full(n, v)) for v in support)

    # expected next-step features under the three chains (exact sums over the next action and mediator)
    def next_features(chain):
        total = 0.0
        for a2 in (0.0, 1.0):
            for v in support:
                a_arr, m_arr = np.full(n, a2), np.full(n, v)
                if chain == "e":
                    weight = _policy(a_arr, S_next, nu.target) * pm(m_arr, S_next, a_arr)
                elif chain == "G":
                    weight = pm_e(m_arr, S_next) * (a2 == 0)
                else:
                    weight = pm(m_arr, S_next, a_arr) * (a2 == 0)
                total = total + weight[:, None] * q_features(S_next, a_arr, m_arr)
        return total

    phi = q_features(S, A, M)
    p = phi.shape[1]
    xi = {c: next_features(c) for c in ("e", "G", "0")}
    r_obs = nu.reward(S, A, M)
    pseudo = {1: R, 2: nu.reward(S, zeros, M), 3: rbar(S, zeros), 4: rbar(S, zeros), 5: R}
    chain_of = {1: "e", 2: "e", 3: "e", 4: "G", 5: "0"}
    theta = {}
    fit_e = lstd(phi, xi["e"], np.column_stack([pseudo[1], pseudo[2], pseudo[3]]), w, ridge)
    theta.update({1: fit_e[:, 0], 2: fit_e[:, 1], 3: fit_e[:, 2]})
    theta[4] = lstd(phi, xi["G"], pseudo[4], w, ridge)[:, 0]
    theta[5] = lstd(phi, xi["0"], pseudo[5], w, ridge)[:, 0]
    if q_override:
        theta.update({k: np.asarray(v, dtype=float) for k, v in q_override.items()})
    eta = {k: float(theta[k][p]) for k in theta}

    def Q(k, s, a, m):
        return q_features(s, a, m) @ theta[k][:p]

    def Qbar(k, s, a):
        return sum(pm(v, s, a) * Q(k, s, a, np.full(n, v)) for v in support)

    V = {k: xi[chain_of[k]] @ theta[k][:p] for k in theta}

    # state ratios
    b_obs = _policy(A, S, nu.behaviour)
    rho_e = _policy(A, S, nu.target) / b_obs
    rho_0 = (A == 0) / b_obs
    kappa = pm_e(M, S) / pm(M, S, A)
    psi, psi_next = ratio_features(S), ratio_features(S_next)
    omega = {}
    for name, rho in (("e", rho_e), ("0", rho_0), ("G", rho_0 * np.minimum(kappa, clip))):
        beta = min_max_ratio(psi, psi_next, rho, w, ridge) if not ratio_override or name not in ratio_override \
            else np.asarray(ratio_override[name], dtype=float)
        om = np.clip(psi @ beta, 1.0 / clip, clip)
        omega[name] = om / np.sum(w * om)
    we, w0, wg = omega["e"], omega["0"], omega["G"]
    kc = np.minimum(kappa, clip)

    # MR row terms (spec section 2.5)
    I1 = we * rho_e * (R + V[1] - Qbar(1, S, A) - eta[1])
    I2 = we * rho_0 * kc * (R - r_obs) + we * rho_e * (nu.reward(S, zeros, M) + V[2] - Qbar(2, S, A) - eta[2])
    I3 = we * rho_0 * (R - rbar(S, A)) + we * rho_e * (rbar(S, zeros) + V[3] - Qbar(3, S, A) - eta[3])
    Q4_a0_obs = Q(4, S, zeros, M)
    Q4_a0_int = sum(pm(v, S, A) * Q(4, S, zeros, np.full(n, v)) for v in support)
    I4 = (wg * rho_0 * (R - rbar(S, A) + kappa * (rbar(S, zeros) + V[4] - Q(4, S, A, M) - eta[4]))
          + wg * rho_e * (Q4_a0_obs - Q4_a0_int))
    I5 = w0 * rho_0 * (R + V[5] - Qbar(5, S, A) - eta[5])
    terms = [I1, I2, I3, I4, I5]
    mr_rows = [eta[k + 1] + terms[k] for k in range(5)]
    phi_rows = {c: mr_rows[i] - mr_rows[i + 1] for i, c in enumerate(COMPONENTS)}

    mis = [np.sum(w * we * rho_e * R), np.sum(w * we * rho_0 * kc * R), np.sum(w * we * rho_0 * R),
           np.sum(w * wg * rho_0 * R), np.sum(w * w0 * rho_0 * R)]
    dm = [eta[k] for k in range(1, 6)]
    mr = [float(np.sum(w * row)) for row in mr_rows]

    def components(etas):
        out = {c: float(etas[i] - etas[i + 1]) for i, c in enumerate(COMPONENTS)}
        out["ATE"] = float(sum(out.values()))
        return out

    base_ide = sum(_policy(x, S, nu.target) * sum(pm(v, S, np.full(n, x)) * (nu.reward(S, np.full(n, x),
                                                                                       np.full(n, v))
                                                                             - nu.reward(S, zeros, np.full(n, v)))
                                                  for v in support) for x in (0.0, 1.0))
    base_ime = sum(_policy(x, S, nu.target) * sum((pm(v, S, np.full(n, x)) - pm(v, S, zeros))
                                                  * nu.reward(S, zeros, np.full(n, v)) for v in support)
                   for x in (0.0, 1.0))
    return {
        "etas": {"DM": tuple(dm), "MIS": tuple(map(float, mis)), "MR": tuple(mr)},
        "effects": {"DM": components(dm), "MIS": components(mis), "MR": components(mr),
                    "baseline": {"IDE": float(np.sum(w * base_ide)), "IME": float(np.sum(w * base_ime))}},
        "phi": phi_rows, "q": theta, "omega": omega,
    }
