"""LSTD and min-max ratio solvers of dynamic mediation at Toy I's exact data law (spec 5.4, check 1, first part).

The 16 cells (s, a, m, s') are weighted by their exact probabilities d^b(s) b(a|s) p_m(m|s,a) p(s'|s,a,m), with R
replaced by r(s,a,m). With the saturated tabular basis the LSTD solutions are the exact Bellman solutions, so they
must reproduce the spec's Q-tables and etas (printed to 4 and 6 decimals), and the ratios with psi = [1, s] must equal
d^pi / d^b from the exact stationary laws; the marginal importance-sampling etas (spec 2.4) then equal the truth.
"""

import numpy as np
import pytest

from mediationhte import ParameterError
from mediationhte.dynamic.solvers import binary_cells, lstd, min_max_ratio
from mediationhte.datasets.dynamic import (
    _toy_mediator,
    _toy_next,
    _toy_reward,
    toy_behaviour,
    toy_target_policy,
    toy_truth,
)
from test_dynamic_simulation import TOY1_ETAS, TOY1_Q

BITS = np.array([0.0, 1.0])


def _pm(m, s, a):
    p1 = _toy_mediator(s, a)
    return np.where(m == 1, p1, 1 - p1)


def _pi(a, s, law):
    p1 = law(s)
    return np.where(a == 1, p1, 1 - p1)


@pytest.fixture(scope="module")
def population():
    truth = toy_truth("toy1")
    db1 = truth["stationary"]["b"]
    s, a, m, s2 = (g.ravel() for g in np.meshgrid(BITS, BITS, BITS, BITS, indexing="ij"))
    p_s2 = np.where(s2 == 1, _toy_next(s, a, m, False), 1 - _toy_next(s, a, m, False))
    w = np.where(s == 1, db1, 1 - db1) * _pi(a, s, toy_behaviour) * _pm(m, s, a) * p_s2
    return dict(s=s, a=a, m=m, s2=s2, w=w, truth=truth)


def _next_features(s2, chain):
    out = 0.0
    for a2 in BITS:
        for m2 in BITS:
            if chain == "e":
                weight = _pi(a2, s2, toy_target_policy) * _pm(m2, s2, a2)
            elif chain == "G":
                pm_e = sum(_pi(b, s2, toy_target_policy) * _pm(m2, s2, b) for b in BITS)
                weight = pm_e * (a2 == 0)
            else:
                weight = _pm(m2, s2, 0.0) * (a2 == 0)
            out = out + weight[:, None] * binary_cells(s2, np.full_like(s2, a2), np.full_like(s2, m2))
    return out


def test_lstd_reproduces_the_exact_q_tables(population):
    p = population
    s, a, m, s2, w = p["s"], p["a"], p["m"], p["s2"], p["w"]
    phi = binary_cells(s, a, m)
    r = _toy_reward(s, a, m)
    r0m = _toy_reward(s, 0.0, m)
    rbar0 = sum(_pm(mm, s, 0.0) * _toy_reward(s, 0.0, mm) for mm in BITS)
    theta_e = lstd(phi, _next_features(s2, "e"), np.column_stack([r, r0m, rbar0]), w)
    theta_g = lstd(phi, _next_features(s2, "G"), rbar0, w)
    theta_0 = lstd(phi, _next_features(s2, "0"), r, w)
    solutions = [theta_e[:, 0], theta_e[:, 1], theta_e[:, 2], theta_g[:, 0], theta_0[:, 0]]
    for k, theta in enumerate(solutions, start=1):
        np.testing.assert_allclose(theta[:7], TOY1_Q[f"Q{k}"], atol=5e-5, err_msg=f"Q{k}")
        assert theta[7] == pytest.approx(TOY1_ETAS[k - 1], abs=1e-6)
        # and to machine precision against the direct Bellman solve
        np.testing.assert_allclose(theta[:7], p["truth"]["q_tables"][f"Q{k}"], atol=1e-9)


def test_ratios_and_mis_etas_are_exact(population):
    p = population
    s, a, m, s2, w = p["s"], p["a"], p["m"], p["s2"], p["w"]
    b = _pi(a, s, toy_behaviour)
    rho_e = _pi(a, s, toy_target_policy) / b
    rho_0 = (a == 0) / b
    pm_e = sum(_pi(x, s, toy_target_policy) * _pm(m, s, x) for x in BITS)
    kappa = pm_e / _pm(m, s, a)
    psi, psi2 = np.column_stack([np.ones_like(s), s]), np.column_stack([np.ones_like(s2), s2])
    stationary = p["truth"]["stationary"]
    db = np.array([1 - stationary["b"], stationary["b"]])
    omega = {}
    for name, rho in (("e", rho_e), ("0", rho_0), ("G", rho_0 * kappa)):
        beta = min_max_ratio(psi, psi2, rho, w)
        d = np.array([1 - stationary[name], stationary[name]])
        np.testing.assert_allclose([beta[0], beta.sum()], d / db, atol=1e-9)  # omega(0), omega(1)
        omega[name] = psi @ beta
    R = _toy_reward(s, a, m)
    mis = [np.sum(w * omega["e"] * rho_e * R), np.sum(w * omega["e"] * rho_0 * kappa * R),
           np.sum(w * omega["e"] * rho_0 * R), np.sum(w * omega["G"] * rho_0 * R), np.sum(w * omega["0"] * rho_0 * R)]
    np.testing.assert_allclose(mis, TOY1_ETAS, atol=1e-6)


def test_solver_errors():
    with pytest.raises(ParameterError) as err:
        lstd(np.ones((3, 1)), np.ones((3, 1)), np.ones(3), weights=[1, -1, 1])
    assert err.value.parameter == "weights"
