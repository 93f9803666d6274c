"""DM, MIS, MR and baseline estimators of the dynamic decompositions (Ge et al. 2023).

This module works on weighted transition rows (S, A, M, R, S') with the nuisances
given as objects: a behaviour propensity, the target policy, a mediator law that
can evaluate its log density and give integration nodes (the support with its
probabilities for a discrete mediator; Monte Carlo draws for a continuous one),
and a reward regression. Every mediator integral is a weighted sum over nodes,
evaluated on whole blocks of rows at once (no per-row loop). Every estimate is a
weighted mean of per-row values, so DM and MR satisfy IDE + IME + DDE + DME = ATE
exactly.

Notation: ``EF(where, a_med, a_dir)`` = E_{m ~ p_m(. | s, a_med)} phi(s, a_dir, m)
at s = S ("cur") or S' ("next"); ``ER(a_med, a_dir)`` the same for the reward at S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import logsumexp

from mediationhte.dynamic.solvers import lstd_system, min_max_ratio, ratio_system, solve_lstd
from mediationhte.dynamic.variance import (lstd_correction, lstd_sensitivity, mediator_mean_correction,
                                          ratio_correction, ratio_gradient, ratio_sensitivity)

COMPONENTS = ("IDE", "IME", "DDE", "DME")
#: Fitted behaviour propensities are clipped to [PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR] (dynamic.nuisances).
PROPENSITY_FLOOR = 1e-3
#: Rows evaluated per batch when integrating over mediator nodes (bounds memory to a few hundred MB).
BATCH_ROWS = 1 << 18


@dataclass(frozen=True)
class DiscreteMediatorLaw:
    """A discrete mediator law: ``pmf(m, s, a) -> P(M = m | s, a)`` over a finite ``support``."""

    pmf: Callable
    support: tuple

    def log_density(self, m, s, a):
        """Log of P(M = m | s, a)."""
        return np.log(np.maximum(self.pmf(m, s, a), 1e-300))

    def nodes(self, s, a, draws=None):
        """The support values with their probabilities at each row: [(m_k, P(m_k | s, a))]."""
        n, out = len(s), []
        for value in self.support:
            value = np.asarray(value, dtype=float)
            m = np.broadcast_to(value, (n,) + value.shape).copy()
            out.append((m, self.pmf(m, s, a)))
        return out


@dataclass(frozen=True)
class Nuisances:
    """Nuisances of the dynamic estimators.

    Attributes
    ----------
    behaviour : callable s -> P(A = 1 | s), or ndarray (n,) of P(A = 1 | S_i) at the rows
    target : callable s -> P(A = 1 | s)
    mediator : object with ``log_density(m, s, a)`` and ``nodes(s, a, draws)`` (list of (m_k, weight_k))
    reward : callable (s, a, m) -> E[R | s, a, m]
    """

    behaviour: object
    target: Callable
    mediator: object
    reward: Callable


@dataclass(frozen=True)
class DiscreteNuisances:
    """Nuisance callables for a binary action and a discrete mediator (population checks, tabular fits)."""

    behaviour: Callable
    target: Callable
    mediator: Callable
    reward: Callable
    support: tuple

    def general(self) -> Nuisances:
        """The same nuisances with the mediator as a DiscreteMediatorLaw."""
        return Nuisances(self.behaviour, self.target, DiscreteMediatorLaw(self.mediator, self.support), self.reward)


def _pick(a, when_one, when_zero):
    a = np.asarray(a)
    shape = (-1,) + (1,) * (np.ndim(when_one) - 1)
    return np.where(a.reshape(shape) == 1, when_one, when_zero)


def _scaled(coef, parts):
    """Derivative parts [(place, (n, d_M) array)] times a per-row coefficient."""
    return [(place, np.asarray(coef, dtype=float).reshape(-1, 1) * value) for place, value in parts]


def _repeat(x, k: int):
    return np.concatenate([x] * k, axis=0)


def mean_over_nodes(f: Callable, s, a_dir: float, nodes):
    """sum_k w_k f(s, a_dir, m_k), with the nodes stacked into batches of rows.

    With nodes (m_k, w_k, score_k) (a law's ``score_nodes``) it returns the pair
    (sum_k w_k f_k, sum_k w_k f_k score_k'), the second being the derivative of the
    integral in the law's mean, shape f's plus (d_M,).
    """
    n = len(s)
    per_batch = max(1, BATCH_ROWS // max(n, 1))
    total, derivative = 0.0, 0.0
    for start in range(0, len(nodes), per_batch):
        chunk = nodes[start:start + per_batch]
        k = len(chunk)
        values = f(_repeat(s, k), np.full(n * k, float(a_dir)), np.concatenate([node[0] for node in chunk], axis=0))
        values = np.asarray(values, dtype=float).reshape((k, n) + np.shape(values)[1:])
        weights = np.stack([node[1] for node in chunk]).reshape((k, n) + (1,) * (values.ndim - 2))
        total = total + (weights * values).sum(axis=0)
        if len(chunk[0]) == 3:
            derivative = derivative + np.einsum("kn...,knd->n...d", weights * values,
                                                np.stack([node[2] for node in chunk]))
    return (total, derivative) if len(nodes[0]) == 3 else total


def estimate_effects(S, A, M, R, S_next, nuisances, q_features: Callable, ratio_features: Callable, *,
                     decomposition: str = "four_way", weights=None, ridge: float = 0.0, ratio_ridge=None,
                     clip: float = 500.0, draws=None, q_override=None, ratio_override=None) -> dict:
    """Five etas and the four components by DM, MIS, MR and the baseline, with per-row contributions.

    Parameters
    ----------
    S, A, M, R, S_next : ndarray
        Rows of transitions; S, S_next (n,) or (n, d_S), M (n,) or (n, d_M).
    nuisances : Nuisances or DiscreteNuisances
    q_features : callable (s, a, m) -> (n, p) features of the Q-functions (no eta column)
    ratio_features : callable s -> (n, q) features of the state ratios (with a constant)
    decomposition : {"four_way", "natural"}
        ``"four_way"`` (switch paths from pi_e to a_0) or ``"natural"`` (from pi_0 to pi_e).
    weights : ndarray (n,), optional
        Row weights (exact cell probabilities in population checks); default equal.
    ridge, ratio_ridge : float
        Ridge of the LSTD and ratio systems (``ratio_ridge`` defaults to ``ridge``).
    clip : float, default 500
        Ratios are clipped to [1/clip, clip], kappa to at most clip in the MIS terms, the
        first MR term of IME and the G-ratio (as the reference; the G-chain MR term uses
        kappa uncapped).
    draws : dict with ndarray (K, n, d_M) under "cur" and "next", optional
        Standard-normal draws for a Monte Carlo mediator law.
    q_override, ratio_override : dict, optional
        Replace fitted Q-functions (k -> coefficients) or ratios ("e", "0", "G").

    Returns
    -------
    dict
        ``etas`` per estimator ("DM", "MIS", "MR") in the decomposition's order,
        ``effects`` per estimator (IDE, IME, DDE, DME, ATE; baseline: IDE and IME),
        ``phi`` (per-row MR influence values, with the sieve correction of
        :mod:`mediationhte.dynamic.variance`), ``sieve_correction`` (that correction per
        eta), ``q`` (coefficients), ``omega``, ``ratio_coefficients`` (the fitted ratios,
        in ``ratio_override``'s keys) and ``mediator_mean_gradient`` (per eta, when the
        law's mean was estimated: the derivative (2, d_M, q) of its MR mean in the
        mediator mean along ``1{a = action} e_j (1, state basis)_b``, through the
        Q-functions and the G chain's ratio too unless they are overridden).
    """
    if isinstance(nuisances, DiscreteNuisances):
        nuisances = nuisances.general()
    S, S_next, M = (np.asarray(v, dtype=float) for v in (S, S_next, M))
    A, R = np.asarray(A, dtype=float), np.asarray(R, dtype=float)
    n = len(R)
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    nu, law = nuisances, nuisances.mediator
    draws = draws or {}
    zeros, ones = np.zeros(n), np.ones(n)
    natural = decomposition == "natural"

    # ---- one-step weights
    pe, pe_next = np.asarray(nu.target(S), dtype=float), np.asarray(nu.target(S_next), dtype=float)
    b1 = np.asarray(nu.behaviour(S) if callable(nu.behaviour) else nu.behaviour, dtype=float)
    b_obs = np.where(A == 1, b1, 1 - b1)
    rho_e = np.where(A == 1, pe, 1 - pe) / b_obs
    rho_0 = (A == 0) / b_obs
    lp0, lp1 = law.log_density(M, S, zeros), law.log_density(M, S, ones)
    lp_obs = np.where(A == 1, lp1, lp0)
    with np.errstate(divide="ignore"):
        mixed = logsumexp(np.stack([np.log(pe) + lp1, np.log1p(-pe) + lp0]), axis=0)
    kappa = np.exp(mixed - lp_obs)       # p_m^e(M | S) / p_m(M | S, A)
    kappa_nat = np.exp(lp0 - lp_obs)     # p_m(M | S, a_0) / p_m(M | S, A)

    # ---- mediator integrals on node blocks. A law whose mean was fitted on these rows (a Gaussian law with
    # estimated=True) also gives each integral's derivative in that mean, for the standard error.
    count_mean = bool(getattr(law, "estimated", False)) and hasattr(q_features, "mediator_part")
    nodes_of = law.score_nodes if count_mean else law.nodes
    node_sets = {(where, a): nodes_of(s, np.full(n, float(a)), draws.get(where))
                 for where, s in (("cur", S), ("next", S_next)) for a in (0, 1)}
    at = {"cur": S, "next": S_next}

    def integral(f, s, a_dir, nodes):
        return mean_over_nodes(f, s, a_dir, nodes) if count_mean else (mean_over_nodes(f, s, a_dir, nodes), None)

    if hasattr(q_features, "mediator_part"):   # additive basis: integrate the mediator part only
        g = {where: q_features.state_part(s) for where, s in at.items()}
        h, dh = {}, {}
        for key, nodes in node_sets.items():
            h[key], dh[key] = integral(lambda s, a, m: q_features.mediator_part(m), at[key[0]], 0.0, nodes)
        EF = {(where, am, ad): q_features.assemble(g[where], h[(where, am)], np.full(n, float(ad)))
              for where in ("cur", "next") for am in (0, 1) for ad in (0, 1)}
    else:
        EF = {(where, am, ad): mean_over_nodes(q_features, at[where], ad, node_sets[(where, am)])
              for where in ("cur", "next") for am in (0, 1) for ad in (0, 1)}
    ER, dER = {}, {}
    for am in (0, 1):
        for ad in (0, 1):
            ER[(am, ad)], dER[(am, ad)] = integral(nu.reward, S, ad, node_sets[("cur", am)])
    del node_sets

    # xi[chain] = E phi(S', a_dir, m) under the chain's next action and mediator: sum of weight * EF[("next", am, ad)]
    xi_mix = {"e": ((1, 1, pe_next), (0, 0, 1 - pe_next)),
              "0": ((0, 0, ones),),
              "G": ((1, 0, pe_next), (0, 0, 1 - pe_next)),      # m from p_m^e, direct a_0
              "G'": ((0, 1, pe_next), (0, 0, 1 - pe_next))}     # direct from pi_e, m from a_0
    xi = {c: sum(weight[:, None] * EF[("next", am, ad)] for am, ad, weight in mix) for c, mix in xi_mix.items()}
    phi = q_features(S, A, M)
    p = phi.shape[1]
    phi_bar_obs = _pick(A, EF[("cur", 1, 1)], EF[("cur", 0, 0)])                  # E_m phi(S, A, m) given A
    r_obs = nu.reward(S, A, M)
    r_a0_obs, r_a1_obs = nu.reward(S, zeros, M), nu.reward(S, ones, M)
    rbar0, rbar1 = ER[(0, 0)], ER[(1, 1)]
    rbar_obs = np.where(A == 1, rbar1, rbar0)
    rbar_e = pe * rbar1 + (1 - pe) * rbar0
    kc, kc_nat = np.minimum(kappa, clip), np.minimum(kappa_nat, clip)

    # ---- Q-functions: pseudo-rewards and chains (four-way; natural with the policies exchanged)
    if natural:
        order = (5, 6, 7, 8, 1)
        pseudo = {5: R, 6: pe * r_a1_obs + (1 - pe) * r_a0_obs, 7: rbar_e, 8: rbar_e, 1: R}
        chain_of = {5: "0", 6: "0", 7: "0", 8: "G'", 1: "e"}
    else:
        order = (1, 2, 3, 4, 5)
        pseudo = {1: R, 2: r_a0_obs, 3: rbar0, 4: rbar0, 5: R}
        chain_of = {1: "e", 2: "e", 3: "e", 4: "G", 5: "0"}
    theta = {}
    # one LSTD system per chain, shared by its Q-functions and by the standard error's correction
    lstd_systems = {c: lstd_system(phi, xi[c], w, ridge) for c in dict.fromkeys(chain_of.values())}
    for chain, system in lstd_systems.items():
        ks = [k for k in order if chain_of[k] == chain]
        fit = solve_lstd(system, np.column_stack([pseudo[k] for k in ks]), w)
        theta.update({k: fit[:, j] for j, k in enumerate(ks)})
    if q_override:
        theta.update({k: np.asarray(v, dtype=float) for k, v in q_override.items()})
    eta = {k: float(theta[k][p]) for k in theta}
    V = {k: xi[chain_of[k]] @ theta[k][:p] for k in theta}
    Qbar = {k: phi_bar_obs @ theta[k][:p] for k in theta}

    # ---- state ratios
    psi, psi_next = ratio_features(S), ratio_features(S_next)
    rhos = {"e": rho_e, "0": rho_0, "G": rho_0 * kc, "G'": rho_e * kc_nat}
    omega, betas, raws, clipped_ratio = {}, {}, {}, 0
    for name in dict.fromkeys(chain_of.values()):
        key = "G" if name == "G'" else name
        if ratio_override and key in ratio_override:
            beta = np.asarray(ratio_override[key], dtype=float)
        else:
            beta = min_max_ratio(psi, psi_next, rhos[name], w, ridge if ratio_ridge is None else ratio_ridge)
            betas[name] = beta
        raw = psi @ beta
        raws[name] = raw
        clipped_ratio = max(clipped_ratio, int(np.sum(raw > clip)))   # tiny ratios: states pi_e seldom visits
        om = np.clip(raw, 1.0 / clip, clip)
        omega[name] = om / np.sum(w * om)

    # ---- MR row terms: eta_k + omega_c * bracket_k (natural: pi_e and pi_0 exchanged). d_theta[k] is the
    # derivative of the row in (Q coefficients, eta), for the standard error's sieve correction.
    def residual(k):
        return pseudo[k] + V[k] - Qbar[k] - eta[k]

    def bellman(weight, next_features, features):
        return np.column_stack([weight[:, None] * (next_features - features), -weight])

    bracket = {1: rho_e * (R + V[1] - Qbar[1] - eta[1]), 5: rho_0 * (R + V[5] - Qbar[5] - eta[5])}
    d_theta = {1: ("e", bellman(rho_e, xi["e"], phi_bar_obs)), 5: ("0", bellman(rho_0, xi["0"], phi_bar_obs))}
    # The middle three etas: four-way switches paths from pi_e to a_0 (steps weighted by rho_0, the G chain's
    # direct action a_0), natural from a_0 to pi_e (weighted by rho_e, direct action from pi_e): the same
    # formulas with the two policies exchanged.
    k2, k3, k4 = order[1:4]
    if natural:
        switched, kept, kc_mix, kappa_mix, rbar_ctrl, start_chain = rho_e, rho_0, kc_nat, kappa_nat, rbar_e, "0"
        direct_weights = ((0, 1 - pe), (1, pe))
    else:
        switched, kept, kc_mix, kappa_mix, rbar_ctrl, start_chain = rho_0, rho_e, kc, kappa, rbar0, "e"
        direct_weights = ((0, ones),)
    g_chain = chain_of[k4]
    q_g = theta[k4][:p]
    mediator_features = sum(weight[:, None] * (q_features(S, np.full(n, float(a)), M)
                                               - _pick(A, EF[("cur", 1, a)], EF[("cur", 0, a)]))
                            for a, weight in direct_weights)
    bracket[k2] = switched * kc_mix * (R - r_obs) + kept * residual(k2)
    bracket[k3] = switched * (R - rbar_obs) + kept * residual(k3)
    bracket[k4] = (switched * (R - rbar_obs + kappa_mix * (rbar_ctrl + V[k4] - phi @ q_g - eta[k4]))
                   + kept * (mediator_features @ q_g))
    for k in (k2, k3):
        d_theta[k] = (start_chain, bellman(kept, xi[start_chain], phi_bar_obs))
    d_g = bellman(switched * kappa_mix, xi[g_chain], phi)
    d_g[:, :p] += kept[:, None] * mediator_features
    d_theta[k4] = (g_chain, d_g)
    first, last = order[0], order[4]
    mis = {first: omega[start_chain] * kept * R, k2: omega[start_chain] * switched * kc_mix * R,
           k3: omega[start_chain] * switched * R, k4: omega[g_chain] * switched * R,
           last: omega[chain_of[last]] * switched * R}
    terms = {k: omega[chain_of[k]] * bracket[k] for k in order}

    # ---- derivative of each eta's MR mean in the mediator mean, as per-row parts at the four places the mean is
    # evaluated, (S, a) and (S', a): here the direct paths (kappa and the integrals in the rows); the paths through
    # the Q fits and the G chain's ratio are added below, beside those fits' own corrections
    mean_gradient = {}
    if count_mean:
        q_S, q_M = g["cur"].shape[1], h[("cur", 0)].shape[1]
        score = {a: law.mean_score(M, S, np.full(n, float(a))) for a in (0, 1)}     # d log p_m(M | S, a) / d mean

        def d_features(where, am, ad, coef):   # d (EF[(where, am, ad)] @ coef) / d mean(at[where], am)
            start = (q_S + q_M + 1 if ad == 1 else 0) + q_S
            return [((where, am), np.einsum("nld,l->nd", dh[(where, am)], coef[start:start + q_M]))]

        def d_value(chain, coef):               # d V
            return [part for am, ad, weight in xi_mix[chain]
                    for part in _scaled(weight, d_features("next", am, ad, coef))]

        def d_observed(a_dir, coef):   # d (E_m phi(S, a_dir, m) given A) @ coef; a_dir None: the observed A
            one, zero = (1, 0) if a_dir is None else (a_dir, a_dir)
            return _scaled(A, d_features("cur", 1, one, coef)) + _scaled(1 - A, d_features("cur", 0, zero, coef))

        d_rbar0, d_rbar1 = [(("cur", 0), dER[(0, 0)])], [(("cur", 1), dER[(1, 1)])]
        d_rbar_obs = _scaled(A, d_rbar1) + _scaled(1 - A, d_rbar0)
        d_rbar_e = _scaled(pe, d_rbar1) + _scaled(1 - pe, d_rbar0)
        with np.errstate(divide="ignore"):
            share1 = np.exp(np.log(pe) + lp1 - mixed)                                     # pi_e-weight of a = 1
        d_kappa = _scaled(kappa * (share1 - A), [(("cur", 1), score[1])]) + _scaled(-kappa * (share1 - A),
                                                                                    [(("cur", 0), score[0])])
        d_kappa_nat = _scaled(A * kappa_nat, [(("cur", 0), score[0])]) + _scaled(-A * kappa_nat,
                                                                                 [(("cur", 1), score[1])])
        if natural:
            d_pseudo = {7: d_rbar_e, 8: d_rbar_e}
            d_kappa_mix, d_kc_mix, d_rbar_ctrl = d_kappa_nat, _scaled(kappa_nat < clip, d_kappa_nat), d_rbar_e
        else:
            d_pseudo = {3: d_rbar0, 4: d_rbar0}
            d_kappa_mix, d_kc_mix, d_rbar_ctrl = d_kappa, _scaled(kappa < clip, d_kappa), d_rbar0

        def d_residual(k):
            return d_pseudo.get(k, []) + d_value(chain_of[k], theta[k]) + _scaled(-ones, d_observed(None, theta[k]))

        d_bracket = {1: _scaled(rho_e, d_residual(1)), 5: _scaled(rho_0, d_residual(5)),
                     k2: _scaled(switched * (R - r_obs), d_kc_mix) + _scaled(kept, d_residual(k2)),
                     k3: _scaled(-switched, d_rbar_obs) + _scaled(kept, d_residual(k3))}
        d_mediator_features = [part for a, weight in direct_weights
                               for part in _scaled(-weight, d_observed(a, theta[k4]))]
        delayed_part = rbar_ctrl + V[k4] - phi @ q_g - eta[k4]
        d_bracket[k4] = _scaled(switched, _scaled(-ones, d_rbar_obs) + _scaled(delayed_part, d_kappa_mix)
                               + _scaled(kappa_mix, d_rbar_ctrl + d_value(g_chain, theta[k4])))
        d_bracket[k4] += _scaled(kept, d_mediator_features)
        d_row = {k: _scaled(omega[chain_of[k]], d_bracket[k]) for k in order}
        # what the Q fits and the kappa-weighted ratio see move: the LSTD targets and the G chain's rho
        d_lstd_target = {k: d_pseudo.get(k, []) + d_value(chain_of[k], theta[k]) for k in order}
        d_rho_kappa = _scaled(switched, d_kc_mix)

    # ---- sieve correction of each eta's row (the estimated Q coefficients, ratios and mediator mean;
    # dynamic.variance); each chain's ratio moments are built once and shared by the etas on that chain
    r_ridge = ridge if ratio_ridge is None else ratio_ridge
    moments = {c: ratio_system(psi, psi_next, rhos[c], w) for c in betas}
    correction = {}
    if count_mean:   # the mean's sieve (a constant and the state part) at S and S', built once
        mean_design = {where: np.column_stack([ones, g[where]]) for where in at}
        mean_residual = law.residual(M, S, A)
    for k in order:
        c = chain_of[k]
        total = np.zeros(n)
        parts = d_row[k] if count_mean else []      # the mediator mean's paths into this eta
        if not (q_override and k in q_override):
            d = d_theta[k][1] * omega[c][:, None]
            d[:, p] += 1.0                                   # the leading eta_k of the row
            total += lstd_correction(*lstd_systems[c], pseudo[k], theta[k], d.T @ w)
            if count_mean:
                U, _, A_lstd = lstd_systems[c]
                parts = parts + _scaled(lstd_sensitivity(U, A_lstd, d.T @ w), d_lstd_target[k])
        if c in betas:
            grad = ratio_gradient(psi, raws[c], clip, w, omega[c], bracket[k])
            total += ratio_correction(psi, *moments[c], betas[c], r_ridge, grad)
            if count_mean and c == g_chain:
                parts = parts + _scaled(ratio_sensitivity(psi, psi_next, moments[c][1], betas[c], r_ridge, grad),
                                       d_rho_kappa)
        if count_mean:
            by_place = {}
            for place, value in parts:
                by_place[place] = by_place.get(place, 0.0) + value
            blocks = np.zeros((2, M.shape[1], mean_design["cur"].shape[1]))
            for (where, am), value in by_place.items():
                blocks[am] += (value * w[:, None]).T @ mean_design[where]
            mean_gradient[k] = blocks
            total += mediator_mean_correction(mean_design["cur"], A, mean_residual, blocks, w)
        correction[k] = total - np.sum(w * total)

    mr_rows = [eta[k] + terms[k] for k in order]
    sign = 1.0 if natural else -1.0   # four-way: eta_i - eta_{i+1}; natural: eta_{i+1} - eta_i

    def components(etas):
        out = {c: float(sign * (etas[i + 1] - etas[i])) + 0.0 for i, c in enumerate(COMPONENTS)}
        out["ATE"] = float(sum(out.values()))
        return out

    dm = [eta[k] for k in order]
    mis_etas = [float(np.sum(w * mis[k])) for k in order]
    mr = [float(np.sum(w * row)) for row in mr_rows]
    se_rows = [row + correction[k] for row, k in zip(mr_rows, order)]
    phi_rows = {c: sign * (se_rows[i + 1] - se_rows[i]) for i, c in enumerate(COMPONENTS)}
    # single-time-point mediation formula on the pooled rows (no state dynamics)
    if natural:
        base_ide, base_ime = pe * (ER[(0, 1)] - ER[(0, 0)]), pe * (ER[(1, 1)] - ER[(0, 1)])
    else:
        base_ide, base_ime = pe * (ER[(1, 1)] - ER[(1, 0)]), pe * (ER[(1, 0)] - ER[(0, 0)])
    return {
        "etas": {"DM": tuple(dm), "MIS": tuple(mis_etas), "MR": tuple(mr)},
        "eta_labels": tuple(f"eta{k}" for k in order),
        "effects": {"DM": components(dm), "MIS": components(mis_etas), "MR": components(mr),
                    "baseline": {"IDE": float(np.sum(w * base_ide)), "IME": float(np.sum(w * base_ime))}},
        "phi": phi_rows, "q": theta, "omega": omega,
        "ratio_coefficients": {("G" if c == "G'" else c): beta for c, beta in betas.items()},
        "mediator_mean_gradient": {f"eta{k}": grad for k, grad in mean_gradient.items()},
        "sieve_correction": {f"eta{k}": correction[k] for k in order},
        # positivity: rows whose weights hit a bound (behaviour propensity at its floor, a ratio above the clip)
        "clipped": {"propensity": int(np.sum(np.minimum(b1, 1 - b1) <= PROPENSITY_FLOOR)),
                    "mediator ratio": int(np.sum(np.maximum(kappa, kappa_nat) > clip)),
                    "state ratio": clipped_ratio},
    }
